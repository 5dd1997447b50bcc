"""The API tokens page: list your tokens, make one (its key is shown once), revoke one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from config import tokens
from fleet.errors import DomainError


def _rows(request: HttpRequest) -> list[dict[str, object]]:
    return [
        {
            "id": tokens.token_id(t),
            "prefix": tokens.token_prefix(t),
            "created": t.created,
            "expiry": t.expiry,
        }
        for t in tokens.active_tokens(request.user)
    ]


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """GET lists the signed-in user's tokens; POST makes a new one and shows its key once."""
    context: dict[str, object] = {"new_key": None, "error": None}
    status = 200
    if request.method == "POST":
        try:
            token, key = tokens.issue_token(request.user)
        except DomainError as exc:
            context["error"], status = exc.message, exc.status_code
        else:
            context["new_key"], context["new_id"] = key, tokens.token_id(token)
            status = 201
    context["tokens"] = _rows(request)
    return render(request, "frontend/tokens.html", context, status=status)


@login_required
@require_POST
def token_revoke(request: HttpRequest, ident: str) -> HttpResponse:
    """Revoke one of the signed-in user's tokens; it stops working at once."""
    if tokens.revoke_token(request.user, ident):
        messages.success(request, "Token revoked: it no longer works.")
    else:
        messages.error(request, "You have no such token (already revoked or expired?).")
    return redirect("api-tokens-page")
