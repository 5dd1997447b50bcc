"""No leaks between teams: the permission matrix of issue 9, item 2.

Personas: the site admin, a member of `vision`, a member of `speech` and an outsider (no team).

1. images `used_by`: only the caller's team's deployments, other teams' as a count;
2. cards (API, node page, fleet websocket): other teams' processes and containers only as busy;
3. a member removed from a team loses its jobs, logs, deployments and builds at once (REST, pages,
   services and the log websocket);
4. team webhooks: see tests/booking/test_webhooks.py;
5. retry, restart, stop and remove check permission before any write, each in one transaction
   (the concurrent double stop is in tests/api/test_deployment_ops_pg.py).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config.asgi import application
from fleet.booking.models import Membership
from fleet.booking.services.bookings import book_cards
from fleet.errors import Conflict, NotAllowed
from fleet.models import Card, Node
from fleet.streams import broadcast_node
from jobs.catalog.services.catalog_edits import ensure_seed_catalog
from jobs.catalog.services.recipes import create_recipe
from jobs.choices import DeploymentStatus, JobKind, JobStatus
from jobs.models import Deployment, Job, NodeImage
from jobs.services import deployments, images, recovery
from jobs.services import jobs as job_services
from jobs.streams import LogWriter
from tests.conftest import PASSWORD

ORIGIN = (b"origin", b"http://127.0.0.1")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_workers(monkeypatch):
    """Jobs are queued, never run: these tests are about who may queue and see them."""
    monkeypatch.setattr(job_services, "enqueue", lambda job: None)


@pytest.fixture
def speech_member(db, other_team):
    """A member of the other team."""
    user = get_user_model().objects.create_user("sam-speech", "sam@example.com", PASSWORD)
    Membership.objects.create(team=other_team, user=user)
    return user


@pytest.fixture
def personas(admin_user, member_user, speech_member, outsider_user):
    return {
        "admin": admin_user,
        "member": member_user,
        "speech": speech_member,
        "outsider": outsider_user,
    }


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def make_node(name: str) -> Node:
    node = Node.objects.create(name=name, host="192.0.2.10")
    Card.objects.bulk_create(
        Card(node=node, npu_id=d, device=d, chip_name="910B3", health="OK") for d in range(8)
    )
    return node


def make_deployment(team, node, name: str, *, cards=(0,), image="npufleet/vllm-sim:local", **f):
    ensure_seed_catalog()  # a transactional test may have flushed the seeded catalog
    admin = get_user_model().objects.filter(is_superuser=True).first()
    recipe = create_recipe(
        admin,
        team=team,
        name=name,
        values={"model": "qwen2-7b", "image": image, "weights_path": "/w"},
    )
    fields = {"status": DeploymentStatus.RUNNING, **f}
    return Deployment.objects.create(
        recipe_version=recipe.current_version,
        node=node,
        team=team,
        cards=list(cards),
        container_name=name,
        **fields,
    )


def book_now(admin, team, node, devices):
    now = timezone.now()
    return book_cards(
        admin,
        team=team,
        node=node,
        start=now,
        end=now + timedelta(hours=2),
        purpose="matrix",
        devices=devices,
        now=now,
    )


# 1. Images: used_by ------------------------------------------------------------------------------


@pytest.fixture
def shared_image(admin_user, team, other_team):
    node = make_node("node-img")
    image = NodeImage.objects.create(
        node=node, tag="shared/serve:1", image_id="sha256:" + "e" * 64, size_bytes=1
    )
    ours = make_deployment(team, node, "vis-serve", image="shared/serve:1")
    theirs = [
        make_deployment(other_team, node, "sp-serve-a", image="shared/serve:1"),
        make_deployment(other_team, node, "sp-serve-b", image="shared/serve:1", status="stopped"),
    ]
    return node, image, ours, theirs


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "sees", "others"),
    [
        ("admin", {"vis-serve", "sp-serve-a", "sp-serve-b"}, 0),
        ("member", {"vis-serve"}, 2),
        ("speech", {"sp-serve-a", "sp-serve-b"}, 1),
        ("outsider", set(), 3),
    ],
)
def test_images_used_by_lists_only_the_callers_teams_deployments(
    personas, shared_image, persona, sees, others
):
    node, image, _, _ = shared_image
    client = api(personas[persona])
    for answer in (
        client.get(f"/api/v1/images/?node={node.pk}"),
        client.get(f"/api/v1/images/{image.pk}/"),
    ):
        assert answer.status_code == 200
        body = answer.json()
        row = body["results"][0] if "results" in body else body
        assert {u["container_name"] for u in row["used_by"]} == sees
        assert row["other_teams"] == others
        assert row["in_use"] is True  # a live deployment uses it, whoever's it is
        text = json.dumps(body)
        for hidden in {"vis-serve", "sp-serve-a", "sp-serve-b"} - sees:
            assert hidden not in text


@pytest.mark.django_db
def test_images_page_counts_other_teams_deployments_without_naming_them(
    client, member_user, admin_user, shared_image
):
    node, _, ours, theirs = shared_image
    client.force_login(member_user)
    page = client.get(f"/images/?node={node.pk}").content.decode()
    assert "vis-serve" in page and f"deployment {ours.pk}" in page
    for other in theirs:
        assert other.container_name not in page
        assert f"deployment {other.pk}<" not in page
    assert "2 deployments of other teams" in page
    client.force_login(admin_user)
    page = client.get(f"/images/?node={node.pk}").content.decode()
    assert all(d.container_name in page for d in theirs)
    assert 'data-testid="other-teams"' not in page


# 2. Cards: processes and containers --------------------------------------------------------------

OURS = ("4242", "npufleet-deploy-ours", "a1a1a1a1a1a1")
THEIRS = (
    "5151",
    "npufleet-deploy-theirs",
    "b2b2b2b2b2b2",
    "6161",
    "9999",
    "left-behind",
    "d4d4d4d4d4d4",
)
NOBODYS = ("7171", "squatter-x", "c3c3c3c3c3c3")


@pytest.fixture
def held_node(admin_user, team, other_team):
    """Cards 0-1 booked by vision, 2-3 by speech, 5 by nobody, each held by something."""
    node = make_node("node-a")
    ours = book_now(admin_user, team, node, [0, 1])
    theirs = book_now(admin_user, other_team, node, [2, 3])

    def holder(pid, name, cid, booking=None, managed=True):
        labels = {"booking": str(booking.pk)} if booking else {}
        proc = {"pid": pid, "name": "python3", "memory_mb": 3000, "container": name}
        proc |= {"container_id": cid, "managed": managed, **labels}
        return proc, {"id": cid, "name": name, "managed": managed, **labels}

    def hold(device, *holders, bare=()):
        Card.objects.filter(node=node, device=device).update(
            processes=[p for p, _ in holders] + list(bare), containers=[c for _, c in holders]
        )

    hold(0, holder(4242, "npufleet-deploy-ours", "a1a1a1a1a1a1", ours))
    # a container of speech's booking left on vision's card: speech's, shown busy to vision
    hold(1, holder(9999, "left-behind", "d4d4d4d4d4d4", theirs))
    hold(2, holder(5151, "npufleet-deploy-theirs", "b2b2b2b2b2b2", theirs))
    # a process outside any container on speech's card: speech's (the card's holder now)
    hold(3, bare=[{"pid": 6161, "name": "train.py", "memory_mb": 10, "managed": False}])
    hold(5, holder(7171, "squatter-x", "c3c3c3c3c3c3", managed=False))
    return node


VISIBLE = {
    "admin": OURS + THEIRS + NOBODYS,
    "member": OURS,
    "speech": THEIRS,
    "outsider": (),
}


CONTAINER_IDS = ("a1a1a1a1a1a1", "b2b2b2b2b2b2", "c3c3c3c3c3c3", "d4d4d4d4d4d4")


def assert_only(text: str, persona: str, *, complete: bool = True) -> None:
    """No secret the persona may not see is in `text`; with `complete`, all it may see are."""
    for secret in OURS + THEIRS + NOBODYS:
        if secret not in VISIBLE[persona]:
            assert secret not in text, (persona, secret)
        elif complete:
            assert secret in text, (persona, secret)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(VISIBLE))
def test_cards_api_shows_other_teams_holders_only_as_busy(personas, held_node, persona):
    client = api(personas[persona])
    listed = client.get(f"/api/v1/cards/?node={held_node.pk}")
    assert listed.status_code == 200
    assert_only(listed.text, persona)
    cards = {c["device"]: c for c in listed.json()["results"]}
    assert all(cards[d]["used"] for d in (0, 1, 2, 3, 5))  # busy is still busy
    for device in (0, 1, 2, 3, 5):
        one = client.get(f"/api/v1/cards/{cards[device]['id']}/")
        assert one.status_code == 200
        assert_only(one.text, persona, complete=False)
        assert one.json()["processes"] == cards[device]["processes"]
    if persona == "member":
        shown = cards[2]["processes"][0]
        assert shown == {"busy": True, "team": "Speech", "managed": True, "memory_mb": 3000}
        assert cards[2]["containers"] == [{"busy": True, "team": "Speech", "managed": True}]
        assert cards[0]["processes"][0]["pid"] == 4242  # their own, in full
        assert cards[0]["processes"][0]["booking"].isdigit()
    if persona == "outsider":
        assert cards[2]["processes"][0]["team"] is None
        assert "Speech" not in listed.text and "Vision" not in listed.text
    if persona != "admin":
        assert cards[5]["containers"] == [{"busy": True, "team": None, "managed": False}]


@pytest.mark.django_db
def test_cards_list_queries_do_not_grow_with_cards(
    member_user, held_node, django_assert_max_num_queries
):
    client = api(member_user)
    with django_assert_max_num_queries(8):
        assert len(client.get("/api/v1/cards/").json()["results"]) == 8
    other = make_node("node-b")
    Card.objects.filter(node=other).update(
        processes=[{"pid": 1, "name": "x", "managed": True, "booking": "999"}]
    )
    with django_assert_max_num_queries(8):
        assert len(client.get("/api/v1/cards/").json()["results"]) == 16


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(VISIBLE))
def test_node_page_shows_other_teams_holders_only_as_busy(client, personas, held_node, persona):
    client.force_login(personas[persona])
    page = client.get(reverse("node-detail", args=[held_node.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert_only(text, persona, complete=False)
    for secret in VISIBLE[persona]:
        assert (secret in text) != (secret in CONTAINER_IDS), secret  # the page shows no ids
    busy = text.count('data-testid="busy"')
    # 2 entries (process + container) on each of cards 0, 1, 2, 5 and one process on card 3
    expected = {"admin": 0, "member": 7, "speech": 4, "outsider": 9}[persona]
    assert busy == expected


@pytest.mark.django_db(transaction=True)
async def test_fleet_websocket_pushes_no_holder_details(member_user, held_node):
    socket = WebsocketCommunicator(
        application, "/ws/fleet/", headers=[ORIGIN, (b"cookie", await cookie(member_user))]
    )
    assert (await socket.connect())[0]

    @database_sync_to_async
    def push():
        broadcast_node(held_node, list(held_node.cards.order_by("device")))

    await push()
    message = await socket.receive_json_from(timeout=5)
    assert message["type"] == "node"
    text = json.dumps(message)
    for secret in OURS + THEIRS + NOBODYS:
        assert secret not in text  # only "used": the tile, for everyone
    assert [c["used"] for c in message["node"]["cards"]][:4] == [True] * 4
    await socket.disconnect()
    await database_sync_to_async(connections.close_all)()


# 3. A member removed from a team -----------------------------------------------------------------


@pytest.fixture
def team_work(admin_user, member_user, team):
    """A failed deploy (with a log), a running build and a deployment of vision, all requested
    by the member who is about to be removed."""
    node = make_node("node-w")
    deployment = make_deployment(team, node, "vis-work", status=DeploymentStatus.FAILED)
    steps = [{"name": "checks", "label": "Check", "status": "failed"}]
    job = Job.objects.create(
        kind=JobKind.DEPLOY,
        status=JobStatus.FAILED,
        team=team,
        node=node,
        deployment=deployment,
        requested_by=member_user,
        steps=steps,
    )
    writer = LogWriter(job.pk)
    writer.line("secret line of vision")
    writer.flush()
    build = Job.objects.create(
        kind=JobKind.BUILD,
        status=JobStatus.RUNNING,
        team=team,
        node=node,
        requested_by=member_user,
        params={"tag": "vision/x:1"},
    )
    return {"node": node, "deployment": deployment, "job": job, "build": build}


READS = [
    "/api/v1/jobs/{job}/",
    "/api/v1/jobs/{job}/log/",
    "/api/v1/jobs/{job}/log.txt/",
    "/api/v1/jobs/{build}/",
    "/api/v1/deployments/{deployment}/",
    "/jobs/{job}/",
    "/jobs/{build}/",
]
ACTS = [
    "/api/v1/jobs/{job}/retry/",
    "/api/v1/jobs/{build}/cancel/",
    "/api/v1/deployments/{deployment}/stop/",
    "/api/v1/deployments/{deployment}/restart/",
    "/api/v1/deployments/{deployment}/remove/",
    "/jobs/{job}/retry/",
    "/jobs/{build}/cancel/",
    "/deployments/{deployment}/stop/",
    "/deployments/{deployment}/remove/",
]
LISTS = ["/api/v1/jobs/", "/api/v1/builds/", "/api/v1/deployments/", "/jobs/", "/deployments/"]


def url(template: str, work: dict) -> str:
    return template.format(**{k: v.pk for k, v in work.items()})


@pytest.mark.django_db
def test_a_removed_member_loses_the_teams_jobs_logs_deployments_and_builds_at_once(
    member_user, team, team_work
):
    client = Client()
    client.force_login(member_user)
    for path in READS:
        assert client.get(url(path, team_work)).status_code == 200, path
    assert "secret line of vision" in client.get(url("/api/v1/jobs/{job}/log/", team_work)).text
    assert "vis-work" in client.get("/deployments/").content.decode()

    Membership.objects.filter(user=member_user, team=team).delete()  # no restart, no re-login

    for path in READS:
        assert client.get(url(path, team_work)).status_code == 404, path
    jobs_before = Job.objects.count()
    deployment = team_work["deployment"]
    for path in ACTS:
        assert client.post(url(path, team_work)).status_code == 404, path
    assert Job.objects.count() == jobs_before
    assert not Job.objects.filter(cancel_requested=True).exists()
    after = Deployment.objects.get(pk=deployment.pk)
    assert (after.status, after.updated_at) == (deployment.status, deployment.updated_at)
    for path in LISTS:
        text = client.get(path).content.decode()
        assert "vis-work" not in text and f"/jobs/{team_work['job'].pk}/" not in text, path
    assert client.get("/api/v1/jobs/").json()["count"] == 0
    assert client.get("/api/v1/builds/").json()["count"] == 0
    assert client.get("/api/v1/deployments/").json()["count"] == 0
    build = client.post(
        "/api/v1/builds/",
        {
            "node": team_work["node"].pk,
            "team": team.pk,
            "tag": "vision/y:1",
            "dockerfile": "FROM npufleet/busybox:local\n",
        },
        content_type="application/json",
    )
    assert build.status_code == 403
    assert Job.objects.count() == jobs_before


@pytest.mark.django_db
def test_services_check_membership_at_use_not_at_creation(member_user, team, team_work):
    Membership.objects.filter(user=member_user, team=team).delete()
    deployment, job, build = team_work["deployment"], team_work["job"], team_work["build"]
    before = Job.objects.count()
    for operation in (deployments.stop, deployments.restart, deployments.remove):
        with pytest.raises(NotAllowed, match="only its members and site admins"):
            operation(deployment, actor=member_user)
    for call in (recovery.retry_job, job_services.cancel_job):
        with pytest.raises(NotAllowed):
            call(job if call is recovery.retry_job else build, actor=member_user)
    with pytest.raises(NotAllowed):
        images.start_build(
            member_user, node=team_work["node"], team=team, tag="vision/z:1", dockerfile="FROM a\n"
        )
    assert not job_services.may_act(member_user, job)  # the requester, but no longer a member
    assert Job.objects.count() == before


@database_sync_to_async
def cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def job_socket(job_id: int, user) -> WebsocketCommunicator:
    headers = [ORIGIN, (b"cookie", await cookie(user))]
    return WebsocketCommunicator(application, f"/ws/jobs/{job_id}/", headers=headers)


async def receive_until_closed(socket: WebsocketCommunicator) -> tuple[list[dict], int]:
    """Messages received until the server closes the socket, and the close code."""
    seen = []
    while True:
        output = await socket.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return seen, output.get("code")
        seen.append(json.loads(output["text"]))


@pytest.mark.django_db(transaction=True)
async def test_the_log_websocket_of_a_removed_member_is_closed_at_once(
    member_user, team, team_work
):
    job = team_work["job"]
    socket = await job_socket(job.pk, member_user)
    assert (await socket.connect())[0]
    first = await socket.receive_json_from(timeout=5)
    assert first["type"] == "status"
    assert (await socket.receive_json_from(timeout=5))["type"] == "log"

    @database_sync_to_async
    def remove_and_write():
        Membership.objects.filter(user=member_user, team=team).delete()
        writer = LogWriter(job.pk)
        writer.line("written after the removal")
        writer.flush()

    await remove_and_write()
    seen, code = await receive_until_closed(socket)
    assert code == 4403
    assert all("written after the removal" not in json.dumps(m) for m in seen)
    again = await job_socket(job.pk, member_user)
    assert await again.connect() == (False, 4403)
    await database_sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
async def test_the_log_websocket_checks_again_even_when_no_one_tells_it(
    member_user, team, team_work, monkeypatch
):
    """A membership removed behind the signals' back (raw SQL) is still noticed before the next
    chunk is forwarded, once the recheck interval has passed."""
    import jobs.consumers

    monkeypatch.setattr(jobs.consumers, "ACCESS_RECHECK_SECONDS", 0.0)
    job = team_work["job"]
    socket = await job_socket(job.pk, member_user)
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from(timeout=5))["type"] == "status"
    assert (await socket.receive_json_from(timeout=5))["type"] == "log"

    @database_sync_to_async
    def remove_silently_and_write():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM fleet_membership WHERE user_id = %s", [member_user.pk])
        writer = LogWriter(job.pk)
        writer.line("written after the removal")
        writer.flush()

    await remove_silently_and_write()
    seen, code = await receive_until_closed(socket)
    assert code == 4403
    assert all("written after the removal" not in json.dumps(m) for m in seen)
    await database_sync_to_async(connections.close_all)()


# 5. Permission before any write ------------------------------------------------------------------


@pytest.fixture
def failed_deploy(admin_user, member_user, team):
    """A deploy that failed on cards its team's active booking holds (nothing else on them)."""
    node = make_node("node-r")
    booking = book_now(admin_user, team, node, [0, 1])
    deployment = make_deployment(
        team,
        node,
        "vis-retry",
        cards=(0,),
        booking=booking,
        status=DeploymentStatus.FAILED,
        error="boom",
        exit_code=3,
    )
    job = Job.objects.create(
        kind=JobKind.DEPLOY,
        status=JobStatus.FAILED,
        team=team,
        node=node,
        booking=booking,
        deployment=deployment,
        requested_by=member_user,
        steps=[{"name": "checks", "label": "Check", "status": "failed"}],
        error="boom",
    )
    return deployment, job


def row(deployment: Deployment) -> tuple:
    fresh = Deployment.objects.get(pk=deployment.pk)
    return fresh.status, fresh.error, fresh.exit_code, fresh.updated_at


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["speech", "outsider"])
def test_a_strangers_retry_is_refused_and_leaves_the_deployment_untouched(
    personas, failed_deploy, persona
):
    deployment, job = failed_deploy
    before, jobs_before = row(deployment), Job.objects.count()
    user = personas[persona]
    with pytest.raises(NotAllowed) as refused:
        deployments.retry(job, actor=user)
    assert refused.value.status_code == 403
    with pytest.raises(NotAllowed):
        recovery.retry_job(job, actor=user)
    for operation in (deployments.stop, deployments.restart, deployments.remove):
        with pytest.raises(NotAllowed):
            operation(deployment, actor=user)
    assert api(user).post(f"/api/v1/jobs/{job.pk}/retry/").status_code == 404
    assert row(deployment) == before
    assert row(deployment)[:3] == (DeploymentStatus.FAILED, "boom", 3)
    assert Job.objects.count() == jobs_before


@pytest.mark.django_db
def test_permission_is_checked_before_the_state(outsider_user, failed_deploy):
    deployment, job = failed_deploy
    Deployment.objects.filter(pk=deployment.pk).update(booking=None)
    job.refresh_from_db()
    with pytest.raises(NotAllowed):  # not the Conflict "the deployment's booking is gone"
        deployments.retry(job, actor=outsider_user)


@pytest.mark.django_db
def test_a_members_retry_resets_the_row_and_queues_one_job_and_a_second_is_refused(
    member_user, failed_deploy
):
    deployment, job = failed_deploy
    again = recovery.retry_job(job, actor=member_user)
    assert again.retry_of_id == job.pk and again.status == JobStatus.PENDING
    assert row(deployment)[:3] == (DeploymentStatus.PENDING, "", None)
    with pytest.raises(Conflict, match="has a job in progress"):
        deployments.retry(job, actor=member_user)
    with pytest.raises(Conflict, match="has a job in progress"):
        deployments.stop(deployment, actor=member_user)
    assert Job.objects.filter(deployment=deployment).count() == 2
