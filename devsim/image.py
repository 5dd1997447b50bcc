"""Builds the tiny local test image (static busybox) without any registry access."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import docker

IMAGE = "npufleet/busybox:local"
BUSYBOX = Path("/bin/busybox")
DIRS = ("bin", "dev", "etc", "proc", "root", "sys", "usr/local/sbin", "usr/local/Ascend", "var")


class ImageError(RuntimeError):
    """The test image could not be built."""


def ensure_busybox() -> Path:
    """Path of a static busybox, installing Debian's busybox-static when missing."""
    if BUSYBOX.exists() and _is_static(BUSYBOX):
        return BUSYBOX
    if os.geteuid() != 0:
        raise ImageError("static busybox missing: as root run apt-get install -y busybox-static")
    subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", "busybox-static"],
        check=True,
        capture_output=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return BUSYBOX


def _is_static(path: Path) -> bool:
    """A static ELF names no dynamic loader (PT_INTERP) near its start."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    return head.startswith(b"\x7fELF") and b"ld-linux" not in head and b"ld-musl" not in head


def _add(tar: tarfile.TarFile, name: str, *, kind: bytes = tarfile.DIRTYPE, **extra: Any) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mtime = int(time.time())
    info.mode = 0o755
    for key, value in extra.items():
        setattr(info, key, value)
    tar.addfile(info)


def rootfs_tar(busybox: Path) -> bytes:
    """A minimal root filesystem: busybox, its applet links, and the usual mount points."""
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in DIRS:
            _add(tar, d)
        _add(tar, "tmp", mode=0o1777)
        tar.add(str(busybox), arcname="bin/busybox")
        for applet in applets.stdout.split():
            if applet != "busybox" and "/" not in applet:
                _add(tar, f"bin/{applet}", kind=tarfile.SYMTYPE, linkname="busybox", mode=0o777)
        passwd = b"root:x:0:0:root:/root:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size, info.mode, info.mtime = len(passwd), 0o644, int(time.time())
        tar.addfile(info, io.BytesIO(passwd))
    return buf.getvalue()


def ensure_image(client: docker.DockerClient | None = None, name: str = IMAGE) -> str:
    """Import the busybox image unless it exists; return its id (idempotent)."""
    client = client or docker.from_env()
    try:
        return client.images.get(name).id
    except docker.errors.ImageNotFound:
        pass
    data = rootfs_tar(ensure_busybox())
    repo, tag = name.rsplit(":", 1)
    client.api.import_image_from_data(
        data,
        repository=repo,
        tag=tag,
        changes=[
            'CMD ["/bin/sh"]',
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LABEL npufleet.devsim=1",
        ],
    )
    return client.images.get(name).id
