"""Maps domain errors to HTTP responses for every API view."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from fleet.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus domain errors rendered as {detail, field, ...details}."""
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"detail": exc.message}
        if exc.field:
            body["field"] = exc.field
            body[exc.field] = [exc.message]
        body.update({k: v for k, v in exc.details.items() if k not in body})
        return Response(body, status=exc.status_code)
    return drf_exception_handler(exc, context)
