"""Writing audit entries; every booking service records what it changed through here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fleet.booking.choices import AuditAction
from fleet.models import AuditEntry, Booking, Card, Node, Team


def jsonable(value: Any) -> Any:
    """A value as the audit log stores it: datetimes as ISO text, sequences as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def record(
    action: AuditAction,
    actor,
    summary: str,
    *,
    booking: Booking | None = None,
    team: Team | None = None,
    node: Node | None = None,
    card: Card | None = None,
    reason: str = "",
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> AuditEntry:
    """Append one entry; `actor` is None for automatic actions."""
    if booking is not None:
        team = team or booking.team
        node = node or booking.node
    return AuditEntry.objects.create(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        summary=summary[:500],
        reason=reason,
        changes={k: [jsonable(a), jsonable(b)] for k, (a, b) in (changes or {}).items()},
        booking=booking,
        team=team,
        node=node,
        card=card,
    )
