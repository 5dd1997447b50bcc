"""Keeping deployment rows true to what actually runs on the nodes."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from fleet.remote import RemoteError
from jobs.choices import DeploymentStatus, JobStatus
from jobs.docker_api import docker_on
from jobs.follow import is_followed
from jobs.models import Deployment, Job

log = logging.getLogger(__name__)


def sync_deployments() -> int:
    """Mark running deployments whose container exited or vanished; returns how many changed."""
    changed = 0
    busy = Job.objects.filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING)).values(
        "deployment_id"
    )
    live = (
        Deployment.objects.filter(status=DeploymentStatus.RUNNING)
        .exclude(pk__in=busy)
        .select_related("node")
    )
    by_node: dict[int, list[Deployment]] = {}
    for deployment in live:
        by_node.setdefault(deployment.node_id, []).append(deployment)
    for deployments in by_node.values():
        node = deployments[0].node
        try:
            with docker_on(node, timeout=30) as client:
                for deployment in deployments:
                    changed += _sync_one(client, deployment)
        except RemoteError as exc:
            log.warning("cannot reconcile deployments on %s: %s", node.name, exc)
    return changed


def _sync_one(client, deployment: Deployment) -> int:
    from docker.errors import NotFound

    try:
        container = client.containers.get(deployment.container_name)
    except NotFound:
        Deployment.objects.filter(pk=deployment.pk).update(
            status=DeploymentStatus.FAILED,
            error="the container disappeared from the node",
            updated_at=timezone.now(),
        )
        return 1
    state = container.attrs["State"]
    if state.get("Running"):
        return 0
    tail = container.logs(tail=20).decode("utf-8", "replace").strip()
    Deployment.objects.filter(pk=deployment.pk).update(
        status=DeploymentStatus.EXITED,
        exit_code=state.get("ExitCode"),
        last_log_lines=tail,
        error=f"the container exited with code {state.get('ExitCode')}",
        updated_at=timezone.now(),
    )
    return 1


def remove_orphans(hours: int = 48) -> int:
    """Remove containers left by deployments that failed while their node was unreachable."""
    since = timezone.now() - timezone.timedelta(hours=hours)
    busy = Job.objects.filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING)).values(
        "deployment_id"
    )
    failed = (
        Deployment.objects.filter(status=DeploymentStatus.FAILED, updated_at__gte=since)
        .exclude(pk__in=busy)
        .exclude(container_id="")
        .select_related("node")
    )
    removed = 0
    for deployment in failed:
        try:
            with docker_on(deployment.node, timeout=30) as client:
                for container in client.containers.list(
                    all=True, filters={"name": deployment.container_name}
                ):
                    if container.name == deployment.container_name:
                        container.remove(force=True)
                        removed += 1
                        log.info("removed %s left by a failed deployment", container.name)
            # Checked: nothing of it is left on the node.
            Deployment.objects.filter(pk=deployment.pk).update(container_id="")
        except RemoteError as exc:
            log.warning(
                "cannot clean %s on %s yet: %s",
                deployment.container_name,
                deployment.node.name,
                exc,
            )
    return removed


def resume_followers() -> int:
    """Start a log follower for each running deployment that has none (after a restart)."""
    from jobs.tasks import follow_deployment

    started = 0
    for pk in Deployment.objects.filter(status=DeploymentStatus.RUNNING).values_list(
        "pk", flat=True
    ):
        if not is_followed(pk):
            follow_deployment.apply_async((pk,), queue=settings.JOBS_LOG_QUEUE)
            started += 1
    return started
