"""Django admin for the container policy: allowed registries and per-recipe exceptions."""

from __future__ import annotations

from django.contrib import admin

from jobs.models import AllowedImagePrefix, PolicyException
from jobs.services import policy as policy_services


@admin.register(AllowedImagePrefix)
class AllowedImagePrefixAdmin(admin.ModelAdmin):
    """Registries whose images any team may run; adding and removing is audited."""

    list_display = ("prefix", "note", "created_by", "created_at")
    fields = ("prefix", "note")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # add or delete: a changed prefix is a different rule

    def save_model(self, request, obj, form, change) -> None:
        saved = policy_services.allow_registry(request.user, obj.prefix, note=obj.note)
        obj.pk = saved.pk

    def delete_model(self, request, obj) -> None:
        policy_services.disallow_registry(request.user, obj)

    def delete_queryset(self, request, queryset) -> None:
        for row in queryset:
            policy_services.disallow_registry(request.user, row)


@admin.register(PolicyException)
class PolicyExceptionAdmin(admin.ModelAdmin):
    """Per-recipe exceptions to the container policy, each with its reason (audited)."""

    list_display = ("recipe", "rule", "value", "granted_by", "created_at")
    list_filter = ("rule",)
    fields = ("recipe", "rule", "value", "reason")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        saved = policy_services.grant_exception(
            request.user, obj.recipe, rule=obj.rule, value=obj.value, reason=obj.reason
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj) -> None:
        policy_services.revoke_exception(request.user, obj)

    def delete_queryset(self, request, queryset) -> None:
        for row in queryset:
            policy_services.revoke_exception(request.user, row)
