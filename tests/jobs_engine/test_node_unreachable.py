"""A node that does not answer: grey cards everywhere, and nothing offered or deployed on it.

A failed deployment offers "Deploy again" (never Restart) and shows why it failed.
Database and pages only: the node's state is what the probes last recorded.
"""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fleet.booking.services.availability import find_available
from fleet.booking.services.bookings import book_cards
from fleet.choices import CheckStatus, Health, NodeStatus
from fleet.errors import Conflict
from fleet.models import Card, Node
from fleet.streams import node_summary
from jobs.catalog.services.recipes import create_recipe
from jobs.choices import DeploymentStatus, JobKind, JobStatus
from jobs.models import Deployment, Job
from jobs.services import deployments

pytestmark = pytest.mark.django_db

PASSING = [
    {"name": "driver", "status": CheckStatus.PASS, "message": "driver 23.0.6", "fix": ""},
    {"name": "docker", "status": CheckStatus.PASS, "message": "docker 24.0.7", "fix": ""},
    {"name": "ip_forward", "status": CheckStatus.PASS, "message": "ip_forward = 1", "fix": ""},
    {"name": "cards", "status": CheckStatus.PASS, "message": "8 cards visible", "fix": ""},
    {"name": "health", "status": CheckStatus.PASS, "message": "every card OK", "fix": ""},
    {"name": "foreign_processes", "status": CheckStatus.PASS, "message": "none", "fix": ""},
]


def make_node(name: str, **fields) -> Node:
    node = Node.objects.create(
        name=name,
        host="127.0.0.1",
        status=NodeStatus.ONLINE,
        network_mode="bridge",
        facts={"chip_name": "910B3", "hbm_total_mb": 65536},
        preflight=[dict(c) for c in PASSING],
        **fields,
    )
    for device in range(8):
        Card.objects.create(
            node=node,
            npu_id=device,
            device=device,
            chip_name="910B3",
            health=Health.OK,
            hbm_used_mb=3000,
            hbm_total_mb=65536,
        )
    return node


def go_down(node: Node) -> None:
    Node.objects.filter(pk=node.pk).update(
        status=NodeStatus.UNREACHABLE,
        consecutive_failures=3,
        last_error="unreachable: 127.0.0.1:22 refused the connection",
    )
    node.refresh_from_db()


def fail_check(node: Node, name: str, message: str, fix: str = "") -> None:
    preflight = [dict(c) for c in node.preflight]
    for check in preflight:
        if check["name"] == name:
            check.update(status=CheckStatus.FAIL, message=message, fix=fix)
    Node.objects.filter(pk=node.pk).update(preflight=preflight, status=NodeStatus.DEGRADED)
    node.refresh_from_db()


@pytest.fixture
def node(db) -> Node:
    return make_node("node-x")


@pytest.fixture
def booking(node, member_user, team):
    now = timezone.now()
    return book_cards(
        member_user,
        team=team,
        node=node,
        start=now,
        end=now + timedelta(hours=2),
        purpose="grey cards",
        devices=[0, 1],
    )


@pytest.fixture
def version(catalog, member_user, team):
    recipe = create_recipe(
        member_user,
        team=team,
        name="qwen2-7b-grey",
        values={
            "model": "qwen2-7b",
            "image": "npufleet/vllm-sim:local",
            "tensor_parallel_size": 2,
            "max_model_len": 4096,
            "max_num_batched_tokens": 4096,
            "weights_path": "/data/models/qwen2-7b",
            "served_model_name": "qwen2-7b",
        },
    )
    return recipe.current_version


@pytest.fixture
def browser(member_user) -> Client:
    client = Client()
    client.force_login(member_user)
    return client


# Cards show as unknown -----------------------------------------------------------------------


def test_cards_of_an_unreachable_node_are_unknown_in_the_api_and_the_live_summary(node, member_api):
    other = make_node("node-y")
    go_down(node)
    rows = member_api.get("/api/v1/cards/", {"page_size": 100}).json()
    rows = rows.get("results", rows)
    by_node = {}
    for row in rows:
        by_node.setdefault(row["node_name"], set()).add((row["health"], row["effective_health"]))
    # the last reading stays on record; what may be trusted now is Unknown
    assert by_node["node-x"] == {(Health.OK, Health.UNKNOWN)}
    assert by_node["node-y"] == {(Health.OK, Health.OK)}
    summary = node_summary(node, list(node.cards.all()))
    assert {c["health"] for c in summary["cards"]} == {Health.UNKNOWN}
    assert {c["health"] for c in node_summary(other, list(other.cards.all()))["cards"]} == {
        Health.OK
    }


def test_overview_and_node_page_show_an_unreachable_nodes_cards_grey(node, browser):
    make_node("node-y")
    go_down(node)
    page = browser.get(reverse("home")).content.decode()
    tile_x = page[page.index(f'data-node-id="{node.pk}"') :].split("</article>")[0]
    assert 'class="npu h-Unknown' in tile_x and "h-OK" not in tile_x
    tile_y = page[page.index(f'data-node-id="{node.pk + 1}"') :].split("</article>")[0]
    assert "h-OK" in tile_y
    detail = browser.get(reverse("node-detail", args=[node.pk])).content.decode()
    assert 'class="npu h-Unknown' in detail and "npu h-OK" not in detail
    assert '<span class="badge Unknown" data-f="health"' in detail
    assert '<span class="badge OK"' not in detail


def test_booking_timeline_says_the_node_does_not_answer(node, browser):
    go_down(node)
    page = browser.get(reverse("booking-timeline", args=[node.pk])).content.decode()
    assert 'data-testid="node-unreachable"' in page
    assert "state unknown: node unreachable" in page


# Find cards never offers them -------------------------------------------------------------------


def test_find_cards_skips_an_unreachable_node_and_one_failing_preflight_naming_the_check(
    node, member_user, browser
):
    broken = make_node("node-y")
    healthy = make_node("node-z")
    go_down(node)
    fail_check(broken, "docker", "docker is not installed", "yum install -y docker-engine")
    answer = find_available(member_user, count=2, hours=2)
    assert [o.node.name for o in answer.options] == ["node-z"]
    assert answer.unavailable["node-x"].startswith("node node-x is unreachable (unreachable: ")
    assert "check 'docker' failed: docker is not installed" in answer.unavailable["node-y"]
    assert "fix: yum install -y docker-engine" in answer.unavailable["node-y"]
    # the page says the same
    page = html.unescape(
        browser.get(reverse("booking-find"), {"count": 2, "hours": 2}).content.decode()
    )
    assert "node node-x is unreachable" in page
    assert "check 'docker' failed" in page
    assert healthy.name in page


def test_find_cards_keeps_a_node_whose_only_failing_checks_concern_single_cards(node, member_user):
    fail_check(node, "foreign_processes", "davinci7 pid 4242 held outside the dashboard")
    assert [o.node.name for o in find_available(member_user, count=2, hours=2).options] == [
        "node-x"
    ]


# Deploy never accepts them ----------------------------------------------------------------------


def test_deploy_refuses_cards_on_an_unreachable_node(booking, node, version, member_user):
    go_down(node)
    with pytest.raises(Conflict, match="node node-x is unreachable") as refused:
        deployments.deploy(actor=member_user, recipe_version=version, booking=booking)
    assert refused.value.field == "node"
    assert not Deployment.objects.exists() and not Job.objects.exists()


def test_deploy_refuses_a_node_failing_preflight_naming_the_check(
    booking, node, version, member_user
):
    fail_check(node, "ip_forward", "net.ipv4.ip_forward = 0, containers need 1", "sysctl -w ...")
    with pytest.raises(Conflict, match=r"check 'ip_forward' failed: net\.ipv4\.ip_forward = 0"):
        deployments.deploy(actor=member_user, recipe_version=version, booking=booking)
    assert not Deployment.objects.exists()


def test_deploy_refuses_a_chosen_card_that_is_unhealthy_naming_card_and_check(
    booking, node, version, member_user
):
    Card.objects.filter(node=node, device=1).update(health=Health.ALARM)
    fail_check(node, "health", "not OK: davinci1 Alarm")
    with pytest.raises(
        Conflict, match=r"davinci1 on node-x reports health Alarm \(preflight check 'health'\)"
    ):
        deployments.deploy(actor=member_user, recipe_version=version, booking=booking)
    assert not Deployment.objects.exists()


def test_deploy_form_marks_the_booking_and_refuses_the_launch(booking, node, version, browser):
    go_down(node)
    page = html.unescape(browser.get(reverse("deploy")).content.decode())
    assert f"#{booking.pk} · Vision · node-x · cards 0, 1" in page
    assert "· node unreachable" in page
    assert "node node-x is unreachable" in page  # the preview's first finding
    answer = browser.post(
        reverse("deploy"),
        {"recipe_version": version.pk, "booking": booking.pk, "cards_for": booking.pk},
    )
    assert answer.status_code == 400
    assert "node node-x is unreachable" in html.unescape(answer.content.decode())
    assert not Deployment.objects.exists()


# Deployments on it, and failed ones -------------------------------------------------------------


def deployment_on(node, booking, version, team, status: str, **fields) -> Deployment:
    deployment = Deployment.objects.create(
        recipe_version=version,
        node=node,
        booking=booking,
        team=team,
        cards=[0, 1],
        status=status,
        container_name="npufleet-deploy-x",
        **fields,
    )
    return deployment


def test_deployments_on_an_unreachable_node_say_so_in_the_list_and_the_api(
    booking, node, version, team, browser, member_api
):
    running = deployment_on(node, booking, version, team, DeploymentStatus.RUNNING)
    page = browser.get(reverse("deployments")).content.decode()
    assert 'data-testid="node-unreachable"' not in page
    assert member_api.get(f"/api/v1/deployments/{running.pk}/").json()["node_reachable"] is True
    go_down(node)
    page = browser.get(reverse("deployments")).content.decode()
    row = page[page.index(f'id="deployment-{running.pk}"') :].split("</tr>")[0]
    assert 'data-testid="node-unreachable"' in row and "node unreachable" in row
    assert member_api.get(f"/api/v1/deployments/{running.pk}/").json()["node_reachable"] is False


@pytest.fixture
def failed(booking, node, version, team, member_user) -> Deployment:
    deployment = deployment_on(
        node,
        booking,
        version,
        team,
        DeploymentStatus.FAILED,
        error="the container exited with code 1 before the server was ready",
        exit_code=1,
    )
    Job.objects.create(
        kind=JobKind.DEPLOY,
        status=JobStatus.FAILED,
        deployment=deployment,
        team=team,
        node=node,
        booking=booking,
        recipe_version=version,
        requested_by=member_user,
        error=deployment.error,
        steps=[{"name": "checks", "label": "Checks", "status": "done"}],
    )
    return deployment


def test_a_failed_deployment_offers_deploy_again_not_restart_and_shows_its_error(failed, browser):
    page = browser.get(reverse("deployments")).content.decode()
    row = page[page.index(f'id="deployment-{failed.pk}"') :].split("</tr>")[0]
    assert 'data-action="redeploy">Deploy again</button>' in row
    assert 'data-action="restart"' not in row
    assert "the container exited with code 1 before the server was ready" in row
    job = failed.jobs.get()
    assert f'data-testid="log-link">job {job.pk}</a>' in row
    detail = browser.get(reverse("job-page", args=[job.pk])).content.decode()
    assert 'data-testid="redeploy">Deploy again</button>' in detail
    assert 'data-testid="retry-job"' not in detail


def test_restart_of_a_failed_deployment_is_a_409_naming_the_fix(failed, member_api):
    job = failed.jobs.get()
    answer = member_api.post(f"/api/v1/deployments/{failed.pk}/restart/")
    assert answer.status_code == 409, answer.content
    detail = str(answer.json())
    assert "nothing to restart: deploy it again" in detail
    assert f"POST /api/v1/jobs/{job.pk}/retry/" in detail
    assert "exited with code 1" in detail
    assert failed.jobs.count() == 1  # nothing queued


def test_deploy_again_queues_a_new_deploy_of_the_same_deployment(failed, browser):
    job = failed.jobs.get()
    answer = browser.post(reverse("deployment-page-action", args=[failed.pk, "redeploy"]))
    again = failed.jobs.exclude(pk=job.pk).get()
    assert answer.status_code == 302 and answer.url == reverse("job-page", args=[again.pk])
    assert (again.kind, again.status, again.retry_of_id) == (
        JobKind.DEPLOY,
        JobStatus.PENDING,
        job.pk,
    )
    failed.refresh_from_db()
    assert failed.status == DeploymentStatus.PENDING and failed.error == ""
