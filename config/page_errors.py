"""Page-side error handling: a node failing during a page request shows a message, not a 500.

So does deleting something other rows still need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import ProtectedError, RestrictedError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from config.api_errors import (
    API_PREFIX,
    REMOTE_SIDE,
    remote_body,
    remote_status,
    still_used_message,
)
from fleet.remote import RemoteError


class RemoteErrorMiddleware:
    """Renders a `RemoteError` that escaped a page view as a page naming the node and the side."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith(API_PREFIX):
            return None
        back = request.headers.get("referer", "")
        if not url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = ""
        if isinstance(exception, ProtectedError | RestrictedError):
            context: dict[str, Any] = {"message": still_used_message(exception), "back": back}
            return render(request, "frontend/still_used.html", context, status=409)
        if not isinstance(exception, RemoteError):
            return None
        context = {
            "error": remote_body(exception),
            "side": REMOTE_SIDE.get(exception.kind, "failed"),
            "message": exception.message,
            "back": back,
        }
        template = (
            "frontend/_remote_error.html"
            if request.headers.get("HX-Request")
            else "frontend/remote_error.html"
        )
        return render(request, template, context, status=remote_status(exception))
