"""One real OpenSSH sshd per simulated node: keys, config, start and stop."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from devsim.layout import LOGIN_PATH, NodePaths

SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")
PASSWORD_USER = "devsim"  # noqa: S105 - a user name, not a secret
PASSWORD = "devsim"  # noqa: S105 - documented test credential of the optional password user
PROFILE_HOOK = Path("/etc/profile.d/devsim.sh")
PROFILE_HOOK_TEXT = """\
# devsim: interactive logins into a simulated Ascend node keep that node's npu-smi first in PATH.
if [ -n "${DEVSIM_NODE_DIR:-}" ] && [ -d "$DEVSIM_NODE_DIR/usr/local/sbin" ]; then
    PATH="$DEVSIM_NODE_DIR/usr/local/sbin:$PATH"
    export PATH
fi
"""


class SshdError(RuntimeError):
    """sshd could not be configured, started or stopped."""


def require_sshd() -> None:
    """Fail with the fix when OpenSSH's server is missing."""
    if not SSHD.exists():
        raise SshdError(f"{SSHD} missing: run scripts/ensure-sshd.sh (installs openssh-server)")
    if os.geteuid() != 0:
        raise SshdError("devsim runs one sshd per node and must run as root")
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)


def keygen(path: Path, comment: str) -> None:
    """Create an ed25519 keypair unless it exists."""
    if path.exists() and path.with_suffix(".pub").exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    path.chmod(0o600)


def public_key(path: Path) -> str:
    """'ssh-ed25519 AAAA...' of a keypair (without the comment)."""
    algo, blob = path.with_suffix(".pub").read_text().split()[:2]
    return f"{algo} {blob}"


def fingerprint(path: Path) -> str:
    """OpenSSH SHA256 fingerprint of a keypair's public key."""
    blob = base64.b64decode(public_key(path).split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def free_port(taken: set[int]) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on and no other node uses."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in taken:
            return port
    raise SshdError("no free port found")


def _q(value: object) -> str:
    return '"' + str(value).replace('"', "") + '"'


def render_config(node: NodePaths, port: int, password_user: bool) -> str:
    """sshd_config of one node: its own port, host key, keys file, pid file and login env."""
    users = "root" + (f" {PASSWORD_USER}" if password_user else "")
    path = f"{node.sbin}:{LOGIN_PATH}"
    # SHLVL=1 keeps bash from sourcing ~/.bashrc for `ssh host cmd` (it only does so at
    # shell level 1), so a heavy root .bashrc cannot slow probes down or reorder PATH.
    env = " ".join(
        f"{k}={_q(v)}"
        for k, v in (
            ("DEVSIM_NODE", node.name),
            ("DEVSIM_NODE_DIR", node.root),
            ("PATH", path),
            ("SHLVL", 1),
        )
    )
    return f"""\
# devsim node {node.name}: generated, rewritten by `python -m devsim up`.
Port {port}
ListenAddress 127.0.0.1
HostKey {_q(node.host_key)}
PidFile {_q(node.sshd_pid)}
AuthorizedKeysFile {_q(node.authorized_keys)}
AllowUsers {users}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication {"yes" if password_user else "no"}
KbdInteractiveAuthentication no
PermitEmptyPasswords no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
MaxStartups 200:30:400
MaxSessions 100
LoginGraceTime 30
Subsystem sftp internal-sftp
SetEnv {env}
"""


def ensure_password_user() -> None:
    """Create the optional password login user (in the docker group) if missing."""
    exists = subprocess.run(["id", PASSWORD_USER], capture_output=True).returncode == 0
    if not exists:
        groups = ["-G", "docker"] if _group_exists("docker") else []
        subprocess.run(
            ["useradd", "-m", "-s", "/bin/bash", *groups, PASSWORD_USER],
            check=True,
            capture_output=True,
        )
    subprocess.run(["chpasswd"], input=f"{PASSWORD_USER}:{PASSWORD}\n", text=True, check=True)


def _group_exists(group: str) -> bool:
    return subprocess.run(["getent", "group", group], capture_output=True).returncode == 0


def ensure_profile_hook() -> None:
    """Install the tiny /etc/profile.d hook that keeps npu-smi in PATH for login shells."""
    try:
        if PROFILE_HOOK.read_text() == PROFILE_HOOK_TEXT:
            return
    except OSError:
        pass
    if PROFILE_HOOK.parent.is_dir():
        PROFILE_HOOK.write_text(PROFILE_HOOK_TEXT)


def read_pid(node: NodePaths) -> int | None:
    """Pid of the node's running sshd listener, or None."""
    try:
        pid = int(node.sshd_pid.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    # sshd rewrites its title to "sshd: /usr/sbin/sshd -f <config> ... [listener]".
    if str(node.sshd_config).encode() not in cmdline or _is_zombie(pid):
        return None
    return pid


def listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port (read from /proc, no connection made)."""
    want = f"0100007F:{port:04X}"
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(p[1] == want and p[3] == "0A" for p in (line.split() for line in lines))


def start(node: NodePaths, port: int, timeout: float = 10.0) -> int:
    """Start the node's sshd (if it is not running) and wait until it listens."""
    pid = read_pid(node)
    if pid is not None and listening(port):
        return pid
    if pid is not None:
        stop(node)
    proc = subprocess.run(
        [str(SSHD), "-f", str(node.sshd_config), "-E", str(node.sshd_log)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SshdError(f"sshd for {node.name} failed: {proc.stderr.strip() or proc.stdout}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = read_pid(node)
        if pid is not None and listening(port):
            return pid
        time.sleep(0.01)
    log = node.sshd_log.read_text()[-2000:] if node.sshd_log.exists() else ""
    raise SshdError(f"sshd for {node.name} did not listen on port {port} within {timeout}s\n{log}")


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(entry.name))
    return kids


def stop(node: NodePaths, timeout: float = 5.0) -> bool:
    """Stop the node's sshd and drop its open sessions; True if one was running."""
    pid = read_pid(node)
    if pid is None:
        return False
    for kid in [*_children(pid), pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(kid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        if _is_zombie(pid):
            break
        time.sleep(0.01)
    node.sshd_pid.unlink(missing_ok=True)
    return True


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
