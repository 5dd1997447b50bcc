"""The booking API: create, conflicts as 409, bad input as 400, lists with flat query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fleet.booking.models import AuditEntry, Booking, Membership, Notification
from fleet.booking.services.bookings import book_cards
from tests.booking.conftest import make_node

URL = "/api/v1/bookings/"


@pytest.fixture
def start():
    return timezone.now().replace(second=0, microsecond=0) + timedelta(hours=1)


def body(at, **overrides):
    data = {
        "team": "vision",
        "node": "node-a",
        "cards": [0, 1],
        "start": at.isoformat(),
        "end": (at + timedelta(hours=2)).isoformat(),
        "purpose": "Qwen2-7B serving test",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_booking_two_cards_returns_the_booking(member_api, team, node, start):
    response = member_api.post(URL, body(start), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["cards"] == [0, 1]
    assert data["team_name"] == "Vision"
    assert data["node_name"] == "node-a"
    assert data["status"] == "upcoming"
    assert data["created_by"] == "bob-member"


def test_booking_by_count_explains_the_choice(member_api, team, node, start):
    response = member_api.post(URL, body(start, cards=None, count=4), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["cards"] == [0, 1, 2, 3]
    assert "half 0-3" in response.json()["allocation_note"]


def test_booking_the_same_cards_again_is_a_409_naming_the_holder(
    member_api, admin_api, team, other_team, node, start
):
    first = admin_api.post(URL, body(start, team="speech"), format="json").json()
    response = member_api.post(URL, body(start + timedelta(hours=1), cards=[1, 2]), format="json")
    assert response.status_code == 409
    data = response.json()
    assert f"booking #{first['id']}" in data["detail"]
    assert "team Speech" in data["detail"]
    assert data["field"] == "cards"
    assert data["conflicts"][0]["booking"] == first["id"]
    assert data["conflicts"][0]["team"] == "Speech"
    assert data["conflicts"][0]["cards"] == [1]
    assert Booking.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"end": "START"}, "end"),
        ({"start": "2020-01-01T10:00:00+00:00", "end": "2020-01-01T12:00:00+00:00"}, "end"),
        ({"cards": [0, 11]}, "cards"),
        ({"cards": None, "count": 3}, "count"),
        ({"count": 2}, "cards"),
        ({"team": "speech"}, "team"),
        ({"team": "nope"}, "team"),
        ({"node": "nowhere"}, "node"),
        ({"start": "2030-01-01T10:00:00"}, "start"),
        ({"purpose": ""}, "purpose"),
    ],
    ids=[
        "zero-length",
        "past",
        "card-not-on-node",
        "count-3",
        "cards-and-count",
        "not-my-team",
        "no-such-team",
        "no-such-node",
        "naive-time",
        "no-purpose",
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(
    member_api, team, other_team, node, start, overrides, field
):
    data = body(start, **overrides)
    if data.get("end") == "START":
        data["end"] = data["start"]
    response = member_api.post(URL, data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Booking.objects.exists()
    assert not AuditEntry.objects.exists()


def test_booking_across_a_cordon_is_a_409(member_api, admin_api, team, node, start):
    response = admin_api.post(
        "/api/v1/cordons/", {"node": "node-a", "cards": [1], "reason": "fan"}, format="json"
    )
    assert response.status_code == 201
    response = member_api.post(URL, body(start), format="json")
    assert response.status_code == 409
    assert "card 1 is cordoned (fan)" in response.json()["detail"]


def test_over_quota_is_a_409_with_the_numbers(member_api, team, node, start):
    team.max_cards = 1
    team.save()
    response = member_api.post(URL, body(start), format="json")
    assert response.status_code == 409
    assert response.json()["quota"] == [
        {"quota": "max_cards", "limit": 1, "used": 0, "requested": 2}
    ]


def test_extend_cancel_and_delete(member_api, team, node, start):
    booking = member_api.post(URL, body(start), format="json").json()
    new_end = (start + timedelta(hours=5)).isoformat()
    response = member_api.post(f"{URL}{booking['id']}/extend/", {"end": new_end}, format="json")
    assert response.status_code == 200
    assert response.json()["end"].startswith((start + timedelta(hours=5)).strftime("%Y-%m-%dT"))
    response = member_api.post(f"{URL}{booking['id']}/cancel/", {"reason": "done"}, format="json")
    assert response.json()["status"] == "cancelled"
    response = member_api.post(f"{URL}{booking['id']}/cancel/", {}, format="json")
    assert response.status_code == 409
    other = member_api.post(URL, body(start), format="json").json()
    assert member_api.delete(f"{URL}{other['id']}/").status_code == 204
    assert member_api.get(f"{URL}{other['id']}/").json()["status"] == "cancelled"


def test_patch_moves_cards_and_put_is_not_offered(member_api, team, node, start):
    booking = member_api.post(URL, body(start), format="json").json()
    response = member_api.patch(f"{URL}{booking['id']}/", {"cards": [6, 7]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["cards"] == [6, 7]
    assert member_api.put(f"{URL}{booking['id']}/", {}, format="json").status_code == 405


def test_the_booking_list_costs_the_same_for_3_and_30_bookings(
    admin_api, admin_user, team, start, django_assert_max_num_queries
):
    nodes = [make_node(f"node-{i}") for i in range(4)]

    def fill(n):
        for i in range(n):
            node = nodes[i % 4]
            at = start + timedelta(hours=2 * (i // 4))
            book_cards(
                admin_user,
                team=team,
                node=node,
                start=at,
                end=at + timedelta(hours=1),
                purpose="load",
                devices=[i % 8 // 4 * 4],
                override_reason="test load",
            )

    fill(3)
    with django_assert_max_num_queries(6):
        assert len(admin_api.get(URL).json()["results"]) == 3
    Booking.objects.all().delete()
    fill(30)
    with django_assert_max_num_queries(6):
        assert len(admin_api.get(URL).json()["results"]) == 30


def test_audit_and_notification_lists_do_not_grow_in_queries(
    admin_api, member_api, admin_user, team, node, start, django_assert_max_num_queries
):
    for i in range(10):
        b = book_cards(
            admin_user,
            team=team,
            node=node,
            start=start + timedelta(hours=i),
            end=start + timedelta(hours=i, minutes=30),
            purpose="x",
            devices=[0],
        )
        Notification.objects.create(team=team, booking=b, kind="warning", text="soon")
    with django_assert_max_num_queries(4):
        assert admin_api.get("/api/v1/audit/").json()["count"] == 10
    with django_assert_max_num_queries(4):
        assert member_api.get("/api/v1/notifications/").json()["count"] == 10


def test_availability_finds_the_earliest_window_across_the_fleet(
    admin_user, member_api, team, node, node_b, start
):
    for n in (node, node_b):
        book_cards(
            admin_user,
            team=team,
            node=n,
            start=start - timedelta(minutes=55),
            end=start + timedelta(hours=3 if n == node else 1),
            purpose="busy",
            count=8,
            override_reason="fill",
        )
    response = member_api.get("/api/v1/availability/", {"count": 4, "hours": 2})
    assert response.status_code == 200
    options = response.json()["options"]
    assert [o["node_name"] for o in options] == ["node-b", "node-a"]
    assert options[0]["start"].startswith((start + timedelta(hours=1)).strftime("%Y-%m-%dT%H"))
    assert options[0]["cards"] == [0, 1, 2, 3]
    only_a = member_api.get("/api/v1/availability/", {"count": 4, "hours": 2, "nodes": "node-a"})
    assert [o["node_name"] for o in only_a.json()["options"]] == ["node-a"]
    bad = member_api.get("/api/v1/availability/", {"count": 3, "hours": 2})
    assert bad.json()["options"] == []
    assert "not a job size" in bad.json()["unavailable"]["node-a"]


def test_cordoning_a_node_lists_the_bookings_left_on_it(admin_api, admin_user, team, node, start):
    kept = book_cards(
        admin_user,
        team=team,
        node=node,
        start=start,
        end=start + timedelta(hours=1),
        purpose="x",
        devices=[3],
    )
    response = admin_api.post("/api/v1/cordons/", {"node": node.pk}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    response = admin_api.post(
        "/api/v1/cordons/", {"node": node.pk, "reason": "PSU swap"}, format="json"
    )
    assert response.status_code == 201
    assert [b["id"] for b in response.json()["affected_bookings"]] == [kept.pk]
    kept.refresh_from_db()
    assert kept.status == "upcoming"
    assert Notification.objects.filter(booking=kept, kind="cordon").exists()
    listed = admin_api.get("/api/v1/cordons/").json()["results"]
    assert listed[0]["cordon_reason"] == "PSU swap"
    assert (
        admin_api.post("/api/v1/cordons/release/", {"node": "node-a"}, format="json").json()[
            "cordoned"
        ]
        is False
    )
    actions = list(AuditEntry.objects.filter(node=node).values_list("action", flat=True))
    assert {"cordon", "uncordon"} <= set(actions)


def test_team_admins_set_the_webhook_site_admins_the_quota(
    member_api, member_user, admin_api, team, monkeypatch
):
    monkeypatch.setattr(
        "fleet.booking.services.webhooks.resolve", lambda host, port: ["93.184.215.14"]
    )
    url = f"/api/v1/teams/{team.pk}/"
    assert (
        member_api.patch(url, {"webhook_url": "https://x.test/h"}, format="json").status_code == 403
    )
    Membership.objects.filter(user=member_user).update(role="admin")
    response = member_api.patch(url, {"webhook_url": "https://x.test/h"}, format="json")
    assert response.status_code == 200
    assert response.json()["webhook_url"] == "https://x.test/h"
    assert member_api.patch(url, {"webhook_url": "ftp://x"}, format="json").status_code == 400
    assert admin_api.patch(url, {"max_cards": 2}, format="json").json()["max_cards"] == 2
    usage = member_api.get(url).json()["usage"]
    assert usage["max_cards"] == 2
    assert usage["cards_now"] == 0
    entry = AuditEntry.objects.filter(team=team, action="team").first()
    assert entry.changes == {"max_cards": [8, 2]}
