"""Teams and memberships."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from fleet.choices import TeamRole


class TeamQuerySet(models.QuerySet):
    def of_user(self, user) -> TeamQuerySet:
        """Teams the user belongs to (all of them for a site admin)."""
        if user.is_superuser:
            return self
        return self.filter(memberships__user=user)


class Team(models.Model):
    """A group of people that books cards and deploys together."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    webhook_url = models.URLField(blank=True, help_text="Notified before bookings end.")
    max_cards = models.PositiveIntegerField(default=8, help_text="Most cards booked at once.")
    max_card_hours_per_week = models.PositiveIntegerField(default=8 * 24 * 7)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        db_table = "fleet_team"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place in a team."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=TeamRole.choices, default=TeamRole.MEMBER)

    class Meta:
        db_table = "fleet_membership"
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"
