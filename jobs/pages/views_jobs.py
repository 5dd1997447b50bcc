"""Job and deployment pages: lists, a job with its live log, the deploy form with its preview."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from fleet.booking.choices import UNHEALTHY
from fleet.booking.models import Booking, Team
from fleet.booking.services.cards import is_foreign
from fleet.choices import CheckStatus, Health
from fleet.errors import Conflict, DomainError, Invalid, NotAllowed
from fleet.models import Node
from fleet.reachability import NODE_CHECKS, node_problem, reachable
from fleet.validators import as_id
from jobs.catalog.choices import RecipeKind
from jobs.catalog.models import RecipeVersion
from jobs.catalog.planning import ERROR, WARNING, Message
from jobs.catalog.services.placement import placement_for
from jobs.catalog.services.recipes import review
from jobs.catalog.services.rendering import render_version
from jobs.choices import (
    BOOKING_LABEL,
    FINISHED_JOB_STATUSES,
    LATENCY_KEYS,
    LIVE_DEPLOYMENT_STATUSES,
    DeploymentStatus,
    JobKind,
    JobStatus,
)
from jobs.models import Deployment, Job
from jobs.pages.forms import DeployForm, VersionChoice
from jobs.services import deployments as deployment_services
from jobs.services import jobs as job_services
from jobs.services import recovery

PAGE_SIZE = 50
RETRYABLE = (JobStatus.FAILED, JobStatus.CANCELLED)
# Statuses of a deployment whose container is not serving: show why it ended.
ENDED = (DeploymentStatus.EXITED, DeploymentStatus.FAILED, DeploymentStatus.STOPPED)


def _team_ids(user: Any) -> set[int]:
    """Teams the user acts for (every team for a site admin)."""
    return set(Team.objects.of_user(user).values_list("pk", flat=True))


def _domain_error(request: HttpRequest, exc: DomainError) -> None:
    """A refused action: permission errors become 403, the rest a message on the next page."""
    if isinstance(exc, NotAllowed):
        raise PermissionDenied(exc.message) from None
    messages.error(request, exc.message)


# Jobs ----------------------------------------------------------------------------------------


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    """Jobs the user may see, newest first; filter by status and kind."""
    rows = Job.objects.visible_to(request.user).select_related("requested_by", "team")
    status = request.GET.get("status", "")
    status = status if status in JobStatus.values else ""
    kind = request.GET.get("kind", "")
    kind = kind if kind in JobKind.values else ""
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    page = Paginator(rows.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = urlencode({k: v for k, v in (("status", status), ("kind", kind)) if v})
    context = {
        "page": page,
        "statuses": JobStatus.choices,
        "kinds": JobKind.choices,
        "status": status,
        "kind": kind,
        "query": query,
    }
    return render(request, "jobs/list.html", context)


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One job: status, steps with progress, error, actions and its log viewer."""
    return render(request, "jobs/detail.html", _job_context(request, pk))


@login_required
def job_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The job page's live parts (head with status and actions, progress and steps, details
    with Started/Finished), rendered with the page's own templates in the user's time zone;
    the job's websocket sends them, rendered by this view for its user (fleet.fragments), with
    each status change."""
    return render(request, "jobs/_job_live.html", _job_context(request, pk))


def _job_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    job = get_object_or_404(
        Job.objects.visible_to(request.user).select_related(
            "requested_by", "team", "node", "deployment", "recipe_version__recipe", "retry_of"
        ),
        pk=pk,
    )
    # A failed deployment is deployed again (its container is gone), not retried piecemeal.
    redeploy = job.deployment is not None and job.deployment.status == DeploymentStatus.FAILED
    context: dict[str, Any] = {
        "job": job,
        "redeploy": redeploy,
        "may_act": job_services.may_act(request.user, job),
        "retryable": [str(s) for s in RETRYABLE],
        "finished": [str(s) for s in FINISHED_JOB_STATUSES],
    }
    context["ended"] = job.status in context["finished"]
    return context


def _job_action(request: HttpRequest, pk: int, action: Callable[..., Job]) -> HttpResponse:
    job = get_object_or_404(Job.objects.visible_to(request.user), pk=pk)
    try:
        result = action(job, actor=request.user)
    except DomainError as exc:
        _domain_error(request, exc)
        return redirect("job-page", job.pk)
    return redirect("job-page", result.pk)


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a pending or running job."""
    return _job_action(request, pk, job_services.cancel_job)


@login_required
@require_POST
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Retry a failed or cancelled job; lands on the new job."""
    return _job_action(request, pk, recovery.retry_job)


# Deploy form ---------------------------------------------------------------------------------


PREFLIGHT_FIX = "wait until the node answers and passes preflight, or book cards on another node"


def preflight_findings(node: Node, chosen: Sequence[int], user: Any) -> list[Message]:
    """The node's preflight as the deploy form shows it: errors for what deploy refuses (the
    node does not answer, a node-wide check fails, a chosen card is missing, unhealthy or
    held), warnings for the rest (checks that warn, other cards' trouble, a Warning card).

    Other teams' pids and container names are not named (see `fleet.booking.permissions`)."""
    if not reachable(node):
        return [Message(ERROR, "node", node_problem(node), PREFLIGHT_FIX)]
    found: list[Message] = []
    cards = {c.device: c for c in node.cards.all()}
    picked = set(chosen)
    for check in node.preflight or []:
        name, status = check.get("name", ""), check.get("status")
        field = f"preflight: {name}"
        if status == CheckStatus.FAIL and name in NODE_CHECKS:
            why = f"check '{name}' failed on {node.name}: {check.get('message', '')}"
            found.append(Message(ERROR, field, why, check.get("fix") or PREFLIGHT_FIX))
        elif status == CheckStatus.WARN and name != "health":
            why = f"check '{name}' warns on {node.name}: {check.get('message', '')}"
            found.append(Message(WARNING, field, why, check.get("fix") or "see the node page"))
    repair = "pick other cards of the booking, or have the card repaired (see the node page)"
    for device in chosen:
        card = cards.get(device)
        if card is None:
            continue  # not a card of the node: the placement check says so
        if not card.present:
            why = f"davinci{device} was missing from the last probe (preflight check 'cards')"
            found.append(Message(ERROR, "preflight: cards", why, repair))
        elif card.health in UNHEALTHY:
            why = f"davinci{device} reports health {card.health} (preflight check 'health')"
            found.append(Message(ERROR, "preflight: health", why, repair))
        elif card.health != Health.OK:
            why = f"davinci{device} reports health {card.health} (preflight check 'health')"
            found.append(Message(WARNING, "preflight: health", why, "watch the card's log"))
    try:
        deployment_services.check_free(node, list(chosen), user)
    except Conflict as exc:
        found.append(Message(ERROR, "cards", exc.message, repair))
    others = sorted(
        d
        for d, c in cards.items()
        if d not in picked and c.present and (c.health != Health.OK or is_foreign(c))
    )
    if others:
        listed = ", ".join(f"davinci{d}" for d in others)
        why = f"other cards of {node.name} are not clean ({listed}): not the ones picked"
        found.append(Message(WARNING, "preflight", why, "nothing to do for this deployment"))
    return found


def _preview(
    version: RecipeVersion, booking: Booking, cards: list[int], user: Any = None
) -> dict[str, Any]:
    """What deploy would check and run for these choices: findings, then the commands."""
    node = booking.node
    tp = version.tensor_parallel_size or 1
    chosen = tuple(cards or booking.devices[:tp])
    out: dict[str, Any] = {"node": node, "chosen": chosen, "booking": booking}
    try:
        placement = placement_for(node, chosen)
    except Invalid as exc:
        out["findings"] = [Message(ERROR, exc.field or "cards", exc.message, "pick booked cards")]
        return out
    findings = review(RecipeKind.INFERENCE, version.content(), placement)
    # deploy refuses what the node's preflight fails for these cards: say so first
    findings = [*preflight_findings(node, chosen, user), *findings]
    out.update(findings=findings, placement=placement)
    try:
        out["rendered"] = render_version(
            version,
            placement,
            kind="deploy",
            pk="new",
            labels={BOOKING_LABEL: str(booking.pk)},
            network=node.network_mode,
        )
    except DomainError as exc:
        # Commands follow from valid choices: only a failure the checks missed is news.
        if not any(m.level == ERROR for m in findings):
            fix = "tick cards of the booking" if exc.field == "cards" else "correct the recipe"
            out["findings"] = [Message(ERROR, exc.field or "recipe", exc.message, fix), *findings]
    return out


def _form_preview(form: DeployForm) -> dict[str, Any]:
    """The preview of whatever the form holds so far (nothing until both choices are made)."""
    versions = cast(VersionChoice, form.fields["recipe_version"]).queryset
    assert versions is not None  # DeployForm sets it
    ref = form["recipe_version"].value()
    version_id = as_id(ref)
    version = versions.filter(pk=version_id).first() if version_id is not None else None
    if version is None and not form.is_bound:
        version = versions.first()
    if version is None or form.picked is None:
        return {"incomplete": True}
    return _preview(version, form.picked, form.picked_cards(), form.user)


@login_required
def deploy(request: HttpRequest) -> HttpResponse:
    """Pick a recipe version and an active booking, see the checks and commands, launch."""
    initial = {k: request.GET[k] for k in ("recipe_version", "booking") if k in request.GET}
    form = DeployForm(request.POST or None, user=request.user, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                deployment = deployment_services.deploy(
                    actor=request.user,
                    recipe_version=data["recipe_version"],
                    booking=data["booking"],
                    cards=data["cards"] or None,
                )
            except NotAllowed as exc:
                raise PermissionDenied(exc.message) from None
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                job = deployment.jobs.order_by("-pk").first()
                messages.success(request, f"Deployment {deployment.pk} queued.")
                return redirect("job-page", job.pk) if job else redirect("deployments")
    context = {
        "form": form,
        "cards_for": form.picked.pk if form.picked else "",
        **_form_preview(form),
    }
    return render(request, "jobs/deploy.html", context, status=status)


@login_required
@require_POST
def deploy_preview(request: HttpRequest) -> HttpResponse:
    """HTMX: checks and commands for the current choices; new card boxes if the booking changed."""
    data = request.POST.copy()
    swap = data.get("cards_for", "") != data.get("booking", "")
    if swap:
        data.setlist("cards", [])  # ticks of the previous booking mean nothing on this one
    form = DeployForm(data, user=request.user)
    context = {
        "form": form,
        "cards_for": form.picked.pk if form.picked else "",
        "swap_cards": swap,
        **_form_preview(form),
    }
    return render(request, "jobs/_deploy_preview.html", context)


# Deployments ---------------------------------------------------------------------------------


@login_required
def deployment_list(request: HttpRequest) -> HttpResponse:
    """Deployments of the user's teams: status, endpoint, latencies, and what ended them."""
    rows = (
        Deployment.objects.visible_to(request.user)
        .select_related("recipe_version__recipe", "node", "team", "log_job")
        .prefetch_related(Prefetch("jobs", Job.objects.order_by("-pk"), to_attr="recent_jobs"))
        .order_by("-created_at", "-pk")
    )
    status = request.GET.get("status", "")
    status = status if status in DeploymentStatus.values else ""
    if status:
        rows = rows.filter(status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    mine = _team_ids(request.user)
    for row in page.object_list:
        row.latency_rows = [(k, row.latencies[k]) for k in LATENCY_KEYS if k in row.latencies]
        row.actions = _actions(row) if row.team_id in mine else []
        row.node_unreachable = row.status != DeploymentStatus.REMOVED and not reachable(row.node)
        row.log_link = row.log_job or next(iter(row.recent_jobs), None)
    context = {
        "page": page,
        "statuses": DeploymentStatus.choices,
        "status": status,
        "ended": [str(s) for s in ENDED],
    }
    return render(request, "jobs/deployments.html", context)


ACTION_LABELS = {
    "stop": "Stop",
    "restart": "Restart",
    "redeploy": "Deploy again",
    "remove": "Remove",
}


def _actions(deployment: Deployment) -> list[tuple[str, str]]:
    """Buttons that make sense in the deployment's state (the services check again).

    A failed deployment's container is gone: it is deployed again, never restarted.
    """
    if deployment.status == DeploymentStatus.REMOVED:
        return []
    if deployment.status == DeploymentStatus.FAILED:
        names = ["redeploy", "remove"]
    else:
        live = deployment.status in LIVE_DEPLOYMENT_STATUSES
        names = [*(["stop"] if live else []), "restart", "remove"]
    return [(name, ACTION_LABELS[name]) for name in names]


OPERATIONS: dict[str, Callable[..., Job]] = {
    "stop": deployment_services.stop,
    "restart": deployment_services.restart,
    "redeploy": deployment_services.redeploy,
    "remove": deployment_services.remove,
}


@login_required
@require_POST
def deployment_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Stop, restart or remove a deployment (members of its team); lands on the new job."""
    operation = OPERATIONS.get(action)
    if operation is None:
        raise Http404(f"no action {action!r}")
    deployment = get_object_or_404(Deployment.objects.visible_to(request.user), pk=pk)
    try:
        job = operation(deployment, actor=request.user)
    except DomainError as exc:
        _domain_error(request, exc)
        return redirect("deployments")
    messages.success(request, f"{ACTION_LABELS[action]} of deployment {deployment.pk} queued.")
    return redirect("job-page", job.pk)
