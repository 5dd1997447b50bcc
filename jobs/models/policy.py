"""The container policy's data: allowed image registries and per-recipe exceptions."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AllowedImagePrefix(models.Model):
    """A registry or repository prefix whose images any team may run (site admins edit it)."""

    prefix = models.CharField(
        max_length=255,
        unique=True,
        help_text="e.g. swr.cn-southwest-2.myhuaweicloud.com/atelier/ (matches the start).",
    )
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["prefix"]

    def __str__(self) -> str:
        return self.prefix


class PolicyException(models.Model):
    """A site admin's recorded exception: one recipe may break one rule for one value."""

    recipe = models.ForeignKey(
        "catalog.Recipe", on_delete=models.CASCADE, related_name="policy_exceptions"
    )
    rule = models.CharField(max_length=30)
    value = models.CharField(
        max_length=500, help_text="The image, host folder or flag the exception covers."
    )
    reason = models.TextField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recipe", "rule", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipe", "rule", "value"], name="one_exception_per_rule_value"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.value} for recipe {self.recipe_id}"
