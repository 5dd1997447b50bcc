"""The watcher maps containers to cards by the host path of the devices they hold."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from devsim.watcher import DEFAULT_HBM_MB, card_map


def inspect(
    name: str, pid: int, devices: list[str], running: bool = True, **config: Any
) -> dict[str, Any]:
    """A trimmed `docker inspect` document."""
    return {
        "Id": f"{name}-0123456789ab",
        "Name": f"/{name}",
        "Path": "/usr/bin/python3.11",
        "State": {"Running": running, "Pid": pid},
        "Config": {"Labels": config.get("labels", {}), "Env": config.get("env", [])},
        "HostConfig": {
            "Devices": [{"PathOnHost": d, "PathInContainer": "/dev/x"} for d in devices]
        },
    }


def test_devices_map_to_node_and_card(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes"
    (nodes / "node-a" / "dev").mkdir(parents=True)
    link = tmp_path / "alias"
    link.symlink_to(nodes / "node-a")
    node_a = f"{nodes}/node-a/dev"
    docs = [
        inspect("job", 111, [f"{node_a}/davinci3", f"{node_a}/davinci_manager"]),
        inspect("linked", 222, [f"{link}/dev/davinci4"], env=["DEVSIM_HBM_MB=5000"]),
        inspect("labelled", 333, [f"{nodes}/node-b/dev/davinci0"],
                labels={"npufleet.devsim.hbm-mb": "777"}),
        inspect("stopped", 444, [f"{nodes}/node-a/dev/davinci5"], running=False),
        inspect("elsewhere", 555, ["/dev/davinci6", "/tmp/other/node-a/dev/davinci6"]),
    ]  # fmt: skip
    result = card_map(os.path.realpath(nodes), docs)
    assert set(result) == {"node-a", "node-b"}
    assert set(result["node-a"]) == {"3", "4"}
    job = result["node-a"]["3"][0]
    assert (job["pid"], job["hbm_mb"], job["container"]) == (111, DEFAULT_HBM_MB, "job")
    assert job["name"] == "python3.11"  # pid 111 has no /proc entry: command basename
    assert result["node-a"]["4"][0]["hbm_mb"] == 5000
    assert result["node-b"]["0"][0]["hbm_mb"] == 777


def test_process_name_comes_from_proc_comm(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes"
    doc = inspect("me", os.getpid(), [f"{nodes}/node-a/dev/davinci0"])
    name = card_map(str(nodes), [doc])["node-a"]["0"][0]["name"]
    assert name == Path(f"/proc/{os.getpid()}/comm").read_text().strip()[:15]
