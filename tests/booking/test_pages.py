"""Booking pages: timeline, booking from it, find, my bookings (HTMX rows), audit, cordons, zone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fleet.booking.models import AuditEntry, Booking, Membership
from fleet.booking.services.bookings import book_cards


@pytest.fixture
def member_client(client, member_user):
    client.force_login(member_user)
    return client


@pytest.fixture
def hour():
    return timezone.localtime().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def booking_for(user, team, node, start, devices=(0, 1), hours=2):
    return book_cards(
        user,
        team=team,
        node=node,
        start=start,
        end=start + timedelta(hours=hours),
        purpose="page test",
        devices=list(devices),
    )


def test_timeline_shows_cards_as_rows_and_free_slots_to_click(member_client, node):
    response = member_client.get(reverse("booking-timeline", args=[node.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<tr data-device="') == 8
    assert html.count('class="pick"') == 8 * 24
    assert 'id="book-form"' in html


def test_timeline_shows_bookings_by_team(member_client, admin_user, team, other_team, node, hour):
    booking_for(admin_user, team, node, hour, devices=[0, 1])
    booking_for(admin_user, other_team, node, hour, devices=[4])
    html = member_client.get(reverse("booking-timeline", args=[node.pk])).content.decode()
    assert 'class="slot mine"' in html
    assert 'data-team="Vision"' in html
    assert 'data-team="Speech"' in html


def test_outsiders_see_busy_only_and_no_booking_form(
    client, outsider_user, admin_user, team, node, hour
):
    booking_for(admin_user, team, node, hour)
    client.force_login(outsider_user)
    html = client.get(reverse("booking-timeline", args=[node.pk])).content.decode()
    assert 'data-team="busy"' in html
    assert "Vision" not in html
    assert 'id="book-form"' not in html


def test_booking_from_the_timeline_then_again_shows_the_conflict(member_client, team, node, hour):
    url = reverse("booking-timeline", args=[node.pk])
    form = {"team": team.pk, "cards": [2, 3], "start": local(hour), "hours": "2", "purpose": "demo"}
    response = member_client.post(url, form)
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.devices == [2, 3]
    assert booking.start == hour
    page = member_client.get(response["Location"]).content.decode()
    assert f"booking #{booking.pk}" in page
    response = member_client.post(url, form)
    assert response.status_code == 409
    html = response.content.decode()
    assert 'role="alert"' in html
    assert f"already booked by team Vision (booking #{booking.pk}" in html
    assert Booking.objects.count() == 1


def test_bad_input_on_the_timeline_is_a_400_naming_the_field(member_client, team, node, hour):
    url = reverse("booking-timeline", args=[node.pk])
    response = member_client.post(
        url,
        {"team": team.pk, "cards": [0, 1, 2], "start": local(hour), "hours": "1", "purpose": "x"},
    )
    assert response.status_code == 400
    assert "not a job size" in response.content.decode()


def test_find_lists_the_earliest_window_per_node(member_client, node, node_b):
    response = member_client.get(reverse("booking-find"), {"count": 4, "hours": 2})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="book-option"') == 2
    assert "half 0-3" in html
    partial = member_client.get(
        reverse("booking-find"), {"count": 4, "hours": 2}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in partial
    assert "node-b" in partial


def test_my_bookings_cancel_and_extend_by_htmx(member_client, member_user, team, node, hour):
    booking = booking_for(member_user, team, node, hour)
    html = member_client.get(reverse("booking-mine")).content.decode()
    assert f'id="booking-{booking.pk}"' in html
    row = member_client.post(
        reverse("booking-extend", args=[booking.pk]), {"hours": "2"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert row.startswith(f'<tr id="booking-{booking.pk}"')
    booking.refresh_from_db()
    assert booking.end == hour + timedelta(hours=4)
    row = member_client.post(
        reverse("booking-cancel", args=[booking.pk]), {}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Cancelled" in row
    again = member_client.post(
        reverse("booking-cancel", args=[booking.pk]), {}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'role="alert"' in again and "only upcoming or active" in again


def test_members_cannot_touch_other_teams_bookings_from_pages(
    member_client, admin_user, other_team, node, hour
):
    theirs = booking_for(admin_user, other_team, node, hour)
    assert member_client.post(reverse("booking-cancel", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "upcoming"


def test_times_show_in_the_users_zone(member_client, member_user, team, node):
    at = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)
    booking_for(member_user, team, node, at)
    member_client.post(reverse("booking-time-zone"), {"time_zone": "Asia/Kathmandu"})
    html = member_client.get(reverse("booking-mine")).content.decode()
    kathmandu = at + timedelta(hours=5, minutes=45)  # UTC+05:45, no DST
    assert kathmandu.strftime("%Y-%m-%d %H:%M") in html
    assert "Asia/Kathmandu" in html
    assert member_user.fleet_profile.time_zone == "Asia/Kathmandu"


def test_audit_page_is_for_admins(client, admin_user, member_user, team, node, hour):
    booking_for(admin_user, team, node, hour)
    client.force_login(member_user)
    assert client.get(reverse("booking-audit")).status_code == 403
    Membership.objects.filter(user=member_user).update(role="admin")
    assert "Booked" in client.get(reverse("booking-audit")).content.decode()
    client.force_login(admin_user)
    html = client.get(reverse("booking-audit"), {"action": "create"}).content.decode()
    assert "Booked card(s) 0, 1 of node-a" in html


def test_cordon_page_lists_bookings_left_and_moves_them(
    client, admin_user, member_user, team, node, node_b, hour
):
    booking = booking_for(member_user, team, node, hour)
    client.force_login(admin_user)
    response = client.post(
        reverse("booking-cordons"), {"node": node.pk, "cards": "", "reason": "PSU"}
    )
    assert response.status_code == 302
    html = client.get(reverse("booking-cordons")).content.decode()
    assert f"#{booking.pk}" in html
    assert "PSU" in html
    client.post(
        reverse("booking-move", args=[booking.pk]),
        {"node": node_b.pk, "reason": "node-a PSU", "next": reverse("booking-cordons")},
    )
    booking.refresh_from_db()
    assert booking.node == node_b
    assert AuditEntry.objects.filter(booking=booking, action="change").exists()
    client.post(reverse("booking-uncordon", args=[node.pk]))
    node.refresh_from_db()
    assert node.cordoned is False
    client.force_login(member_user)
    assert client.get(reverse("booking-cordons")).status_code == 403


def test_team_settings_from_the_bookings_page(client, admin_user, member_user, team, monkeypatch):
    monkeypatch.setattr(
        "fleet.booking.services.webhooks.resolve", lambda host, port: ["93.184.215.14"]
    )
    client.force_login(member_user)
    url = reverse("booking-team-settings", args=[team.pk])
    client.post(url, {"webhook_url": "https://hooks.example.com/v"})
    team.refresh_from_db()
    assert team.webhook_url == ""  # a plain member may not
    Membership.objects.filter(user=member_user).update(role="admin")
    client.post(url, {"webhook_url": "https://hooks.example.com/v", "max_cards": "99"})
    team.refresh_from_db()
    assert team.webhook_url == "https://hooks.example.com/v"
    assert team.max_cards == 8  # quotas are for site admins
    client.force_login(admin_user)
    client.post(url, {"max_cards": "3", "reason": "shared node shortage"})
    team.refresh_from_db()
    assert team.max_cards == 3
    entry = AuditEntry.objects.filter(action="team").first()
    assert entry.reason == "shared node shortage"
