"""The log websocket reads lost broadcasts back from the database: in order, no gap, no repeat."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from jobs.models import Job, LogChunk
from jobs.streams import broadcast
from tests.ws.conftest import write_lines
from tests.ws.test_job_log_ws import open_socket, receive_logs

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def close_thread_connections():
    """Close what the sync worker thread opened, so the test database can be dropped."""
    yield
    await database_sync_to_async(connections.close_all)()


@database_sync_to_async
def persist_only(job_id: int, *texts: str) -> list[int]:
    """Chunks written to the database whose broadcast is lost (a channel layer hiccup)."""
    last = Job.objects.values_list("log_seq", flat=True).get(pk=job_id)
    seqs = list(range(last + 1, last + 1 + len(texts)))
    LogChunk.objects.bulk_create(
        LogChunk(job_id=job_id, seq=seq, text=f"{text}\n")
        for seq, text in zip(seqs, texts, strict=True)
    )
    Job.objects.filter(pk=job_id).update(log_seq=seqs[-1])
    return seqs


@database_sync_to_async
def announce(job_id: int, seq: int) -> None:
    """Broadcast a chunk that is already in the database, as its writer would."""
    text = LogChunk.objects.get(job_id=job_id, seq=seq).text
    broadcast(job_id, {"type": "log.chunk", "seq": seq, "text": text})


awrite = database_sync_to_async(write_lines)


async def connected(job_id: int, user, after: int):
    socket = await open_socket(job_id, user, after=after)
    assert (await socket.connect())[0]
    status = await socket.receive_json_from(timeout=5)
    assert status["type"] == "status"
    return socket


async def test_lost_broadcasts_are_read_back_before_the_next_live_chunk(job, member_user):
    await awrite(job.pk, "line 1", "line 2", "line 3")
    socket = await connected(job.pk, member_user, after=1)
    assert await receive_logs(socket, 2) == [(2, "line 2\n"), (3, "line 3\n")]

    assert await persist_only(job.pk, "line 4", "line 5", "line 6") == [4, 5, 6]
    assert await socket.receive_nothing(timeout=0.3)  # nothing was broadcast
    assert await awrite(job.pk, "line 7") == [7]  # persisted and broadcast

    assert await receive_logs(socket, 4) == [
        (4, "line 4\n"),
        (5, "line 5\n"),
        (6, "line 6\n"),
        (7, "line 7\n"),
    ]
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_the_gap_fill_stops_at_the_live_chunk_and_later_broadcasts_are_not_repeated(
    job, member_user
):
    await awrite(job.pk, "line 1")
    socket = await connected(job.pk, member_user, after=0)
    assert await receive_logs(socket, 1) == [(1, "line 1\n")]

    # 2 was lost; 3 arrives live while 4 is already in the database, its broadcast on the way.
    await persist_only(job.pk, "line 2", "line 3", "line 4")
    await announce(job.pk, 3)
    assert await receive_logs(socket, 2) == [(2, "line 2\n"), (3, "line 3\n")]
    assert await socket.receive_nothing(timeout=0.3)  # 4 waits for its own broadcast
    await announce(job.pk, 4)
    assert await receive_logs(socket, 1) == [(4, "line 4\n")]

    # A broadcast delivered twice, or one the backfill already sent, is dropped.
    await announce(job.pk, 4)
    await announce(job.pk, 2)
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_a_client_far_behind_gets_every_chunk_once_in_order_across_backfill_pages(
    job, member_user
):
    # More than one backfill page (500 chunks) is missing when the client connects.
    total = 1203
    await persist_only(job.pk, *(f"line {n}" for n in range(1, total + 1)))
    socket = await connected(job.pk, member_user, after=150)
    got = await receive_logs(socket, total - 150)
    assert [seq for seq, _ in got] == list(range(151, total + 1))
    assert got[-1] == (total, f"line {total}\n")
    assert await socket.receive_nothing(timeout=0.3)

    # Live chunks continue right after, without a repeat of what the backfill sent.
    await announce(job.pk, total)
    assert await awrite(job.pk, "live") == [total + 1]
    assert await receive_logs(socket, 1) == [(total + 1, "live\n")]
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()
