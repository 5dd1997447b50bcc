"""Domain errors of booking; the API maps them to 400/403/409 through fleet.errors."""

from __future__ import annotations

from fleet.errors import Conflict, Invalid, NotAllowed


class BookingInvalid(Invalid):
    """A booking request whose values cannot be accepted (400)."""


class BookingConflict(Conflict):
    """The cards are already booked in the window, or the booking's state forbids it (409)."""


class CardsUnavailable(Conflict):
    """The cards or node are cordoned, unhealthy or held by a foreign process (409)."""


class NoCapacity(Conflict):
    """The allocator found no allowed set of free cards (409)."""


class QuotaExceeded(Conflict):
    """The team's quota would be exceeded (409); a site admin may override with a reason."""


class BookingNotAllowed(NotAllowed):
    """The caller may not act for this team or do this (403)."""
