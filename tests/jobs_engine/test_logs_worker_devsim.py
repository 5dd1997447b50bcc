"""The `logs` worker (Procfile) stops cleanly while it follows a deployment's output."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import redis
from django.conf import settings

from devsim.client import wait_for
from jobs.catalog.services.recipes import edit_recipe
from jobs.choices import JobStatus
from jobs.follow import ALIVE_KEY
from jobs.models import Deployment, Job, LogChunk
from jobs.services import deployments
from jobs.tasks import run_job
from tests.conftest import TEST_PREFIX
from tests.jobs_engine.containers import drain
from tests.jobs_engine.test_engine_faults import database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.devsim]
ROOT = Path(__file__).resolve().parents[2]


def procfile_logs_argv(name: str) -> list[str]:
    """The Procfile's `logs` command, run with this interpreter and a hostname of its own."""
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("logs:")
    )
    argv = shlex.split(line.partition(":")[2])
    assert argv[0].endswith("/celery"), argv
    argv = [sys.executable, "-m", "celery", *argv[1:]]
    argv = [a for a in argv if not a.startswith("--hostname")]
    assert f"--queues={settings.JOBS_LOG_QUEUE}" in argv, argv
    return [*argv, f"--hostname={name}@test", "--without-mingle", "--without-gossip"]


def start_logs_worker(tmp_path: Path, name: str) -> tuple[subprocess.Popen, Path]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_KEY_PREFIX": f"{TEST_PREFIX}:",
        "NPUFLEET_ENV_FILE": "",
        "LOG_LEVEL": "INFO",
    }
    path = tmp_path / f"{name}.log"
    worker = subprocess.Popen(
        procfile_logs_argv(name),
        cwd=ROOT,
        env=env,
        stdout=path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return worker, path


def kept_lines(deployment: Deployment) -> int:
    texts = LogChunk.objects.filter(job_id=deployment.log_job_id).values_list("text", flat=True)
    return sum(text.count("LOGTEST") for text in texts)


@pytest.fixture
def chatty(booking, recipe, member_user) -> Deployment:
    """A running deployment that prints a line every 100 ms, as a busy server logs requests."""
    drain(settings.JOBS_LOG_QUEUE)  # follow requests left by earlier tests: this one's only
    version = edit_recipe(
        member_user,
        recipe,
        values={
            "env": {
                "USE_PFA_HIGH_PRECISION_MODE": "1",
                "VLLM_SIM_STARTUP_SECONDS": "1",
                "VLLM_SIM_LOG_RATE": "10",
                "VLLM_SIM_LOG_SECONDS": "600",
            }
        },
    )
    deployment = deployments.deploy(actor=member_user, recipe_version=version, booking=booking)
    job = deployment.jobs.get()
    assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    deployment.refresh_from_db()
    # No follower of an earlier run may still claim this deployment (a worker has its own cache
    # prefix): the worker started here must be the one that follows.
    redis.Redis.from_url(settings.REDIS_URL).delete(f":1:{ALIVE_KEY.format(pk=deployment.pk)}")
    return deployment


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for worker in started:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)


def follow_then_signal(
    deployment: Deployment, tmp_path: Path, workers: list, name: str, sig: signal.Signals
) -> tuple[int, str]:
    """Start a logs worker, see it follow the deployment, send `sig`; (exit code, its output)."""
    worker, path = start_logs_worker(tmp_path, name)
    workers.append(worker)
    before = kept_lines(deployment)
    wait_for(lambda: kept_lines(deployment) > before + 5, timeout=60, interval=0.2)
    os.kill(worker.pid, sig)
    code = worker.wait(timeout=30)  # a worker waiting on its followers never gets here
    return code, path.read_text()


def test_sigterm_closes_the_followers_and_the_logs_worker_exits_cleanly(chatty, tmp_path, workers):
    code, output = follow_then_signal(chatty, tmp_path, workers, "logs-term", signal.SIGTERM)
    assert code == 0, output
    assert "Traceback" not in output, output
    assert "Warm shutdown" in output
    assert f"deployment {chatty.pk}: log follower closed" in output
    # the follower saved where it stopped, so the next one resumes there; the server runs on
    chatty.refresh_from_db()
    assert chatty.log_cursor
    assert docker.from_env().containers.get(chatty.container_name).status == "running"


def test_sigquit_does_not_crash_the_logs_worker(chatty, tmp_path, workers):
    code, output = follow_then_signal(chatty, tmp_path, workers, "logs-quit", signal.SIGQUIT)
    assert code >= 0, f"killed by signal {-code}:\n{output}"  # it exited by itself
    assert "Traceback" not in output, output
    assert "Cold shutdown" in output
    assert docker.from_env().containers.get(chatty.container_name).status == "running"
