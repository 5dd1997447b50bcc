"""What booking does when the fleet app reports a change (connected in BookingConfig.ready())."""

from __future__ import annotations

from typing import Any

from fleet.booking.choices import AuditAction, AuditObject
from fleet.booking.services import audit, notify
from fleet.signals import NodeChange


def record_node_change(
    sender: Any,
    *,
    action: NodeChange,
    actor: Any,
    node: Any,
    summary: str,
    changes: dict[str, tuple[Any, Any]],
    **kwargs: Any,
) -> None:
    """One audit entry about a node (a deleted node is named, no longer linked)."""
    about = (AuditObject.NODE, node.pk, node.name)
    node_link = node if node.pk and action != NodeChange.DELETE else None
    audit.record(AuditAction(action), actor, summary, node=node_link, changes=changes, about=about)


def tell_teams_of_probe(
    sender: Any,
    *,
    node: Any,
    was_answering: bool,
    health_before: dict[int, str],
    cards: list[Any],
    answered: bool,
    **kwargs: Any,
) -> None:
    """Tell the teams of active bookings what the probe changed (see notify.health_transitions)."""
    notify.health_transitions(
        node,
        was_answering=was_answering,
        health_before=health_before,
        cards=cards,
        answered=answered,
    )
