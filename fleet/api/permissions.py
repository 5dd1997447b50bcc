"""API permissions shared by the fleet and jobs apps."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission


class AdminWritesOthersRead(BasePermission):
    """Everyone signed in reads; only site admins change."""

    message = "Only site admins may change this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or user.is_superuser
