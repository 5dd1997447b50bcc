"""After the lifecycle tests ran, bookings still ask the job engine (its hooks stay registered).

This module sorts after test_lifecycle.py on purpose: it fails when that module (or any test
before it) left booking's hooks unregistered or swapped.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from fleet.booking import hooks
from fleet.booking.services.bookings import book_cards
from fleet.booking.services.lifecycle import run_lifecycle
from jobs.catalog.services.recipes import create_recipe
from jobs.choices import DeploymentStatus
from jobs.models import Deployment
from jobs.services import booking_hooks


def test_the_job_engines_hooks_are_registered():
    assert hooks.registered() == (booking_hooks.has_deployment, booking_hooks.stop_containers)


def test_a_starting_deployment_keeps_its_booking_from_the_no_show_release(member_user, team, node):
    # No card shows a process yet (the image is still being pulled): only the job engine's
    # answer knows a deployment is on its way.
    start = timezone.now().replace(second=0, microsecond=0)
    booking = book_cards(
        member_user,
        team=team,
        node=node,
        start=start,
        end=start + timedelta(hours=2),
        purpose="serving",
        devices=[0, 1],
        now=start,
    )
    recipe = create_recipe(
        member_user,
        team=team,
        name="qwen2-7b-hooks",
        values={
            "model": "qwen2-7b",
            "image": "npufleet/vllm-sim:local",
            "weights_path": "/data/models/qwen2-7b",
        },
    )
    Deployment.objects.create(
        recipe_version=recipe.current_version,
        node=node,
        booking=booking,
        team=team,
        cards=[0, 1],
        status=DeploymentStatus.STARTING,
        container_name="npufleet-deploy-hooks",
    )
    assert run_lifecycle(start + timedelta(minutes=31)).released == []
    booking.refresh_from_db()
    assert booking.deployment_seen_at is not None
