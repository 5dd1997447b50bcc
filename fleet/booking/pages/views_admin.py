"""Booking pages for admins: the audit log, cordons, team quotas and webhooks."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from fleet.booking import permissions
from fleet.booking.models import AuditEntry
from fleet.booking.pages.forms import CordonForm, MoveForm, TeamSettingsForm
from fleet.booking.pages.forms_audit import AuditFilterForm
from fleet.booking.pages.views import show_error
from fleet.booking.services import cordon, teams
from fleet.booking.services.cordon import affected_bookings
from fleet.errors import DomainError
from fleet.models import Node
from fleet.validators import as_id


@login_required
@require_POST
def team_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a team's quotas (site admins) or webhook (team admins too)."""
    team = get_object_or_404(permissions.teams_of(request.user), pk=pk)
    form = TeamSettingsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Quotas are whole numbers of at least 0.")
        return redirect("booking-mine")
    values = {k: v for k, v in form.cleaned_data.items() if v is not None}
    if not request.user.is_superuser:
        values.pop("max_cards", None)
        values.pop("max_card_hours_per_week", None)
    try:
        teams.update_team(request.user, team, **values)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Team {team.name} saved.")
    return redirect("booking-mine")


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit log: all of it for site admins, their teams' part for team admins."""
    entries = AuditEntry.objects.visible_to(request.user)
    if not permissions.is_any_team_admin(request.user):
        raise PermissionDenied("Only site admins and team admins may read the audit log.")
    form = AuditFilterForm(request.GET or None, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        for name in ("action", "object_type", "team"):
            if data[name]:
                entries = entries.filter(**{name: data[name]})
        entries = entries.by_actor(data["actor"])
        if data["since"]:
            entries = entries.filter(at__gte=data["since"])
        if data["until"]:
            entries = entries.filter(at__lt=data["until"])
    page = Paginator(entries.select_related("actor", "team"), 50)
    context = {"form": form, "page": page.get_page(request.GET.get("page"))}
    return render(request, "booking/audit.html", context)


@login_required
def cordons(request: HttpRequest) -> HttpResponse:
    """Site admins: cordon nodes or cards, see what is cordoned and the bookings left on it."""
    if not request.user.is_superuser:
        raise PermissionDenied("Only site admins can cordon nodes and cards.")
    form = CordonForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = cordon.cordon(
                request.user, data["node"], devices=data["cards"], reason=data["reason"]
            )
        except DomainError as exc:
            show_error(form, exc)
            status = exc.status_code
        else:
            left = len(result.affected)
            messages.success(
                request,
                f"Cordoned {data['node'].name}"
                + (f" card(s) {', '.join(map(str, result.devices))}" if result.devices else "")
                + f"; {left} booking(s) still on it: move or cancel them below.",
            )
            return redirect("booking-cordons")
    nodes = Node.objects.prefetch_related("cards").order_by("name")
    rows = []
    for node in nodes:
        cards = [c for c in node.cards.all() if c.cordoned]
        if node.cordoned or cards:
            rows.append(
                {
                    "node": node,
                    "cards": cards,
                    "affected": affected_bookings(node, None if node.cordoned else cards),
                }
            )
    context = {"form": form, "rows": rows, "move_form": MoveForm(user=request.user)}
    return render(request, "booking/cordons.html", context, status=status)


@login_required
@require_POST
def uncordon(request: HttpRequest, pk: int) -> HttpResponse:
    """Return a node (or one card of it, ?device=N) to booking."""
    node = get_object_or_404(Node, pk=pk)
    device = request.POST.get("device", "")
    number = as_id(device)
    if device and number is None:
        messages.error(request, f"device {device[:20]!r} is not a card number (N of davinciN).")
        return redirect("booking-cordons")
    try:
        cordon.uncordon(request.user, node, devices=[number] if number is not None else None)
    except DomainError as exc:
        if exc.status_code == 403:
            raise PermissionDenied(exc.message) from None
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{node.name} {'card ' + device if device else ''} is bookable.")
    return redirect("booking-cordons")
