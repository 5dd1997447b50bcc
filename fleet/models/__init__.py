"""Fleet models."""

from .audit import AuditEntry
from .booking import BookedCard, Booking, Notification
from .node import Card, CardSample, Node
from .profile import UserProfile
from .team import Membership, Team

__all__ = ["Card", "CardSample", "Membership", "Node", "Team"]
__all__ += ["AuditEntry", "BookedCard", "Booking", "Notification", "UserProfile"]
