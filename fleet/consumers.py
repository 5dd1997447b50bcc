"""Websocket consumers of the fleet app."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.urls import reverse

from fleet.fragments import render_for
from fleet.streams import FLEET_GROUP

log = logging.getLogger(__name__)
COALESCE_SECONDS = 0.1  # probes land in bursts: one render per socket for a burst
MAX_TILES = 500  # tiles per render (the tiles view's limit)


class FleetConsumer(AsyncJsonWebsocketConsumer):
    """`/ws/fleet/`: every node's new state as data (JSON), to signed-in users, as probes record
    it. The pages use FleetPageConsumer (server-rendered parts) instead."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        await self.channel_layer.group_add(FLEET_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        try:
            await self.channel_layer.group_discard(FLEET_GROUP, self.channel_name)
        except Exception:  # the layer is down; its group entry expires by itself
            return

    async def node_update(self, event: dict) -> None:
        await self.send_json({"type": "node", "node": event["node"]})


class FleetPageConsumer(AsyncJsonWebsocketConsumer):
    """`/ws/fleet/tiles/` and `/ws/fleet/nodes/<id>/`: the live parts of the overview (a tile per
    node) and of a node page, pushed as HTML when a probe of a node lands.

    Each socket renders its parts for its own user, with the pages' own views and templates
    (fleet.fragments): their teams' holders in full, others' as busy, times in their zone.
    Updates that land together are rendered together. `{"type": "refresh", "ids": [...]}` from
    the page (after a reconnect) renders those tiles, or the node page's parts, again.
    Messages: `{"type": "fragments", "ids": [node ids asked for], "html": "..."}`; a tile asked
    for but absent from the HTML is gone or no longer visible.
    """

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.node_id: int | None = self.scope["url_route"]["kwargs"].get("node_id")
        self.pending: set[int] = set()
        self.flusher: asyncio.Task[None] | None = None
        await self.channel_layer.group_add(FLEET_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        flusher = getattr(self, "flusher", None)
        if flusher is not None:
            flusher.cancel()
        try:
            await self.channel_layer.group_discard(FLEET_GROUP, self.channel_name)
        except Exception:  # the layer is down; its group entry expires by itself
            return

    async def node_update(self, event: dict) -> None:
        node_id = event["node"]["id"]
        if self.node_id is None or node_id == self.node_id:
            self._soon({node_id})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "refresh":
            return
        if self.node_id is not None:
            self._soon({self.node_id})
            return
        ids = content.get("ids")
        if isinstance(ids, list):
            self._soon({int(i) for i in ids[:MAX_TILES] if str(i).isdigit()})

    def _soon(self, ids: set[int]) -> None:
        self.pending |= ids
        if self.flusher is None and self.pending:
            self.flusher = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(COALESCE_SECONDS)
            while self.pending:
                ids, self.pending = sorted(self.pending), set()
                for start in range(0, len(ids), MAX_TILES):
                    if not await self._push(ids[start : start + MAX_TILES]):
                        return
        finally:
            self.flusher = None

    async def _push(self, ids: list[int]) -> bool:
        """Render and send the parts of these nodes; False when the socket was closed."""
        path = "?"
        try:
            if self.node_id is None:
                path, query = reverse("node-tiles"), {"id": ids}
            else:
                path, query = reverse("node-live", args=[self.node_id]), None
            rendered = await database_sync_to_async(render_for)(self.scope, path, query)
        except Exception:  # the page is not pushed this time; the next probe pushes it again
            log.exception("could not render the live parts of %s", path)
            return True
        if rendered.signed_out:
            await self.close(code=4401)
            return False
        if rendered.status == 200:
            await self.send_json({"type": "fragments", "ids": ids, "html": rendered.html})
        elif rendered.status != 404:  # 404: the node is gone or no longer visible
            log.warning("live parts of %s answered %s", path, rendered.status)
        return True
