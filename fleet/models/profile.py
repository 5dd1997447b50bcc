"""Per-user preferences."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class UserProfile(models.Model):
    """A user's display preferences: the time zone bookings are shown in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="fleet_profile"
    )
    time_zone = models.CharField(
        max_length=64, blank=True, help_text="IANA name, e.g. Asia/Shanghai."
    )

    def __str__(self) -> str:
        return f"{self.user} ({self.time_zone or 'site default'})"
