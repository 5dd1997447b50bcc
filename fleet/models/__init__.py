"""Fleet models: nodes, cards, card samples and user preferences."""

from .node import Card, CardSample, Node
from .profile import UserProfile

__all__ = ["Card", "CardSample", "Node", "UserProfile"]
