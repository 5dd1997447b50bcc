"""The stand-in vLLM serving image: started with the dashboard's launch argv on a real engine."""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import shutil
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from devsim import serving_image
from devsim.client import DevsimFleet, wait_for
from devsim.serving_image import HASH_LABEL, IMAGE, content_hash, ensure_serving_image
from jobs.catalog.planning import RecipeSpec
from jobs.catalog.render import AscendPaths, launch_argv, render_deployment
from tests.devsim.layout import processes

LABELS = {"npufleet.devsim": "1"}
LATENCY_KEYS = (
    "prefill_latency",
    "model_prefill_latency",
    "avg_decode_latency",
    "time_in_queue",
    "request_latency",
)
STARTUP_ORDER = (
    "vLLM API server version 0.6.0",
    "args: Namespace(",
    "Initializing an LLM engine (v0.6.0)",
    "Loading model weights took",
    "INFO:     Started server process [1]",
    "INFO:     Waiting for application startup.",
    "INFO:     Application startup complete.",
    "INFO:     Uvicorn running on http://0.0.0.0:",
)
FAST = {"VLLM_SIM_STARTUP_SECONDS": "0.2"}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


def http(port: int, path: str, body: bytes | dict[str, Any] | None = None) -> Reply:
    """One request to the server on 127.0.0.1:port (POST when a body is given)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - http://127.0.0.1
            return Reply(resp.status, dict(resp.headers), resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, dict(err.headers), err.read())


def logs(container: Container) -> str:
    return container.logs().decode(errors="replace").replace("\r\n", "\n")


def wait_for_log(container: Container, text: str, timeout: float = 15.0) -> str:
    """The container's log once it contains text (fails early when the container exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = logs(container)
        if text in out:
            return out
        container.reload()
        if container.status == "exited":
            break
        time.sleep(0.05)
    pytest.fail(f"{text!r} not in the log of {container.name}:\n{logs(container)[-3000:]}")


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    try:
        engine = docker.from_env(timeout=30)
        engine.ping()
    except Exception as exc:
        pytest.fail(f"Docker engine unreachable ({exc}): run scripts/ensure-docker.sh")
    return engine


@pytest.fixture(scope="module")
def image(client: docker.DockerClient) -> str:
    return ensure_serving_image(client)


Start = Callable[..., Container]


@pytest.fixture(scope="module")
def start(client: docker.DockerClient, image: str) -> Iterator[Start]:
    """Runs the image with a command; every container is removed at the end."""
    made: list[Container] = []

    def run(command: Sequence[str], env: dict[str, str] | None = None, **kw: Any) -> Container:
        kw.setdefault("network_mode", "host")
        container = client.containers.run(
            IMAGE, list(command), detach=True, labels=LABELS, environment=env or {},
            name=f"npufleet-vllm-sim-test-{uuid.uuid4().hex[:8]}", **kw,
        )  # fmt: skip
        made.append(container)
        return container

    yield run
    for container in made:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


@dataclass
class Server:
    container: Container
    port: int
    name: str
    startup_seconds: float


@pytest.fixture(scope="module")
def server(start: Start) -> Server:
    """The dashboard's launch of a recipe, default startup delay, host networking."""
    port = free_port()
    spec = RecipeSpec(
        model="qwen2-7b", model_path="/data/Qwen2-7B-Instruct", served_model_name="qwen2-7b",
        port=port,
    )  # fmt: skip
    began = time.monotonic()
    container = start(launch_argv(spec))
    wait_for_log(container, "Application startup complete.")
    return Server(container, port, "qwen2-7b", time.monotonic() - began)


# ----------------------------------------------------------------------------- the image


def test_image_is_idempotent_and_labelled_with_its_content_hash(
    client: docker.DockerClient, image: str
) -> None:
    assert ensure_serving_image(client) == image
    labels = client.images.get(IMAGE).labels
    assert labels[HASH_LABEL] == content_hash(Path("/bin/busybox"))
    assert labels["npufleet.devsim"] == "1"


def test_changed_script_rebuilds(
    client: docker.DockerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "npufleet/vllm-sim:pytest-rebuild"
    scripts = tmp_path / "serving"
    shutil.copytree(serving_image.SCRIPTS, scripts)
    monkeypatch.setattr(serving_image, "SCRIPTS", scripts)
    try:
        first = ensure_serving_image(client, name)
        assert ensure_serving_image(client, name) == first
        with (scripts / "api.awk").open("a") as fh:
            fh.write("# changed\n")
        second = ensure_serving_image(client, name)
        assert second != first
        assert client.images.get(name).labels[HASH_LABEL] == content_hash(Path("/bin/busybox"))
    finally:
        client.images.remove(name, force=True)


def test_image_has_no_python_only_the_shell_stand_ins(start: Start) -> None:
    probe = "head -1 /usr/bin/python /usr/bin/python3; ls /usr/lib /usr/local/lib 2>&1; id ma-user"
    container = start(["sh", "-c", probe])
    assert container.wait(timeout=10)["StatusCode"] == 0
    out = logs(container)
    assert out.count("#!/bin/sh") == 2
    assert "python3." not in out
    assert "uid=1000(ma-user)" in out


# ---------------------------------------------------------------------------- the server


def test_startup_prints_vllm_and_uvicorn_lines_in_order(server: Server) -> None:
    out = logs(server.container)
    positions = [out.find(line) for line in STARTUP_ORDER]
    assert -1 not in positions, out
    assert positions == sorted(positions)
    assert f"Uvicorn running on http://0.0.0.0:{server.port} (Press CTRL+C to quit)" in out
    args = next(line for line in out.splitlines() if "args: Namespace(" in line)
    for part in (
        "model='/data/Qwen2-7B-Instruct'", "max_model_len=4096", "tensor_parallel_size=1",
        "block_size=128", "gpu_memory_utilization=0.9", "trust_remote_code=True",
        "served_model_name=['qwen2-7b']", f"port={server.port}", "dtype='float16'",
    ):  # fmt: skip
        assert part in args
    assert re.search(r"^INFO \d\d-\d\d \d\d:\d\d:\d\d api_server\.py:\d+\] ", out, re.M)
    assert 1.5 <= server.startup_seconds < 10  # VLLM_SIM_STARTUP_SECONDS defaults to 2


def test_models_lists_the_served_name_and_max_model_len(server: Server) -> None:
    reply = http(server.port, "/v1/models")
    assert reply.status == 200
    doc = reply.json()
    assert doc["object"] == "list"
    assert [(m["id"], m["max_model_len"], m["root"]) for m in doc["data"]] == [
        ("qwen2-7b", 4096, "/data/Qwen2-7B-Instruct")
    ]


def test_completion_with_return_latency_has_the_manuals_latency_object(server: Server) -> None:
    body = {"model": server.name, "prompt": "hello", "max_tokens": 32, "return_latency": True}
    reply = http(server.port, "/v1/completions", body)
    assert reply.status == 200
    assert reply.headers["connection"] == "close"
    doc = reply.json()
    assert doc["object"] == "text_completion" and doc["id"].startswith("cmpl-")
    assert doc["model"] == server.name and isinstance(doc["created"], int)
    assert doc["choices"][0]["text"] and doc["choices"][0]["finish_reason"] == "length"
    assert doc["usage"]["completion_tokens"] == 32
    assert doc["usage"]["total_tokens"] == doc["usage"]["prompt_tokens"] + 32
    latency = doc["latency"]
    assert set(latency) == set(LATENCY_KEYS)
    for key in LATENCY_KEYS:
        assert isinstance(latency[key], float | int) and latency[key] >= 0
        assert re.search(rf'"{key}":\d+\.\d\d[,}}]', reply.body.decode())  # ms, two decimals
    assert latency["time_in_queue"] < latency["prefill_latency"] < latency["request_latency"]
    assert latency["model_prefill_latency"] < latency["prefill_latency"]


def test_completion_without_return_latency_has_no_latency(server: Server) -> None:
    doc = http(server.port, "/v1/completions", {"model": server.name, "prompt": "hi"}).json()
    assert "latency" not in doc
    assert doc["usage"]["completion_tokens"] == 16  # vLLM's default max_tokens


def test_chat_completion(server: Server) -> None:
    body = {
        "model": server.name,
        "messages": [{"role": "user", "content": 'Say "hi"\n'}],
        "max_tokens": 8,
        "return_latency": True,
    }
    doc = http(server.port, "/v1/chat/completions", body).json()
    assert doc["object"] == "chat.completion"
    message = doc["choices"][0]["message"]
    assert message["role"] == "assistant" and len(message["content"].split()) == 8
    assert set(doc["latency"]) == set(LATENCY_KEYS)


def test_streaming_chat_ends_with_done(server: Server) -> None:
    body = {"model": server.name, "messages": [{"role": "user", "content": "x"}],
            "max_tokens": 3, "stream": True}  # fmt: skip
    reply = http(server.port, "/v1/chat/completions", body)
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = [e.removeprefix("data: ") for e in reply.body.decode().split("\n\n") if e]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks).count(" ") == 2


def test_health_is_an_empty_200(server: Server) -> None:
    reply = http(server.port, "/health")
    assert (reply.status, reply.body) == (200, b"")


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        ("/nope", None, 404, '"detail":"Not Found"'),
        ("/v1/completions", b'{"model": "qwen2-7b", "prompt": ', 400, "JSON decode error"),
        ("/v1/completions", b"not json", 400, "json_invalid"),
        ("/v1/chat/completions", b'{"model": "qwen2-7b"}', 400, "'messages'"),
        ("/v1/completions", {"model": "other", "prompt": "x"}, 404, "does not exist"),
        ("/v1/completions", {"model": "qwen2-7b", "prompt": "x", "max_tokens": 9000}, 400,
         "maximum context length is 4096 tokens"),
        ("/v1/models", b"{}", 405, "Method Not Allowed"),
    ],
)  # fmt: skip
def test_errors(server: Server, path: str, body: Any, status: int, needle: str) -> None:
    reply = http(server.port, path, body)
    assert reply.status == status
    assert needle in reply.body.decode()
    reply.json()


def test_each_request_gets_one_uvicorn_access_line(server: Server) -> None:
    marker = f"/v1/models?probe={uuid.uuid4().hex}"
    http(server.port, marker)
    line = wait_for(lambda: [ln for ln in logs(server.container).splitlines() if marker in ln])
    assert len(line) == 1
    assert re.fullmatch(
        rf'INFO:     127\.0\.0\.1:\d+ - "GET {re.escape(marker)} HTTP/1\.1" 200 OK', line[0]
    )


def test_sequential_and_concurrent_requests_all_succeed(server: Server) -> None:
    body = {"model": server.name, "prompt": "word " * 2000, "max_tokens": 4, "return_latency": True}
    for _ in range(20):
        assert http(server.port, "/v1/completions", body).status == 200
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: http(server.port, "/v1/completions", body).status,
                              range(64)))  # fmt: skip
    assert codes == [200] * 64


# ----------------------------------------------------------------------- other launches


def test_quantised_launch_with_space_separated_values(start: Start) -> None:
    port = free_port()
    spec = RecipeSpec(
        model="llama2-13b", model_path="/data/llama2-13b", tensor_parallel_size=2,
        max_model_len=8192, dtype="bfloat16", quantization="W8A8", kv_cache_dtype="int8",
        quantization_param_path="kv_cache_scales.json", served_model_name="llama2", port=port,
    )  # fmt: skip
    argv = [a for arg in launch_argv(spec) for a in (arg.split("=", 1) if "=" in arg else [arg])]
    assert "--port" in argv  # every --flag=value became --flag value
    container = start(argv, FAST)
    out = wait_for_log(container, "Uvicorn running on")
    for part in ("quantization='smoothquant'", "kv_cache_dtype='int8'", "tensor_parallel_size=2",
                 "quantization_param_path='kv_cache_scales.json'", "dtype='bfloat16'"):  # fmt: skip
        assert part in out
    assert http(port, "/v1/models").json()["data"][0]["max_model_len"] == 8192


def test_bridge_network_with_a_published_port_and_a_tty(start: Start) -> None:
    host_port = free_port()
    spec = RecipeSpec(model="qwen2-7b", model_path="/data/qwen", served_model_name="q", port=8080)
    container = start(
        launch_argv(spec), FAST, network_mode="bridge", ports={"8080/tcp": host_port}, tty=True
    )
    wait_for_log(container, "Uvicorn running on http://0.0.0.0:8080")
    assert http(host_port, "/health").status == 200
    body = {"model": "q", "prompt": "x", "return_latency": True}
    assert "latency" in http(host_port, "/v1/completions", body).json()


def test_docker_stop_is_quick_and_clean(start: Start) -> None:
    port = free_port()
    container = start(launch_argv(RecipeSpec(model="m", port=port)), FAST)
    wait_for_log(container, "Uvicorn running on")
    began = time.monotonic()
    container.stop(timeout=10)
    assert time.monotonic() - began < 5
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 0
    assert logs(container).rstrip().endswith("INFO:     Finished server process [1]")


def test_fail_startup_knob_exits_1_with_a_traceback(start: Start) -> None:
    env = {**FAST, "VLLM_SIM_FAIL_STARTUP": "1"}
    container = start(launch_argv(RecipeSpec(model="m", port=free_port())), env)
    assert container.wait(timeout=15)["StatusCode"] == 1
    out = logs(container)
    assert "Traceback (most recent call last):" in out
    assert "RuntimeError: NPU out of memory" in out
    assert "Application startup complete." not in out


def test_port_in_use_fails_like_uvicorn(start: Start, server: Server) -> None:
    container = start(launch_argv(RecipeSpec(model="m", port=server.port)), FAST)
    assert container.wait(timeout=15)["StatusCode"] == 1
    assert "[Errno 98] error while attempting to bind on address" in logs(container)


def test_log_flood_keeps_rate_and_order(start: Start) -> None:
    rate, seconds = 2000, 3
    env = {**FAST, "VLLM_SIM_LOG_RATE": str(rate), "VLLM_SIM_LOG_SECONDS": str(seconds)}
    container = start(launch_argv(RecipeSpec(model="m", port=free_port())), env)
    last = f"LOGTEST seq={rate * seconds} "
    wait_for_log(container, last, timeout=seconds + 15)
    rows = [
        (int(m[1]), int(m[2]))
        for m in re.finditer(r"^LOGTEST seq=(\d+) t=(\d{13})$", logs(container), re.M)
    ]
    assert [seq for seq, _ in rows] == list(range(1, rate * seconds + 1))
    stamps = [t for _, t in rows]
    assert stamps == sorted(stamps)
    span = (stamps[-1] - stamps[0]) / 1000
    achieved = (len(rows) - 1) / span
    print(f"log flood: {len(rows)} lines in {span:.3f} s = {achieved:.0f} lines/s")
    assert abs(achieved - rate) / rate < 0.1  # a loaded host may stall one tick
    assert abs(stamps[0] / 1000 - time.time()) < 60


# ---------------------------------------------------------------- the full docker run


@pytest.mark.devsim
def test_rendered_deployment_runs_on_a_simulated_node(
    devsim: DevsimFleet, client: docker.DockerClient, image: str
) -> None:
    node = devsim.node("node-a")
    port = free_port()
    name = f"npufleet-vllm-sim-test-{uuid.uuid4().hex[:8]}"
    paths = AscendPaths(
        device_dir=node.device_dir, driver_dir=node.driver_dir, npu_smi=node.npu_smi_path,
        install_info=node.install_info_path, log_dir=node.npu_log_dir,
    )  # fmt: skip
    spec = RecipeSpec(model="qwen2-7b", model_path="/data/qwen2", served_model_name="qwen2",
                      port=port, env={"VLLM_SIM_STARTUP_SECONDS": "0.2"})  # fmt: skip
    deployment = render_deployment(
        spec, image=IMAGE, container_name=name, card_ids=[3], paths=paths, labels=LABELS
    )
    try:
        result = devsim.ssh("node-a", deployment.docker_run.shell)
        assert result.ok, result.stderr
        wait_for_log(client.containers.get(name), "Application startup complete.")
        assert http(port, "/health").status == 200
        assert http(port, "/v1/models").json()["data"][0]["id"] == "qwen2"
        rows = wait_for(lambda: processes(devsim.npu_smi("node-a", "info").stdout), timeout=5)
        assert [(r[0], r[2]) for r in rows] == [(3, "python")]
    finally:
        devsim.ssh("node-a", shlex.join(["docker", "rm", "-f", name]))
