"""Writing audit entries: every service that writes records what it changed through here.

Call `record` inside the transaction of the write, so the entry and the change commit together.
Never pass secrets (private keys, passwords, token keys) in `changes`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fleet.booking.choices import AuditAction, AuditObject
from fleet.booking.models import AuditEntry, Booking, Team
from fleet.models import Card, Node

# Names whose values are credentials: the log shows that they changed, never the value.
SECRET_NAME = re.compile(r"(^|_)(password|passphrase|passwd|secret|token|key|credentials?)$", re.I)
HIDDEN = "(secret)"


def masked(name: str, value: Any) -> Any:
    """A value with credentials hidden: a secret-named field, or secret-named keys of a dict."""
    if value is None:
        return None
    if SECRET_NAME.search(str(name)):
        return HIDDEN
    if isinstance(value, dict):
        return {k: masked(k, v) for k, v in value.items()}
    return value


def jsonable(value: Any) -> Any:
    """A value as the audit log stores it: datetimes as ISO text, sequences as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def record(
    action: AuditAction,
    actor: Any,
    summary: str,
    *,
    booking: Booking | None = None,
    team: Team | None = None,
    node: Node | None = None,
    card: Card | None = None,
    reason: str = "",
    changes: dict[str, tuple[Any, Any]] | None = None,
    about: tuple[AuditObject, Any, str] | None = None,
) -> AuditEntry:
    """Append one entry; `actor` is None for automatic actions.

    `about` names the object (type, id, readable label); without it the object is the most
    specific of booking, card, node and team given.
    """
    if booking is not None:
        team = team or booking.team
        node = node or booking.node
    object_type, object_id, label = about or _object_of(action, booking, card, node, team)
    return AuditEntry.objects.create(
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id)[:64],
        object_label=str(label)[:200],
        actor=actor if actor is not None and actor.is_authenticated else None,
        summary=summary[:500],
        reason=reason,
        changes={
            k: [jsonable(masked(k, a)), jsonable(masked(k, b))]
            for k, (a, b) in (changes or {}).items()
        },
        booking=booking,
        team=team,
        node=node,
        card=card,
    )


def _object_of(
    action: AuditAction,
    booking: Booking | None,
    card: Card | None,
    node: Node | None,
    team: Team | None,
) -> tuple[str, Any, str]:
    if action == AuditAction.POLICY:
        return AuditObject.POLICY, None, "container policy"
    if booking is not None:
        return AuditObject.BOOKING, booking.pk, f"booking {booking.pk}"
    if card is not None:
        return AuditObject.CARD, card.pk, f"{card.node.name} davinci{card.device}"
    if node is not None:
        return AuditObject.NODE, node.pk, node.name
    if team is not None:
        return AuditObject.TEAM, team.pk, team.name
    return "", None, ""
