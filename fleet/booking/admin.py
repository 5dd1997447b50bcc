"""Django admin: teams with their members (people management), and the audit log read-only.

Bookings, quotas and cordons change only through the booking services (pages and API), so
they are audited; here quotas and webhooks are shown, not edited.
"""

from __future__ import annotations

from django.contrib import admin

from fleet.booking.models import AuditEntry, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "max_cards", "max_card_hours_per_week"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["max_cards", "max_card_hours_per_week", "webhook_url", "created_at"]
    inlines = [MembershipInline]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "summary"]
    list_filter = ["action", "team"]
    search_fields = ["summary", "reason"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
