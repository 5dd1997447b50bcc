"""Cordon and uncordon: site admins only, with a reason; bookings left on it are listed."""

from __future__ import annotations

import pytest

from fleet.booking.choices import AuditAction
from fleet.booking.errors import BookingInvalid, BookingNotAllowed, CardsUnavailable
from fleet.booking.models import AuditEntry
from fleet.booking.services.bookings import book_cards, extend_booking
from fleet.booking.services.cordon import cordon, uncordon
from fleet.models import Card
from tests.booking.conftest import hours


def hold(user, team, node, start, devices):
    return book_cards(
        user, team=team, node=node, start=start, end=start + hours(2), purpose="x", devices=devices
    )


def test_cordoning_cards_lists_only_the_bookings_on_those_cards(
    admin_user, member_user, team, node, now
):
    on_it = hold(member_user, team, node, now, [2, 3])
    hold(member_user, team, node, now, [4, 5])
    result = cordon(admin_user, node, devices=[3], reason="HBM ECC errors")
    assert result.devices == [3]
    assert [b.pk for b in result.affected] == [on_it.pk]
    card = Card.objects.get(node=node, device=3)
    assert card.cordoned and card.cordon_reason == "HBM ECC errors"
    entry = AuditEntry.objects.get(action=AuditAction.CORDON)
    assert entry.card == card
    assert entry.reason == "HBM ECC errors"
    assert entry.actor == admin_user


def test_a_cordoned_card_blocks_extension_until_it_returns(
    admin_user, member_user, team, node, now
):
    booking = hold(member_user, team, node, now, [0, 1])
    cordon(admin_user, node, devices=[1], reason="fan")
    with pytest.raises(CardsUnavailable, match="cordoned"):
        extend_booking(member_user, booking, now + hours(3))
    uncordon(admin_user, node, devices=[1])
    assert extend_booking(member_user, booking, now + hours(3)).end == now + hours(3)
    assert AuditEntry.objects.filter(action=AuditAction.UNCORDON, card__device=1).exists()


def test_only_site_admins_cordon_and_a_reason_is_required(admin_user, member_user, node):
    with pytest.raises(BookingNotAllowed):
        cordon(member_user, node, reason="mine now")
    with pytest.raises(BookingInvalid) as err:
        cordon(admin_user, node, reason=" ")
    assert err.value.field == "reason"
    with pytest.raises(BookingInvalid, match="has no card 9"):
        cordon(admin_user, node, devices=[9], reason="x")
    node.refresh_from_db()
    assert not node.cordoned
    assert not AuditEntry.objects.exists()
