"""Background process that maps real containers to simulated cards (containers.json)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devsim.layout import FleetPaths, fleet_dir
from devsim.state import write_json

if TYPE_CHECKING:
    import docker

log = logging.getLogger("devsim.watcher")
HBM_LABEL = "npufleet.devsim.hbm-mb"
HBM_ENV = "DEVSIM_HBM_MB"
DEFAULT_HBM_MB = 3000
RESYNC_SECONDS = 2.0
DEVICE_RE = re.compile(r"^([a-z0-9][a-z0-9-]*)/dev/davinci(\d+)$")


def hbm_of(inspect: dict[str, Any]) -> int:
    """Per-card HBM a container's process uses: label, else env, else the default."""
    config = inspect.get("Config") or {}
    raw = (config.get("Labels") or {}).get(HBM_LABEL)
    if raw is None:
        for item in config.get("Env") or []:
            if item.startswith(HBM_ENV + "="):
                raw = item.split("=", 1)[1]
    try:
        return max(0, int(str(raw)))
    except ValueError:
        return DEFAULT_HBM_MB


def process_name(inspect: dict[str, Any]) -> str:
    """What npu-smi shows as the name: the main process's comm, else the command's basename."""
    pid = (inspect.get("State") or {}).get("Pid") or 0
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()[:15]
    except OSError:
        return os.path.basename(str(inspect.get("Path") or ""))[:15]


def card_map(nodes_root: str, inspects: list[dict[str, Any]]) -> dict[str, dict[str, list]]:
    """node -> card -> processes, from each container's host device paths."""
    prefix = nodes_root.rstrip("/") + "/"
    out: dict[str, dict[str, list]] = {}
    for ins in inspects:
        state = ins.get("State") or {}
        if not state.get("Running"):
            continue
        proc = {
            "pid": state.get("Pid"),
            "name": process_name(ins),
            "hbm_mb": hbm_of(ins),
            "container_id": ins.get("Id", "")[:12],
            "container": str(ins.get("Name", "")).lstrip("/"),
        }
        for dev in (ins.get("HostConfig") or {}).get("Devices") or []:
            host = os.path.realpath(dev.get("PathOnHost") or "")
            if not host.startswith(prefix):
                continue
            match = DEVICE_RE.match(host[len(prefix) :])
            if match:
                node, card = match.groups()
                out.setdefault(node, {}).setdefault(card, []).append(proc)
    return out


class Watcher:
    """Keeps containers.json in step with the Docker engine, via events plus a slow resync."""

    def __init__(self, paths: FleetPaths) -> None:
        self.paths = paths
        self.nodes_root = os.path.realpath(paths.nodes)
        self.stop = threading.Event()
        self.dirty = threading.Event()
        self.cache: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.invalid: set[str] = set()
        self.last: dict[str, Any] | None = None

    def owned(self) -> bool:
        """Whether this process is still the fleet's watcher (down removes the pid file)."""
        try:
            return int(self.paths.watcher_pid.read_text().strip()) == os.getpid()
        except (OSError, ValueError):
            return False

    def publish(self, nodes: dict[str, Any], docker_ok: bool) -> None:
        """Write containers.json when its content changed."""
        doc = {"docker": docker_ok, "nodes": nodes}
        if doc != self.last:
            write_json(self.paths.containers, {**doc, "updated": time.time()})
            self.last = doc

    def sync(self, client: docker.DockerClient) -> None:
        """Inspect running containers (cached by id) and publish the card map."""
        running = client.api.containers(filters={"status": "running"})
        ids = {c["Id"] for c in running}
        with self.lock:
            stale, self.invalid = self.invalid, set()
        for cid in stale:
            self.cache.pop(cid, None)
        for cid in list(self.cache):
            if cid not in ids:
                del self.cache[cid]
        for cid in ids - set(self.cache):
            try:
                self.cache[cid] = client.api.inspect_container(cid)
            except Exception as exc:  # removed between list and inspect
                log.info("skipping %s: %s", cid[:12], exc)
        self.publish(card_map(self.nodes_root, list(self.cache.values())), True)

    def follow(self, client: docker.DockerClient, broken: threading.Event) -> None:
        """Events thread: mark the map dirty on every container event."""
        try:
            for event in client.events(decode=True, filters={"type": "container"}):
                with self.lock:
                    self.invalid.add(event.get("id", ""))
                self.dirty.set()
                if self.stop.is_set():
                    return
        except Exception as exc:  # the stream dies with the daemon; reconnect in run()
            log.warning("event stream ended: %s", exc)
        broken.set()
        self.dirty.set()

    def session(self) -> None:
        """One connection to the engine: follow events until the stream breaks."""
        import docker  # imported here: the CLI loads this module and must start fast

        client = docker.from_env(timeout=15)
        client.ping()
        log.info("connected to docker %s", client.version().get("Version"))
        broken = threading.Event()
        threading.Thread(target=self.follow, args=(client, broken), daemon=True).start()
        self.cache.clear()
        while not self.stop.is_set() and not broken.is_set():
            if not self.owned():
                self.stop.set()
                break
            self.dirty.clear()
            self.sync(client)
            self.dirty.wait(RESYNC_SECONDS)
            time.sleep(0.02)  # coalesce bursts of events into one resync
        client.close()

    def run(self) -> None:
        """Claim the pid file, then reconnect forever until stopped or replaced."""
        self.paths.watcher_pid.write_text(f"{os.getpid()}\n")
        reported = False
        while not self.stop.is_set() and self.owned():
            try:
                self.session()
                reported = False
            except Exception as exc:  # docker down or restarting: retry, keep npu-smi served
                if not reported:
                    log.warning("docker unavailable, retrying every second: %s", exc)
                    reported = True
                self.publish({}, False)
                self.stop.wait(1.0)
        log.info("watcher %s exiting", os.getpid())


def spawn(paths: FleetPaths) -> int:
    """Start a detached watcher (re-parented to init) for a fleet and return its pid."""
    pkg_parent = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
    paths.watcher_pid.unlink(missing_ok=True)
    detach = 'log="$1"; shift; "$@" >>"$log" 2>&1 </dev/null &'
    subprocess.run(
        ["/bin/sh", "-c", detach, "sh", str(paths.watcher_log), sys.executable, "-m",
         "devsim.watcher", "--dir", str(paths.root)],
        env=env,
        cwd=str(paths.root),
        check=True,
        start_new_session=True,
    )  # fmt: skip
    started = time.time()
    deadline = time.monotonic() + 10.0
    pid = None
    while time.monotonic() < deadline:
        pid = pid or running_pid(paths)
        if pid is not None and _published_since(paths, started):
            return pid  # containers.json now reflects the engine (or says it is down)
        time.sleep(0.01)
    if pid is None:
        raise RuntimeError(f"container watcher did not start; see {paths.watcher_log}")
    return pid


def _published_since(paths: FleetPaths, since: float) -> bool:
    try:
        return float(json.loads(paths.containers.read_text()).get("updated", 0)) >= since
    except (OSError, ValueError):
        return False


def running_pid(paths: FleetPaths) -> int | None:
    """Pid of this fleet's live watcher, or None."""
    try:
        pid = int(paths.watcher_pid.read_text().strip())
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if b"devsim.watcher" in cmd and str(paths.root).encode() in cmd:
        return pid
    return None


def terminate(paths: FleetPaths, timeout: float = 5.0) -> bool:
    """Stop the fleet's watcher; True if one was running."""
    pid = running_pid(paths)
    paths.watcher_pid.unlink(missing_ok=True)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or "zombie" in _status(pid):
            return True
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    return True


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the watcher process."""
    parser = argparse.ArgumentParser(prog="devsim.watcher")
    parser.add_argument("--dir", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    watcher = Watcher(FleetPaths(fleet_dir(args.dir)))

    def _stop(_signum: int, _frame: object) -> None:
        watcher.stop.set()
        watcher.dirty.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    watcher.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
