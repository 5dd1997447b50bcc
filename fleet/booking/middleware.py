"""Shows times in the signed-in user's time zone (their profile; the site zone otherwise)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

SESSION_KEY = "fleet_time_zone"


def zone_named(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone of an IANA name, or None for an empty or unknown name."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class UserTimeZoneMiddleware:
    """Activate the user's time zone per request; the name is cached in the session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        name = session.get(SESSION_KEY) if session is not None else None
        user = getattr(request, "user", None)
        if name is None and session is not None and user is not None and user.is_authenticated:
            from fleet.models import UserProfile

            profile = UserProfile.objects.filter(user=user).values_list("time_zone", flat=True)
            name = session[SESSION_KEY] = profile.first() or ""
        zone = zone_named(name or "")
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
