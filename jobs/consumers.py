"""Websocket of one job: its log chunks and status, live, after a backfill from the database."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from jobs.models import Job
from jobs.streams import backfill, job_group

log = logging.getLogger(__name__)


class JobLogConsumer(AsyncJsonWebsocketConsumer):
    """`/ws/jobs/<id>/?after_seq=N`: chunks after N, then every new chunk, in order.

    The group is joined before the backfill is read, so no chunk falls between the two; live
    chunks already sent are dropped and a gap (a lost broadcast) is read back from the database,
    so what a client receives is gapless and without repeats.
    """

    async def connect(self) -> None:
        self.job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        if not await self._may_see(user):
            await self.close(code=4403)
            return
        self.group = job_group(self.job_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            after = int(query.get("after_seq", ["0"])[0])
        except ValueError:
            after = 0
        self.last_seq = after
        status = await self._status()
        await self.send_json({"type": "status", **status})
        await self._catch_up()

    async def _catch_up(self, until: int | None = None) -> None:
        """Send every persisted chunk after the last one sent (up to `until`)."""
        while True:
            chunks = await database_sync_to_async(backfill)(self.job_id, self.last_seq)
            for chunk in chunks:
                if until is not None and chunk["seq"] > until:
                    return
                await self._send_chunk(chunk["seq"], chunk["text"])
            if len(chunks) < 500:
                return

    async def _send_chunk(self, seq: int, text: str) -> None:
        await self.send_json({"type": "log", "seq": seq, "text": text})
        self.last_seq = seq

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception:  # the layer is down; its group entry expires by itself
                log.warning("job %s: could not leave the log group", self.job_id)

    @database_sync_to_async
    def _may_see(self, user) -> bool:
        return Job.objects.visible_to(user).filter(pk=self.job_id).exists()

    @database_sync_to_async
    def _status(self) -> dict:
        job = Job.objects.get(pk=self.job_id)
        return {
            "status": job.status,
            "steps": job.steps,
            "progress": job.progress,
            "error": job.error,
            "log_seq": job.log_seq,
        }

    async def log_chunk(self, event: dict) -> None:
        seq = event["seq"]
        if seq <= self.last_seq:
            return  # already sent by the backfill
        if seq > self.last_seq + 1:
            await self._catch_up(until=seq - 1)  # a broadcast was lost: read the gap back
        if seq == self.last_seq + 1:
            await self._send_chunk(seq, event["text"])

    async def job_status(self, event: dict) -> None:
        await self.send_json({"type": "status", **{k: v for k, v in event.items() if k != "type"}})
