"""Websocket consumers of the fleet app."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from fleet.streams import FLEET_GROUP


class FleetConsumer(AsyncJsonWebsocketConsumer):
    """Pushes every node's new state to signed-in users as probes record it."""

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
