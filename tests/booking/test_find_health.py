"""Find-cards ranks healthy nodes first and says why each other node is not offered."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from fleet.booking.services.availability import find_available
from fleet.choices import NodeStatus
from fleet.models import Node
from tests.booking.conftest import hours, make_node, set_card
from tests.booking.test_availability import hold

DISK_WARN = {"name": "disk", "status": "warn", "message": "free disk unknown", "fix": "df -h"}
DOCKER_FAIL = {"name": "docker", "status": "fail", "message": "docker is not installed"}


def fleet(admin_user, team, now):
    """A degraded node first by name, a healthy one, and one of each reason not to offer."""
    make_node("a-warm", preflight=[DISK_WARN], status=NodeStatus.DEGRADED)
    make_node("b-fine", status=NodeStatus.ONLINE)
    card_warn = make_node("c-card-warn", status=NodeStatus.DEGRADED)
    set_card(card_warn, 6, health="Warning")
    make_node("d-cordoned", cordoned=True, cordon_reason="rack move")
    make_node(
        "e-silent",
        status=NodeStatus.UNREACHABLE,
        last_error="unreachable: [Errno 111] Connection refused",
    )
    make_node("f-no-docker", preflight=[DOCKER_FAIL], status=NodeStatus.DEGRADED)
    make_node("g-small", cards=2)
    full = make_node("h-full")
    horizon = hours(24 * settings.FLEET_BOOKING_MAX_DAYS_AHEAD)
    hold(admin_user, team, full, now, now + horizon, list(range(8)))


def test_healthy_nodes_come_first_and_every_other_node_says_why_not(admin_user, team, now):
    fleet(admin_user, team, now)
    answer = find_available(admin_user, count=4, hours=2, now=now)
    ranked = [(o.node.name, o.healthy) for o in answer.options]
    assert ranked == [("b-fine", True), ("a-warm", False), ("c-card-warn", False)]
    by_name = {o.node.name: o for o in answer.options}
    assert by_name["a-warm"].health == "preflight check 'disk' warns: free disk unknown"
    assert by_name["c-card-warn"].health == "card 6 reports Warning"
    why = answer.unavailable
    assert set(why) == {"d-cordoned", "e-silent", "f-no-docker", "g-small", "h-full"}
    assert why["d-cordoned"] == "cordoned: rack move"
    assert (
        "node e-silent is unreachable (unreachable: [Errno 111] Connection refused)"
        in (why["e-silent"])
    )
    assert "check 'docker' failed: docker is not installed" in why["f-no-docker"]
    assert why["g-small"] == "too few cards: it has 2, 4 asked"
    assert why["h-full"].startswith("no 4 free cards in any window within the booking horizon")
    assert "only 0 of 8 cards are free" in why["h-full"]


def test_a_size_the_node_cannot_take_is_named_as_such(admin_user, team, node, now):
    answer = find_available(admin_user, count=3, hours=1, now=now)
    assert answer.unavailable["node-a"].startswith("not a job size here: 3 cards is not")


def test_the_api_and_the_page_rank_and_explain_the_same_way(
    admin_user, team, member_user, member_api, client, now
):
    fleet(admin_user, team, now)
    body = member_api.get("/api/v1/availability/", {"count": 4, "hours": 2}).json()
    assert [(o["node_name"], o["healthy"]) for o in body["options"]][:3] == [
        ("b-fine", True),
        ("a-warm", False),
        ("c-card-warn", False),
    ]
    assert body["options"][0]["health"] == ""
    assert body["options"][1]["health"] == "preflight check 'disk' warns: free disk unknown"
    assert body["unavailable"]["g-small"] == "too few cards: it has 2, 4 asked"

    client.force_login(member_user)
    page = client.get(reverse("booking-find"), {"count": 4, "hours": 2}).content.decode()
    rows = page.split('data-testid="options"')[1].split("</table>")[0]
    order = [name for name in ("b-fine", "a-warm", "c-card-warn") if name in rows]
    assert sorted(order, key=rows.index) == ["b-fine", "a-warm", "c-card-warn"]
    assert 'data-node="b-fine" data-healthy="true"' in rows
    assert 'data-node="a-warm" data-healthy="false"' in rows
    assert "preflight check &#x27;disk&#x27; warns: free disk unknown" in rows
    not_offered = page.split('data-testid="not-offered"')[1]
    assert "<strong>d-cordoned</strong>: cordoned: rack move" in not_offered
    assert "<strong>g-small</strong>: too few cards: it has 2, 4 asked" in not_offered
    assert Node.objects.count() == 8
