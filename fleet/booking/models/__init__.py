"""Booking models: teams, memberships, bookings, booked cards, notifications and the audit log.

They moved here from `fleet`; their tables keep the old `fleet_*` names.
"""

from .audit import AuditEntry
from .booking import BookedCard, Booking, Notification
from .team import Membership, Team

__all__ = ["AuditEntry", "BookedCard", "Booking", "Membership", "Notification", "Team"]
