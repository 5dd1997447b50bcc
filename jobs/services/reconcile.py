"""Keeping deployment rows true to what actually runs on the nodes."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from fleet.models import Node
from fleet.remote import RemoteError
from jobs import dispatch
from jobs.choices import DEPLOYMENT_LABEL, JOB_LABEL, DeploymentStatus, JobKind, JobStatus
from jobs.docker_api import docker_on
from jobs.follow import is_followed
from jobs.models import Deployment, Job

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

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


def _sync_one(client: DockerClient, deployment: Deployment) -> int:
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


ORPHAN_SCAN_KEY = "npufleet:orphans:clean:{pk}"


def dead_deployments(since: datetime | None = None) -> QuerySet[Deployment]:
    """Deployments whose container must not outlive them: failed, removed, or cancelled deploys.

    A deployment stopped by a cancelled deploy is told apart from one stopped on request (whose
    container stays for a restart) by its latest job: a deploy that was cancelled.
    """
    latest = Job.objects.filter(deployment=OuterRef("pk")).order_by("-created_at", "-pk")
    rows = Deployment.objects.annotate(
        last_kind=Subquery(latest.values("kind")[:1]),
        last_status=Subquery(latest.values("status")[:1]),
    ).filter(
        Q(status__in=(DeploymentStatus.FAILED, DeploymentStatus.REMOVED))
        | Q(
            status=DeploymentStatus.STOPPED,
            last_kind=JobKind.DEPLOY,
            last_status=JobStatus.CANCELLED,
        )
    )
    busy = Job.objects.filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING)).values(
        "deployment_id"
    )
    rows = rows.exclude(pk__in=busy)
    if since is not None:
        rows = rows.filter(updated_at__gte=since)
    return rows


def remove_orphans(hours: int = 48) -> int:
    """Remove containers left on a node by deployments that ended while it was unreachable.

    Runs every reconcile cycle. For each node with a deployment that ended in the last `hours`,
    it lists the node's containers labelled `npufleet.deployment` and removes those whose
    deployment is dead (see `dead_deployments`); a node that cannot be reached is tried again on
    the next cycle. A node found clean is not asked again until another deployment on it ends.
    Returns how many containers were removed.
    """
    since = timezone.now() - timedelta(hours=hours)
    by_node: dict[int, list[Deployment]] = {}
    for deployment in dead_deployments(since).select_related("node"):
        by_node.setdefault(deployment.node_id, []).append(deployment)
    removed = 0
    for deployments in by_node.values():
        node = deployments[0].node
        marker = ",".join(f"{d.pk}@{d.updated_at.isoformat()}" for d in deployments)
        key = ORPHAN_SCAN_KEY.format(pk=node.pk)
        if cache.get(key) == marker:
            continue
        try:
            removed += remove_orphans_on(node, {d.pk for d in deployments})
        except RemoteError as exc:
            log.warning("cannot clean containers on %s yet: %s", node.name, exc)
            continue
        cache.set(key, marker, hours * 3600)
    return removed


def remove_orphans_on(node: Node, deployment_ids: set[int] | None = None) -> int:
    """Remove the node's containers of dead deployments (all, or these); raises RemoteError."""
    removed = 0
    with docker_on(node, timeout=30) as client:
        for container in client.containers.list(all=True, filters={"label": DEPLOYMENT_LABEL}):
            deployment = _dead_owner(node, container, deployment_ids)
            if deployment is None:
                continue
            container.remove(force=True)
            removed += 1
            log.info(
                "removed %s on %s: deployment %s is %s",
                container.name,
                node.name,
                deployment.pk,
                deployment.status,
            )
            Deployment.objects.filter(pk=deployment.pk).update(container_id="")
    return removed


def _dead_owner(
    node: Node, container: Container, deployment_ids: set[int] | None
) -> Deployment | None:
    """The dead deployment of this node that made the container, or None to leave it alone."""
    labels = container.labels or {}
    raw = labels.get(DEPLOYMENT_LABEL, "")
    if not raw.isdigit() or (deployment_ids is not None and int(raw) not in deployment_ids):
        return None
    # Read again right before removing: a retry may have started since the list was made, and
    # its new container carries the new (pending or running) job's label.
    deployment = dead_deployments().filter(pk=int(raw), node=node).first()
    if deployment is None or container.name != deployment.container_name:
        return None
    job = labels.get(JOB_LABEL, "")
    if (
        job.isdigit()
        and Job.objects.filter(
            pk=int(job), status__in=(JobStatus.PENDING, JobStatus.RUNNING)
        ).exists()
    ):
        return None
    # Nodes may share one engine (the simulator does): a container holding another node's
    # devices is not this node's.
    devices = container.attrs.get("HostConfig", {}).get("Devices") or []
    prefix = node.device_dir.rstrip("/") + "/"
    if devices and not any(d.get("PathOnHost", "").startswith(prefix) for d in devices):
        return None
    return deployment


def resume_followers() -> int:
    """Start a log follower for each running deployment that has none (after a restart)."""
    started = 0
    for pk in Deployment.objects.filter(status=DeploymentStatus.RUNNING).values_list(
        "pk", flat=True
    ):
        if not is_followed(pk):
            dispatch.follow_deployment(pk)
            started += 1
    return started
