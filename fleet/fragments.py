"""A page's live part, rendered for one websocket's viewer by the page's own view.

The live parts of the pages (the overview's tiles, a node page's parts, a job page's parts) are
views that render the pages' own templates for the requesting user. A websocket consumer that
pushes one of them renders it through that same view, as an in-process GET that carries the
socket's own headers and cookies: the same middleware (session, user, time zone, CSRF token),
the same permission checks and redaction. So what a socket pushes is exactly what its viewer's
page shows, and no template is written twice (not in Python, not in JavaScript).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.base import BaseHandler
from django.http import HttpResponse

log = logging.getLogger(__name__)

# Headers of the websocket handshake that say nothing about the page request.
_DROPPED = {b"accept", b"connection", b"upgrade", b"sec-websocket-key", b"sec-websocket-version",
            b"sec-websocket-extensions", b"sec-websocket-protocol", b"content-length",
            b"content-type"}  # fmt: skip
_SCHEMES = {"ws": "http", "wss": "https"}


@dataclass(frozen=True)
class Rendered:
    """A view's answer: its status code and, for 200, the HTML."""

    status: int
    html: str

    @property
    def signed_out(self) -> bool:
        """The view sent the viewer to sign in (the session ended) or refused them."""
        return self.status in (301, 302, 401, 403)


class _Handler(BaseHandler):
    """Django's request handling (all middleware) for in-process page requests."""

    def __init__(self) -> None:
        super().__init__()
        self.load_middleware(is_async=False)


_handler: _Handler | None = None


def _get_handler() -> _Handler:
    global _handler
    if _handler is None:
        _handler = _Handler()
    return _handler


def render_for(
    scope: Mapping[str, Any], path: str, query: Mapping[str, Sequence[Any] | Any] | None = None
) -> Rendered:
    """GET `path` as the viewer of this websocket `scope` would (their cookies and session).

    Synchronous: call it through `database_sync_to_async` from a consumer.
    """
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() not in _DROPPED]
    headers.append((b"accept", b"text/html"))
    request_scope = {
        "type": "http",
        "asgi": scope.get("asgi", {"version": "3.0"}),
        "http_version": "1.1",
        "method": "GET",
        "scheme": _SCHEMES.get(scope.get("scheme", "ws"), "http"),
        "path": path,
        "root_path": scope.get("root_path", ""),
        "query_string": urlencode(query or {}, doseq=True).encode(),
        "headers": headers,
        "client": scope.get("client"),
        "server": scope.get("server"),
    }
    request = ASGIRequest(request_scope, io.BytesIO(b""))
    response = _get_handler().get_response(request)
    try:
        content = response.content if isinstance(response, HttpResponse) else b""
        html = content.decode() if response.status_code == 200 else ""
        return Rendered(response.status_code, html)
    finally:
        response.close()
