"""Who may read and act on what: membership and role checks in one place, made at use.

Nothing here is cached on a row or a session: every check reads the memberships as they are
now, so a member removed from a team loses access to its jobs, logs, deployments and builds at
once. Querysets filter with `team_filter` (their `visible_to`), services call `require`, and
pages and the API show other teams' card holders through `Viewer` and `redact_cards` (fleet's
own pages and API through `fleet.holders`, where BookingConfig.ready() registers it). Every
"is this user in that team / an admin of it / in any team" question is answered here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from fleet.booking.models import BookedCard, Booking, Membership, Team
from fleet.choices import TeamRole
from fleet.errors import NotAllowed


class Action(StrEnum):
    """What an actor wants to do with an object."""

    READ = "read"  # see it, its log, its status
    ACT = "act"  # cancel, retry, stop, restart, remove, build for the team
    MANAGE = "manage"  # change the team's own settings (team admins)


def user_group(user_id: int) -> str:
    """Channels group of one user's open websockets, told when the user's access changes."""
    return f"user-{user_id}"


def membership_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Tell the user's open websockets to check their access again (once this commits)."""
    from django.db import transaction

    if kwargs.get("created"):
        return  # a new membership only adds access; sockets opened later see it
    user_id = instance.user_id
    transaction.on_commit(lambda: tell_user(user_id))


def tell_user(user_id: int) -> None:
    """Send `access.changed` to the user's websockets; a broken channel layer is only logged
    (the sockets also check again on their own every few seconds)."""
    import logging

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(user_group(user_id), {"type": "access.changed"})
    except Exception as exc:
        logging.getLogger(__name__).warning("could not tell user %s: %s", user_id, exc)


def team_ids(user: Any) -> frozenset[int]:
    """The teams the user belongs to now (none for anonymous users)."""
    if user is None or not user.is_authenticated:
        return frozenset()
    return frozenset(Membership.objects.filter(user=user).values_list("team_id", flat=True))


def team_filter(user: Any, field: str = "team") -> Q:
    """Rows whose `field` is a team the user belongs to now (for `visible_to` querysets)."""
    return Q(**{f"{field}__memberships__user": user})


def is_member(user: Any, team: Any) -> bool:
    """A site admin, or a member of the team (a Team or its id) right now."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    team_id = getattr(team, "pk", team)
    return team_id is not None and Membership.objects.filter(team_id=team_id, user=user).exists()


def is_team_admin(user: Any, team: Any) -> bool:
    """A site admin, or an admin of the team (a Team or its id) right now."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    team_id = getattr(team, "pk", team)
    return Membership.objects.filter(team_id=team_id, user=user, role=TeamRole.ADMIN).exists()


def is_any_team_admin(user: Any) -> bool:
    """A site admin, or an admin of at least one team right now (who reads the audit log)."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user, role=TeamRole.ADMIN).exists()


def in_any_team(user: Any) -> bool:
    """A site admin, or a member of at least one team right now."""
    if user is None or not user.is_authenticated:
        return False
    return user.is_superuser or Membership.objects.filter(user=user).exists()


def teams_of(user: Any) -> QuerySet[Team]:
    """The teams the user acts for now: every team for a site admin, none when signed out."""
    if user is None or not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.of_user(user)


def admin_teams(user: Any) -> QuerySet[Team]:
    """The teams the user runs now: every team for a site admin, else those they are an admin
    of (none when signed out)."""
    if user is None or not user.is_authenticated:
        return Team.objects.none()
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user, memberships__role=TeamRole.ADMIN)


def roles(user: Any) -> dict[int, str]:
    """The user's role in each team they belong to now: {team id: role}."""
    if user is None or not user.is_authenticated:
        return {}
    return dict(Membership.objects.filter(user=user).values_list("team_id", "role"))


def _team_of(obj: Any) -> tuple[bool, int | None]:
    """(whether obj is a team, the team's id) of a Team or of anything with a `team_id`."""
    if isinstance(obj, Team):
        return True, obj.pk
    return False, getattr(obj, "team_id", None)


def may(actor: Any, action: Action | str, obj: Any) -> bool:
    """Whether `actor` may do `action` on `obj` (a Team, or a row with `team_id`) right now.

    Site admins may do everything. A team's rows are read and acted on by its current members;
    a team's settings are managed by its admins. A row without a team (say an admin's image
    removal) belongs to whoever requested it.
    """
    if actor is None or not actor.is_authenticated:
        return False
    if actor.is_superuser:
        return True
    action = Action(action)
    is_team, team_id = _team_of(obj)
    if action == Action.MANAGE:
        return is_team and is_team_admin(actor, team_id)
    if team_id is None:
        owner = getattr(obj, "requested_by_id", None)
        return owner is not None and owner == actor.pk
    return is_member(actor, team_id)


def require(
    actor: Any,
    action: Action | str,
    obj: Any,
    message: str | Callable[[], str] | None = None,
    *,
    field: str = "",
) -> None:
    """Refuse (403, NotAllowed) unless `may(actor, action, obj)`; the message says who may.

    `message` may be a function, called only on refusal (it may read related rows).
    """
    if may(actor, action, obj):
        return
    if callable(message):
        message = message()
    if message is None:
        is_team, team_id = _team_of(obj)
        team = obj if is_team else getattr(obj, "team", None)
        name = f"team {team.name}" if team is not None else "its requester"
        if Action(action) == Action.MANAGE:
            message = f"only admins of {name} and site admins may change it"
        elif team_id is None:
            message = "only its requester and site admins may do this"
        else:
            verb = "see" if Action(action) == Action.READ else "act on"
            message = f"only members of {name} and site admins may {verb} it"
    raise NotAllowed(message, field=field or None)


# Seeing other teams' work ------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who is looking: details of their own teams' work, only "busy" for everyone else's."""

    is_admin: bool
    teams: frozenset[int]

    @classmethod
    def of(cls, user: Any) -> Viewer:
        admin = bool(user is not None and user.is_authenticated and user.is_superuser)
        return cls(is_admin=admin, teams=team_ids(user))

    def owns(self, team_id: int | None) -> bool:
        """Whether the viewer sees the details of this team's work."""
        return self.is_admin or (team_id is not None and team_id in self.teams)

    @property
    def sees_team_names(self) -> bool:
        """Members see which team holds something (a clash names it too); outsiders do not."""
        return self.is_admin or bool(self.teams)

    def team_label(self, name: str) -> str:
        """The team's name, or "busy" for someone in no team."""
        return name if self.sees_team_names else "busy"


def _redacted(entry: dict[str, Any], team: str | None, *, process: bool) -> dict[str, Any]:
    """What everyone may know of another team's holder: that it is there (and its memory)."""
    shown: dict[str, Any] = {"busy": True, "team": team, "managed": bool(entry.get("managed"))}
    if process:
        shown["memory_mb"] = entry.get("memory_mb")
    return shown


def redact_cards(user: Any, cards: Iterable[Any]) -> list[Any]:
    """Set `shown_processes` and `shown_containers` on each card, as `user` may see them.

    A holder belongs to the team of the booking its container is labelled with, else to the
    team whose booking holds the card now. The viewer's own teams' holders (all of them for a
    site admin) show in full; any other shows as busy, without booking, container name or id,
    or pid. Three queries, however many cards.
    """
    rows = list(cards)
    viewer = Viewer.of(user)
    if viewer.is_admin:
        for card in rows:
            card.shown_processes = list(card.processes)
            card.shown_containers = list(card.containers)
        return rows
    labels = {
        str(entry["booking"])
        for card in rows
        for entry in (*card.processes, *card.containers)
        if str(entry.get("booking", "")).isdigit()
    }
    by_booking = {
        str(pk): (team_id, name)
        for pk, team_id, name in Booking.objects.filter(pk__in=[int(x) for x in labels])
        .values_list("pk", "team_id", "team__name")
        .iterator()
    }
    now = timezone.now()
    holder_of = {
        card_id: (team_id, name)
        for card_id, team_id, name in BookedCard.objects.holding()
        .filter(card__in=[c.pk for c in rows], start__lte=now, end__gt=now)
        .values_list("card_id", "booking__team_id", "booking__team__name")
    }

    def show(card: Any, entry: dict[str, Any], process: bool) -> dict[str, Any]:
        label = str(entry.get("booking", ""))
        if label:  # labelled by the dashboard: the booking's team, unknown if it is gone
            team_id, name = by_booking.get(label, (None, None))
        else:
            team_id, name = holder_of.get(card.pk, (None, None))
        if viewer.owns(team_id):
            return dict(entry)
        return _redacted(entry, name if name and viewer.sees_team_names else None, process=process)

    for card in rows:
        card.shown_processes = [show(card, p, True) for p in card.processes]
        card.shown_containers = [show(card, c, False) for c in card.containers]
    return rows
