"""Sign-in lockout (django-axes): the client's address and what a locked-out client is told."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

API_PREFIX = "/api/"


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the address the outermost of PROXY_COUNT proxies saw (as DRF counts it)."""
    remote = request.META.get("REMOTE_ADDR")
    count = settings.PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not count or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-min(count, len(hops))] if hops else remote


def lockout_response(request: HttpRequest, *_: Any, **__: Any) -> HttpResponse:
    """429 saying that sign-in is blocked and until when: JSON under /api/, a page elsewhere.

    Every refused try restarts the cool-off, so the wait counts from now.
    """
    cool_off = settings.AXES_COOLOFF_TIME
    retry_at = timezone.localtime(timezone.now() + cool_off)
    minutes = math.ceil(cool_off.total_seconds() / 60)
    message = (
        f"Too many failed sign-ins for this username from your address: sign-in is blocked "
        f"for {minutes} minutes, until {retry_at:%H:%M} {retry_at.tzname()}. Each further try "
        f"restarts the wait; a site admin can lift the block sooner."
    )
    seconds = int(cool_off.total_seconds())
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse(
            {"detail": message, "retry_after": seconds, "retry_at": retry_at.isoformat()},
            status=429,
        )
    else:
        response = render(
            request,
            "registration/locked_out.html",
            {"message": message, "retry_at": retry_at, "minutes": minutes},
            status=429,
        )
    response["Retry-After"] = str(seconds)
    return response
