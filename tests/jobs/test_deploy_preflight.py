"""The deploy form shows the node's failing preflight checks: errors for what deploy refuses,
warnings for the rest, without naming other teams' work."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from fleet.choices import NodeStatus
from fleet.models import Card, Node
from jobs.models import Deployment
from tests.frontend.conftest import attr, elements, make_node
from tests.jobs.test_job_pages import Wrapped, book, recipe

pytestmark = pytest.mark.django_db
DOCKER_FAIL = {
    "name": "docker",
    "status": "fail",
    "message": "docker is not installed",
    "fix": "apt-get install docker.io",
}
DISK_WARN = {"name": "disk", "status": "warn", "message": "12 GB free on /data, want 50"}


@pytest.fixture
def node(db):
    return make_node("node-a", healths=("OK",) * 8)


def findings(client, version, booking, cards=()) -> dict[str, list[tuple[str, str]]]:
    """{level: [(field, text)]} of the deploy preview for these choices."""
    data = {"recipe_version": version.pk, "booking": booking.pk, "cards_for": booking.pk}
    if cards:
        data["cards"] = list(cards)
    response = client.post(reverse("deploy-preview"), data)
    assert response.status_code == 200
    out: dict[str, list[tuple[str, str]]] = {"error": [], "warning": []}
    for el in elements(Wrapped(response), "finding"):
        text = html.unescape(" ".join(str(x) for x in el.children))
        out[attr(el, "data-level")].append((attr(el, "data-field"), text))
    return out


def test_a_failing_node_check_is_an_error_and_a_warning_check_a_warning(
    as_member, member_user, team, node
):
    version = recipe(member_user, team, "qwen", tp=1)
    booking = book(member_user, team, node, [0])
    Node.objects.filter(pk=node.pk).update(
        preflight=[DOCKER_FAIL, DISK_WARN], status=NodeStatus.DEGRADED
    )
    found = findings(as_member, version, booking)
    [error] = [e for e in found["error"] if e[0] == "preflight: docker"]
    assert "check 'docker' failed on node-a: docker is not installed" in error[1]
    assert "apt-get install docker.io" in error[1]  # its fix
    [warning] = [w for w in found["warning"] if w[0] == "preflight: disk"]
    assert "12 GB free on /data, want 50" in warning[1]
    # and deploy refuses it, as the error said
    response = as_member.post(
        reverse("deploy"), {"recipe_version": version.pk, "booking": booking.pk}
    )
    assert response.status_code == 400 and "docker" in response.content.decode()
    assert not Deployment.objects.exists()


def test_a_chosen_cards_trouble_is_an_error_and_other_cards_only_a_warning(
    as_member, member_user, team, node
):
    version = recipe(member_user, team, "qwen", tp=1)
    booking = book(member_user, team, node, [0, 1])
    Card.objects.filter(node=node, device=0).update(health="Alarm")
    Card.objects.filter(node=node, device=1).update(health="Warning")
    Card.objects.filter(node=node, device=6).update(
        processes=[{"pid": 5150, "name": "train.py", "managed": False}]
    )
    found = findings(as_member, version, booking, cards=[0])
    assert any("davinci0 reports health Alarm" in text for _, text in found["error"])
    others = [text for field, text in found["warning"] if field == "preflight"]
    assert others and "davinci1, davinci6" in others[0]
    assert "5150" not in str(found)  # nobody's pid is named to a member

    found = findings(as_member, version, booking, cards=[1])
    assert not any(field.startswith("preflight") for field, _ in found["error"])
    assert any("davinci1 reports health Warning" in text for _, text in found["warning"])


def test_a_chosen_card_held_by_another_team_is_an_error_that_does_not_name_it(
    as_member, member_user, team, node
):
    version = recipe(member_user, team, "qwen", tp=1)
    booking = book(member_user, team, node, [2])
    Card.objects.filter(node=node, device=2).update(
        containers=[{"id": "e" * 12, "name": "their-vllm", "managed": False}],
        processes=[{"pid": 7070, "name": "python3", "container": "their-vllm", "managed": False}],
    )
    found = findings(as_member, version, booking)
    [error] = [text for field, text in found["error"] if field == "cards"]
    assert "davinci2 on node-a is held by" in error
    # the card is the member's team's now, so what holds it is theirs to see
    assert "their-vllm" in error


def test_an_unreachable_node_is_one_error_naming_why(as_member, member_user, team, node):
    version = recipe(member_user, team, "qwen", tp=1)
    booking = book(member_user, team, node, [0])
    Node.objects.filter(pk=node.pk).update(
        status=NodeStatus.UNREACHABLE,
        last_error="unreachable: [Errno 111] Connection refused",
        preflight=[DISK_WARN],
    )
    found = findings(as_member, version, booking)
    node_errors = [text for field, text in found["error"] if field == "node"]
    assert len(node_errors) == 1 and "Connection refused" in node_errors[0]
    assert not any(field.startswith("preflight") for field, _ in found["warning"])
