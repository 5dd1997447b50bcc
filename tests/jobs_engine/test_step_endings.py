"""However a job ends, none of its steps is left pending or running."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.choices import JobKind, JobStatus
from jobs.models import Job
from jobs.runners.base import Runner, StepFailed
from jobs.services import jobs as job_services
from jobs.services import recovery
from jobs.tasks import run_job

pytestmark = pytest.mark.django_db

STEPS = [("one", "First"), ("two", "Second"), ("three", "Third")]


def statuses(job: Job) -> list[str]:
    return [s["status"] for s in Job.objects.get(pk=job.pk).steps]


def claimed(member_user, team, kind: str = JobKind.BUILD, **fields) -> Job:
    job = job_services.create_job(kind=kind, actor=member_user, steps=STEPS, team=team, **fields)
    taken = job_services.claim(job.pk)
    assert taken is not None
    return taken


class FailsInStepTwo(Runner):
    def run(self) -> None:
        with self.step("one"):
            pass
        with self.step("two"):
            raise StepFailed("broken on purpose")
        with self.step("three"):
            pass


class CrashesInStepTwo(Runner):
    def run(self) -> None:
        with self.step("one"):
            pass
        with self.step("two"):
            raise KeyError("a bug")


class CancelledInStepTwo(Runner):
    def run(self) -> None:
        with self.step("one"):
            pass
        with self.step("two"):
            Job.objects.filter(pk=self.job.pk).update(cancel_requested=True)
            self.check_cancel()
        with self.step("three"):
            pass


def test_a_failed_step_fails_and_the_steps_never_reached_are_cancelled(member_user, team):
    job = FailsInStepTwo(claimed(member_user, team)).execute()
    assert job.status == JobStatus.FAILED
    assert statuses(job) == ["done", "failed", "cancelled"]
    assert Job.objects.get(pk=job.pk).steps[1]["detail"] == "broken on purpose"


def test_an_internal_error_fails_the_running_step_too(member_user, team):
    job = CrashesInStepTwo(claimed(member_user, team)).execute()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("internal error: KeyError")
    assert statuses(job) == ["done", "failed", "cancelled"]


def test_a_cancelled_job_cancels_its_running_and_pending_steps(member_user, team):
    job = CancelledInStepTwo(claimed(member_user, team)).execute()
    assert job.status == JobStatus.CANCELLED
    assert statuses(job) == ["done", "cancelled", "cancelled"]


def test_a_pending_job_cancelled_before_it_ran_has_every_step_cancelled(member_user, team):
    job = job_services.create_job(kind=JobKind.BUILD, actor=member_user, steps=STEPS, team=team)
    job_services.cancel_job(job, actor=member_user)
    assert statuses(job) == ["cancelled"] * 3


@pytest.mark.django_db(transaction=True)  # run_job closes the thread's connections
def test_a_job_whose_runner_cannot_start_fails_with_its_steps_closed(member_user, team):
    # A deploy job without its deployment: the runner cannot even be built.
    job = job_services.create_job(kind=JobKind.DEPLOY, actor=member_user, steps=STEPS, team=team)
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.error.startswith("internal error: the job could not start")
    assert statuses(job) == ["cancelled"] * 3


def test_a_job_whose_worker_died_fails_its_running_step_and_cancels_the_rest(
    member_user, team, settings
):
    job = claimed(member_user, team)
    steps = [dict(s) for s in job.steps]
    steps[0]["status"] = "done"
    steps[1]["status"] = "running"
    stale = timezone.now() - timedelta(seconds=settings.JOBS_HEARTBEAT_STALE_SECONDS + 5)
    Job.objects.filter(pk=job.pk).update(steps=steps, heartbeat_at=stale)
    assert recovery.reconcile_stale() == [job.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "stopped responding" in job.error
    assert statuses(job) == ["done", "failed", "cancelled"]
    assert job.steps[1]["detail"] == "the worker stopped responding"
    # the worker, if it ever comes back, cannot finish the job a second time
    assert job_services.finish(job, JobStatus.SUCCEEDED).status == JobStatus.FAILED
