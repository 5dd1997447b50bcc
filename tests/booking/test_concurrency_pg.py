"""No double booking under real concurrency, and the PostgreSQL exclusion constraint itself."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from fleet.booking.errors import BookingConflict
from fleet.booking.models import BookedCard, Booking
from fleet.booking.services import bookings
from fleet.booking.services.allocation import allocate
from fleet.booking.services.cards import card_state
from fleet.models import Card
from tests.booking.conftest import make_node

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: the exclusion constraint and row locks do not exist on SQLite",
)

OVERLAPS_SQL = """
    SELECT count(*) FROM fleet_bookedcard a JOIN fleet_bookedcard b
      ON a.card_id = b.card_id AND a.id < b.id
     AND NOT a.released AND NOT b.released
     AND a.start < b."end" AND b.start < a."end"
"""


def overlapping_pairs() -> int:
    with connection.cursor() as cursor:
        cursor.execute(OVERLAPS_SQL)
        return cursor.fetchone()[0]


def fire(requests: list[tuple[object, dict]]) -> list:
    """POST every request at once from its own thread and connection; responses in order."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def worker(i: int, user, data: dict) -> None:
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait(timeout=30)
            results[i] = client.post("/api/v1/bookings/", data, format="json")
        except Exception as exc:  # reported by the assertions below
            results[i] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=worker, args=(i, user, data))
        for i, (user, data) in enumerate(requests)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.fixture
def start():
    return timezone.now().replace(second=0, microsecond=0) + timedelta(hours=1)


@pytest.mark.django_db(transaction=True)
def test_fifty_identical_requests_make_exactly_one_booking(member_user, team, start):
    make_node("node-a")
    data = {
        "team": "vision",
        "node": "node-a",
        "cards": [0, 1],
        "purpose": "race",
        "start": start.isoformat(),
        "end": (start + timedelta(hours=2)).isoformat(),
    }
    responses = fire([(member_user, data)] * 50)
    codes = sorted(getattr(r, "status_code", repr(r)) for r in responses)
    assert codes == [201] + [409] * 49
    winner = next(r.json() for r in responses if r.status_code == 201)
    losers = [r.json() for r in responses if r.status_code == 409]
    assert all(body["conflicts"][0]["booking"] == winner["id"] for body in losers)
    assert Booking.objects.count() == 1
    assert BookedCard.objects.count() == 2
    assert overlapping_pairs() == 0


@pytest.mark.django_db(transaction=True)
def test_fifty_mixed_overlapping_requests_never_double_book(
    admin_user, member_user, team, other_team, start
):
    node = make_node("node-a")
    rng = random.Random(20240607)
    card_sets = [[0], [1], [0, 1], [2, 3], [1, 2], [0, 1, 2, 3], [4, 5, 6, 7], [3, 4]]
    requests = []
    for i in range(50):
        at = start + timedelta(hours=rng.choice([0, 1, 2, 3]))
        data = {
            "node": "node-a",
            "purpose": f"race {i}",
            "start": at.isoformat(),
            "end": (at + timedelta(hours=rng.choice([1, 2, 3]))).isoformat(),
        }
        if i % 5 == 4:
            data["count"] = rng.choice([1, 2, 4])
        else:
            data["cards"] = rng.choice(card_sets)
        user, slug = (member_user, "vision") if i % 2 else (admin_user, "speech")
        requests.append((user, {**data, "team": slug}))
    responses = fire(requests)
    codes = [getattr(r, "status_code", repr(r)) for r in responses]
    assert set(codes) <= {201, 409}, codes
    assert codes.count(201) >= 2
    assert codes.count(409) >= 20  # they really competed for the same card-time
    assert overlapping_pairs() == 0
    assert Booking.objects.count() == codes.count(201)
    cards = list(Card.objects.filter(node=node).order_by("device"))
    for (_, data), response in zip(requests, responses, strict=True):
        if response.status_code == 201:
            booking = Booking.objects.get(pk=response.json()["id"])
            assert booking.devices == response.json()["cards"]
            continue
        lo, hi = data["start"], data["end"]
        if "cards" in data:
            # Refused only because a winner really holds one of those cards in that window.
            conflicts = response.json()["conflicts"]
            assert conflicts, response.json()
            for c in conflicts:
                held = Booking.objects.get(pk=c["booking"])
                assert held.start.isoformat() < hi and held.end.isoformat() > lo
                assert set(c["cards"]) <= set(data["cards"]) & set(held.devices)
        else:
            # Refused for lack of room: the final table indeed has no room for it.
            busy = set(
                BookedCard.objects.holding()
                .filter(start__lt=hi, end__gt=lo)
                .values_list("card_id", flat=True)
            )
            with pytest.raises(ValueError):
                allocate([card_state(c, busy=c.pk in busy) for c in cards], data["count"])


@pytest.mark.django_db
def test_the_exclusion_constraint_refuses_overlap_that_skips_the_service(admin_user, team, start):
    node = make_node("node-a")
    card = node.cards.get(device=0)
    first = bookings.book_cards(
        admin_user,
        team=team,
        node=node,
        start=start,
        end=start + timedelta(hours=2),
        purpose="a",
        devices=[0],
    )
    second = Booking.objects.create(
        team=team, node=node, start=start, end=start + timedelta(hours=3), purpose="sneaky"
    )
    with pytest.raises(IntegrityError, match="booked_card_no_overlap"), transaction.atomic():
        BookedCard.objects.create(
            booking=second,
            card=card,
            start=start + timedelta(hours=1),
            end=start + timedelta(hours=3),
        )
    # Half-open windows: [start+2h, ...) touches the first booking's end without overlapping.
    BookedCard.objects.create(
        booking=second, card=card, start=start + timedelta(hours=2), end=start + timedelta(hours=3)
    )
    # Released rows no longer hold the card.
    BookedCard.objects.filter(booking=first).update(released=True)
    third = Booking.objects.create(
        team=team, node=node, start=start, end=start + timedelta(hours=1), purpose="after cancel"
    )
    BookedCard.objects.create(booking=third, card=card, start=start, end=start + timedelta(hours=1))


@pytest.mark.django_db
def test_a_constraint_veto_becomes_the_same_409(admin_user, team, other_team, start, monkeypatch):
    node = make_node("node-a")
    theirs = bookings.book_cards(
        admin_user,
        team=other_team,
        node=node,
        start=start,
        end=start + timedelta(hours=2),
        purpose="theirs",
        devices=[0, 1],
    )
    real = bookings.conflicting_rows
    calls = []

    def blind_first_check(*args, **kwargs):
        calls.append(1)
        return [] if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(bookings, "conflicting_rows", blind_first_check)
    with pytest.raises(BookingConflict) as err:
        bookings.book_cards(
            admin_user,
            team=team,
            node=node,
            start=start,
            end=start + timedelta(hours=1),
            purpose="mine",
            devices=[1, 2],
        )
    assert f"booking #{theirs.pk}" in err.value.message
    assert "team Speech" in err.value.message
    assert Booking.objects.filter(purpose="mine").count() == 0
