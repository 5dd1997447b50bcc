"""Deployment operations under real concurrency: two stops at once queue one job."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from fleet.errors import Conflict
from fleet.models import Node
from jobs.catalog.services.catalog_edits import ensure_seed_catalog
from jobs.catalog.services.recipes import create_recipe
from jobs.choices import DeploymentStatus, JobKind
from jobs.models import Deployment, Job
from jobs.services import deployments
from jobs.services import jobs as job_services

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: row locks (select_for_update) do not exist on SQLite",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def no_workers(monkeypatch):
    monkeypatch.setattr(job_services, "enqueue", lambda job: None)


@pytest.fixture
def running(admin_user, team) -> Deployment:
    ensure_seed_catalog()  # the transactional flush of an earlier test removes the seed rows
    node = Node.objects.create(name="node-a", host="192.0.2.10")
    recipe = create_recipe(
        admin_user,
        team=team,
        name="race",
        values={"model": "qwen2-7b", "image": "npufleet/vllm-sim:local", "weights_path": "/w"},
    )
    return Deployment.objects.create(
        recipe_version=recipe.current_version,
        node=node,
        team=team,
        cards=[0],
        status=DeploymentStatus.RUNNING,
        container_name="npufleet-deploy-race",
    )


def at_once(count: int, call) -> list:
    """Run `call()` from `count` threads (each with its own connection) released together."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except Exception as exc:  # reported by the assertions
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("operation", ["stop", "remove"])
def test_concurrent_operations_on_one_deployment_queue_one_job(member_user, running, operation):
    call = getattr(deployments, operation)
    results = at_once(8, lambda: call(Deployment.objects.get(pk=running.pk), actor=member_user))
    jobs = [r for r in results if isinstance(r, Job)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(jobs) == 1, results
    assert len(refused) == 7, results
    assert all("has a job in progress" in r.message for r in refused)
    assert Job.objects.filter(deployment=running, kind=JobKind(operation)).count() == 1
