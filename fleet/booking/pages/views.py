"""Booking pages: node timeline, "find me N cards", my team's bookings, cancel, extend, move."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from fleet.booking import permissions
from fleet.booking.choices import LIVE_STATUSES
from fleet.booking.errors import BookingConflict, BookingInvalid, QuotaExceeded
from fleet.booking.middleware import SESSION_KEY
from fleet.booking.models import Booking, Notification
from fleet.booking.pages.forms import (
    BookForm,
    CancelForm,
    ExtendForm,
    FindForm,
    MomentField,
    MoveForm,
    TimeZoneForm,
    next_start,
)
from fleet.booking.services import bookings, teams
from fleet.booking.services.availability import CardLine, find_available, node_timeline
from fleet.booking.services.cards import show_strangers
from fleet.booking.services.notify import when
from fleet.booking.services.quotas import team_usage
from fleet.errors import DomainError
from fleet.models import Node

SPANS = (12, 24, 48, 72)
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime(LOCAL_FORMAT)


def show_error(form: forms.Form, exc: DomainError) -> None:
    """Put a service's error on the form field it names (or on the whole form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


# Hues for other teams' bookings (your own team's are always blue), picked by team name.
OTHER_HUES = (28, 140, 285, 335, 55, 175, 0)
MINE_HUE = 210


def _hue(name: str) -> int:
    return OTHER_HUES[zlib.crc32(name.encode()) % len(OTHER_HUES)]


def _grid(lines: list[CardLine], start: datetime, span: int, node: Node) -> list[dict]:
    """Rows of hour cells: past, blocked, free (clickable) or busy by a team."""
    now = timezone.now()
    earliest = next_start(now)  # a free slot already begun is offered from the next quarter hour
    slots = [start + timedelta(hours=i) for i in range(span)]
    rows = []
    for line in lines:
        blocker = "node cordoned" if node.cordoned else line.blocker
        if blocker == "booked":
            blocker = None
        cells: list[dict] = []
        for slot in slots:
            end = slot + timedelta(hours=1)
            seg = next((s for s in line.segments if s.start < end and s.end > slot), None)
            cell = {"start": _local(slot), "device": line.card.device}
            if seg is not None:
                hue = MINE_HUE if seg.mine else _hue(seg.team)
                cell.update(state="mine" if seg.mine else "busy", team=seg.team, hue=hue)
                cell["booking"] = seg.booking_id
                previous = cells[-1] if cells else {}
                cell["first"] = (previous.get("team"), previous.get("booking")) != (
                    seg.team,
                    seg.booking_id,
                ) or previous.get("state") not in ("mine", "busy")
            elif blocker:
                cell.update(state="blocked", team=blocker)
            elif end <= now:
                cell.update(state="past")
            else:
                cell.update(state="free", start=_local(max(slot, earliest)), end=_local(end))
            cells.append(cell)
        rows.append({"card": line.card, "blocker": blocker, "cells": cells})
    return rows


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it."""

    htmx: HtmxDetails


def _start_param(request: HttpRequest, name: str, value: str | None) -> datetime:
    """The timeline's first hour, from ?start= in the user's zone (default: this hour).

    A value that is no date, or out of range, is said on the page and this hour is shown.
    """
    if value:
        try:
            parsed = MomentField().clean(value)
            return parsed.replace(minute=0, second=0, microsecond=0)
        except forms.ValidationError as exc:
            messages.error(request, f"{name}={value[:40]!r}: {' '.join(exc.messages)}")
    return timezone.localtime().replace(minute=0, second=0, microsecond=0)


@login_required
def timeline_index(request: HttpRequest) -> HttpResponse:
    """Every node with a link to its timeline."""
    nodes = Node.objects.visible_to(request.user).order_by("name")
    first = nodes.first()
    if first is not None and request.GET.get("pick") is None:
        return redirect("booking-timeline", pk=first.pk)
    return render(request, "booking/timeline_index.html", {"nodes": nodes})


@login_required
def timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """A node's cards as rows and hours as columns; free slots pick cards for the form below."""
    node = get_object_or_404(Node.objects.visible_to(request.user), pk=pk)
    start = _start_param(request, "start", request.GET.get("start"))
    asked = request.GET.get("hours", "")
    span = next((s for s in SPANS if str(s) == asked), 24)
    devices = list(node.cards.order_by("device").values_list("device", flat=True))
    at = request.GET.get("at")
    form = BookForm(
        request.POST or None,
        user=request.user,
        devices=devices,
        initial={
            "start": max(_start_param(request, "at", at), next_start()) if at else next_start()
        },
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                booking = bookings.book_cards(
                    request.user,
                    team=data["team"],
                    node=node,
                    start=data["start"],
                    end=data["start"] + timedelta(hours=data["hours"]),
                    purpose=data["purpose"],
                    devices=data["cards"],
                    override_reason=data.get("override_reason", ""),
                )
            except DomainError as exc:
                show_error(form, exc)
                status = exc.status_code
            else:
                messages.success(
                    request,
                    f"Booked card(s) {', '.join(map(str, booking.devices))} of {node.name} for "
                    f"{booking.team.name} (booking #{booking.pk}).",
                )
                query = urlencode({"start": _local(start), "hours": span})
                return redirect(f"{reverse('booking-timeline', args=[node.pk])}?{query}")
    lines = node_timeline(request.user, node, start, start + timedelta(hours=span))
    teams = cast(forms.ModelChoiceField, form.fields["team"]).queryset
    context = {
        "node": node,
        "nodes": Node.objects.visible_to(request.user).order_by("name"),
        "rows": _grid(lines, start, span, node),
        "hours": [start + timedelta(hours=i) for i in range(span)],
        "start": start,
        "span": span,
        "spans": SPANS,
        "prev": _local(start - timedelta(hours=span)),
        "next": _local(start + timedelta(hours=span)),
        "form": form,
        "can_book": teams is not None and teams.exists(),
    }
    return render(request, "booking/timeline.html", context, status=status)


@login_required
def find(request: HtmxHttpRequest) -> HttpResponse:
    """Fleet-wide: the earliest window with N free cards for H hours, per node."""
    form = FindForm(request.GET or None, user=request.user)
    answer = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            answer = find_available(
                request.user,
                count=data["count"],
                hours=data["hours"],
                earliest=data["earliest"],
                nodes=list(data["nodes"]) or None,
            )
        except DomainError as exc:
            show_error(form, exc)
    context = {
        "form": form,
        "answer": answer,
        "hours": form.cleaned_data.get("hours") if answer else None,
        "teams": permissions.teams_of(request.user),
    }
    template = "booking/_find_results.html" if request.htmx else "booking/find.html"
    return render(request, template, context)


@login_required
def my_bookings(request: HttpRequest) -> HttpResponse:
    """My teams' bookings (cancel, extend), their quotas, notifications and my time zone."""
    visible = Booking.objects.visible_to(request.user).with_cards()
    past = visible.exclude(status__in=LIVE_STATUSES).order_by("-start", "-pk")
    now = timezone.now()
    context = {
        "live": show_strangers(request.user, visible.live().order_by("start", "pk")),
        "past": Paginator(past, 20).get_page(request.GET.get("page")),
        "usage": [
            (t, team_usage(t, now), teams.is_team_admin(request.user, t))
            for t in permissions.teams_of(request.user)
        ],
        "notes": Notification.objects.visible_to(request.user).select_related("team")[:15],
        "tz_form": TimeZoneForm(initial={"time_zone": request.session.get(SESSION_KEY, "")}),
        "zone": timezone.get_current_timezone_name(),
    }
    return render(request, "booking/mine.html", context)


def _row(request: HttpRequest, booking: Booking, error: str = "") -> HttpResponse:
    fresh = Booking.objects.with_cards().get(pk=booking.pk)
    show_strangers(request.user, [fresh])
    return render(request, "booking/_row.html", {"b": fresh, "error": error})


def _act(request: HtmxHttpRequest, pk: int, action: Any) -> HttpResponse:
    """Run one booking action; HTMX gets the row back, a plain form a redirect with a message."""
    booking = get_object_or_404(Booking.objects.visible_to(request.user), pk=pk)
    try:
        booking, done = action(booking)
    except DomainError as exc:
        if request.htmx:
            return _row(request, booking, exc.message)
        messages.error(request, exc.message)
    else:
        if request.htmx:
            return _row(request, booking)
        messages.success(request, done)
    return redirect(request.POST.get("next") or reverse("booking-mine"))


@login_required
@require_POST
def cancel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Cancel a booking of one of my teams."""
    form = CancelForm(request.POST)
    form.is_valid()
    reason = form.cleaned_data.get("reason", "")

    def act(booking: Booking):
        booking = bookings.cancel_booking(request.user, booking, reason=reason)
        return booking, f"Booking #{booking.pk} cancelled."

    return _act(request, pk, act)


@login_required
@require_POST
def extend(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Extend a booking by some hours, when its cards are free."""
    form = ExtendForm(request.POST)
    valid = form.is_valid()

    def act(booking: Booking):
        if not valid:
            raise BookingInvalid(form.problem(), field="hours")
        hours = form.cleaned_data["hours"]
        try:
            booking = bookings.extend_booking(
                request.user, booking, booking.end + timedelta(hours=hours)
            )
        except DomainError as exc:
            exc.message = extend_refusal(booking, hours, exc)
            raise
        return booking, f"Booking #{booking.pk} now ends {when(booking.end)}."

    return _act(request, pk, act)


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g} h"


def extend_refusal(booking: Booking, hours: float, exc: DomainError) -> str:
    """Why an extension was refused, from the service's error, with what would work instead.

    A conflict names only what the timeline shows (the next team, its booking number and window).
    """
    head = f"Cannot extend booking #{booking.pk} by {hours:g} h"
    if isinstance(exc, QuotaExceeded):
        return f"{head}: the quota of team {booking.team.name} does not allow it. {exc.message}"
    conflicts = exc.details.get("conflicts") if isinstance(exc, BookingConflict) else None
    if conflicts:
        rows = cast(list[dict[str, Any]], conflicts)  # BookingConflict's details
        starts = [datetime.fromisoformat(str(c["start"])) for c in rows]
        free_until = max(booking.end, min(starts))
        room = free_until - booking.end
        hint = (
            f"Its cards are free until {when(free_until)}: extend by at most {_hours(room)}, "
            "or move the booking to another node."
            if room > timedelta(0)
            else "The next booking starts when this one ends: move the booking to another node "
            "or book other cards for the extra time."
        )
        return f"{head}: the cards are booked next. {exc.message} {hint}"
    return f"{head}: {exc.message}"


@login_required
@require_POST
def move(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Move a booking to another node (same window, same number of cards)."""
    form = MoveForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, "Pick a node to move to.")
        return redirect(request.POST.get("next") or reverse("booking-mine"))

    def act(booking: Booking):
        booking = bookings.change_booking(
            request.user,
            booking,
            node=form.cleaned_data["node"],
            reason=form.cleaned_data["reason"],
        )
        return booking, f"Booking #{booking.pk} moved to {booking.node.name}."

    return _act(request, pk, act)


@login_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    """Mark my teams' notifications read."""
    Notification.objects.visible_to(request.user).filter(read=False).update(read=True)
    return redirect("booking-mine")


@login_required
@require_POST
def set_zone(request: HttpRequest) -> HttpResponse:
    """Remember the time zone my pages show times in."""
    form = TimeZoneForm(request.POST)
    if form.is_valid():
        profile = teams.set_time_zone(request.user, form.cleaned_data["time_zone"])
        request.session[SESSION_KEY] = profile.time_zone
        messages.success(request, f"Times are shown in {profile.time_zone or 'the site zone'}.")
    else:
        messages.error(request, "Unknown time zone.")
    return redirect(request.POST.get("next") or reverse("booking-mine"))
