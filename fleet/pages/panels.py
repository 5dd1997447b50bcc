"""Panels other apps add to fleet pages, registered in their AppConfig.ready().

The node delete page warns about what is live on the node (bookings, deployments): each app
that owns such things registers a panel, a function `(request, node) -> html`; an empty string
means nothing to warn about.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from fleet.models import Node

NodePanel = Callable[[HttpRequest, Node], str]

_delete_panels: dict[str, tuple[int, NodePanel]] = {}


def register_delete_panel(key: str, panel: NodePanel, *, order: int = 100) -> None:
    """Show `panel` on the node delete page (lower `order` first; a key registers once)."""
    _delete_panels[key] = (order, panel)


def delete_panels(request: HttpRequest, node: Node) -> list[SafeString]:
    """The registered panels' HTML for this node, without the empty ones."""
    shown = []
    for _, panel in sorted(_delete_panels.values(), key=lambda item: item[0]):
        html = panel(request, node)
        if html.strip():
            shown.append(SafeString(html))
    return shown
