"""The audit log: every write to nodes, bookings, teams, recipes, deployments, jobs and tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from fleet.booking.choices import AuditAction, AuditObject
from fleet.choices import TeamRole
from fleet.models import Card, Node
from fleet.validators import as_id

from .booking import Booking
from .team import Team


class AuditEntryQuerySet(models.QuerySet):
    def visible_to(self, user) -> AuditEntryQuerySet:
        """Everything for site admins; a team admin sees the entries of the teams they run."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(team__memberships__user=user, team__memberships__role=TeamRole.ADMIN)

    def by_actor(self, value: str) -> AuditEntryQuerySet:
        """Entries by a user named by username or id; 'automatic' for entries without one."""
        value = (value or "").strip()
        if not value:
            return self
        if value == "automatic":
            return self.filter(actor__isnull=True)
        match = models.Q(actor__username=value)
        pk = as_id(value)
        if pk is not None:
            match |= models.Q(actor_id=pk)
        return self.filter(match)


class AuditEntry(models.Model):
    """Who did what, when and why, to which object (type, id and a readable label)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for automatic actions.",
    )
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(
        max_length=20, choices=AuditObject.choices, blank=True, db_index=True
    )
    object_id = models.CharField(
        max_length=64, blank=True, help_text="The object's id (a token's public id)."
    )
    object_label = models.CharField(
        max_length=200, blank=True, help_text="A readable name, kept after the object is gone."
    )
    summary = models.CharField(max_length=500)
    reason = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True, help_text="field: [before, after]")
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    booking = models.ForeignKey(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries"
    )
    node = models.ForeignKey(
        Node, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    card = models.ForeignKey(
        Card, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        db_table = "fleet_auditentry"
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()}: {self.summary}"
