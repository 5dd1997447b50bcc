"""Permission matrix: every booking endpoint for the admin, the member, the outsider, anonymous."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from fleet.booking.services.bookings import book_cards
from tests.booking.conftest import make_node


@pytest.fixture
def world(admin_user, member_user, outsider_user, team, other_team):
    node = make_node("node-a")
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=1)

    def booking(team_, devices):
        return book_cards(
            admin_user,
            team=team_,
            node=node,
            start=start,
            end=start + timedelta(hours=2),
            purpose="matrix",
            devices=devices,
        )

    return {
        "node": node,
        "start": start,
        "ours": booking(team, [0, 1]),
        "theirs": booking(other_team, [2, 3]),
        "team": team,
        "other": other_team,
    }


def later(w, hours):
    return (w["start"] + timedelta(hours=hours)).isoformat()


# (name, method, path, body, expected status for admin, member, outsider, anonymous)
CASES = [
    ("list bookings", "get", "/api/v1/bookings/", None, (200, 200, 200, 401)),
    ("read own-team booking", "get", "/api/v1/bookings/{ours}/", None, (200, 200, 404, 401)),
    ("read other-team booking", "get", "/api/v1/bookings/{theirs}/", None, (200, 404, 404, 401)),
    (
        "book for the member's team",
        "post",
        "/api/v1/bookings/",
        lambda w: {
            "team": "vision",
            "node": "node-a",
            "cards": [4],
            "start": later(w, 0),
            "end": later(w, 1),
            "purpose": "t",
        },
        (201, 201, 400, 401),
    ),
    (
        "book for another team",
        "post",
        "/api/v1/bookings/",
        lambda w: {
            "team": "speech",
            "node": "node-a",
            "count": 1,
            "start": later(w, 0),
            "end": later(w, 1),
            "purpose": "t",
        },
        (201, 400, 400, 401),
    ),
    (
        "change own-team booking",
        "patch",
        "/api/v1/bookings/{ours}/",
        {"purpose": "new"},
        (200, 200, 404, 401),
    ),
    (
        "change other-team booking",
        "patch",
        "/api/v1/bookings/{theirs}/",
        {"purpose": "new"},
        (200, 404, 404, 401),
    ),
    (
        "extend own-team booking",
        "post",
        "/api/v1/bookings/{ours}/extend/",
        lambda w: {"end": later(w, 3)},
        (200, 200, 404, 401),
    ),
    (
        "extend other-team booking",
        "post",
        "/api/v1/bookings/{theirs}/extend/",
        lambda w: {"end": later(w, 3)},
        (200, 404, 404, 401),
    ),
    (
        "cancel own-team booking",
        "post",
        "/api/v1/bookings/{ours}/cancel/",
        {},
        (200, 200, 404, 401),
    ),
    (
        "cancel other-team booking",
        "post",
        "/api/v1/bookings/{theirs}/cancel/",
        {},
        (200, 404, 404, 401),
    ),
    ("delete own-team booking", "delete", "/api/v1/bookings/{ours}/", None, (204, 204, 404, 401)),
    (
        "delete other-team booking",
        "delete",
        "/api/v1/bookings/{theirs}/",
        None,
        (204, 404, 404, 401),
    ),
    ("availability", "get", "/api/v1/availability/?count=2&hours=1", None, (200, 200, 200, 401)),
    ("timeline", "get", "/api/v1/timeline/{node}/", None, (200, 200, 200, 401)),
    ("list cordons", "get", "/api/v1/cordons/", None, (200, 403, 403, 401)),
    (
        "cordon",
        "post",
        "/api/v1/cordons/",
        {"node": "node-a", "cards": [7], "reason": "fan"},
        (201, 403, 403, 401),
    ),
    ("uncordon", "post", "/api/v1/cordons/release/", {"node": "node-a"}, (200, 403, 403, 401)),
    ("audit log", "get", "/api/v1/audit/", None, (200, 403, 403, 401)),
    ("notifications", "get", "/api/v1/notifications/", None, (200, 200, 200, 401)),
    (
        "mark notifications read",
        "post",
        "/api/v1/notifications/mark-read/",
        {},
        (200, 200, 200, 401),
    ),
    ("list teams", "get", "/api/v1/teams/", None, (200, 200, 200, 401)),
    ("read own team", "get", "/api/v1/teams/{team}/", None, (200, 200, 404, 401)),
    ("read other team", "get", "/api/v1/teams/{other}/", None, (200, 404, 404, 401)),
    ("set a team quota", "patch", "/api/v1/teams/{team}/", {"max_cards": 4}, (200, 403, 404, 401)),
]
PERSONAS = ["admin", "member", "outsider", "anonymous"]


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "expected"), CASES, ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize("persona", PERSONAS)
def test_permission_matrix(request, world, persona, name, method, path, body, expected):
    client = APIClient()
    if persona != "anonymous":
        client.force_authenticate(request.getfixturevalue(f"{persona}_user"))
    url = path.format(
        ours=world["ours"].pk,
        theirs=world["theirs"].pk,
        node=world["node"].pk,
        team=world["team"].pk,
        other=world["other"].pk,
    )
    data = body(world) if callable(body) else body
    response = getattr(client, method)(url, data, format="json")
    want = expected[PERSONAS.index(persona)]
    assert response.status_code == want, (name, persona, response.content[:300])


def test_lists_hold_only_what_the_persona_may_see(world, admin_api, member_api, outsider_api):
    def ids(client):
        return {b["id"] for b in client.get("/api/v1/bookings/").json()["results"]}

    assert ids(admin_api) == {world["ours"].pk, world["theirs"].pk}
    assert ids(member_api) == {world["ours"].pk}
    assert ids(outsider_api) == set()
    assert [t["slug"] for t in member_api.get("/api/v1/teams/").json()["results"]] == ["vision"]
    assert outsider_api.get("/api/v1/teams/").json()["results"] == []


def test_outsiders_see_other_teams_only_as_busy(world, outsider_api, member_api):
    node = world["node"].pk
    lines = outsider_api.get(f"/api/v1/timeline/{node}/").json()["cards"]
    segments = [s for line in lines for s in line["segments"]]
    assert len(segments) == 4
    assert {s["team"] for s in segments} == {"busy"}
    assert {s["booking"] for s in segments} == {None}
    lines = member_api.get(f"/api/v1/timeline/{node}/").json()["cards"]
    by_device = {line["device"]: line["segments"] for line in lines}
    assert by_device[0][0]["team"] == "Vision"
    assert by_device[0][0]["booking"] == world["ours"].pk
    assert by_device[0][0]["mine"] is True
    assert by_device[2][0]["team"] == "Speech"
    assert by_device[2][0]["booking"] is None  # another team's booking: no id, no details
    options = outsider_api.get("/api/v1/availability/?count=2&hours=1").json()["options"]
    assert set(options[0]) == {
        "node",
        "node_name",
        "start",
        "end",
        "cards",
        "reason",
        "healthy",
        "health",
    }


def test_team_admins_read_their_own_teams_audit_only(world, member_user, member_api):
    from fleet.booking.models import Membership

    Membership.objects.filter(user=member_user).update(role="admin")
    rows = member_api.get("/api/v1/audit/").json()["results"]
    assert rows
    assert {r["team_name"] for r in rows} == {"Vision"}


def test_site_admins_see_every_booking_but_only_their_own_teams_as_mine(world, admin_api):
    lines = admin_api.get(f"/api/v1/timeline/{world['node'].pk}/").json()["cards"]
    segments = [s for line in lines for s in line["segments"]]
    assert {s["team"] for s in segments} == {"Vision", "Speech"}
    assert all(s["booking"] is not None for s in segments)
    assert not any(s["mine"] for s in segments)
