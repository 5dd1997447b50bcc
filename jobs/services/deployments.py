"""Deploying a recipe version on booked cards, and stopping, restarting and removing it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from fleet.booking import permissions
from fleet.booking.choices import UNHEALTHY, AuditAction, AuditObject, BookingStatus
from fleet.booking.models import Booking, Team
from fleet.booking.permissions import Action
from fleet.booking.services import audit
from fleet.errors import Conflict, Invalid
from fleet.models import Node
from fleet.reachability import node_problem
from jobs import dispatch
from jobs.catalog.choices import CONTAINER_PREFIX, RecipeKind
from jobs.catalog.models import RecipeVersion
from jobs.catalog.services.placement import placement_for as target_for
from jobs.catalog.services.recipes import RecipeInvalid, review, split_messages
from jobs.catalog.services.rendering import render_version
from jobs.choices import DeploymentStatus, JobKind, JobStatus
from jobs.models import Deployment, Job
from jobs.services import policy, ports
from jobs.services.jobs import create_job

log = logging.getLogger(__name__)

DEPLOY_STEPS = [
    ("checks", "Check booking, cards and recipe"),
    ("create", "Create the container"),
    ("start", "Start the container"),
    ("ready", "Wait for the server to answer"),
    ("smoke", "Smoke test with return_latency"),
]
STOP_STEPS = [("stop", "Stop the container")]
RESTART_STEPS = [("restart", "Restart the container"), ("ready", "Wait for the server to answer")]
REMOVE_STEPS = [("remove", "Remove the container")]


def container_name(deployment: Deployment) -> str:
    """Deterministic, so a retry finds what an earlier attempt made."""
    return f"{CONTAINER_PREFIX}-deploy-{deployment.pk}"


def _require_member(actor: Any, obj: Booking | Deployment, verb: str = "") -> None:
    """Site admins and members of the team now (read at use, so a removed member is refused)."""
    if verb and isinstance(obj, Deployment):

        def message() -> str:
            return (
                f"deployment {obj.pk} belongs to team {obj.team.name}; only its members and "
                f"site admins may {verb} it"
            )

        permissions.require(actor, Action.ACT, obj, message, field="deployment")
    else:
        refusal = "you are not a member of the team that holds these cards"
        permissions.require(actor, Action.ACT, obj, refusal, field="booking")


def check_booking(booking: Booking, cards: Sequence[int]) -> None:
    """Refuse unless the booking holds these cards right now (409 naming the field)."""
    now = timezone.now()
    if booking.status in (BookingStatus.CANCELLED, BookingStatus.ENDED) or not (
        booking.start <= now < booking.end
    ):
        window = f"{booking.start:%Y-%m-%d %H:%M} to {booking.end:%Y-%m-%d %H:%M} UTC"
        raise Conflict(
            f"booking {booking.pk} does not hold its cards now (status {booking.status}, "
            f"window {window}); deploy inside an active booking",
            field="booking",
        )
    held = set(booking.devices)
    outside = [c for c in cards if c not in held]
    if outside:
        raise Conflict(
            f"cards {outside} are not in booking {booking.pk} (it holds {sorted(held)}); "
            "book them first or pick from the booking's cards",
            field="cards",
        )


def _check_free(node: Node, cards: Sequence[int], actor: Any, exclude: int | None = None) -> None:
    """Refuse cards another deployment or container holds (409); another team's holders are
    named only to those who may see that team's work."""
    busy = Deployment.objects.live().filter(node=node).exclude(pk=exclude)
    for other in busy:
        shared = sorted(set(other.cards) & set(cards))
        if shared:
            if permissions.may(actor, Action.READ, other):
                holder = f"deployment {other.pk} ({other.container_name}, {other.status})"
            else:
                holder = "another team's deployment"
            raise Conflict(
                f"cards {shared} on {node.name} are held by {holder}; stop it first",
                field="cards",
            )
    own = {f"{CONTAINER_PREFIX}-deploy-{exclude}"} if exclude else set()
    for card in permissions.redact_cards(actor, node.cards.filter(device__in=cards)):
        holders = [
            _holder(c, c.get("name"))
            for c in card.shown_containers
            if c.get("busy") or c.get("name")
        ]
        holders += [
            _holder(p, p.get("container") or f"pid {p.get('pid')}") for p in card.shown_processes
        ]
        strangers = list(dict.fromkeys(h for h in holders if h not in own))
        if strangers:
            raise Conflict(
                f"davinci{card.device} on {node.name} is held by {', '.join(strangers)} "
                "(seen by the last probe); two containers on one NPU break the second one",
                field="cards",
            )


def check_free(node: Node, cards: Sequence[int], actor: Any) -> None:
    """Refuse (409) cards another deployment or container holds, named as `actor` may see
    them: what deploy checks, for the deploy form's preview."""
    _check_free(node, cards, actor)


def _holder(entry: dict, name: str | None) -> str:
    """A card holder as the caller may see it: its name, or only what kind of holder it is."""
    if not entry.get("busy"):
        return str(name)
    if entry.get("managed"):
        return "another team's deployment"
    return "a process outside the dashboard"


def _check_usable(node: Node, cards: Sequence[int]) -> None:
    """Refuse a node that does not answer or fails a node-wide preflight check, and chosen
    cards that are unhealthy or missing (409 naming the node or the card and the check)."""
    problem = node_problem(node)
    if problem:
        raise Conflict(f"{problem}; deploy once the node page shows it fixed", field="node")
    for card in node.cards.filter(device__in=cards):
        if not card.present:
            why = "was missing from the last probe (preflight check 'cards')"
        elif card.health in UNHEALTHY:
            why = f"reports health {card.health} (preflight check 'health')"
        else:
            continue
        raise Conflict(
            f"davinci{card.device} on {node.name} {why}; pick other cards of the booking or "
            "have the card repaired",
            field="cards",
        )


def _host_port(node: Node, port: int) -> int | None:
    """None: the runner picks the host port right before `docker create`, from what is free on
    the node then (`jobs.services.ports`). Under host networking the recipe's own port is the
    host port: refused here already when another deployment on the node holds it."""
    if node.network_mode == "host":
        ports.check_unclaimed(node, port)
    return None


def check_policy(
    recipe_version: RecipeVersion, node: Node, team: Team | None, cards: Sequence[int]
) -> None:
    """The container policy on the rendered docker run, before anything is recorded.

    The runner checks again on the node (host paths resolved there) right before Docker.
    """
    rendered = render_version(
        recipe_version,
        target_for(node, tuple(cards)),
        kind="deploy",
        pk="check",
        network=node.network_mode,
        host_port=recipe_version.port,
    )
    policy.check_run(
        rendered.docker_run.argv,
        node=node,
        team=team,
        cards=cards,
        recipe=recipe_version.recipe,
        on_node=False,
        field="recipe_version",
    )


def deploy(
    *,
    actor: Any,
    recipe_version: RecipeVersion,
    booking: Booking,
    cards: Sequence[int] | None = None,
) -> Deployment:
    """Check everything, then record the deployment and queue its job (nothing runs on error)."""
    recipe = recipe_version.recipe
    if recipe.kind != RecipeKind.INFERENCE:
        raise Invalid("only inference recipes are deployed as servers", field="recipe_version")
    _require_member(actor, booking)
    node = booking.node
    tp = recipe_version.tensor_parallel_size
    chosen = list(cards) if cards else booking.devices[:tp]
    if len(chosen) != tp:
        raise Invalid(
            f"the recipe runs on tensor-parallel-size {tp} cards but {len(chosen)} were given "
            f"(booking {booking.pk} holds {booking.devices})",
            field="cards",
        )
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        _check_usable(Node.objects.select_for_update().get(pk=node.pk), chosen)
        check_booking(locked, chosen)
        _check_free(node, chosen, actor)
        messages = review(recipe.kind, recipe_version.content(), target_for(node, tuple(chosen)))
        if any(m.level == "error" for m in messages):
            raise RecipeInvalid(
                "the recipe does not validate for this node and these cards",
                field="recipe_version",
                messages=split_messages(messages),
            )
        check_policy(recipe_version, node, locked.team, chosen)
        deployment = Deployment.objects.create(
            recipe_version=recipe_version,
            node=node,
            booking=locked,
            team=locked.team,
            created_by=actor,
            cards=chosen,
            network=node.network_mode,
            host_port=_host_port(node, recipe_version.port),
        )
        deployment.container_name = container_name(deployment)
        deployment.save(update_fields=["container_name"])
        create_job(
            kind=JobKind.DEPLOY,
            actor=actor,
            steps=DEPLOY_STEPS,
            node=node,
            team=locked.team,
            booking=locked,
            recipe_version=recipe_version,
            deployment=deployment,
            params={"cards": chosen},
        )
        record(AuditAction.DEPLOY, actor, deployment, {"status": (None, DeploymentStatus.PENDING)})
    return deployment


def label_of(deployment: Deployment) -> str:
    """'llama2-13b-tp2 v3 on node-a cards [0, 1]'."""
    version = deployment.recipe_version
    return (
        f"{version.recipe.name} v{version.number} on {deployment.node.name} "
        f"cards {list(deployment.cards)}"
    )


def record(
    action: AuditAction, actor: Any, deployment: Deployment, changes: dict, why: str = ""
) -> None:
    """One audit entry about a deployment, with its team and booking (team admins see it)."""
    label = label_of(deployment)
    summary = f"Deployment {deployment.pk} ({label}): {AuditAction(action).label.lower()}"
    audit.record(
        action,
        actor,
        summary,
        team=deployment.team,
        booking=deployment.booking,
        node=deployment.node,
        reason=why,
        changes=changes,
        about=(AuditObject.DEPLOYMENT, deployment.pk, label),
    )


def _lock(deployment: Deployment, *, node: bool = False) -> Deployment:
    """Lock the deployment's row (and first its node's, to check cards against deploys)."""
    if node:
        Node.objects.select_for_update().get(pk=deployment.node_id)
    locked = Deployment.objects.select_for_update(of=("self",)).select_related(
        "node", "team", "booking", "recipe_version"
    )
    return locked.get(pk=deployment.pk)


def _refuse_if_busy(deployment: Deployment) -> None:
    if Job.objects.filter(
        deployment=deployment, status__in=(JobStatus.PENDING, JobStatus.RUNNING)
    ).exists():
        raise Conflict(
            f"deployment {deployment.pk} has a job in progress; wait for it or cancel it",
            field="deployment",
        )
    if deployment.status == DeploymentStatus.REMOVED:
        raise Conflict(f"deployment {deployment.pk} was removed", field="deployment")


def _check_cards(deployment: Deployment, actor: Any) -> None:
    """The cards must still be booked and free of other containers."""
    if deployment.booking is not None:
        check_booking(deployment.booking, deployment.cards)
    _check_free(deployment.node, deployment.cards, actor, exclude=deployment.pk)


def _operate(
    deployment: Deployment,
    actor: Any,
    kind: str,
    steps: list[tuple[str, str]],
    verb: str,
    *,
    cards: bool = False,
) -> Job:
    """Permission first, then one transaction on the locked row: checks, then the job.

    The row lock makes two concurrent requests queue one job: the second sees the first's job
    in progress once the first commits.
    """
    _require_member(actor, deployment, verb)
    with transaction.atomic():
        locked = _lock(deployment, node=cards)
        _refuse_if_busy(locked)
        if cards:
            _check_cards(locked, actor)
        actions: dict[str, AuditAction] = {
            JobKind.STOP: AuditAction.STOP,
            JobKind.RESTART: AuditAction.RESTART,
        }
        record(
            actions.get(kind, AuditAction.REMOVE), actor, locked, {"status": (locked.status, kind)}
        )
        return create_job(
            kind=kind,
            actor=actor,
            steps=steps,
            node=locked.node,
            team=locked.team,
            booking=locked.booking,
            recipe_version=locked.recipe_version,
            deployment=locked,
        )


def stop(deployment: Deployment, *, actor: Any) -> Job:
    """Queue a stop of the deployment's container."""
    return _operate(deployment, actor, JobKind.STOP, STOP_STEPS, "stop")


def restart(deployment: Deployment, *, actor: Any) -> Job:
    """Queue a restart; the cards must still be booked and free of other containers."""
    if deployment.status == DeploymentStatus.FAILED:
        _require_member(actor, deployment, "restart")
        raise Conflict(_failed_fix(deployment), field="deployment")
    return _operate(deployment, actor, JobKind.RESTART, RESTART_STEPS, "restart", cards=True)


def remove(deployment: Deployment, *, actor: Any) -> Job:
    """Queue removal of the container; the record stays, marked removed."""
    return _operate(deployment, actor, JobKind.REMOVE, REMOVE_STEPS, "remove")


def retry(job: Job, *, actor: Any) -> Job:
    """Deploy the same deployment again (the runner replaces what the failed attempt left).

    Permission is checked before anything is written; the deployment row is locked and reset
    in the same transaction that queues the job.
    """
    assert job.deployment is not None  # only a deployment's jobs come here
    _require_member(actor, job.deployment, "retry")
    with transaction.atomic():
        deployment = _lock(job.deployment, node=job.kind == JobKind.DEPLOY)
        _refuse_if_busy(deployment)
        if job.kind == JobKind.DEPLOY:
            if deployment.booking is None:
                raise Conflict("the deployment's booking is gone; deploy anew", field="booking")
            _check_cards(deployment, actor)
            Deployment.objects.filter(pk=deployment.pk).update(
                status=DeploymentStatus.PENDING, error="", exit_code=None
            )
        steps = [(s["name"], s["label"]) for s in job.steps]
        changes = {"status": (deployment.status, "retry"), "retry_of_job": (None, job.pk)}
        record(AuditAction.RETRY, actor, deployment, changes)
        return create_job(
            kind=job.kind,
            actor=actor,
            steps=steps,
            node=deployment.node,
            team=deployment.team,
            booking=deployment.booking,
            recipe_version=deployment.recipe_version,
            deployment=deployment,
            params=job.params,
            retry_of=job,
        )


def _last_deploy(deployment: Deployment) -> Job | None:
    return deployment.jobs.filter(kind=JobKind.DEPLOY).order_by("-created_at", "-pk").first()


def _failed_fix(deployment: Deployment) -> str:
    """Why a failed deployment cannot be restarted, and what to do instead."""
    last = _last_deploy(deployment)
    how = (
        f"POST /api/v1/jobs/{last.pk}/retry/ or 'Deploy again' on the deployments page"
        if last
        else "deploy the recipe anew"
    )
    reason = f" ({deployment.error.splitlines()[0][:200]})" if deployment.error else ""
    return (
        f"deployment {deployment.pk} failed{reason}; its container was removed, so there is "
        f"nothing to restart: deploy it again ({how})"
    )


def redeploy(deployment: Deployment, *, actor: Any) -> Job:
    """Deploy a failed deployment again: its last deploy, retried (the host port picked anew)."""
    last = _last_deploy(deployment)
    if last is None:
        _require_member(actor, deployment, "deploy again")
        raise Conflict(
            f"deployment {deployment.pk} has no deploy to repeat; deploy the recipe anew",
            field="deployment",
        )
    return retry(last, actor=actor)


def after_job_lost(job: Job) -> None:
    """A deploy whose worker died: remove its container and free its cards."""
    if job.kind != JobKind.DEPLOY or job.deployment_id is None:
        return
    Deployment.objects.filter(pk=job.deployment_id).update(
        status=DeploymentStatus.FAILED, error=job.error
    )
    dispatch.cleanup_deployment(job.deployment_id)
