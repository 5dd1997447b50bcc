"""The job log websocket through the project's ASGI app: who may listen, backfill, resume."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client

from config.asgi import application
from tests.ws.conftest import write_lines

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1")


@pytest.fixture(autouse=True)
async def close_thread_connections():
    """Close what the sync worker thread opened, so the test database can be dropped."""
    yield
    await database_sync_to_async(connections.close_all)()


@database_sync_to_async
def session_cookie(user) -> bytes:
    """The Cookie header of a browser signed in as `user`."""
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def open_socket(job_id: int, user=None, after: int | None = None) -> WebsocketCommunicator:
    """A communicator on /ws/jobs/<id>/ carrying the user's session (none when anonymous)."""
    headers = [ORIGIN]
    if user is not None:
        headers.append((b"cookie", await session_cookie(user)))
    query = "" if after is None else f"?after_seq={after}"
    return WebsocketCommunicator(application, f"/ws/jobs/{job_id}/{query}", headers=headers)


async def receive_logs(socket: WebsocketCommunicator, count: int) -> list[tuple[int, str]]:
    """The next `count` log messages as (seq, text)."""
    out = []
    while len(out) < count:
        message = await socket.receive_json_from(timeout=5)
        assert message["type"] in ("log", "status"), message
        if message["type"] == "log":
            out.append((message["seq"], message["text"]))
    return out


awrite = database_sync_to_async(write_lines)


async def test_anonymous_and_outsiders_are_refused_with_their_close_codes(
    job, outsider_user, stranger
):
    anonymous = await open_socket(job.pk)
    assert await anonymous.connect() == (False, 4401)

    for user in (outsider_user, stranger):
        socket = await open_socket(job.pk, user)
        assert await socket.connect() == (False, 4403)


async def test_members_and_admins_are_accepted_and_told_the_status_first(
    job, member_user, admin_user
):
    await awrite(job.pk, "one", "two")
    for user in (member_user, admin_user):
        socket = await open_socket(job.pk, user)
        connected, _ = await socket.connect()
        assert connected
        status = await socket.receive_json_from(timeout=5)
        assert status["type"] == "status"
        assert status["status"] == "running"
        assert status["log_seq"] == 2
        await socket.disconnect()


async def test_backfill_sends_exactly_the_chunks_after_n_in_order(job, member_user):
    await awrite(job.pk, *(f"line {n}" for n in range(1, 8)))
    socket = await open_socket(job.pk, member_user, after=4)
    assert (await socket.connect())[0]

    assert await receive_logs(socket, 3) == [(5, "line 5\n"), (6, "line 6\n"), (7, "line 7\n")]
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_resume_after_a_disconnect_has_no_gap_and_no_repeat(job, member_user):
    await awrite(job.pk, *(f"line {n}" for n in range(1, 6)))

    socket = await open_socket(job.pk, member_user, after=2)
    assert (await socket.connect())[0]
    seen = [seq for seq, _ in await receive_logs(socket, 3)]
    assert seen == [3, 4, 5]

    assert await awrite(job.pk, "line 6", "line 7") == [6, 7]
    live = await receive_logs(socket, 2)
    assert live == [(6, "line 6\n"), (7, "line 7\n")]
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()

    assert await awrite(job.pk, "line 8") == [8]
    socket = await open_socket(job.pk, member_user, after=7)
    assert (await socket.connect())[0]
    assert await receive_logs(socket, 1) == [(8, "line 8\n")]
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_a_live_socket_gets_status_changes(job, member_user):
    from jobs.models import Job
    from jobs.streams import broadcast_status

    socket = await open_socket(job.pk, member_user)
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from(timeout=5))["type"] == "status"

    def finish() -> None:
        Job.objects.filter(pk=job.pk).update(
            status="failed", error="boom", steps=[{"name": "a", "label": "A", "status": "done"}]
        )
        broadcast_status(Job.objects.get(pk=job.pk))

    await database_sync_to_async(finish)()
    message = await socket.receive_json_from(timeout=5)
    assert message["type"] == "status"
    assert (message["status"], message["error"], message["progress"]) == ("failed", "boom", 100)
    await socket.disconnect()


async def test_out_of_range_after_seq_and_job_ids_close_or_clamp_without_a_crash(job, member_user):
    await awrite(job.pk, "one", "two")
    huge = await open_socket(job.pk, member_user, after=10**30)
    assert (await huge.connect())[0]
    assert (await huge.receive_json_from(timeout=5))["type"] == "status"
    assert await huge.receive_nothing(timeout=0.3)  # nothing is after "past the end"
    await huge.disconnect()
    negative = await open_socket(job.pk, member_user, after=-5)
    assert (await negative.connect())[0]
    assert await receive_logs(negative, 2) == [(1, "one\n"), (2, "two\n")]
    await negative.disconnect()
    missing = await open_socket(10**20, member_user)
    connected, code = await missing.connect()
    assert not connected and code == 4404
