"""Whether a node's cards can be trusted and used now: reachability and node-level preflight.

A card's health is only as fresh as the last probe that reached its node: when the node stops
answering, what it last said is no longer true, so its cards show as Unknown (grey), never the
green of a probe that may be hours old. Finding cards and deploying refuse a node that does not
answer or whose preflight fails a check that concerns the whole node; checks about single
cards (health, foreign processes) are applied card by card where cards are chosen.
"""

from __future__ import annotations

from fleet.choices import CheckStatus, Health
from fleet.models import Card, Node

# Preflight checks about the whole node (the others are about single cards).
NODE_CHECKS = ("driver", "docker", "ip_forward", "cards")


def reachable(node: Node) -> bool:
    """The last probes reached the node (it is online or degraded)."""
    return node.reachable


def effective_health(card: Card, node: Node | None = None) -> str:
    """The card's health as it may be shown: Unknown while its node does not answer."""
    node = node or card.node
    return card.health if node.reachable else Health.UNKNOWN


def unreachable_reason(node: Node) -> str:
    """Why the node is not answering, in a phrase (empty when it answers)."""
    if reachable(node):
        return ""
    why = node.last_error.splitlines()[0][:200] if node.last_error else node.get_status_display()
    return f"node {node.name} is unreachable ({why})"


def failed_node_checks(node: Node) -> list[dict]:
    """The node's failing preflight checks that concern the whole node, as stored."""
    return [
        check
        for check in node.preflight or []
        if check.get("status") == CheckStatus.FAIL and check.get("name") in NODE_CHECKS
    ]


def node_problem(node: Node) -> str:
    """Why no card of this node may be offered or deployed on now ("" when none)."""
    unreachable = unreachable_reason(node)
    if unreachable:
        return f"{unreachable}: its cards' state is unknown until it answers again"
    failed = failed_node_checks(node)
    if failed:
        listed = "; ".join(f"check '{c['name']}' failed: {c.get('message', '')}" for c in failed)
        fix = failed[0].get("fix")
        return f"node {node.name} fails preflight ({listed})" + (f"; fix: {fix}" if fix else "")
    return ""
