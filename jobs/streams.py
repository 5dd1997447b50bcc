"""Job logs: numbered chunks, persisted first, then broadcast to the job's channel group."""

from __future__ import annotations

import logging
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.db.models import Max

from jobs.models import Job, LogChunk

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.05
FLUSH_BYTES = 64 * 1024


def job_group(job_id: int) -> str:
    """Channels group of one job's live log and status."""
    return f"job-{job_id}"


def broadcast(job_id: int, message: dict) -> None:
    """Tell the job's websocket listeners; a broken channel layer never fails the job."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(job_group(job_id), message)
    except Exception as exc:  # clients backfill over REST by seq, nothing is lost
        log.warning("job %s: broadcast failed: %s", job_id, exc)


def broadcast_status(job: Job) -> None:
    """Push the job's status and steps after they changed."""
    broadcast(
        job.pk,
        {
            "type": "job.status",
            "status": job.status,
            "steps": job.steps,
            "progress": job.progress,
            "error": job.error,
        },
    )


class LogWriter:
    """Buffers a job's output and writes it as numbered chunks (every 100 ms or 64 KiB).

    Thread-safe: a follower thread and the runner may write to the same job.
    """

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self._lock = threading.Lock()
        self._buffer: list[str] = []
        self._size = 0
        self._last_flush = time.monotonic()
        self._seq = LogChunk.objects.filter(job_id=job_id).aggregate(m=Max("seq"))["m"] or 0

    def write(self, text: str) -> None:
        """Add output; flushes when enough time or bytes have gathered."""
        if not text:
            return
        with self._lock:
            self._buffer.append(text)
            self._size += len(text)
            due = self._size >= FLUSH_BYTES or time.monotonic() - self._last_flush >= FLUSH_SECONDS
        if due:
            self.flush()

    def line(self, text: str) -> None:
        """Write one line (a newline is added)."""
        self.write(text.rstrip("\n") + "\n")

    def flush(self) -> int | None:
        """Persist what is buffered as the next chunk, then broadcast it; returns its seq."""
        with self._lock:
            if not self._buffer:
                self._last_flush = time.monotonic()
                return None
            text = "".join(self._buffer)
            self._buffer, self._size = [], 0
            seq = self._persist(text)
            self._last_flush = time.monotonic()
        broadcast(self.job_id, {"type": "log.chunk", "seq": seq, "text": text})
        return seq

    def _persist(self, text: str) -> int:
        for _ in range(5):
            seq = self._seq + 1
            try:
                with transaction.atomic():
                    LogChunk.objects.create(job_id=self.job_id, seq=seq, text=text)
                    Job.objects.filter(pk=self.job_id).update(log_seq=seq)
            except IntegrityError:
                # Another writer (an earlier attempt) took this number: continue after it.
                self._seq = (
                    LogChunk.objects.filter(job_id=self.job_id).aggregate(m=Max("seq"))["m"] or seq
                )
                continue
            self._seq = seq
            return seq
        raise RuntimeError(f"job {self.job_id}: could not number a log chunk")


def backfill(job_id: int, after_seq: int = 0, limit: int = 500) -> list[dict]:
    """Chunks after `after_seq`, oldest first."""
    rows = LogChunk.objects.filter(job_id=job_id, seq__gt=after_seq).order_by("seq")[:limit]
    return [{"seq": c.seq, "text": c.text} for c in rows]
