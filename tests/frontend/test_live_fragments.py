"""The live parts of the node and job pages: rendered per user, with the page's own templates."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test.html import parse_html
from django.urls import reverse
from django.utils import timezone

from fleet.booking.models import Membership
from fleet.booking.services.bookings import book_cards
from fleet.models import Card, UserProfile
from jobs.choices import JobKind, JobStatus
from jobs.models import Job
from jobs.services.deployments import DEPLOY_STEPS
from jobs.services.jobs import create_job
from tests.conftest import PASSWORD
from tests.frontend.conftest import attr, by_testid, make_node, walk

pytestmark = pytest.mark.django_db

NODE_FRAGMENTS = {"status", "banners", "facts", "cards", "preflight", "card-table"}
JOB_FRAGMENTS = {"head", "progress", "details"}
PROBED_AT = datetime(2026, 3, 1, 23, 30, 5, tzinfo=UTC)  # 2026-03-02 08:30:05 in Tokyo


def fragments(response) -> set[str]:
    return set(re.findall(r'data-fragment="([^"]+)"', response.content.decode()))


def by_id(response, ident: str):
    root = parse_html(response.content.decode())
    return next(el for el in walk(root) if attr(el, "id") == ident)


def signed_in(client, user, zone: str = ""):
    if zone:
        UserProfile.objects.update_or_create(user=user, defaults={"time_zone": zone})
    client.force_login(user)
    return client


@pytest.fixture
def held_node(member_user, team):
    """A probed node whose card 0 the member's team holds, running a process on it."""
    node = make_node(
        "node-a",
        healths=("OK", "Warning"),
        facts={"os": "EulerOS 2.0 (SP10)"},
        last_probe_at=PROBED_AT,
        preflight_at=PROBED_AT,
        preflight=[
            {"name": "ip_forward", "status": "fail", "message": "ip_forward is 0", "fix": "x"}
        ],
    )
    now = timezone.now()
    book_cards(
        member_user,
        team=team,
        node=node,
        start=now,
        end=now + timedelta(hours=2),
        purpose="x",
        devices=[0],
    )
    Card.objects.filter(node=node, device=0).update(
        processes=[{"pid": 4242, "name": "python3", "memory_mb": 3072, "container": "vllm-qwen"}],
        containers=[{"id": "abc123", "name": "vllm-qwen", "managed": False}],
    )
    return node


def test_node_live_parts_are_the_parts_the_node_page_wraps(client, member_user, held_node):
    signed_in(client, member_user)

    page = client.get(reverse("node-detail", args=[held_node.pk]))
    live = client.get(reverse("node-live", args=[held_node.pk]))

    assert live.status_code == 200
    assert fragments(live) == NODE_FRAGMENTS
    assert fragments(page) >= NODE_FRAGMENTS
    assert attr(by_id(page, "node-page"), "data-live-url") == reverse(
        "node-live", args=[held_node.pk]
    )
    html = live.content.decode()
    assert "EulerOS 2.0 (SP10)" in html
    assert 'data-check="ip_forward"' in html
    assert 'tr data-device="1"' in html
    assert 'class="badge Warning" data-f="health"' in html
    assert "<html" not in html  # a fragment, not a page


def test_node_live_parts_show_the_holders_process_in_full_to_its_team(
    client, member_user, held_node
):
    html = signed_in(client, member_user).get(reverse("node-live", args=[held_node.pk]))
    text = html.content.decode()
    assert "pid 4242" in text
    assert "vllm-qwen" in text


@pytest.mark.parametrize("who", ["outsider", "other_team_member"])
def test_node_live_parts_show_another_teams_process_only_as_busy(
    client, held_node, other_team, outsider_user, who
):
    user = outsider_user
    if who == "other_team_member":
        user = get_user_model().objects.create_user("carol-other", "carol@example.com", PASSWORD)
        Membership.objects.create(team=other_team, user=user)

    response = signed_in(client, user).get(reverse("node-live", args=[held_node.pk]))

    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-testid="busy"' in text
    assert "4242" not in text
    assert "vllm-qwen" not in text
    assert "abc123" not in text


def test_node_live_parts_show_times_in_the_users_zone(client, member_user, held_node):
    response = signed_in(client, member_user, "Asia/Tokyo").get(
        reverse("node-live", args=[held_node.pk])
    )

    text = response.content.decode()
    assert 'data-f="last-probe">2026-03-02 08:30:05<' in text
    assert "checked 2026-03-02 08:30:05" in text


def test_node_page_tells_the_charts_the_users_zone(client, member_user, held_node):
    response = signed_in(client, member_user, "Asia/Tokyo").get(
        reverse("node-detail", args=[held_node.pk])
    )

    root = by_id(response, "node-page")
    assert attr(root, "data-time-zone") == "Asia/Tokyo"
    assert 'data-f="last-probe">2026-03-02 08:30:05<' in response.content.decode()


def test_node_live_parts_need_a_signed_in_user(client, held_node):
    response = client.get(reverse("node-live", args=[held_node.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Jobs ----------------------------------------------------------------------------------------


def finished_job(team, user) -> Job:
    job = create_job(kind=JobKind.DEPLOY, actor=user, steps=DEPLOY_STEPS, team=team)
    for step in job.steps:
        step["status"] = "done"
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED,
        steps=job.steps,
        started_at=PROBED_AT - timedelta(minutes=2),
        finished_at=PROBED_AT,
    )
    return Job.objects.get(pk=job.pk)


def test_job_live_parts_show_the_end_in_the_users_zone(client, member_user, team):
    job = finished_job(team, member_user)
    signed_in(client, member_user, "Asia/Tokyo")

    page = client.get(reverse("job-page", args=[job.pk]))
    live = client.get(reverse("job-page-live", args=[job.pk]))

    assert live.status_code == 200
    assert fragments(live) == JOB_FRAGMENTS
    assert fragments(page) >= JOB_FRAGMENTS
    assert by_testid(live, "job-finished").children == ["2026-03-02 08:30:05"]
    assert by_testid(live, "job-started").children == ["2026-03-02 08:28:05"]
    assert attr(by_testid(live, "job-status"), "data-status") == "succeeded"
    assert attr(by_testid(live, "job-progress"), "aria-valuenow") == "100"


def test_job_page_of_a_finished_job_has_no_live_badge_and_names_the_end_states(
    client, member_user, team
):
    job = finished_job(team, member_user)
    response = signed_in(client, member_user).get(reverse("job-page", args=[job.pk]))

    text = response.content.decode()
    badge = re.search(r'<span class="live" id="log-live"[^>]*>', text).group(0)
    assert "hidden" in badge
    viewer = by_testid(response, "log-viewer")
    assert "succeeded" in attr(viewer, "data-finished").split()
    assert attr(by_id(response, "job-page"), "data-live-url") == reverse(
        "job-page-live", args=[job.pk]
    )


def test_job_page_of_a_running_job_shows_the_live_badge(client, member_user, team):
    job = create_job(kind=JobKind.DEPLOY, actor=member_user, steps=DEPLOY_STEPS, team=team)
    response = signed_in(client, member_user).get(reverse("job-page", args=[job.pk]))

    badge = re.search(r'<span class="live" id="log-live"[^>]*>', response.content.decode()).group(0)
    assert "hidden" not in badge
    assert by_testid(response, "job-finished").children == ["—"]


def test_job_live_parts_are_not_shown_to_an_outsider(client, member_user, team, outsider_user):
    job = finished_job(team, member_user)

    response = signed_in(client, outsider_user).get(reverse("job-page-live", args=[job.pk]))

    assert response.status_code == 404


# Overview tiles ------------------------------------------------------------------------------


def test_tiles_are_rendered_for_the_requested_nodes_only(client, member_user, held_node):
    other = make_node("node-b", healths=("Critical",))
    signed_in(client, member_user)

    response = client.get(reverse("node-tiles"), {"id": [held_node.pk]})

    assert response.status_code == 200
    text = response.content.decode()
    assert text.count('class="tile"') == 1
    assert f'data-node-id="{held_node.pk}"' in text
    assert f'data-node-id="{other.pk}"' not in text
    assert 'class="npu h-Warning' in text
    both = client.get(reverse("node-tiles"), {"id": [other.pk, held_node.pk]}).content.decode()
    assert both.index(">node-a<") < both.index(">node-b<")  # in the overview's order
    assert "<html" not in both


def test_tiles_name_the_booking_team_to_its_members_and_busy_to_an_outsider(
    client, member_user, outsider_user, team, held_node
):
    mine = signed_in(client, member_user).get(reverse("node-tiles"), {"id": held_node.pk})
    assert f'data-testid="npu-team">{team.name}<' in mine.content.decode()

    theirs = signed_in(client, outsider_user).get(reverse("node-tiles"), {"id": held_node.pk})
    text = theirs.content.decode()
    assert 'data-testid="npu-team">busy<' in text
    assert team.name not in text


@pytest.mark.parametrize("query", [{}, {"id": "x"}, {"id": [str(n) for n in range(1, 502)]}])
def test_tiles_without_usable_ids_are_refused_naming_the_parameter(client, member_user, query):
    response = signed_in(client, member_user).get(reverse("node-tiles"), query)

    assert response.status_code == 400
    assert response.content.decode().startswith("id:")


def test_tiles_need_a_signed_in_user(client, held_node):
    response = client.get(reverse("node-tiles"), {"id": held_node.pk})

    assert response.status_code == 302


# Probe now -----------------------------------------------------------------------------------


def test_probe_now_from_the_page_queues_and_answers_without_leaving_it(
    client, admin_user, monkeypatch
):
    node = make_node("node-a")
    queued: list[tuple] = []
    monkeypatch.setattr("fleet.tasks.probe_node.delay", lambda *a: queued.append(a))

    response = signed_in(client, admin_user).post(
        reverse("node-probe", args=[node.pk]), headers={"X-Live-Submit": "1"}
    )

    assert response.status_code == 202
    assert response.content.decode() == "Probe of node-a queued; the page updates when it lands."
    assert queued == [(node.pk, True)]
    page = client.get(reverse("node-detail", args=[node.pk])).content.decode()
    assert "queued" not in page  # no message left over for the next page load
    assert 'data-live-submit="probe-status"' in page


def test_probe_now_from_the_page_is_for_admins_only(client, member_user):
    node = make_node("node-a")

    response = signed_in(client, member_user).post(
        reverse("node-probe", args=[node.pk]), headers={"X-Live-Submit": "1"}
    )

    assert response.status_code == 403
