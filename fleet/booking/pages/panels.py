"""Booking's panels on fleet pages (registered in BookingConfig.ready())."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string

from fleet.models import Node


def node_delete_bookings(request: HttpRequest, node: Node) -> str:
    """The node delete page's warning: the live bookings deleted with the node."""
    bookings = node.bookings.live().with_cards().order_by("start", "pk")
    context = {"node": node, "bookings": bookings}
    return render_to_string("booking/_node_delete_bookings.html", context, request=request)
