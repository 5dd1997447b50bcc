"""Card holders as fleet shows them without the booking app's answers: only busy, no team."""

from __future__ import annotations

from types import SimpleNamespace

from fleet import holders
from fleet.booking.pages.card_holders import label_cards
from fleet.booking.permissions import redact_cards


def card(**entries):
    return SimpleNamespace(pk=1, processes=entries.get("processes", []), containers=[])


def test_booking_registers_its_answers():
    assert holders._redactor is redact_cards
    assert holders._labeller is label_cards


def test_the_default_shows_every_holder_only_as_busy():
    held = card(processes=[{"pid": 42, "container": "theirs", "managed": True, "memory_mb": 900}])
    (shown,) = holders.redact_all(None, [held])
    assert shown.shown_processes == [
        {"busy": True, "team": None, "managed": True, "memory_mb": 900}
    ]
    assert shown.shown_containers == []


def test_the_default_labels_no_card_with_a_team():
    held = card(processes=[{"pid": 42, "managed": False}])
    tile = {"cards": [{"id": 1, "title": "davinci0"}]}
    before = holders._redactor, holders._labeller
    holders.register(redactor=None, labeller=None)
    try:
        (row,) = holders.label_cards(None, [], [tile], [held])
    finally:
        holders.register(redactor=before[0], labeller=before[1])
    assert row.holder == holders.NO_HOLDER
    assert tile["cards"][0]["holder"] == holders.NO_HOLDER
    assert row.shown_processes == [
        {"busy": True, "team": None, "managed": False, "memory_mb": None}
    ]
