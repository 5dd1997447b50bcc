"""A job log survives a Redis restart: clients reconnect with after_seq and lose no line."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from jobs.choices import JobKind
from jobs.consumers import JobLogConsumer
from jobs.models import Job
from jobs.streams import LogWriter

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test alone, so restarting it disturbs nobody else."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed (apt-get install redis-server)"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("private redis did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis(settings):
    redis = PrivateRedis()
    redis.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{redis.port}/0"], "prefix": "resilience"},
        }
    }
    channel_layers.backends = {}
    yield redis
    redis.stop()
    channel_layers.backends = {}


async def connect(job: Job, user, after: int) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        JobLogConsumer.as_asgi(), f"/ws/jobs/{job.pk}/?after_seq={after}"
    )
    communicator.scope["user"] = user
    communicator.scope["url_route"] = {"kwargs": {"job_id": job.pk}}
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive_logs(communicator: WebsocketCommunicator, count: int) -> list[int]:
    seqs: list[int] = []
    while len(seqs) < count:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "log":
            seqs.append(message["seq"])
    return seqs


def write(job: Job, text: str) -> int:
    writer = LogWriter(job.pk)
    writer.line(text)
    return writer.flush() or 0


async def test_redis_restart_during_a_log_stream_loses_no_line(private_redis, admin_user):
    job = await database_sync_to_async(Job.objects.create)(kind=JobKind.DEPLOY, steps=[])
    awrite = database_sync_to_async(write)
    client = await connect(job, admin_user, 0)
    await receive_logs(client, 0)
    for n in (1, 2, 3):
        await awrite(job, f"line {n}")
    seen = await receive_logs(client, 3)
    assert seen == [1, 2, 3]

    private_redis.stop()
    # Lines written while Redis is down are persisted; their broadcast fails quietly.
    for n in (4, 5, 6):
        assert await awrite(job, f"line {n}") == n
    # The consumer loses its channel layer: the socket drops, as a browser would see it.
    with contextlib.suppress(Exception):
        await client.disconnect()
    private_redis.start()
    channel_layers.backends = {}

    client = await connect(job, admin_user, seen[-1])
    seen += await receive_logs(client, 3)
    await awrite(job, "line 7")
    seen += await receive_logs(client, 1)
    await client.disconnect()
    assert seen == [1, 2, 3, 4, 5, 6, 7]
    await asyncio.sleep(0)
