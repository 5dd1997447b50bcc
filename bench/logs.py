"""Log latency: a container prints 2,000 lines/s for 30 s; container → websocket client.

    .venv/bin/pip install -e '.[bench]'      # websockets (the measuring client)
    .venv/bin/python bench/logs.py [--rate 2000] [--seconds 30]

Path measured: the container's stdout → Docker → the job engine's follower (docker SDK over the
node's SSH connection) → numbered chunks in the database → the channel layer (Redis) → Daphne →
a websocket client. Beside it, in the same run, `docker logs -f` read over SSH directly. Every
line carries its own send time (`LOGTEST seq=N t=<ms>`); latency = arrival - t. Lines lost =
lines sent that never arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))
LINE = re.compile(r"LOGTEST seq=(\d+) t=(\d+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def now_ms() -> float:
    return time.time() * 1000


class Arrivals:
    """seq → latency (ms) of the first arrival; repeats counted."""

    def __init__(self) -> None:
        self.latency: dict[int, float] = {}
        self.repeats = 0
        self.lock = threading.Lock()

    def feed(self, text: str) -> None:
        arrived = now_ms()
        with self.lock:
            for seq, sent in LINE.findall(text):
                if int(seq) in self.latency:
                    self.repeats += 1
                else:
                    self.latency[int(seq)] = arrived - int(sent)

    def summary(self, expected: int) -> dict[str, float]:
        values = sorted(self.latency.values())
        if not values:
            return {"received": 0, "lost": expected, "repeats": self.repeats}
        pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
        return {
            "received": len(values),
            "lost": expected - len(values),
            "repeats": self.repeats,
            "p50": pick(0.50),
            "p99": pick(0.99),
            "max": values[-1],
            "mean": statistics.fmean(values),
        }


def setup(db_url: str) -> dict:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["NPUFLEET_ENV_FILE"] = ""
    os.environ.setdefault("DEBUG", "1")  # a local measurement, with the development keys
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if not db_url.startswith("sqlite"):
        call_command("flush", "--noinput", verbosity=0)  # a benchmark database starts empty
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from fleet.booking.models import Membership, Team

    user, _ = get_user_model().objects.get_or_create(username="bench-logs", is_superuser=True)
    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    Membership.objects.get_or_create(team=team, user=user)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    return {"user": user, "team": team, "session": session.session_key}


def make_deployment(ctx: dict, node, image: str, name: str):
    from jobs.catalog.services.catalog_edits import ensure_seed_catalog
    from jobs.catalog.services.recipes import create_recipe
    from jobs.choices import DeploymentStatus, JobKind, JobStatus
    from jobs.models import Deployment, Job

    ensure_seed_catalog()  # an emptied benchmark database has lost the migrated catalog
    recipe = create_recipe(
        ctx["user"],
        team=ctx["team"],
        name=f"bench-{int(time.time())}",
        values={
            "model": "qwen2-7b",
            "image": image,
            "tensor_parallel_size": 1,
            "max_model_len": 4096,
            "max_num_batched_tokens": 4096,
            "served_model_name": "bench",
            "env": {"USE_PFA_HIGH_PRECISION_MODE": "1"},
        },
    )
    job = Job.objects.create(
        kind=JobKind.DEPLOY,
        status=JobStatus.RUNNING,
        node=node,
        team=ctx["team"],
        requested_by=ctx["user"],
        node_name=node.name,
    )
    deployment = Deployment.objects.create(
        recipe_version=recipe.current_version,
        node=node,
        team=ctx["team"],
        cards=[0],
        status=DeploymentStatus.RUNNING,
        container_name=name,
        log_job=job,
    )
    return job, deployment


async def ws_reader(url: str, session: str, arrivals: Arrivals, done: asyncio.Event) -> None:
    import websockets

    headers = {"Cookie": f"sessionid={session}", "Origin": "http://127.0.0.1"}
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        while not done.is_set():
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.5))
            except TimeoutError:
                continue
            if message.get("type") == "log":
                arrivals.feed(message["text"])


def ssh_reader(node, name: str, arrivals: Arrivals, stop: threading.Event) -> None:
    from fleet.remote import pool
    from fleet.services.nodes import target_for

    transport = pool.client(target_for(node)).get_transport()
    channel = transport.open_session()
    channel.exec_command(f"docker logs -f {name}")
    channel.settimeout(0.5)
    pending = ""
    while not stop.is_set():
        try:
            data = channel.recv(65536)
        except TimeoutError:
            continue
        if not data:
            break
        pending += data.decode()
        *lines, pending = pending.split("\n")
        arrivals.feed("\n".join(lines))
    channel.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / "logs.sqlite3"
    db.unlink(missing_ok=True)
    ctx = setup(args.database_url or f"sqlite:///{db}")

    import docker

    from devsim.client import DevsimFleet
    from devsim.fleet import Fleet
    from devsim.nodes import NodeSpec
    from devsim.serving_image import IMAGE, ensure_serving_image
    from fleet.services import nodes as node_services
    from jobs.follow import follow

    ensure_serving_image()
    root = Path(tempfile.mkdtemp(prefix="devsim-logs-"))
    root.chmod(0o755)
    fleet = Fleet(root)
    fleet.up([NodeSpec("logs-node")])
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    web = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("daphne")),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    name = f"npufleet-bench-logs-{os.getpid()}"
    client = docker.from_env()
    container = None
    try:
        dev = DevsimFleet(root, baseline={}).node("logs-node")
        node = node_services.register_node(
            actor=ctx["user"],
            values={
                "name": "logs-node",
                "host": dev.host,
                "port": dev.port,
                "username": dev.user,
                "private_key": Path(dev.key_path).read_text(),
                "device_dir": dev.device_dir,
                "driver_dir": dev.driver_dir,
                "npu_smi_path": dev.npu_smi_path,
                "install_info_path": dev.install_info_path,
            },
        )
        node = node_services.accept_host_key(
            node, actor=ctx["user"], fingerprint=dev.host_key_fingerprint
        )
        job, deployment = make_deployment(ctx, node, IMAGE, name)
        container = client.containers.create(
            IMAGE,
            [
                "python",
                "-m",
                "vllm.entrypoints.openai.api_server",
                "--port",
                str(free_port()),
                "--served-model-name",
                "bench",
            ],
            name=name,
            network_mode="host",
            labels={"npufleet.devsim": "1"},
            environment={
                "VLLM_SIM_STARTUP_SECONDS": "0",
                "VLLM_SIM_LOG_RATE": str(args.rate),
                "VLLM_SIM_LOG_SECONDS": str(args.seconds),
            },
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        via_dashboard, via_ssh = Arrivals(), Arrivals()
        stop = threading.Event()
        container.start()
        follower = threading.Thread(target=follow, args=(deployment.pk,), daemon=True)
        follower.start()
        ssh = threading.Thread(target=ssh_reader, args=(node, name, via_ssh, stop), daemon=True)
        ssh.start()
        done = asyncio.Event()

        async def run() -> None:
            reader = asyncio.create_task(
                ws_reader(
                    f"ws://127.0.0.1:{port}/ws/jobs/{job.pk}/?after_seq=0",
                    ctx["session"],
                    via_dashboard,
                    done,
                )
            )
            expected = args.rate * args.seconds
            deadline = time.monotonic() + args.seconds + 30
            while time.monotonic() < deadline and len(via_dashboard.latency) < expected:
                await asyncio.sleep(0.5)
            await asyncio.sleep(2)
            done.set()
            await reader

        asyncio.run(run())
        stop.set()
        expected = args.rate * args.seconds
        rows = [
            ("dashboard websocket", via_dashboard.summary(expected)),
            ("docker logs -f over SSH", via_ssh.summary(expected)),
        ]
        print(f"\n{args.rate} lines/s for {args.seconds} s = {expected} lines\n")
        print("| path | received | lost | repeats | p50 ms | p99 ms | max ms |")
        print("|---|---|---|---|---|---|---|")
        for label, s in rows:
            print(
                f"| {label} | {s['received']} | {s['lost']} | {s['repeats']} | "
                f"{s.get('p50', float('nan')):.0f} | {s.get('p99', float('nan')):.0f} | "
                f"{s.get('max', float('nan')):.0f} |"
            )
    finally:
        if container is not None:
            container.remove(force=True)
        web.terminate()
        web.wait(timeout=10)
        fleet.down(purge=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
