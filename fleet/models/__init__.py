"""Fleet models."""

from .node import Card, CardSample, Node
from .team import Membership, Team

__all__ = ["Card", "CardSample", "Membership", "Node", "Team"]
