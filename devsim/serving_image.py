"""Builds the stand-in vLLM serving image (static busybox + devsim/serving scripts), no registry."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker

from devsim.image import ensure_busybox

IMAGE = "npufleet/vllm-sim:local"
HASH_LABEL = "npufleet.devsim.serving-hash"
SCRIPTS = Path(__file__).with_name("serving")
LOCK = Path("/tmp/npufleet-vllm-sim.lock")
MTIME = 1_700_000_000  # fixed, so the same inputs give the same tar
# image path -> file in devsim/serving (all executable)
FILES = {
    "usr/bin/python": "python",
    "usr/lib/vllm-sim/handler": "handler",
    "usr/lib/vllm-sim/api.awk": "api.awk",
    "usr/lib/vllm-sim/flood.awk": "flood.awk",
    "bin/bash": "bash",
}
LINKS = {"usr/bin/python3": "python"}
DIRS = (
    "bin", "dev", "etc", "home", "proc", "root", "sys", "usr", "usr/bin", "usr/lib",
    "usr/lib/vllm-sim", "usr/local", "usr/local/sbin", "usr/local/Ascend", "usr/slog", "var",
)  # fmt: skip
PASSWD = b"root:x:0:0:root:/root:/bin/sh\nma-user:x:1000:100:ma-user:/home/ma-user:/bin/sh\n"
GROUP = b"root:x:0:\nusers:x:100:ma-user\n"
CHANGES = (
    'CMD ["/bin/bash"]',
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LABEL npufleet.devsim=1",
)


def content_hash(busybox: Path) -> str:
    """Hash of everything that goes into the image: scripts, layout, busybox."""
    digest = hashlib.sha256()
    for part in (repr(sorted(FILES.items())), repr(sorted(LINKS.items())), repr(DIRS), CHANGES):
        digest.update(repr(part).encode())
    digest.update(PASSWD + GROUP)
    for name in sorted(FILES.values()):
        digest.update(name.encode() + b"\0" + (SCRIPTS / name).read_bytes())
    digest.update(busybox.read_bytes())
    return digest.hexdigest()[:16]


def _entry(tar: tarfile.TarFile, name: str, *, data: bytes | None = None, **extra: object) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = MTIME
    info.mode = 0o755
    info.type = tarfile.DIRTYPE if data is None else tarfile.REGTYPE
    for key, value in extra.items():
        setattr(info, key, value)
    if data is not None:
        info.size = len(data)
    tar.addfile(info, io.BytesIO(data) if data is not None else None)


def rootfs_tar(busybox: Path) -> bytes:
    """busybox with its applet links, the serving scripts, root and ma-user accounts."""
    listing = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in DIRS:
            _entry(tar, d)
        _entry(tar, "tmp", mode=0o1777)
        _entry(tar, "home/ma-user", uid=1000, gid=100)
        _entry(tar, "bin/busybox", data=busybox.read_bytes())
        for applet in sorted(set(listing.stdout.split())):
            if applet not in ("busybox", "bash") and "/" not in applet:
                link = {"type": tarfile.SYMTYPE, "linkname": "busybox", "mode": 0o777}
                _entry(tar, f"bin/{applet}", **link)
        for target, name in FILES.items():
            _entry(tar, target, data=(SCRIPTS / name).read_bytes())
        for target, linkname in LINKS.items():
            _entry(tar, target, type=tarfile.SYMTYPE, linkname=linkname, mode=0o777)
        _entry(tar, "etc/passwd", data=PASSWD, mode=0o644)
        _entry(tar, "etc/group", data=GROUP, mode=0o644)
    return buf.getvalue()


@contextmanager
def _build_lock() -> Iterator[None]:
    """One build at a time across processes (parallel test runs share the engine)."""
    with LOCK.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _current(client: docker.DockerClient, name: str) -> tuple[str | None, str | None]:
    """(image id, content hash label) of the tagged image, or (None, None)."""
    try:
        image = client.images.get(name)
    except docker.errors.ImageNotFound:
        return None, None
    return image.id, (image.labels or {}).get(HASH_LABEL)


def ensure_serving_image(
    client: docker.DockerClient | None = None, name: str = IMAGE, *, force: bool = False
) -> str:
    """Import the serving image unless one with the same content hash exists; return its id."""
    client = client or docker.from_env()
    busybox = ensure_busybox()
    wanted = content_hash(busybox)
    with _build_lock():
        old_id, label = _current(client, name)
        if old_id is not None and label == wanted and not force:
            return old_id
        repo, tag = name.rsplit(":", 1)
        client.api.import_image_from_data(
            rootfs_tar(busybox),
            repository=repo,
            tag=tag,
            changes=[*CHANGES, f"LABEL {HASH_LABEL}={wanted}"],
        )
        new_id = client.images.get(name).id
        if old_id is not None and old_id != new_id:
            # the old build, now untagged; the engine keeps it while a container uses it
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(old_id)
        return new_id
