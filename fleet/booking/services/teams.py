"""Team settings (quotas, webhook) and a user's display time zone."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from fleet.booking import permissions
from fleet.booking.choices import AuditAction
from fleet.booking.errors import BookingInvalid, BookingNotAllowed
from fleet.booking.middleware import zone_named
from fleet.booking.models import Team
from fleet.booking.permissions import Action
from fleet.booking.services import audit, webhooks
from fleet.models import UserProfile


def is_team_admin(user: Any, team: Team) -> bool:
    """A site admin, or an admin of this team."""
    return permissions.may(user, Action.MANAGE, team)


@transaction.atomic
def update_team(
    user: Any,
    team: Team,
    *,
    max_cards: int | None = None,
    max_card_hours_per_week: int | None = None,
    webhook_url: str | None = None,
    reason: str = "",
) -> Team:
    """Set a team's quotas (site admins) or its webhook URL (site admins and team admins)."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    quotas = {"max_cards": max_cards, "max_card_hours_per_week": max_card_hours_per_week}
    if any(v is not None for v in quotas.values()) and not user.is_superuser:
        raise BookingNotAllowed("Only a site admin can change a team's quotas.")
    if webhook_url is not None and not is_team_admin(user, team):
        raise BookingNotAllowed(f"Only an admin of team {team.name} can change its webhook.")
    changes: dict[str, tuple] = {}
    for name, value in quotas.items():
        if value is None:
            continue
        if value < 0:
            raise BookingInvalid(f"{name} cannot be negative.", field=name)
        if value != getattr(team, name):
            changes[name] = (getattr(team, name), value)
    if webhook_url is not None:
        webhook_url = webhook_url.strip()
        if webhook_url:
            try:
                URLValidator(schemes=["http", "https"])(webhook_url)
            except ValidationError:
                raise BookingInvalid(
                    "The webhook must be an http(s) URL, e.g. https://chat.example.com/hook/abc.",
                    field="webhook_url",
                ) from None
            webhooks.check_url(webhook_url)  # every address it resolves to must be public
        if webhook_url != team.webhook_url:
            changes["webhook_url"] = (team.webhook_url, webhook_url)
    if not changes:
        return team
    for name, (_, after) in changes.items():
        setattr(team, name, after)
    team.save(update_fields=list(changes))
    audit.record(
        AuditAction.TEAM,
        user,
        f"Team {team.name}: changed {', '.join(changes)}",
        team=team,
        reason=reason,
        changes=changes,
    )
    return team


def set_time_zone(user: Any, name: str) -> UserProfile:
    """Remember the zone the user's pages show times in ('' for the site's zone)."""
    name = (name or "").strip()
    if name and zone_named(name) is None:
        raise BookingInvalid(
            f"Unknown time zone {name!r}: use an IANA name such as Asia/Shanghai or UTC.",
            field="time_zone",
        )
    profile, _ = UserProfile.objects.update_or_create(user=user, defaults={"time_zone": name})
    return profile
