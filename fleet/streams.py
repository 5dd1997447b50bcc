"""Live fleet updates: what a probe changed, broadcast to the `fleet` channel group."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from fleet.models import Node

log = logging.getLogger(__name__)
FLEET_GROUP = "fleet"


def node_summary(node: Node, cards: list[Any]) -> dict[str, Any]:
    """The tile of a node: status, facts that matter and every card's live values."""
    return {
        "id": node.pk,
        "name": node.name,
        "status": node.status,
        "status_label": node.get_status_display(),
        "chip_name": node.chip_name,
        "labels": node.labels,
        "last_error": node.last_error,
        "last_error_kind": node.last_error_kind,
        "last_probe_at": node.last_probe_at.isoformat() if node.last_probe_at else None,
        "cards": [
            {
                "id": c.pk,
                "present": c.present,
                "device": c.device,
                "health": c.health,
                "hbm_used_mb": c.hbm_used_mb,
                "hbm_total_mb": c.hbm_total_mb,
                "aicore_pct": c.aicore_pct,
                "temp_c": c.temp_c,
                "power_w": c.power_w,
                "used": bool(c.processes),
                "cordoned": c.cordoned,
            }
            for c in cards
        ],
    }


def broadcast_node(node: Node, cards: list[Any]) -> None:
    """Send a node's new state to every open overview; a broken layer never fails a probe."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            FLEET_GROUP, {"type": "node.update", "node": node_summary(node, cards)}
        )
    except Exception as exc:  # Redis down: the page catches up on the next probe.
        log.warning("could not broadcast node %s: %s", node.name, exc)
