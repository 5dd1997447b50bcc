"""Warm probe of N simulated nodes: wall time and CPU, beside Ansible against the same nodes.

    .venv/bin/pip install -e '.[bench]'      # ansible-core
    .venv/bin/python bench/poll.py [--sizes 10 50 100] [--rounds 3]

Starts its own simulated fleet (root, sshd, Docker running) and its own SQLite database under
bench/out/, registers the nodes through the real services, probes them once to warm the pooled
connections, then times warm rounds of `probe_many` (what the beat task runs). CPU is the whole
machine's (from /proc/stat), so the simulator's sshd and npu-smi are included.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far (user + nice + system + irq + softirq)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DEBUG", "1")  # a local measurement, with the development keys
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def register(fleet_root: Path, names: list[str]) -> list[int]:
    from django.contrib.auth import get_user_model

    from devsim.client import DevsimFleet
    from fleet.services import nodes

    admin, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    handle = DevsimFleet(fleet_root, baseline={})
    ids = []
    for name in names:
        dev = handle.node(name)
        node = nodes.register_node(actor=admin, values=dev.onboarding_values())
        nodes.accept_host_key(node, actor=admin, fingerprint=dev.host_key_fingerprint)
        ids.append(node.pk)
    return ids


def time_probe(ids: list[int], rounds: int) -> dict[str, float]:
    from fleet.services.probing import probe_many

    walls, cpus = [], []
    for _ in range(rounds):
        cpu0, wall0 = machine_cpu_seconds(), time.perf_counter()
        results = probe_many(ids, workers=32)
        walls.append(time.perf_counter() - wall0)
        cpus.append(machine_cpu_seconds() - cpu0)
        bad = {k: v for k, v in results.items() if v not in ("online", "degraded")}
        if bad:
            raise SystemExit(f"probe failures: {bad}")
    return {
        "wall": statistics.median(walls),
        "wall_max": max(walls),
        "cpu": statistics.median(cpus),
    }


def time_ansible(fleet_root: Path, names: list[str], forks: int = 50) -> dict[str, float] | None:
    ansible = Path(sys.executable).with_name("ansible")
    if not ansible.exists():
        return None
    from devsim.client import DevsimFleet

    handle = DevsimFleet(fleet_root, baseline={})
    inventory = OUT / "inventory.ini"
    lines = ["[fleet]"]
    for name in names:
        dev = handle.node(name)
        lines.append(
            f"{name} ansible_host={dev.host} ansible_port={dev.port} ansible_user={dev.user} "
            f"ansible_ssh_private_key_file={dev.key_path} "
            f"ansible_ssh_common_args='-o UserKnownHostsFile={dev.known_hosts}'"
        )
    inventory.write_text("\n".join(lines) + "\n")
    env = {
        **os.environ,
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_LOCALHOST_WARNING": "False",
    }
    cpu0, wall0 = machine_cpu_seconds(), time.perf_counter()
    done = subprocess.run(
        [
            str(ansible),
            "all",
            "-i",
            str(inventory),
            "-m",
            "command",
            "-a",
            "npu-smi info",
            "-f",
            str(forks),
            "-o",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    wall, cpu = time.perf_counter() - wall0, machine_cpu_seconds() - cpu0
    ok = done.stdout.count("| CHANGED |") + done.stdout.count("| SUCCESS |")
    if ok != len(names):
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"ansible reached {ok} of {len(names)} nodes")
    return {"wall": wall, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-ansible", action="store_true")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", ""),
        help="a PostgreSQL URL as in production (the database is emptied); default SQLite",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / "poll.sqlite3"
    db.unlink(missing_ok=True)
    setup_django(args.database_url or f"sqlite:///{db}")
    if args.database_url:
        from django.core.management import call_command

        call_command("flush", "--noinput", verbosity=0)

    from devsim.fleet import Fleet
    from devsim.nodes import NodeSpec

    biggest = max(args.sizes)
    fleet_root = Path(tempfile.mkdtemp(prefix="devsim-bench-"))
    fleet_root.chmod(0o755)
    fleet = Fleet(fleet_root)
    names = [f"bench-{i:03d}" for i in range(biggest)]
    rows = []
    try:
        fleet.up([NodeSpec(name, chip="910B3", cards=8) for name in names])
        ids = register(fleet_root, names)
        from fleet.services.probing import probe_many

        probe_many(ids)  # cold: connect, full inventory probe
        probe_many(ids)  # warm the quick path once
        for size in args.sizes:
            ours = time_probe(ids[:size], args.rounds)
            theirs = None if args.no_ansible else time_ansible(fleet_root, names[:size])
            rows.append((size, ours, theirs))
            speedup = f"{theirs['wall'] / ours['wall']:.0f}x" if theirs else "-"
            print(
                f"N={size:>3}  probe wall {ours['wall']:.2f}s (max {ours['wall_max']:.2f}s) "
                f"cpu {ours['cpu']:.2f}s  |  ansible wall "
                f"{theirs['wall'] if theirs else float('nan'):.2f}s  speed-up {speedup}",
                flush=True,
            )
    finally:
        fleet.down(purge=True)
        shutil.rmtree(fleet_root, ignore_errors=True)
    header = (
        f"\n| nodes | probe wall (median of {args.rounds}) | probe wall max | machine CPU | "
        "ansible -f 50 wall | ansible CPU | speed-up |"
    )
    print(header)
    print("|---|---|---|---|---|---|---|")
    for size, ours, theirs in rows:
        cells = [
            f"{size}",
            f"{ours['wall']:.2f} s",
            f"{ours['wall_max']:.2f} s",
            f"{ours['cpu']:.2f} s",
        ]
        if theirs:
            speedup = theirs["wall"] / ours["wall"]
            cells += [f"{theirs['wall']:.2f} s", f"{theirs['cpu']:.2f} s", f"{speedup:.0f}x"]
        else:
            cells += ["-", "-", "-"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
