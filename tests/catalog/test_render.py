"""Rendering of docker run / vLLM launch: the manuals' commands token by token, hostile input."""

from __future__ import annotations

import os
import shlex
from functools import cache
from pathlib import Path

import pytest

from jobs.catalog.planning import Mount, RecipeSpec
from jobs.catalog.render import (
    AscendPaths,
    RenderError,
    launch_argv,
    render_deployment,
    render_docker_run,
    render_exec,
    render_launch,
)

SEEDS_DIR = Path(
    os.environ.get("NPUFLEET_SEEDS_DIR", Path(__file__).resolve().parents[3] / "shared" / "seeds")
)
S000 = "000_3488d1d18b105c17.txt"
S001 = "001_026400890ac395f1.txt"
IMAGE = "swr.cn-southwest-2.myhuaweicloud.com/atelier/pytorch_2_1_ascend:pytorch_2.1.0-cann_8.0.rc3-py_3.9-hce_2.0.2406-aarch64-snt9b-20240910112800-2a95df3"
HOSTILE = [
    "; rm -rf /",
    "$(id)",
    "`id`",
    "a\nb",
    "line1\r\nline2",
    "it's",
    'say "hi"',
    "x' ; echo 'y",
    "&& reboot",
    "| cat /etc/shadow",
    "${HOME}",
    "*",
    "tab\there",
    "--privileged",
    "",
    "trailing\n",
]


@cache
def _lines(seed: str) -> tuple[str, ...]:
    path = SEEDS_DIR / seed
    if not path.exists():
        pytest.fail(
            f"seed manuals not found: expected {path} (set NPUFLEET_SEEDS_DIR, or put the "
            "'shared' folder next to the repository root)",
            pytrace=False,
        )
    return tuple(path.read_text(encoding="utf-8").splitlines())


def seed_command(seed: str, line: int, start: str, end: str) -> list[str]:
    """The tokens of a command the seed prints with ' \\ ' line continuations."""
    text = _lines(seed)[line - 1]
    body = start + text.split(start, 1)[1].split(end, 1)[0] + end
    return body.replace(" \\ ", " ").split()


def substitute(tokens: list[str], values: dict[str, str]) -> list[str]:
    out = []
    for token in tokens:
        for name, value in values.items():
            token = token.replace(name, value)
        out.append(token)
    return out


# The seed mounts the node's Ascend files read-write; the dashboard mounts them read-only (a
# container must not rewrite the node's driver or npu-smi). Everything else is token for token.
READ_ONLY = {
    "/etc/localtime:/etc/localtime": "/etc/localtime:/etc/localtime:ro",
    "/usr/local/Ascend/driver:/usr/local/Ascend/driver": (
        "/usr/local/Ascend/driver:/usr/local/Ascend/driver:ro"
    ),
    "/etc/ascend_install.info:/etc/ascend_install.info": (
        "/etc/ascend_install.info:/etc/ascend_install.info:ro"
    ),
    "/usr/local/sbin/npu-smi:/usr/local/sbin/npu-smi": (
        "/usr/local/sbin/npu-smi:/usr/local/sbin/npu-smi:ro"
    ),
}


def roundtrip(command) -> list[str]:
    split = shlex.split(command.shell)
    assert split == list(command.argv)
    return split


# ------------------------------------------------------------------ the manuals' commands


def test_docker_run_matches_seed_000_eight_card_example_token_by_token():
    manual = seed_command(S000, 37, "docker run -itd", "/bin/bash")
    assert manual.count("--device=/dev/davinci0") == 1 and len(manual) == 33
    ours = render_docker_run(
        image=IMAGE,
        container_name="npufleet-deploy-1",
        card_ids=range(8),
        mounts=[Mount("/data/work", "/data/work")],
    )
    expected = substitute(
        manual,
        {
            "${dir}": "/data/work",
            "${container_work_dir}": "/data/work",
            "${container_name}": "npufleet-deploy-1",
            "${image_id}": IMAGE,
            **READ_ONLY,
        },
    )
    assert roundtrip(ours) == expected


def test_docker_run_matches_seed_000_two_card_example():
    manual = seed_command(S000, 17, "docker run -itd", "/bin/bash")
    assert "--device=/dev/davinci4" in manual and "--device=/dev/davinci5" in manual
    ours = render_docker_run(
        image="inference:v1",
        container_name="prefill",
        card_ids=[4, 5],
        mounts=[Mount("/mnt/models", "/mnt/models")],
    )
    expected = substitute(
        manual,
        {
            "${dir}": "/mnt/models",
            "${container_work_dir}": "/mnt/models",
            "${container_name}": "prefill",
            "${image_id}": "inference:v1",
            **READ_ONLY,
        },
    )
    assert list(ours.argv) == expected


def test_launch_matches_the_openai_api_server_command_of_the_manual():
    manual = seed_command(
        S001,
        53,
        "python -m vllm.entrypoints.openai.api_server",
        "--trust-remote-code",
    )
    ours = render_launch(RecipeSpec(model="chatglm3-6b", model_path="/data/chatglm3-6b"))
    expected = substitute(manual, {"${model_path}": "/data/chatglm3-6b", "${docker_ip}": "0.0.0.0"})
    assert roundtrip(ours) == expected


def test_launch_carries_the_recipe_values_and_optional_flags():
    spec = RecipeSpec(
        model="llama2-13b",
        model_path="/data/Llama-2-13b-chat-hf",
        tensor_parallel_size=2,
        max_model_len=16384,
        max_num_seqs=64,
        max_num_batched_tokens=16384,
        gpu_memory_utilization=0.85,
        dtype="bfloat16",
        quantization="W8A8",
        kv_cache_dtype="int8",
        quantization_param_path="kv_cache_scales.json",
        served_model_name="llama2",
        port=8088,
        extra_args=("--enable-prefix-caching",),
    )
    argv = launch_argv(spec)
    assert argv[:5] == (
        "python",
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        "/data/Llama-2-13b-chat-hf",
    )
    for flag in (
        "--max-num-seqs=64",
        "--max-model-len=16384",
        "--max-num-batched-tokens=16384",
        "--dtype=bfloat16",
        "--tensor-parallel-size=2",
        "--port=8088",
        "--gpu-memory-utilization=0.85",
    ):
        assert flag in argv
    tail = argv[argv.index("--trust-remote-code") + 1 :]
    assert tail == (
        "--served-model-name",
        "llama2",
        "--quantization",
        "smoothquant",
        "--kv-cache-dtype",
        "int8",
        "--quantization-param-path",
        "kv_cache_scales.json",
        "--enable-prefix-caching",
    )
    assert "--quantization awq" in render_launch(RecipeSpec(model="m", quantization="W4A16")).shell


def test_deployment_runs_the_server_in_the_container_with_env_and_labels():
    spec = RecipeSpec(
        model="qwen2-7b",
        model_path="/data/Qwen2-7B-Instruct",
        tensor_parallel_size=2,
        env={"USE_PFA_HIGH_PRECISION_MODE": "1"},
        mounts=(Mount("/data", "/data", read_only=True),),
    )
    dep = render_deployment(
        spec,
        image=IMAGE,
        container_name="npufleet-deploy-9",
        card_ids=[2, 3],
        labels={"npufleet.job": "9"},
        shm_size="16g",
    )
    argv = roundtrip(dep.docker_run)
    i = argv.index("-v", argv.index("/sys/fs/cgroup:/sys/fs/cgroup:ro"))
    assert argv[i : i + 2] == ["-v", "/data:/data:ro"]
    assert argv[i + 2 : i + 10] == [
        "-e",
        "USE_PFA_HIGH_PRECISION_MODE=1",
        "--label",
        "npufleet.job=9",
        "--shm-size",
        "16g",
        "--net=host",
        "--name",
    ]
    assert argv[argv.index(IMAGE) + 1 :] == list(dep.launch.argv)
    assert "-e" not in dep.launch.argv


def test_node_paths_and_bridge_network():
    paths = AscendPaths(
        device_dir="/srv/devsim/n1/dev",
        driver_dir="/opt/Ascend/driver",
        npu_smi="/usr/local/bin/npu-smi",
        install_info="/srv/devsim/n1/ascend_install.info",
    )
    run = render_docker_run(
        image="busybox:1.36",
        container_name="c1",
        card_ids=[0],
        paths=paths,
        network="bridge",
        published_port=(18080, 8080),
    )
    argv = roundtrip(run)
    assert "--device=/srv/devsim/n1/dev/davinci0:/dev/davinci0" in argv
    assert "--device=/srv/devsim/n1/dev/hisi_hdc:/dev/hisi_hdc" in argv
    assert "/opt/Ascend/driver:/usr/local/Ascend/driver:ro" in argv
    assert "/usr/local/bin/npu-smi:/usr/local/bin/npu-smi:ro" in argv
    assert "/srv/devsim/n1/ascend_install.info:/etc/ascend_install.info:ro" in argv
    assert argv[-5:] == ["-p", "18080:8080", "--name", "c1", "busybox:1.36", "/bin/bash"][-5:]
    assert "--network=bridge" in argv and "--net=host" not in argv


def test_exec_runs_as_ma_user():
    cmd = render_exec("c1", ["python", "-m", "x"])
    assert cmd.argv == ("docker", "exec", "-d", "-u", "ma-user", "c1", "python", "-m", "x")


# ------------------------------------------------------------------ hostile input


@pytest.mark.parametrize("evil", HOSTILE)
def test_hostile_free_text_stays_one_argument(evil):
    name = evil if evil and not evil.startswith("-") else "x" + evil
    spec = RecipeSpec(
        model="llama2-13b",
        model_path="/data/llama",
        tensor_parallel_size=1,
        served_model_name=name,
        env={"NOTE": evil},
        extra_args=(evil,),
    )
    dep = render_deployment(
        spec, image="img:1", container_name="c1", card_ids=[0], labels={"note": evil}
    )
    for command in (dep.docker_run, dep.launch):
        argv = roundtrip(command)
        assert argv.count(name) >= 1
    argv = shlex.split(dep.docker_run.shell)
    assert f"NOTE={evil}" in argv and f"note={evil}" in argv
    assert shlex.split(dep.launch.shell)[-1] == evil
    assert "--served-model-name" in argv and argv[argv.index("--served-model-name") + 1] == name


STRICT = [
    ("container_name", lambda v: render_docker_run(image="i:1", container_name=v, card_ids=[0])),
    ("image", lambda v: render_docker_run(image=v, container_name="c", card_ids=[0])),
    (
        "mounts",
        lambda v: render_docker_run(
            image="i:1", container_name="c", card_ids=[0], mounts=[Mount(v, "/d")]
        ),
    ),
    (
        "mounts",
        lambda v: render_docker_run(
            image="i:1", container_name="c", card_ids=[0], mounts=[Mount("/d", v)]
        ),
    ),
    (
        "env",
        lambda v: render_docker_run(image="i:1", container_name="c", card_ids=[0], env={v: "1"}),
    ),
    (
        "labels",
        lambda v: render_docker_run(image="i:1", container_name="c", card_ids=[0], labels={v: "1"}),
    ),
    (
        "npu_smi",
        lambda v: render_docker_run(
            image="i:1", container_name="c", card_ids=[0], paths=AscendPaths(npu_smi=v)
        ),
    ),
    (
        "device_dir",
        lambda v: render_docker_run(
            image="i:1", container_name="c", card_ids=[0], paths=AscendPaths(device_dir=v)
        ),
    ),
    (
        "driver_dir",
        lambda v: render_docker_run(
            image="i:1", container_name="c", card_ids=[0], paths=AscendPaths(driver_dir=v)
        ),
    ),
    (
        "shm_size",
        lambda v: render_docker_run(image="i:1", container_name="c", card_ids=[0], shm_size=v),
    ),
    ("model_path", lambda v: launch_argv(RecipeSpec(model="m", model_path=v))),
    ("host", lambda v: launch_argv(RecipeSpec(model="m", host=v))),
    (
        "quantization_param_path",
        lambda v: launch_argv(RecipeSpec(model="m", quantization_param_path=v)),
    ),
    ("quantization", lambda v: launch_argv(RecipeSpec(model="m", quantization=v))),
    ("dtype", lambda v: launch_argv(RecipeSpec(model="m", dtype=v))),
]


@pytest.mark.parametrize(
    ("field", "render"), STRICT, ids=[f"{f}-{i}" for i, (f, _) in enumerate(STRICT)]
)
@pytest.mark.parametrize("evil", [*HOSTILE, "../etc", "/a/../b", "c1\n", "/data\n"])
def test_hostile_names_and_paths_are_refused_naming_the_field(field, render, evil):
    with pytest.raises(RenderError) as info:
        render(evil)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_other_refusals():
    with pytest.raises(RenderError, match="home/ma-user") as info:
        render_docker_run(
            image="i:1", container_name="c", card_ids=[0], mounts=[Mount("/d", "/home/ma-user/ws")]
        )
    assert info.value.field == "mounts"
    for ids in ([0, 0], [64], [-1], ["1"]):
        with pytest.raises(RenderError) as info:
            render_docker_run(image="i:1", container_name="c", card_ids=ids)
        assert info.value.field == "card_ids"
    with pytest.raises(RenderError) as info:
        render_deployment(
            RecipeSpec(model="m", tensor_parallel_size=2),
            image="i:1",
            container_name="c",
            card_ids=[0],
        )
    assert info.value.field == "card_ids"
    with pytest.raises(RenderError) as info:
        launch_argv(RecipeSpec(model="m", served_model_name="--trust-remote-code"))
    assert info.value.field == "served_model_name"
    with pytest.raises(RenderError) as info:
        launch_argv(RecipeSpec(model="m", port=70000))
    assert info.value.field == "port"
    with pytest.raises(RenderError) as info:
        render_docker_run(image="i:1", container_name="c", card_ids=[0], network="none")
    assert info.value.field == "network"
    with pytest.raises(RenderError) as info:
        render_exec("c1", ["ls"], user="root; id")
    assert info.value.field == "user"
