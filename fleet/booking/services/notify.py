"""Telling a team: an in-app notification, and a POST to the team's webhook after commit."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from fleet.booking.choices import NotificationKind
from fleet.booking.models import Booking, Notification, Team
from fleet.booking.services import webhooks
from fleet.dispatch import enqueue_on_commit
from fleet.models import Node

log = logging.getLogger(__name__)

# The Celery task that posts a notification to its team's webhook (fleet/booking/tasks.py).
POST_TEAM_WEBHOOK = "fleet.booking.tasks.post_team_webhook"


def when(moment: datetime) -> str:
    """A moment as people read it, in the active time zone with its name."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def window(start: datetime, end: datetime) -> str:
    """A [start, end) window as people read it."""
    return f"{when(start)} to {when(end)}"


def notify_team(
    team: Team, kind: NotificationKind, text: str, booking: Booking | None = None
) -> Notification:
    """Store a notification for the team and post it to the team's webhook once committed."""
    note = Notification.objects.create(team=team, booking=booking, kind=kind, text=text[:500])
    if team.webhook_url:
        enqueue_on_commit(POST_TEAM_WEBHOOK, note.pk)
    return note


def webhook_payload(note: Notification) -> dict:
    """The JSON body posted to a team's webhook (`text` suits chat incoming webhooks)."""
    body: dict = {
        "text": f"[NPU Fleet] {note.team.name}: {note.text}",
        "team": note.team.slug,
        "kind": note.kind,
        "at": note.created_at.isoformat(),
    }
    if note.booking is not None:
        booking = note.booking
        body["booking"] = {
            "id": booking.pk,
            "node": booking.node.name,
            "cards": booking.devices,
            "start": booking.start.isoformat(),
            "end": booking.end.isoformat(),
            "status": booking.status,
        }
    return body


def send_webhook(notification_id: int) -> str:
    """POST one notification to its team's webhook; returns and stores the outcome.

    The URL is checked again here (DNS may have changed since it was saved) and the request
    goes to an address that was just checked; redirects are not followed.
    """
    note = Notification.objects.select_related("team", "booking__node").get(pk=notification_id)
    url = note.team.webhook_url
    if not url.startswith(("http://", "https://")):
        outcome = "skipped: no http(s) webhook URL"
    else:
        body = json.dumps(webhook_payload(note)).encode()
        outcome = webhooks.post_json(url, body, timeout=settings.FLEET_BOOKING_WEBHOOK_TIMEOUT)
    if not outcome.startswith("HTTP 2"):
        log.warning("webhook of team %s: %s", note.team.slug, outcome)
    Notification.objects.filter(pk=note.pk).update(webhook_status=outcome[:200])
    return outcome


# Health of booked cards --------------------------------------------------------------------------


def _active_holders(node: Node, card_ids: list[int] | None = None) -> dict[int, list[Booking]]:
    """Per card id, the live bookings whose window covers now (one query)."""
    from fleet.booking.choices import LIVE_STATUSES
    from fleet.booking.models import BookedCard

    now = timezone.now()
    rows = (
        BookedCard.objects.holding()
        .filter(card__node=node, start__lte=now, end__gt=now, booking__status__in=LIVE_STATUSES)
        .select_related("booking__team")
    )
    if card_ids is not None:
        rows = rows.filter(card_id__in=card_ids)
    held: dict[int, list[Booking]] = {}
    for row in rows:
        held.setdefault(row.card_id, []).append(row.booking)
    return held


def _by_booking(held: dict[int, list[Booking]], devices: dict[int, int]) -> dict[int, tuple]:
    """{booking id: (booking, [devices])} of the given card ids (card id -> device)."""
    out: dict[int, tuple[Booking, list[int]]] = {}
    for card_id, bookings in held.items():
        for booking in bookings:
            out.setdefault(booking.pk, (booking, []))[1].append(devices[card_id])
    return out


def health_transitions(
    node: Node,
    *,
    was_answering: bool,
    health_before: dict[int, str],
    cards: list,
    answered: bool = True,
) -> list[Notification]:
    """Tell the teams of active bookings what a probe changed, once per transition.

    A node that stops answering, a booked card that turns Alarm or Critical, and their
    recovery each notify once: the comparison is with what the previous probe stored, so
    the next probe that finds the same fault is silent, and only a recovery followed by a
    new fault notifies again. `answered` is False after a failed probe: only a probe that
    reached the node tells of its recovery. Called inside the probe's transaction.
    """
    from fleet.booking.choices import UNHEALTHY
    from fleet.reachability import reachable, unreachable_reason

    answering = reachable(node)
    devices = {c.pk: c.device for c in cards}
    notes: list[Notification] = []
    if was_answering and not answering:
        why = unreachable_reason(node)
        for booking, devs in _by_booking(_active_holders(node), devices).values():
            notes.append(
                notify_team(
                    booking.team,
                    NotificationKind.NODE_DOWN,
                    f"Booking #{booking.pk}: {why}; the state of card(s) "
                    f"{', '.join(map(str, sorted(devs)))} is unknown until it answers again.",
                    booking,
                )
            )
        return notes
    if not answering or not answered:
        return notes
    if not was_answering:
        for booking, devs in _by_booking(_active_holders(node), devices).values():
            notes.append(
                notify_team(
                    booking.team,
                    NotificationKind.RECOVERED,
                    f"Booking #{booking.pk}: node {node.name} answers again; card(s) "
                    f"{', '.join(map(str, sorted(devs)))} are probed as usual.",
                    booking,
                )
            )
    went_bad = {
        c.pk: c for c in cards if c.health in UNHEALTHY and health_before.get(c.pk) not in UNHEALTHY
    }
    came_back = {
        c.pk: c
        for c in cards
        if c.pk in health_before and health_before[c.pk] in UNHEALTHY and c.health not in UNHEALTHY
    }
    if not went_bad and not came_back:
        return notes
    held = _active_holders(node, [*went_bad, *came_back])
    for card_id, bookings in held.items():
        for booking in bookings:
            if card_id in went_bad:
                card = went_bad[card_id]
                kind = NotificationKind.CARD_FAULT
                text = (
                    f"Booking #{booking.pk}: card davinci{card.device} on {node.name} "
                    f"reports {card.health}; check its deployment's log, and ask a site admin "
                    "to look at the card if it stays so."
                )
            else:
                card = came_back[card_id]
                kind = NotificationKind.RECOVERED
                text = (
                    f"Booking #{booking.pk}: card davinci{card.device} on {node.name} "
                    f"reports {card.health} again."
                )
            notes.append(notify_team(booking.team, kind, text, booking))
    return notes
