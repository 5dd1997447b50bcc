"""Websocket of one job: its log chunks and status, live, after a backfill from the database."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model
from django.urls import reverse

from fleet.booking.permissions import user_group
from fleet.fragments import render_for
from jobs.models import Job
from jobs.streams import backfill, job_group

log = logging.getLogger(__name__)
# However access is lost, a socket checks again before forwarding once this much time passed.
MAX_SEQ = 2**62  # past any id or sequence number a bigint column holds
ACCESS_RECHECK_SECONDS = 5.0


class JobLogConsumer(AsyncJsonWebsocketConsumer):
    """`/ws/jobs/<id>/?after_seq=N`: chunks after N, then every new chunk, in order.

    With `&fragments=1` (the job page) every status message also carries `html`: the page's
    live parts (head, progress and steps, details) rendered for this socket's user by the
    page's own view and templates, in their time zone (fleet.fragments).

    The group is joined before the backfill is read, so no chunk falls between the two; live
    chunks already sent are dropped and a gap (a lost broadcast) is read back from the database,
    so what a client receives is gapless and without repeats.

    Access is checked at use, not only at connect: when one of the user's memberships goes the
    socket is told (`access.changed`) and checks again, and it also checks again before
    forwarding anything once ACCESS_RECHECK_SECONDS have passed; a user who may no longer see
    the job is disconnected with 4403.
    """

    async def connect(self) -> None:
        self.job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        if self.job_id > MAX_SEQ:
            await self.close(code=4404)
            return
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.user_id = user.pk
        if not await self._may_see():
            await self.close(code=4403)
            return
        self.checked_at = time.monotonic()
        self.group = job_group(self.job_id)
        self.user_group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            after = int(query.get("after_seq", ["0"])[0])
        except ValueError:
            after = 0
        self.last_seq = max(0, min(after, MAX_SEQ))  # a bigint column: no overflow
        self.fragments = query.get("fragments", [""])[0] == "1"
        await self._send_status(await self._status())
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
                await self.channel_layer.group_discard(self.user_group, self.channel_name)
            except Exception:  # the layer is down; its group entry expires by itself
                log.warning("job %s: could not leave the log group", self.job_id)

    @database_sync_to_async
    def _may_see(self) -> bool:
        """Whether the user, as stored now (active, admin, teams), may see the job."""
        user = get_user_model().objects.filter(pk=self.user_id, is_active=True).first()
        return user is not None and Job.objects.visible_to(user).filter(pk=self.job_id).exists()

    async def _allowed(self, *, now: bool = False) -> bool:
        """Check access again (at once, or when the last check is old); close if it is gone."""
        if getattr(self, "revoked", False):
            return False
        if not now and time.monotonic() - self.checked_at < ACCESS_RECHECK_SECONDS:
            return True
        allowed = await self._may_see()
        self.checked_at = time.monotonic()
        if not allowed:
            self.revoked = True
            await self.close(code=4403)
        return allowed

    async def access_changed(self, event: dict) -> None:
        await self._allowed(now=True)

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
        if not await self._allowed():
            return
        seq = event["seq"]
        if seq <= self.last_seq:
            return  # already sent by the backfill
        if seq > self.last_seq + 1:
            await self._catch_up(until=seq - 1)  # a broadcast was lost: read the gap back
        if seq == self.last_seq + 1:
            await self._send_chunk(seq, event["text"])

    async def job_status(self, event: dict) -> None:
        if not await self._allowed():
            return
        await self._send_status({k: v for k, v in event.items() if k != "type"})

    async def _send_status(self, status: dict) -> None:
        message = {"type": "status", **status}
        if self.fragments:
            try:
                path = reverse("job-page-live", args=[self.job_id])
                rendered = await database_sync_to_async(render_for)(self.scope, path)
            except Exception:
                log.exception("job %s: could not render the page's live parts", self.job_id)
            else:
                if rendered.status == 200:
                    message["html"] = rendered.html
        await self.send_json(message)
