"""Choices and constants of bookings: statuses, end reasons, audit actions, HCCS halves."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import models

# Cards per job on an 8-card box; other node sizes take any count up to their card total.
EIGHT_CARD_COUNTS = (1, 2, 4, 8)
# The two HCCS halves of an 8-card box: a job kept inside one half talks over HCCS only.
HCCS_HALVES = ((0, 1, 2, 3), (4, 5, 6, 7))
# Card health values that keep a card out of new bookings.
UNHEALTHY = frozenset({"Alarm", "Critical"})
# Moments the booking API and pages accept: far from year 1 and 9999, where arithmetic overflows.
EARLIEST_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(2100, 1, 1, tzinfo=UTC)
MOMENT_RANGE_TEXT = "between 2000-01-01 and 2100-01-01 (UTC)"


class BookingStatus(models.TextChoices):
    UPCOMING = "upcoming", "Upcoming"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"
    CANCELLED = "cancelled", "Cancelled"


LIVE_STATUSES = (BookingStatus.UPCOMING, BookingStatus.ACTIVE)


class EndReason(models.TextChoices):
    COMPLETED = "completed", "Reached its end"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "Released: no deployment"


class AuditAction(models.TextChoices):
    CREATE = "create", "Booked"
    CHANGE = "change", "Changed"
    EXTEND = "extend", "Extended"
    CANCEL = "cancel", "Cancelled"
    OVERRIDE = "override", "Quota overridden"
    CORDON = "cordon", "Cordoned"
    UNCORDON = "uncordon", "Uncordoned"
    RELEASE = "release", "Released automatically"
    STOP = "stop", "Containers stopped"
    TEAM = "team", "Team settings changed"
    POLICY = "policy", "Container policy changed"
    ADD = "add", "Created"
    EDIT = "edit", "Edited"
    DELETE = "delete", "Deleted"
    ARCHIVE = "archive", "Archived"
    KEY_ACCEPT = "key_accept", "Host key accepted"
    KEY_REFUSE = "key_refuse", "Host key refused"
    DEPLOY = "deploy", "Deployed"
    RESTART = "restart", "Restarted"
    REMOVE = "remove", "Removed"
    RETRY = "retry", "Retried"
    BUILD = "build", "Image build started"
    TOKEN_ISSUE = "token_new", "API token created"
    TOKEN_REVOKE = "token_del", "API token revoked"


class AuditObject(models.TextChoices):
    """What an audit entry is about: filter the log by it."""

    BOOKING = "booking", "Booking"
    TEAM = "team", "Team"
    NODE = "node", "Node"
    CARD = "card", "Card"
    POLICY = "policy", "Container policy"
    RECIPE = "recipe", "Recipe"
    CATALOG = "catalog", "Catalog row"
    DEPLOYMENT = "deployment", "Deployment"
    JOB = "job", "Job"
    IMAGE = "image", "Image"
    TOKEN = "token", "API token"


class NotificationKind(models.TextChoices):
    WARNING = "warning", "Ending soon"
    RELEASED = "released", "Released"
    ENDED = "ended", "Ended"
    CANCELLED = "cancelled", "Cancelled"
    CORDON = "cordon", "Cordon"
    CARD_FAULT = "card_fault", "Card unhealthy"
    NODE_DOWN = "node_down", "Node unreachable"
    RECOVERED = "recovered", "Recovered"
