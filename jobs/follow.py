"""Following a container's output into its job's log, resumable without gaps or repeats.

Docker prefixes every line with its RFC 3339 timestamp (`timestamps=True`); the last one kept
is stored on the deployment, so a follower started after a worker restart asks Docker for the
lines since then and drops any it already has.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import connections

from fleet.remote import RemoteError
from jobs.docker_api import docker_on
from jobs.models import Deployment
from jobs.streams import LogWriter

log = logging.getLogger(__name__)
ALIVE_KEY = "npufleet:follower:{pk}"
ALIVE_SECONDS = 15
FLUSH_TICK = 0.05


def _split_timestamp(line: str) -> tuple[str, str]:
    stamp, _, text = line.partition(" ")
    return stamp, text


def _epoch(stamp: str) -> float | None:
    """Seconds since the epoch of Docker's RFC 3339 nano timestamp."""
    if not stamp:
        return None
    head, _, frac = stamp.rstrip("Z").partition(".")
    try:
        whole = datetime.fromisoformat(head + "+00:00").timestamp()
    except ValueError:
        return None
    return whole + float(f"0.{frac or '0'}")


def is_followed(deployment_id: int) -> bool:
    """Whether some follower reported alive recently."""
    return bool(cache.get(ALIVE_KEY.format(pk=deployment_id)))


class Control:
    """Lets another thread stop a follower, even while it waits for output."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        # The SDK's CancellableStream; stop() reaches into its private response.
        self.stream: Any = None

    def stop(self) -> None:
        self.stopped.set()
        stream = self.stream
        if stream is None:
            return
        try:
            stream.close()
        except Exception:
            # Over SSH the SDK cannot cancel a stream: close the channel under it instead.
            try:
                stream._response.raw._fp.fp.channel.close()
            except Exception:  # already gone: the follower is ending anyway
                log.debug("closing a log stream failed", exc_info=True)


def follow(
    deployment_id: int,
    *,
    on_line: Callable[[str], None] | None = None,
    control: Control | None = None,
) -> int:
    """Copy the container's output into the deployment's log job until the container stops.

    Only one follower per deployment runs at a time; returns the number of lines kept.
    `on_line` sees each new line (readiness checks).
    """
    control = control or Control()
    deployment = Deployment.objects.select_related("node").filter(pk=deployment_id).first()
    if deployment is None:  # a message older than the row it names: nothing to follow
        log.info("deployment %s: gone, nothing to follow", deployment_id)
        return 0
    alive_key = ALIVE_KEY.format(pk=deployment_id)
    if deployment.log_job_id is None or not cache.add(alive_key, 1, ALIVE_SECONDS):
        return 0
    writer = LogWriter(deployment.log_job_id)
    cursor = deployment.log_cursor
    since = _epoch(cursor)
    kept = 0
    last_save = time.monotonic()
    done = threading.Event()

    def keep_alive() -> None:
        # The last lines of a burst must not wait for the next one, and quiet containers print
        # nothing for long stretches: flush on a clock and say "still following" anyway.
        beat = time.monotonic()
        try:
            while not done.wait(FLUSH_TICK):
                writer.flush()
                if time.monotonic() - beat > ALIVE_SECONDS / 3:
                    cache.set(alive_key, 1, ALIVE_SECONDS)
                    beat = time.monotonic()
        finally:
            connections.close_all()

    threading.Thread(target=keep_alive, daemon=True).start()
    try:
        with docker_on(deployment.node, timeout=24 * 3600) as client:
            container = client.containers.get(deployment.container_name)
            # `since` is inclusive at second precision upstream: lines up to the cursor repeat
            # and are dropped below by comparing full timestamps.
            stream = container.logs(
                stream=True, follow=True, timestamps=True, since=int(since) if since else None
            )
            control.stream = stream
            if control.stopped.is_set():
                return kept
            pending = b""
            for chunk in stream:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    stamp, text = _split_timestamp(raw.decode("utf-8", "replace"))
                    if cursor and stamp <= cursor:
                        continue
                    cursor = stamp
                    writer.line(text)
                    kept += 1
                    if on_line is not None:
                        on_line(text)
                if time.monotonic() - last_save > 0.5:
                    writer.flush()
                    Deployment.objects.filter(pk=deployment_id).update(log_cursor=cursor)
                    last_save = time.monotonic()
                if control.stopped.is_set():
                    break
    except Exception as exc:
        if control.stopped.is_set():  # closed on purpose: whatever the closed stream raised
            pass
        elif isinstance(exc, RemoteError):
            log.warning("deployment %s: log follow stopped: %s", deployment_id, exc)
        else:
            raise
    finally:
        done.set()
        writer.flush()
        Deployment.objects.filter(pk=deployment_id).update(log_cursor=cursor)
        cache.delete(alive_key)
        if control.stopped.is_set():
            log.info("deployment %s: log follower closed (%d lines kept)", deployment_id, kept)
    return kept


_running: set[Control] = set()
_running_lock = threading.Lock()
_closing = threading.Event()


def follow_task(deployment_id: int) -> int:
    """`follow` as the `logs` worker runs it: closed with every other one by `close_all`."""
    control = Control()
    with _running_lock:
        if _closing.is_set():  # the worker is stopping: the reconciler restarts it elsewhere
            return 0
        _running.add(control)
    try:
        return follow(deployment_id, control=control)
    finally:
        with _running_lock:
            _running.discard(control)


def close_all(wait: float = 0.0) -> int:
    """Close every follower this process runs, and start no new one (the worker is stopping).

    Each ends as soon as its stream closes, saving its cursor, so the worker's shutdown does not
    wait on containers that may print for days; `resume_followers` picks them up again from
    that cursor on a worker that runs. With `wait`, returns once they ended (or that many
    seconds passed). Returns how many were closed.
    """
    with _running_lock:
        _closing.set()
        controls = list(_running)
    for control in controls:
        control.stop()
    deadline = time.monotonic() + wait
    while wait and time.monotonic() < deadline:
        with _running_lock:
            if not _running:
                break
        time.sleep(0.02)
    return len(controls)


def follow_in_thread(
    deployment_id: int, on_line: Callable[[str], None] | None = None
) -> tuple[threading.Thread, Control]:
    """Start `follow` on a daemon thread; `control.stop()` ends it early."""
    control = Control()

    def target() -> None:
        try:
            follow(deployment_id, on_line=on_line, control=control)
        except Exception:
            log.exception("deployment %s: log follower crashed", deployment_id)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, name=f"follow-{deployment_id}", daemon=True)
    thread.start()
    return thread, control
