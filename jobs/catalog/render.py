"""Render the seed 000 `docker run` and the vLLM api_server launch as argv and shell text."""

# The docker run follows seed 000 (步骤五 启动容器镜像) flag for flag: `-itd`, one
# `--device=/dev/davinciN` per card, the localtime / driver / ascend_install.info mounts, the
# davinci_manager, devmm_svm and hisi_hdc devices, the npu log, npu-smi and cgroup mounts, the
# user mounts, `--net=host`, `--name`, image, command. Extras the seed does not show (env,
# labels, --shm-size, a published port instead of host networking) go between the user mounts
# and the network flag. The launch follows seed 001's `python -m vllm.entrypoints.openai.
# api_server` (seed 000 only starts servers through start_servers.sh). Names and paths are
# checked against strict patterns (fullmatch, so no trailing newline slips through); free text
# only for NUL; every value is one argv element, so `shlex.join` gives copyable shell text that
# splits back into the same argv.

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from fleet.choices import MANAGEMENT_DEVICES, device_path
from jobs.catalog.planning import lookup
from jobs.catalog.planning.generic import DTYPES, FORBIDDEN_HOME
from jobs.catalog.planning.types import Mount, RecipeSpec

CONTAINER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_RE = re.compile(
    rf"^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
IMAGE_ID_RE = re.compile(r"^(?:sha256:)?[0-9a-f]{12,64}$")
PATH_RE = re.compile(r"^/[A-Za-z0-9._+@/-]*$")
RELATIVE_PATH_RE = re.compile(r"^[A-Za-z0-9._+@][A-Za-z0-9._+@/-]*$")
MODEL_RE = re.compile(r"^[A-Za-z0-9._+@/][A-Za-z0-9._+@/-]*$")
HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:-]*$")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABEL_KEY_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?$")
SHM_RE = re.compile(r"^[1-9][0-9]*[bkmgBKMG]?$")
NETWORKS = ("host", "bridge")
MAX_CARD_ID = 63


class RenderError(ValueError):
    """A value that cannot be rendered safely; `field` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class AscendPaths:
    """Where a node keeps its Ascend pieces (seed 000 defaults; npu-smi differs per node)."""

    device_dir: str = "/dev"
    driver_dir: str = "/usr/local/Ascend/driver"
    npu_smi: str = "/usr/local/sbin/npu-smi"
    install_info: str = "/etc/ascend_install.info"
    log_dir: str = "/var/log/npu/"


@dataclass(frozen=True)
class Command:
    """A command as an argv tuple, with its copyable shell form."""

    argv: tuple[str, ...]

    @property
    def shell(self) -> str:
        """The argv quoted for a POSIX shell (shlex.join)."""
        return shlex.join(self.argv)


@dataclass(frozen=True)
class Deployment:
    """The container start (running the server) and the server launch on its own."""

    docker_run: Command
    launch: Command


def _path(field_name: str, value: str, *, relative: bool = False) -> str:
    """Validate a path: strict characters, no '..' components, absolute unless allowed."""
    pattern = RELATIVE_PATH_RE if relative and not value.startswith("/") else PATH_RE
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise RenderError(field_name, f"{value!r} is not a plain path")
    if ".." in value.split("/"):
        raise RenderError(field_name, f"{value!r} contains '..'")
    return value


def _text(field_name: str, value: str, *, option_value: bool = False) -> str:
    """Free text: anything but NUL (and no leading '-' when it is an option's value)."""
    if not isinstance(value, str) or "\x00" in value:
        raise RenderError(field_name, "must be a string without NUL bytes")
    if option_value and (not value or value.startswith("-")):
        raise RenderError(field_name, f"{value!r} must be non-empty and not start with '-'")
    return value


def _positive(field_name: str, value: object) -> int:
    """A positive int (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RenderError(field_name, f"{value!r} is not a positive integer")
    return value


def _under_home(container_path: str) -> bool:
    """At or below /home/ma-user, which the manuals forbid as a mount target."""
    norm = posixpath.normpath(container_path)
    return norm == FORBIDDEN_HOME or norm.startswith(FORBIDDEN_HOME + "/")


def mount_args(mounts: Iterable[Mount]) -> list[str]:
    """`-v host:container[:ro]` pairs for user mounts."""
    out = []
    for mount in mounts:
        host = _path("mounts", mount.host_path)
        target = _path("mounts", mount.container_path)
        if _under_home(target):
            raise RenderError("mounts", f"{target!r} is at or below {FORBIDDEN_HOME}")
        out += ["-v", f"{host}:{target}" + (":ro" if mount.read_only else "")]
    return out


def device_args(device_dir: str, card_ids: Sequence[int]) -> list[str]:
    """One --device per card; with a non-/dev device dir, mapped onto /dev in the container."""
    _path("device_dir", device_dir)
    ids = list(card_ids)
    for card in ids:
        if isinstance(card, bool) or not isinstance(card, int) or not 0 <= card <= MAX_CARD_ID:
            raise RenderError("card_ids", f"{card!r} is not a card id 0-{MAX_CARD_ID}")
    if len(set(ids)) != len(ids):
        raise RenderError("card_ids", f"{ids} lists a card twice")

    def dev(card: int) -> str:
        """--device for one card's device node."""
        host, inside = device_path(device_dir, card), device_path("/dev", card)
        return f"--device={host}" if device_dir == "/dev" else f"--device={host}:{inside}"

    return [dev(card) for card in ids]


def _control_args(device_dir: str) -> list[str]:
    """The three control devices every NPU container needs."""
    if device_dir == "/dev":
        return [f"--device=/dev/{n}" for n in MANAGEMENT_DEVICES]
    return [f"--device={device_path(device_dir, n)}:/dev/{n}" for n in MANAGEMENT_DEVICES]


def _pairs(field_name: str, items: Mapping[str, str] | None, key_re: re.Pattern[str]) -> list[str]:
    """KEY=VALUE strings with strict keys and free-text values."""
    out = []
    for key, value in (items or {}).items():
        if not isinstance(key, str) or not key_re.fullmatch(key):
            raise RenderError(field_name, f"key {key!r} is not allowed")
        out.append(f"{key}={_text(field_name, value)}")
    return out


def _image(image: str) -> str:
    """An image reference (registry/repo:tag[@digest]) or an image id."""
    if not isinstance(image, str) or not (
        IMAGE_RE.fullmatch(image) or IMAGE_ID_RE.fullmatch(image)
    ):
        raise RenderError("image", f"{image!r} is not an image reference")
    return image


def render_docker_run(
    *,
    image: str,
    container_name: str,
    card_ids: Sequence[int],
    paths: AscendPaths | None = None,
    mounts: Sequence[Mount] = (),
    env: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    network: str = "host",
    published_port: tuple[int, int] | None = None,
    shm_size: str | None = None,
    command: Sequence[str] = ("/bin/bash",),
) -> Command:
    """The seed 000 `docker run` for the given cards, mounts and container name."""
    paths = paths or AscendPaths()
    if not isinstance(container_name, str) or not CONTAINER_NAME_RE.fullmatch(container_name):
        raise RenderError("container_name", f"{container_name!r} is not a container name")
    for name in ("driver_dir", "npu_smi", "install_info", "log_dir"):
        _path(name, getattr(paths, name))
    argv = ["docker", "run", "-itd", *device_args(paths.device_dir, card_ids)]
    # The seed mounts these read-write; they are read-only here, since a container that could
    # rewrite the node's driver or npu-smi would run code as root on the node (the container
    # policy refuses them writable).
    argv += ["-v", "/etc/localtime:/etc/localtime:ro"]
    argv += ["-v", f"{paths.driver_dir}:/usr/local/Ascend/driver:ro"]
    argv += ["-v", f"{paths.install_info}:/etc/ascend_install.info:ro"]
    argv += _control_args(paths.device_dir)
    argv += ["-v", f"{paths.log_dir}:/usr/slog"]
    argv += ["-v", f"{paths.npu_smi}:{paths.npu_smi}:ro"]
    argv += ["-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro"]
    argv += mount_args(mounts)
    for pair in _pairs("env", env, ENV_KEY_RE):
        argv += ["-e", pair]
    for pair in _pairs("labels", labels, LABEL_KEY_RE):
        argv += ["--label", pair]
    if shm_size is not None:
        if not isinstance(shm_size, str) or not SHM_RE.fullmatch(shm_size):
            raise RenderError("shm_size", f"{shm_size!r} is not a size like 200g")
        argv += ["--shm-size", shm_size]
    argv += _network_args(network, published_port)
    argv += ["--name", container_name, _image(image)]
    argv += [_text("command", part) for part in command]
    return Command(tuple(argv))


def _network_args(network: str, published_port: tuple[int, int] | None) -> list[str]:
    """--net=host as in the seed, or a bridge network publishing one port."""
    if network not in NETWORKS:
        raise RenderError("network", f"{network!r} is not one of {', '.join(NETWORKS)}")
    if network == "host":
        if published_port is not None:
            raise RenderError("network", "host networking publishes no ports")
        return ["--net=host"]
    if published_port is None:
        raise RenderError("network", "a bridge network needs a published port")
    host_port, port = published_port
    for value in published_port:
        if _positive("port", value) > 65535:
            raise RenderError("port", f"{value} is not a TCP port")
    return ["--network=bridge", "-p", f"{host_port}:{port}"]


def launch_argv(spec: RecipeSpec) -> tuple[str, ...]:
    """`python -m vllm.entrypoints.openai.api_server ...` with the recipe's values."""
    model = spec.model_path if spec.model_path is not None else spec.model
    if not isinstance(model, str) or not MODEL_RE.fullmatch(model) or ".." in model.split("/"):
        raise RenderError("model_path", f"{model!r} is not a path or model id")
    if spec.dtype not in DTYPES:
        raise RenderError("dtype", f"{spec.dtype!r} is not float16 or bfloat16")
    if not isinstance(spec.host, str) or not HOST_RE.fullmatch(spec.host):
        raise RenderError("host", f"{spec.host!r} is not an address")
    if _positive("port", spec.port) > 65535:
        raise RenderError("port", f"{spec.port} is not a TCP port")
    util = spec.gpu_memory_utilization
    if isinstance(util, bool) or not isinstance(util, int | float) or not 0 < util <= 1:
        raise RenderError("gpu_memory_utilization", f"{util!r} is outside (0, 1]")
    argv = ["python", "-m", "vllm.entrypoints.openai.api_server", "--model", model]
    argv += [
        f"--max-num-seqs={_positive('max_num_seqs', spec.max_num_seqs)}",
        f"--max-model-len={_positive('max_model_len', spec.max_model_len)}",
        f"--max-num-batched-tokens={_positive('max_num_batched_tokens', spec.batched_tokens)}",
        f"--dtype={spec.dtype}",
        f"--tensor-parallel-size={_positive('tensor_parallel_size', spec.tensor_parallel_size)}",
        f"--block-size={_positive('block_size', spec.block_size)}",
        f"--host={spec.host}",
        f"--port={spec.port}",
        f"--gpu-memory-utilization={util:g}",
    ]
    if spec.trust_remote_code:
        argv.append("--trust-remote-code")
    if spec.served_model_name is not None:
        name = _text("served_model_name", spec.served_model_name, option_value=True)
        argv += ["--served-model-name", name]
    argv += _quant_args(spec)
    argv += [_text("extra_args", arg) for arg in spec.extra_args]
    return tuple(argv)


def _quant_args(spec: RecipeSpec) -> list[str]:
    """--quantization <flag>, --kv-cache-dtype int8, --quantization-param-path <file>."""
    out = []
    try:
        scheme = lookup.scheme_of(spec.quantization)
    except KeyError:
        raise RenderError("quantization", f"{spec.quantization!r} is unknown") from None
    if scheme is not None:
        out += ["--quantization", lookup.flag_of(scheme)]
    if spec.kv_cache_dtype is not None:
        if spec.kv_cache_dtype != "int8":
            raise RenderError("kv_cache_dtype", "only int8 is supported")
        out += ["--kv-cache-dtype", "int8"]
    if spec.quantization_param_path is not None:
        path = _path("quantization_param_path", spec.quantization_param_path, relative=True)
        out += ["--quantization-param-path", path]
    return out


def render_launch(spec: RecipeSpec) -> Command:
    """The vLLM OpenAI api_server launch for a recipe."""
    return Command(launch_argv(spec))


def render_exec(container_name: str, argv: Sequence[str], user: str = "ma-user") -> Command:
    """`docker exec -d -u ma-user <name> <argv>`: start a command in a running container."""
    if not CONTAINER_NAME_RE.fullmatch(container_name):
        raise RenderError("container_name", f"{container_name!r} is not a container name")
    if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", user):
        raise RenderError("user", f"{user!r} is not a user name")
    parts = [_text("command", a) for a in argv]
    return Command(("docker", "exec", "-d", "-u", user, container_name, *parts))


def render_deployment(
    spec: RecipeSpec,
    *,
    image: str,
    container_name: str,
    card_ids: Sequence[int],
    paths: AscendPaths | None = None,
    labels: Mapping[str, str] | None = None,
    network: str = "host",
    host_port: int | None = None,
    shm_size: str | None = None,
) -> Deployment:
    """A container that runs the recipe's server on the given cards."""
    if len(list(card_ids)) != spec.tensor_parallel_size:
        raise RenderError(
            "card_ids",
            f"{len(list(card_ids))} cards for tensor-parallel-size {spec.tensor_parallel_size}",
        )
    launch = render_launch(spec)
    published = None if network == "host" else (host_port or spec.port, spec.port)
    run = render_docker_run(
        image=image,
        container_name=container_name,
        card_ids=card_ids,
        paths=paths,
        mounts=spec.mounts,
        env=spec.env,
        labels=labels,
        network=network,
        published_port=published,
        shm_size=shm_size,
        command=launch.argv,
    )
    return Deployment(docker_run=run, launch=launch)
