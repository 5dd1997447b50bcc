"""Fixtures of the websocket and log API tests: jobs and deployments of two teams."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from fleet.booking.models import Membership
from fleet.models import Node
from jobs.catalog.services.recipes import create_recipe
from jobs.choices import JobKind
from jobs.models import Deployment, Job
from jobs.streams import LogWriter


def write_lines(job_id: int, *texts: str) -> list[int]:
    """One persisted (and broadcast) chunk per text; returns their seqs."""
    writer = LogWriter(job_id)
    seqs = []
    for text in texts:
        writer.line(text)  # may flush by itself when the last flush is old enough
        writer.flush()
        seqs.append(Job.objects.values_list("log_seq", flat=True).get(pk=job_id))
    return seqs


@pytest.fixture
def job(member_user, team) -> Job:
    """A running deploy job of the member's team."""
    return Job.objects.create(
        kind=JobKind.DEPLOY, status="running", team=team, requested_by=member_user
    )


@pytest.fixture
def stranger(other_team):
    """A member of the other team."""
    user = get_user_model().objects.create_user("sam-speech", "sam@example.com", "pw")
    Membership.objects.create(team=other_team, user=user)
    return user


@pytest.fixture
def their_job(other_team, stranger) -> Job:
    """A pending job of the other team."""
    return Job.objects.create(kind=JobKind.STOP, team=other_team, requested_by=stranger)


@pytest.fixture
def node(db) -> Node:
    return Node.objects.create(name="node-a", host="192.0.2.10")


def make_deployment(user, team, node: Node, name: str) -> Deployment:
    """A running deployment written directly (these tests read and queue, nothing runs)."""
    recipe = create_recipe(
        user,
        team=team,
        name=name,
        values={
            "model": "qwen2-7b",
            "image": "npufleet/vllm-sim:local",
            "weights_path": "/data/models/qwen2-7b",
        },
    )
    return Deployment.objects.create(
        recipe_version=recipe.current_version,
        node=node,
        team=team,
        cards=[0],
        status="running",
        container_name=f"npufleet-deploy-{name}",
    )


@pytest.fixture
def deployment(member_user, team, node) -> Deployment:
    return make_deployment(member_user, team, node, "ours")


@pytest.fixture
def their_deployment(stranger, other_team, node) -> Deployment:
    return make_deployment(stranger, other_team, node, "theirs")
