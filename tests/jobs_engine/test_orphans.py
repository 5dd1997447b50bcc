"""Which deployments' containers the reconciler removes (the node side is in test_engine_faults)."""

from __future__ import annotations

import pytest

from fleet.models import Node
from jobs.catalog.services.recipes import create_recipe
from jobs.choices import DeploymentStatus, JobKind, JobStatus
from jobs.models import Deployment, Job
from jobs.services.reconcile import dead_deployments

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(catalog, member_user, team):
    recipe = create_recipe(
        member_user,
        team=team,
        name="orphan-check",
        values={
            "model": "qwen2-7b",
            "image": "npufleet/vllm-sim:local",
            "tensor_parallel_size": 1,
            "max_model_len": 4096,
            "max_num_batched_tokens": 4096,
            "weights_path": "/data/models/qwen2-7b",
        },
    )
    return recipe.current_version


@pytest.fixture
def make(version, team, member_user):
    node = Node.objects.create(name="orphan-node", host="127.0.0.1")

    def make(status: str, *jobs: tuple[str, str]) -> Deployment:
        deployment = Deployment.objects.create(
            recipe_version=version, node=node, team=team, status=status, cards=[0]
        )
        for kind, job_status in jobs:
            Job.objects.create(
                kind=kind, status=job_status, deployment=deployment, team=team, node=node
            )
        return deployment

    return make


def test_failed_removed_and_cancelled_deploys_are_dead_stopped_and_exited_ones_are_not(make):
    failed = make(DeploymentStatus.FAILED, (JobKind.DEPLOY, JobStatus.FAILED))
    removed = make(
        DeploymentStatus.REMOVED,
        (JobKind.DEPLOY, JobStatus.SUCCEEDED),
        (JobKind.REMOVE, JobStatus.SUCCEEDED),
    )
    cancelled = make(DeploymentStatus.STOPPED, (JobKind.DEPLOY, JobStatus.CANCELLED))
    stopped = make(
        DeploymentStatus.STOPPED,
        (JobKind.DEPLOY, JobStatus.SUCCEEDED),
        (JobKind.STOP, JobStatus.SUCCEEDED),
    )
    exited = make(DeploymentStatus.EXITED, (JobKind.DEPLOY, JobStatus.SUCCEEDED))
    running = make(DeploymentStatus.RUNNING, (JobKind.DEPLOY, JobStatus.SUCCEEDED))
    dead = set(dead_deployments().values_list("pk", flat=True))
    assert dead == {failed.pk, removed.pk, cancelled.pk}
    assert not dead & {stopped.pk, exited.pk, running.pk}


def test_a_failed_deployment_being_retried_is_left_alone(make):
    retried = make(
        DeploymentStatus.FAILED,
        (JobKind.DEPLOY, JobStatus.FAILED),
        (JobKind.DEPLOY, JobStatus.PENDING),
    )
    assert retried.pk not in set(dead_deployments().values_list("pk", flat=True))
