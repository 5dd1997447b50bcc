"""Maps errors to HTTP responses: every /api/ error is JSON with a `detail` a person can act on.

- domain errors (fleet.errors) → their status, `{detail, field?, <field>: [message], ...}`;
- DRF's own errors (validation, 401, 403, 404, 405, 415, parse errors, throttling) keep their
  body and gain `detail` (and `field`, naming the first input at fault);
- `RemoteError` from a node reached during the request → 502/503/504 naming the node and the
  side that failed;
- deleting what other rows still need (a protected foreign key) → 409 saying what holds it;
- Django's 400/403/404/500 handlers answer JSON under /api/ (unknown URLs, crashes).
"""

from __future__ import annotations

from typing import Any

from django.db.models import ProtectedError, RestrictedError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from fleet.errors import DomainError
from fleet.remote import ErrorKind, RemoteError

API_PREFIX = "/api/"

# Which side failed, per kind; unreachable and timeouts may pass, the rest needs a person.
REMOTE_STATUS = {
    ErrorKind.UNREACHABLE: status.HTTP_503_SERVICE_UNAVAILABLE,
    ErrorKind.TIMEOUT: status.HTTP_504_GATEWAY_TIMEOUT,
    ErrorKind.AUTH_FAILED: status.HTTP_502_BAD_GATEWAY,
    ErrorKind.HOST_KEY_UNKNOWN: status.HTTP_502_BAD_GATEWAY,
    ErrorKind.HOST_KEY_CHANGED: status.HTTP_502_BAD_GATEWAY,
    ErrorKind.COMMAND_FAILED: status.HTTP_502_BAD_GATEWAY,
}
REMOTE_SIDE = {
    ErrorKind.UNREACHABLE: "could not be reached (network or SSH); try again when it is back",
    ErrorKind.TIMEOUT: "did not answer in time; try again, or check its load",
    ErrorKind.AUTH_FAILED: "refused the dashboard's SSH credentials; an admin must fix them",
    ErrorKind.HOST_KEY_UNKNOWN: "offers a host key no admin has accepted yet",
    ErrorKind.HOST_KEY_CHANGED: "offers a host key other than the accepted one",
    ErrorKind.COMMAND_FAILED: "ran the command, and it failed",
}
RETRY_AFTER_SECONDS = 30


def remote_status(exc: RemoteError) -> int:
    """The HTTP status for a failure on a node."""
    return REMOTE_STATUS.get(exc.kind, status.HTTP_502_BAD_GATEWAY)


def remote_body(exc: RemoteError) -> dict[str, Any]:
    """`{detail, node, kind}` for a failure on a node."""
    node = exc.node or "the node"
    return {
        "detail": f"Node {node} {REMOTE_SIDE.get(exc.kind, 'failed')}: {exc.message}",
        "node": exc.node,
        "kind": exc.kind.value,
    }


def still_used_message(exc: ProtectedError | RestrictedError) -> str:
    """'still used by 2 deployments (a, b)': what keeps a row from being deleted."""
    holders = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
    by_kind: dict[Any, list[str]] = {}
    for row in holders:
        by_kind.setdefault(row._meta, []).append(str(row))
    parts = []
    for meta, names in sorted(by_kind.items(), key=lambda item: str(item[0].verbose_name)):
        kind = meta.verbose_name if len(names) == 1 else meta.verbose_name_plural
        shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
        parts.append(f"{len(names)} {kind} ({shown})")
    return f"Cannot delete it: it is still used by {'; '.join(parts)}. Remove those first."


def _first_error(data: Any, path: str = "") -> tuple[str, str]:
    """(path of the first input at fault, its message) in a DRF error structure."""
    if isinstance(data, dict):
        for key, value in data.items():
            found = _first_error(value, f"{path}.{key}" if path else str(key))
            if found[1]:
                return found
        return path, ""
    if isinstance(data, list):
        for index, value in enumerate(data):
            nested = isinstance(value, dict | list)
            found = _first_error(value, f"{path}[{index}]" if nested else path)
            if found[1]:
                return found
        return path, ""
    return path, str(data)


def error_body(data: Any) -> dict[str, Any]:
    """DRF's error data with a `detail` string (and `field` for the first input at fault)."""
    if isinstance(data, dict) and isinstance(data.get("detail"), str):
        return data
    if isinstance(data, list):
        return {"detail": _first_error(data)[1] or "The request was refused.", "errors": data}
    if not isinstance(data, dict):
        return {"detail": str(data)}
    path, message = _first_error(data)
    top = next((key for key in data if _first_error(data[key])[1]), "")
    body: dict[str, Any] = {}
    if top in ("non_field_errors", "detail", ""):
        body["detail"] = message or "The request was refused."
    else:
        body["detail"] = f"{path}: {message}"
        body["field"] = top
    body.update({k: v for k, v in data.items() if k not in body})
    return body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus domain and remote errors; every body carries `detail`, as JSON."""
    response = _error_response(exc, context)
    request = context.get("request")
    if response is not None and request is not None:
        # JSON even for a browser asking for HTML: the browsable API shows answers, not errors.
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    return response


def _error_response(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"detail": exc.message}
        if exc.field:
            body["field"] = exc.field
            body[exc.field] = [exc.message]
        body.update({k: v for k, v in exc.details.items() if k not in body})
        return Response(body, status=exc.status_code)
    if isinstance(exc, RemoteError):
        code = remote_status(exc)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if code == 503 else None
        return Response(remote_body(exc), status=code, headers=headers)
    if isinstance(exc, ProtectedError | RestrictedError):
        return Response({"detail": still_used_message(exc)}, status=status.HTTP_409_CONFLICT)
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = error_body(response.data)
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    """400 (Django's own refusals, e.g. a body over the size limit): JSON under /api/."""
    if _is_api(request):
        return JsonResponse({"detail": "Bad request: the request could not be read."}, status=400)
    return defaults.bad_request(request, exception, **kwargs)


def permission_denied(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    """403 raised outside DRF: JSON under /api/."""
    if _is_api(request):
        message = str(exception) or "You may not do this."
        return JsonResponse({"detail": message}, status=403)
    return defaults.permission_denied(request, exception, **kwargs)


def page_not_found(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    """404 for unknown URLs: JSON under /api/ naming the path and where the docs are."""
    if _is_api(request):
        return JsonResponse(
            {"detail": f"No API endpoint {request.path}; the endpoints are listed at /api/docs/."},
            status=404,
        )
    return defaults.page_not_found(request, exception, **kwargs)


def server_error(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """500: JSON under /api/ (the traceback goes to the log, never to the client)."""
    if _is_api(request):
        return JsonResponse(
            {"detail": "Internal error; it has been logged. Try again, or tell an admin."},
            status=500,
        )
    return defaults.server_error(request, **kwargs)
