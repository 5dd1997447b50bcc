"""What every runner shares: steps with progress, a live log, heartbeats and cancellation."""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import paramiko
from django.conf import settings
from django.db import connections
from django.utils import timezone

from fleet.errors import DomainError
from fleet.remote import RemoteError
from jobs.choices import JobStatus
from jobs.models import Job
from jobs.services import jobs as job_services
from jobs.streams import LogWriter


class Cancelled(Exception):
    """The job was cancelled; the runner stopped its remote work."""


class StepFailed(Exception):
    """A step failed for a reason already written to the log."""


class Runner:
    """Base runner: subclasses implement `run()` using `step()`, `log` and `check_cancel()`."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.log = LogWriter(job.pk)
        self.cancelled = threading.Event()
        self._stop_beat = threading.Event()

    # Life cycle.
    def execute(self) -> Job:
        """Run the job to its end, whatever happens, and record how it ended."""
        beat = threading.Thread(target=self._beat, name=f"job-{self.job.pk}-heartbeat", daemon=True)
        beat.start()
        status, error = JobStatus.SUCCEEDED, ""
        try:
            self.log.line(
                f"==> {self.job.get_kind_display()} (job {self.job.pk}) on "
                f"{self.job.node_name or 'no node'}"
            )
            self.run()
        except Cancelled:
            status, error = JobStatus.CANCELLED, "cancelled on request; remote work stopped"
            self._safely(self.on_cancel)
        except RemoteError as exc:
            status, error = JobStatus.FAILED, f"{self.job.node_name}: {exc}"
            self._safely(self.on_failure)
        except (EOFError, OSError, paramiko.SSHException) as exc:
            # A transport that died under a call no seam wrapped: the node side failed.
            error = (
                f"{self.job.node_name}: unreachable: connection lost ({type(exc).__name__}: {exc})"
            )
            status = JobStatus.FAILED
            self._safely(self.on_failure)
        except StepFailed as exc:
            status, error = JobStatus.FAILED, str(exc)
            self._safely(self.on_failure)
        except DomainError as exc:  # a refusal (e.g. the container policy): the reason is shown
            status, error = JobStatus.FAILED, exc.message
            self.log.line(exc.message)
            self._safely(self.on_failure)
        except Exception as exc:  # a bug: fail the job with the traceback in its log
            status, error = JobStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}"
            self.log.write(traceback.format_exc())
            self._safely(self.on_failure)
        finally:
            self._stop_beat.set()
            beat.join(timeout=5)
        job_services.close_steps(self.job.steps, status, error)
        self.log.line(f"==> {status}" + (f": {error}" if error else ""))
        self.log.flush()
        return job_services.finish(self.job, status, error=error, result=self.job.result)

    def run(self) -> None:
        raise NotImplementedError

    def on_failure(self) -> None:
        """Undo or tidy what a failed run left on the node."""

    def on_cancel(self) -> None:
        """Stop the remote work after a cancel."""
        self.on_failure()

    def _safely(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:
            self.log.line(f"(cleanup failed: {exc})")

    def _beat(self) -> None:
        try:
            while not self._stop_beat.wait(settings.JOBS_HEARTBEAT_SECONDS):
                if job_services.heartbeat(self.job.pk):
                    self.cancelled.set()
                self.log.flush()
        finally:
            connections.close_all()

    def check_cancel(self) -> None:
        """Raise Cancelled if someone asked to cancel."""
        if self.cancelled.is_set() or job_services.heartbeat(self.job.pk):
            self.cancelled.set()
            raise Cancelled

    # Steps.
    def _set_step(self, name: str, **values: Any) -> None:
        for step in self.job.steps:
            if step["name"] == name:
                step.update(values)
        job_services.save_steps(self.job)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Mark a step running, then done or failed, and log it."""
        self.check_cancel()
        label = next((s["label"] for s in self.job.steps if s["name"] == name), name)
        self.log.line(f"==> {label}")
        self._set_step(name, status="running", started_at=timezone.now().isoformat())
        try:
            yield
        except BaseException as exc:
            cancelled = isinstance(exc, Cancelled)
            self._set_step(
                name,
                status="cancelled" if cancelled else "failed",
                finished_at=timezone.now().isoformat(),
                detail="cancelled on request" if cancelled else str(exc)[:300],
            )
            raise
        self._set_step(name, status="done", finished_at=timezone.now().isoformat())
