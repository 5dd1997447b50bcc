"""Live fleet updates: what a probe changed, broadcast to the `fleet` channel group."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from fleet.models import Node
from fleet.reachability import effective_health

log = logging.getLogger(__name__)
FLEET_GROUP = "fleet"


def node_summary(node: Node, cards: list[Any]) -> dict[str, Any]:
    """The tile of a node: status, facts that matter and every card's live values.

    A node that does not answer shows its cards' health as Unknown: the last reading is stale.
    """
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
                "health": effective_health(c, node),
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


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Collect the node updates of many probes (any thread) and send them in one go at the end."""
    collected: list[dict] = []
    lock = threading.Lock()
    _Batch.active = (collected, lock)
    try:
        yield
    finally:
        _Batch.active = None
        _send(list(collected))


class _Batch:
    active: tuple[list[dict], threading.Lock] | None = None


def broadcast_node(node: Node, cards: list[Any]) -> None:
    """Send a node's new state to every open overview; a broken layer never fails a probe."""
    message = {"type": "node.update", "node": node_summary(node, cards)}
    batch = _Batch.active
    if batch is not None:
        with batch[1]:
            batch[0].append(message)
        return
    _send([message])


def _send(messages: list[dict]) -> None:
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send_all() -> None:
        await asyncio.gather(*(layer.group_send(FLEET_GROUP, m) for m in messages))

    try:
        async_to_sync(send_all)()
    except Exception as exc:  # Redis down: the page catches up on the next probe.
        log.warning("could not broadcast %d node update(s): %s", len(messages), exc)
