"""Containers on booked cards that the dashboard did not start are flagged."""

from __future__ import annotations

from django.urls import reverse

from fleet.booking.services.bookings import book_cards
from tests.booking.conftest import hours, set_card


def test_booking_and_node_pages_flag_what_the_dashboard_did_not_start(
    client, node, member_user, admin_user, team, now
):
    booking = book_cards(
        member_user,
        team=team,
        node=node,
        start=now,
        end=now + hours(2),
        purpose="serving",
        devices=[0, 1],
    )
    set_card(
        node,
        0,
        containers=[
            {
                "id": "a" * 12,
                "name": "npufleet-deploy-9",
                "managed": True,
                "booking": str(booking.pk),
            },
        ],
    )
    set_card(
        node,
        1,
        containers=[{"id": "b" * 12, "name": "someones-vllm", "managed": False}],
        processes=[{"pid": 4242, "name": "python", "container": "", "managed": False}],
    )
    client.force_login(member_user)
    page = client.get(reverse("booking-mine")).content.decode()
    assert "Not started by the dashboard" in page
    # the booking has not started, so its team does not hold the cards yet: whose these are is
    # not known, and only a site admin sees their names and pids
    assert "a container outside the dashboard on davinci1" in page
    assert "a process outside the dashboard on davinci1" in page
    assert "someones-vllm" not in page and "4242" not in page
    assert "npufleet-deploy-9" not in page
    node_page = client.get(reverse("node-detail", args=[node.pk])).content.decode()
    client.force_login(admin_user)
    admin_page = client.get(reverse("booking-mine")).content.decode()
    assert "container someones-vllm on davinci1" in admin_page
    assert "pid 4242 on davinci1" in admin_page
    client.force_login(member_user)
    assert node_page.count('data-testid="unmanaged"') == 1


def test_a_container_of_another_booking_is_a_stranger(node, member_user, team, now):
    booking = book_cards(
        member_user,
        team=team,
        node=node,
        start=now,
        end=now + hours(2),
        purpose="serving",
        devices=[2],
    )
    set_card(
        node,
        2,
        containers=[
            {"id": "c" * 12, "name": "npufleet-deploy-3", "managed": True, "booking": "99999"}
        ],
    )
    assert booking.strangers == ["container npufleet-deploy-3 on davinci2"]
    set_card(node, 2, containers=[])
    booking.refresh_from_db()
    assert type(booking).objects.with_cards().get(pk=booking.pk).strangers == []
