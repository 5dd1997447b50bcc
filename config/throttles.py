"""API throttles: per user when signed in, per address otherwise (rates from settings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

if TYPE_CHECKING:  # imported by DRF while rest_framework.views loads: no runtime import
    from rest_framework.request import Request
    from rest_framework.views import APIView


class _CurrentRates:
    """DRF reads the rates once, at import; read them per request so settings changes apply."""

    scope: str | None

    def get_rate(self) -> str | None:
        # The stubs type the rates as numbers; they are strings such as "60/min".
        rates: dict[str | None, str | None] = api_settings.DEFAULT_THROTTLE_RATES  # type: ignore[assignment]
        return rates.get(self.scope)


class AnonThrottle(_CurrentRates, AnonRateThrottle):
    """Requests without a signed-in user, counted per client address."""


class UserThrottle(_CurrentRates, UserRateThrottle):
    """Requests of a signed-in user (session or token), counted per user; anonymous requests
    are AnonThrottle's alone."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)
