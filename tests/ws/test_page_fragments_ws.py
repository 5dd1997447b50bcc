"""The pages' websockets push their live parts as HTML, rendered per socket for its user with the
pages' own views and templates: the same redaction and time zone as the page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.asgi import application
from fleet.booking.services.bookings import book_cards
from fleet.models import Card, UserProfile
from fleet.streams import broadcast_node
from jobs.choices import JobKind, JobStatus
from jobs.models import Job
from jobs.services.deployments import DEPLOY_STEPS
from jobs.services.jobs import create_job, finish
from tests.frontend.conftest import make_node

pytestmark = pytest.mark.django_db(transaction=True)

HOST = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
PROBED_AT = datetime(2026, 3, 1, 23, 30, 5, tzinfo=UTC)  # 2026-03-02 08:30:05 in Tokyo


def login_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def socket_of(path: str, user=None) -> WebsocketCommunicator:
    headers = list(HOST)
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(login_cookie)(user)))
    return WebsocketCommunicator(application, path, headers=headers)


async def close(*sockets: WebsocketCommunicator) -> None:
    for socket in sockets:
        await socket.disconnect()
    await database_sync_to_async(connections.close_all)()


@pytest.fixture
def held_node(member_user, team):
    """Card 0 held by the member's team, running a process; probed at PROBED_AT."""
    node = make_node("node-a", healths=("OK", "OK"), last_probe_at=PROBED_AT)
    now = timezone.now()
    book_cards(
        member_user, team=team, node=node, start=now, end=now + timedelta(hours=2),
        purpose="x", devices=[0],
    )  # fmt: skip
    Card.objects.filter(node=node, device=0).update(
        processes=[{"pid": 4242, "name": "python3", "memory_mb": 3072, "container": "vllm-qwen"}],
        containers=[{"id": "abc123", "name": "vllm-qwen", "managed": False}],
    )
    return node


def push(node) -> None:
    Card.objects.filter(node=node, device=1).update(health="Critical")
    broadcast_node(node, list(node.cards.order_by("device")))


def running_job(user, team) -> Job:
    job = create_job(kind=JobKind.DEPLOY, actor=user, steps=DEPLOY_STEPS, team=team)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    job.refresh_from_db()
    return job


def without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def page_render(user, url: str, query=None) -> str:
    client = Client()
    client.force_login(user)
    return client.get(url, query or {}).content.decode()


async def test_overview_sockets_push_each_user_the_tile_their_page_would_show(
    member_user, outsider_user, team, held_node
):
    mine = await socket_of("/ws/fleet/tiles/", member_user)
    theirs = await socket_of("/ws/fleet/tiles/", outsider_user)
    assert (await mine.connect())[0] and (await theirs.connect())[0]

    await database_sync_to_async(push)(held_node)
    to_member = await mine.receive_json_from(timeout=5)
    to_outsider = await theirs.receive_json_from(timeout=5)

    assert to_member["type"] == to_outsider["type"] == "fragments"
    assert to_member["ids"] == to_outsider["ids"] == [held_node.pk]
    assert f'data-testid="npu-team">{team.name}<' in to_member["html"]
    assert 'class="npu h-Critical' in to_member["html"]
    assert 'data-testid="npu-team">busy<' in to_outsider["html"]
    for secret in (team.name, "4242", "vllm-qwen", "abc123"):
        assert secret not in json.dumps(to_outsider)
    tiles_url = reverse("node-tiles")
    for user, message in ((member_user, to_member), (outsider_user, to_outsider)):
        page = await database_sync_to_async(page_render)(user, tiles_url, {"id": held_node.pk})
        assert message["html"] == page  # the page's own render, for that user
    await close(mine, theirs)


async def test_overview_socket_renders_the_tiles_asked_for_again_after_a_reconnect(
    member_user, held_node
):
    other = await database_sync_to_async(make_node)("node-b", healths=("OK",))
    socket = await socket_of("/ws/fleet/tiles/", member_user)
    assert (await socket.connect())[0]

    await socket.send_json_to({"type": "refresh", "ids": [other.pk, held_node.pk, "x"]})
    message = await socket.receive_json_from(timeout=5)

    assert message["ids"] == sorted([other.pk, held_node.pk])
    assert message["html"].index(">node-a<") < message["html"].index(">node-b<")
    await close(socket)


async def test_node_page_socket_pushes_its_parts_in_the_users_zone_and_redaction(
    member_user, outsider_user, held_node
):
    await database_sync_to_async(UserProfile.objects.create)(
        user=member_user, time_zone="Asia/Tokyo"
    )
    path = f"/ws/fleet/nodes/{held_node.pk}/"
    mine = await socket_of(path, member_user)
    theirs = await socket_of(path, outsider_user)
    assert (await mine.connect())[0] and (await theirs.connect())[0]
    elsewhere = await database_sync_to_async(make_node)("node-b", healths=("OK",))
    await database_sync_to_async(broadcast_node)(elsewhere, [])  # not this page's node
    await database_sync_to_async(push)(held_node)

    to_member = await mine.receive_json_from(timeout=5)
    to_outsider = await theirs.receive_json_from(timeout=5)

    assert to_member["ids"] == [held_node.pk]
    html = to_member["html"]
    for part in ("status", "banners", "facts", "cards", "preflight", "card-table"):
        assert f'data-fragment="{part}"' in html
    assert 'data-f="last-probe">2026-03-02 08:30:05<' in html
    assert "pid 4242" in html
    assert 'data-testid="busy"' in to_outsider["html"]
    assert "4242" not in to_outsider["html"] and "vllm-qwen" not in to_outsider["html"]
    live_url = reverse("node-live", args=[held_node.pk])
    assert html == await database_sync_to_async(page_render)(member_user, live_url)
    assert await mine.receive_nothing(timeout=0.3)  # node-b's update was not for this page
    await close(mine, theirs)


async def test_page_sockets_need_a_signed_in_user(held_node):
    for path in ("/ws/fleet/tiles/", f"/ws/fleet/nodes/{held_node.pk}/"):
        socket = await socket_of(path)
        assert await socket.connect() == (False, 4401)
    await close()


async def test_job_socket_sends_the_pages_live_parts_with_each_status_when_asked(member_user, team):
    await database_sync_to_async(UserProfile.objects.create)(
        user=member_user, time_zone="Asia/Tokyo"
    )
    job = await database_sync_to_async(running_job)(member_user, team)
    page = await socket_of(f"/ws/jobs/{job.pk}/?after_seq=0&fragments=1", member_user)
    data = await socket_of(f"/ws/jobs/{job.pk}/?after_seq=0", member_user)
    assert (await page.connect())[0] and (await data.connect())[0]
    first = await page.receive_json_from(timeout=5)
    assert first["type"] == "status" and 'data-fragment="progress"' in first["html"]
    assert "html" not in await data.receive_json_from(timeout=5)

    done = await database_sync_to_async(finish)(job, JobStatus.SUCCEEDED)
    message = await page.receive_json_from(timeout=5)
    while message["type"] != "status":
        message = await page.receive_json_from(timeout=5)

    assert message["status"] == "succeeded"
    html = message["html"]
    assert 'data-status="succeeded"' in html and 'aria-valuenow="100"' in html
    finished = timezone.localtime(done.finished_at, timezone=_tokyo()).strftime("%Y-%m-%d %H:%M:%S")
    assert f">{finished}<" in html
    live_url = reverse("job-page-live", args=[job.pk])
    page_html = await database_sync_to_async(page_render)(member_user, live_url)
    assert without_tokens(html) == without_tokens(page_html)  # CSRF tokens are masked anew
    await close(page, data)


def _tokyo():
    import zoneinfo

    return zoneinfo.ZoneInfo("Asia/Tokyo")


async def test_job_socket_of_an_outsider_is_refused_before_any_fragment(
    member_user, outsider_user, team
):
    job = await database_sync_to_async(Job.objects.create)(
        kind=JobKind.DEPLOY, status="running", team=team, requested_by=member_user
    )
    socket = await socket_of(f"/ws/jobs/{job.pk}/?fragments=1", outsider_user)
    assert await socket.connect() == (False, 4403)
    await close()
