"""Telling a team: an in-app notification, and a POST to the team's webhook after commit."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fleet.booking import webhooks
from fleet.booking.choices import NotificationKind
from fleet.models import Booking, Notification, Team

log = logging.getLogger(__name__)


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
        from fleet.booking.tasks import post_team_webhook

        transaction.on_commit(lambda: post_team_webhook.delay(note.pk))
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
