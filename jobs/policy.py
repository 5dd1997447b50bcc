"""The container policy: every container and build the product starts is checked here first.

One function per thing Docker is asked to do: `check_run` for a `docker run`/`docker create`
argv (deployments and every later workload), `check_build` for an image build. Both refuse with
`PolicyRefused`, whose message names the rule and the fix. Host paths are resolved on the node
(`realpath -m`, so `..` and symlinks cannot escape an allowed root) and the argv that reaches
Docker carries the resolved paths, not the ones the user typed.

The rules (DESIGN.md "Container policy"):
- host-path: bind mounts and build contexts only under the node's weights folder or the team's
  workspace (`<workspace root>/<team slug>`), plus the Ascend paths the manuals mount, read-only;
  never a system folder, the Docker socket, or anything that resolves outside those roots;
- privileged / capabilities / host-namespace: no `--privileged`, no `--cap-add`, no host PID,
  IPC, UTS, user or cgroup namespace, no security options;
- network: `--net=host` only on a node whose network mode is host; never another container's;
- devices: only `/dev/davinciN` of the booked cards plus the three management devices;
- image: only from an allowed registry prefix, or built on this node by the dashboard;
- docker-flags: any flag this module does not know is refused rather than passed on.
A site admin may grant an exception for one recipe, one rule and one value, with a reason.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from fleet.choices import MANAGEMENT_DEVICES, device_path
from fleet.errors import DomainError
from fleet.models import Node

Resolver = Callable[[Sequence[str]], list[str]]


class Rule:
    """Rule names, as refusals and exceptions name them."""

    HOST_PATH = "host-path"
    PRIVILEGED = "privileged"
    CAPABILITIES = "capabilities"
    HOST_NAMESPACE = "host-namespace"
    NETWORK = "network"
    DEVICES = "devices"
    IMAGE = "image"
    DOCKER_FLAGS = "docker-flags"


RULES: dict[str, str] = {
    Rule.HOST_PATH: "host paths only under the node's weights folder, the team's workspace or "
    "the Ascend paths (read-only)",
    Rule.PRIVILEGED: "no privileged containers or security options",
    Rule.CAPABILITIES: "no added capabilities",
    Rule.HOST_NAMESPACE: "no host PID, IPC, UTS, user or cgroup namespace",
    Rule.NETWORK: "host networking only on nodes whose network mode is host",
    Rule.DEVICES: "only the booked /dev/davinciN cards and the three management devices",
    Rule.IMAGE: "images only from allowed registries or built on the node by the dashboard",
    Rule.DOCKER_FLAGS: "only the docker flags the dashboard renders",
}
# Exceptions may lift these; devices and unknown flags never (a booking is a promise).
EXCEPTABLE = (
    Rule.HOST_PATH,
    Rule.PRIVILEGED,
    Rule.CAPABILITIES,
    Rule.HOST_NAMESPACE,
    Rule.NETWORK,
    Rule.IMAGE,
)

# Folders that are never a root and never mounted, whatever a node's settings say.
SYSTEM_DIRS = (
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib64",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/local",
    "/var",
)
# Never mounted, even below an allowed root (e.g. a weights folder under /var/lib).
NEVER_UNDER = (
    "/etc",
    "/root",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/run",
    "/var/run",
    "/var/lib/docker",
    "/var/lib/containerd",
)
SAFE_PATH_RE = re.compile(r"/[A-Za-z0-9._+@/-]*")
DEFAULT_LOG_DIR = "/var/log/npu"
CGROUP = "/sys/fs/cgroup"
LOCALTIME = "/etc/localtime"
DCMI = "/usr/local/dcmi"

_NO_VALUE = {"-i", "-t", "-d", "-it", "-id", "-td", "-itd", "-dit", "--rm", "--init"}
_WITH_VALUE = {
    "-v": "volume",
    "--volume": "volume",
    "--device": "device",
    "-e": "env",
    "--env": "env",
    "-l": "label",
    "--label": "label",
    "--shm-size": "plain",
    "--net": "network",
    "--network": "network",
    "-p": "plain",
    "--publish": "plain",
    "--name": "plain",
    "-w": "plain",
    "--workdir": "plain",
    "-u": "plain",
    "--user": "plain",
    "--entrypoint": "plain",
    "--cpus": "plain",
    "-m": "plain",
    "--memory": "plain",
    "--ulimit": "plain",
    "--hostname": "plain",
    "--restart": "plain",
}
_REFUSED = {
    "--privileged": (Rule.PRIVILEGED, "--privileged gives the container every host device"),
    "--security-opt": (Rule.PRIVILEGED, "security options can switch off confinement"),
    "--cap-add": (Rule.CAPABILITIES, "added capabilities reach past the container"),
    "--pid": (Rule.HOST_NAMESPACE, "another PID namespace"),
    "--ipc": (Rule.HOST_NAMESPACE, "another IPC namespace"),
    "--uts": (Rule.HOST_NAMESPACE, "another UTS namespace"),
    "--userns": (Rule.HOST_NAMESPACE, "another user namespace"),
    "--cgroupns": (Rule.HOST_NAMESPACE, "another cgroup namespace"),
    "--mount": (Rule.HOST_PATH, "--mount is not rendered by the dashboard; use -v"),
    "--volumes-from": (Rule.HOST_PATH, "another container's volumes"),
    "--env-file": (Rule.HOST_PATH, "--env-file reads a file on the node"),
    "--label-file": (Rule.HOST_PATH, "--label-file reads a file on the node"),
    "--device-cgroup-rule": (Rule.DEVICES, "device cgroup rules open more devices"),
    "--gpus": (Rule.DEVICES, "GPU requests"),
}


class PolicyRefused(DomainError):
    """The container policy refuses what was asked; `rule` names the rule broken."""

    status_code = 403

    def __init__(self, rule: str, message: str, *, value: str = "", field: str | None = None):
        super().__init__(
            f"container policy, rule {rule}: {message}", field=field, rule=rule, value=value
        )
        self.rule = rule
        self.value = value


@dataclass(frozen=True)
class Context:
    """Who asks and where: the node, the caller's team, the booked cards, granted exceptions."""

    node: Node
    team_slug: str | None
    cards: tuple[int, ...] = ()
    exceptions: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    field: str | None = None

    def excepted(self, rule: str, value: str) -> bool:
        """Whether an admin granted an exception for this rule and value (or a folder above)."""
        if rule not in EXCEPTABLE:
            return False
        for granted_rule, granted in self.exceptions:
            if granted_rule != rule:
                continue
            if granted == value:
                return True
            if rule == Rule.HOST_PATH and _under(value, granted):
                return True
        return False

    def refuse(self, rule: str, message: str, value: str = "") -> None:
        """Raise unless an exception covers it."""
        if self.excepted(rule, value):
            return
        raise PolicyRefused(rule, message, value=value, field=self.field)


def normalized_tag(tag: str) -> str:
    """`name` means `name:latest`, as `docker images` lists it."""
    last = tag.rsplit("/", 1)[-1]
    return tag if ":" in last else f"{tag}:latest"


def _under(path: str, root: str) -> bool:
    root = root.rstrip("/") or "/"
    return root == "/" or path == root or path.startswith(root + "/")


def _clean(path: str) -> str:
    """The lexical form: one slash between parts, no trailing slash, `..` folded."""
    return posixpath.normpath(path) if path.startswith("/") else path


def workspace_of(node: Node, team_slug: str) -> str:
    """`<workspace root>/<team slug>` on the node."""
    return posixpath.join(node.workspace_root.rstrip("/") or "/", team_slug)


def roots_for(node: Node, team_slug: str | None) -> list[tuple[str, str]]:
    """(label, folder) pairs a team's host paths may live under on this node."""
    roots = [("the node's weights folder", _clean(node.weights_dir))]
    if team_slug:
        roots.append((f"team {team_slug}'s workspace", _clean(workspace_of(node, team_slug))))
    return roots


def system_mounts(node: Node) -> dict[str, tuple[str, bool]]:
    """host path -> (container path, must be read-only) for the Ascend mounts of the manuals."""
    return {
        _clean(LOCALTIME): (LOCALTIME, True),
        _clean(node.driver_dir): ("/usr/local/Ascend/driver", True),
        _clean(node.install_info_path): ("/etc/ascend_install.info", True),
        _clean(node.npu_smi_path): (node.npu_smi_path, True),
        _clean(DCMI): (DCMI, True),
        _clean(CGROUP): (CGROUP, True),
        _clean(DEFAULT_LOG_DIR): ("/usr/slog", False),
    }


def _check_plain(path: str, ctx: Context, what: str) -> str:
    if not isinstance(path, str) or not SAFE_PATH_RE.fullmatch(path):
        ctx.refuse(
            Rule.HOST_PATH,
            f"{what} {path!r} is not an absolute path of plain names; use letters, digits "
            "and . _ - @ + below an allowed folder",
            str(path),
        )
    return path


def check_paths(
    paths: Sequence[str], ctx: Context, resolve: Resolver | None, what: str = "host path"
) -> list[str]:
    """Each path, resolved on the node when a resolver is given, inside an allowed root."""
    for path in paths:
        _check_plain(path, ctx, what)
    roots = roots_for(ctx.node, ctx.team_slug)
    lexical = [_clean(p) for p in paths]
    resolved = resolve(lexical) if resolve is not None else lexical
    root_paths = [r for _, r in roots]
    resolved_roots = resolve(root_paths) if resolve is not None else root_paths
    allowed = []
    for (label, _root), real_root in zip(roots, resolved_roots, strict=True):
        if real_root in SYSTEM_DIRS or any(_under(real_root, s) for s in NEVER_UNDER):
            continue  # a node set to weights folder "/" allows nothing through it
        allowed.append((label, real_root))
    names = ", ".join(f"{label} {root}" for label, root in allowed) or "none is set"
    out = []
    for given, real in zip(paths, resolved, strict=True):
        shown = given if real == _clean(given) else f"{given} (resolves to {real} on the node)"
        if real in SYSTEM_DIRS or any(_under(real, s) for s in NEVER_UNDER):
            ctx.refuse(
                Rule.HOST_PATH,
                f"{what} {shown} is a system folder; use a folder under {names}",
                real,
            )
        elif not any(_under(real, root) for _, root in allowed):
            ctx.refuse(
                Rule.HOST_PATH,
                f"{what} {shown} is outside the allowed folders ({names}); put the files there "
                "or ask a site admin for an exception",
                real,
            )
        out.append(real)
    return out


@dataclass
class _Parsed:
    # (flag, value or None, whether the value was written inline as --flag=value)
    flags: list[tuple[str, str | None, bool]] = field(default_factory=list)
    image: str = ""
    command: list[str] = field(default_factory=list)


def _parse(argv: Sequence[str], ctx: Context) -> tuple[list[str], _Parsed]:
    """Split `docker run|create ...` into its head, flags, image and command."""
    argv = list(argv)
    if len(argv) < 3 or argv[0] != "docker" or argv[1] not in ("run", "create"):
        raise PolicyRefused(Rule.DOCKER_FLAGS, f"not a docker run or create: {shlex.join(argv)}")
    head, rest = argv[:2], argv[2:]
    parsed = _Parsed()
    i = 0
    while i < len(rest):
        arg = rest[i]
        if not arg.startswith("-"):
            parsed.image = arg
            parsed.command = rest[i + 1 :]
            break
        name, eq, inline = arg.partition("=")
        if name in _REFUSED:
            rule, why = _REFUSED[name]
            value = inline if eq else (rest[i + 1] if i + 1 < len(rest) else "")
            ctx.refuse(rule, f"{name} is not allowed ({why})", name)
            parsed.flags.append((name, None if name == "--privileged" else value, bool(eq)))
            i += 1 if (eq or name == "--privileged") else 2
            continue
        if name in _NO_VALUE and not eq:
            parsed.flags.append((name, None, False))
            i += 1
            continue
        if name in _WITH_VALUE:
            if eq:
                value = inline
                i += 1
            else:
                if i + 1 >= len(rest):
                    raise PolicyRefused(Rule.DOCKER_FLAGS, f"{name} has no value")
                value = rest[i + 1]
                i += 2
            parsed.flags.append((name, value, bool(eq)))
            continue
        raise PolicyRefused(
            Rule.DOCKER_FLAGS,
            f"docker flag {name} is not one the dashboard renders; it was refused rather than "
            "passed on",
            value=name,
            field=ctx.field,
        )
    if not parsed.image:
        raise PolicyRefused(Rule.DOCKER_FLAGS, "no image named in the docker run")
    return head, parsed


def _check_volume(value: str, ctx: Context, resolve: Resolver | None) -> str:
    parts = value.split(":")
    if len(parts) not in (2, 3) or not parts[0].startswith("/"):
        ctx.refuse(
            Rule.HOST_PATH,
            f"-v {value} is not host-folder:container-folder[:ro]; named volumes and other "
            "forms are not allowed",
            value,
        )
        return value
    host, target = parts[0], parts[1]
    options = parts[2] if len(parts) == 3 else ""
    if options not in ("", "ro", "rw"):
        ctx.refuse(Rule.HOST_PATH, f"-v {value}: only the ro or rw option is allowed", value)
    readonly = options == "ro"
    system = system_mounts(ctx.node)
    clean_host = _clean(_check_plain(host, ctx, "host path"))
    if clean_host in system and system[clean_host][0] == target.rstrip("/"):
        if system[clean_host][1] and not readonly:
            ctx.refuse(
                Rule.HOST_PATH,
                f"{host} is mounted read-only into containers (a writable mount would let a "
                "container change the node's Ascend tools); add :ro",
                clean_host,
            )
        return value
    (real,) = check_paths([host], ctx, resolve, "host path")
    return ":".join([real, target, *([options] if options else [])])


def _check_device(value: str, ctx: Context) -> None:
    host, _, target = value.partition(":")
    target = target.split(":", 1)[0]
    allowed = {device_path(ctx.node.device_dir, card) for card in ctx.cards}
    allowed |= {device_path(ctx.node.device_dir, name) for name in MANAGEMENT_DEVICES}
    name = posixpath.basename(host)
    if host not in allowed or (target and target != f"/dev/{name}"):
        booked = ", ".join(f"davinci{c}" for c in ctx.cards) or "none"
        raise PolicyRefused(
            Rule.DEVICES,
            f"device {value} is not one of the booked cards ({booked}) or the management "
            "devices; book the card first",
            value=value,
            field=ctx.field,
        )


def _check_network(value: str, ctx: Context) -> None:
    if value == "host":
        if ctx.node.network_mode != "host":
            ctx.refuse(
                Rule.NETWORK,
                f"{ctx.node.name} publishes ports (network mode {ctx.node.network_mode}); "
                "host networking is only for nodes set to host mode",
                "host",
            )
    elif value not in ("bridge", "none"):
        ctx.refuse(Rule.NETWORK, f"network {value!r} is not host, bridge or none", value)


def check_run(
    argv: Sequence[str],
    ctx: Context,
    *,
    image_allowed: Callable[[str], bool],
    resolve: Resolver | None = None,
) -> list[str]:
    """The argv to hand to Docker (host paths resolved), or PolicyRefused naming the rule."""
    head, parsed = _parse(argv, ctx)
    out = list(head)
    for name, value, inline in parsed.flags:
        if value is None:
            out.append(name)
            continue
        kind = _WITH_VALUE.get(name)
        if kind == "volume":
            value = _check_volume(value, ctx, resolve)
        elif kind == "device":
            _check_device(value, ctx)
        elif kind == "network":
            _check_network(value, ctx)
        out += [f"{name}={value}"] if inline else [name, value]
    check_image(parsed.image, ctx, image_allowed)
    return [*out, parsed.image, *parsed.command]


def check_image(image: str, ctx: Context, image_allowed: Callable[[str], bool]) -> None:
    """An allowed registry prefix, or an image built on the node by the dashboard."""
    if image_allowed(image):
        return
    ctx.refuse(
        Rule.IMAGE,
        f"image {image} is not from an allowed registry and was not built on {ctx.node.name} by "
        "the dashboard; build it here, use an allowed registry, or ask a site admin to allow "
        "its registry",
        image,
    )


ARG_RE = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?\s*$", re.IGNORECASE)
FROM_LINE_RE = re.compile(
    r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", re.IGNORECASE
)
VAR_RE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def base_images(dockerfile: str, build_args: Mapping[str, str]) -> list[str]:
    """The images a Dockerfile builds FROM (build args and ARG defaults substituted)."""
    defaults: dict[str, str | None] = {}
    stages: set[str] = set()
    bases: list[str] = []
    for line in dockerfile.splitlines():
        arg = ARG_RE.match(line)
        if arg and not bases:
            defaults[arg[1]] = arg[2]
            continue
        match = FROM_LINE_RE.match(line)
        if not match:
            continue
        values = {**defaults, **build_args}
        image = VAR_RE.sub(lambda m, v=values: v.get(m[1]) or "\x00", match[1])
        if image.lower() not in stages and image != "scratch":
            bases.append(image)
        if match[2]:
            stages.add(match[2].lower())
    return bases


def check_build(
    ctx: Context,
    *,
    context_path: str = "",
    dockerfile: str | None = None,
    build_args: Mapping[str, str] | None = None,
    image_allowed: Callable[[str], bool],
    resolve: Resolver | None = None,
) -> str:
    """A build's context folder (resolved on the node) and base images; returns the folder."""
    real = ""
    if context_path:
        (real,) = check_paths([context_path], ctx, resolve, "build context")
    if dockerfile is not None:
        for image in base_images(dockerfile, build_args or {}):
            if "\x00" in image:
                raise PolicyRefused(
                    Rule.IMAGE,
                    "a FROM line uses a build argument with no value; give it a value so the "
                    "base image can be checked",
                    field="build_args",
                )
            check_image(image, ctx, image_allowed)
    return real


def describe(rules: Iterable[str] = RULES) -> list[dict[str, str]]:
    """The rules as (name, summary) rows, for pages and the API."""
    return [{"rule": name, "summary": RULES[name]} for name in rules]
