"""Bookings of NPU cards, the card rows that back the no-overlap rule, and team notifications."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from fleet.booking.choices import LIVE_STATUSES, BookingStatus, EndReason, NotificationKind
from fleet.models import Card, Node

from .team import Team

# Name of the PostgreSQL exclusion constraint on booked cards (added by fleet migration 0003).
NO_OVERLAP_CONSTRAINT = "booked_card_no_overlap"


class BookingQuerySet(models.QuerySet):
    def visible_to(self, user) -> BookingQuerySet:
        """Bookings of the user's teams (every booking for a site admin)."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(team__in=Team.objects.of_user(user).values("pk"))

    def live(self) -> BookingQuerySet:
        """Upcoming and active bookings: the ones that hold their cards."""
        return self.filter(status__in=LIVE_STATUSES)

    def overlapping(self, start: datetime, end: datetime) -> BookingQuerySet:
        """Bookings whose [start, end) window meets [start, end)."""
        return self.filter(start__lt=end, end__gt=start)

    def with_cards(self) -> BookingQuerySet:
        """Team, node, author and booked cards loaded in a fixed number of queries."""
        return self.select_related("team", "node", "created_by").prefetch_related(
            models.Prefetch("booked_cards", BookedCard.objects.select_related("card"))
        )


class Booking(models.Model):
    """A team's hold on a set of cards of one node for a time window [start, end)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="bookings")
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="bookings")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    purpose = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=BookingStatus.choices, default=BookingStatus.UPCOMING
    )
    ended_at = models.DateTimeField(null=True, blank=True, help_text="When it really ended.")
    end_reason = models.CharField(max_length=10, choices=EndReason.choices, blank=True)
    allocation_note = models.CharField(max_length=300, blank=True)
    override_reason = models.CharField(max_length=300, blank=True)
    deployment_seen_at = models.DateTimeField(null=True, blank=True)
    warnings_sent = models.JSONField(default=list, blank=True, help_text="Minutes already warned.")
    containers_stopped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BookingQuerySet.as_manager()

    class Meta:
        db_table = "fleet_booking"
        ordering = ["start", "pk"]
        indexes = [
            models.Index(fields=["status", "end"], name="booking_status_end"),
            models.Index(fields=["team", "start"], name="booking_team_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="booking_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"booking #{self.pk} of {self.team} on {self.node}"

    @property
    def devices(self) -> list[int]:
        """The booked /dev/davinciN numbers, in order."""
        return sorted(bc.card.device for bc in self.booked_cards.all())

    @property
    def strangers(self) -> list[str]:
        """What holds the booking's cards without the dashboard having started it for this
        booking (per the last probe): foreign processes and other containers."""
        return self._strangers(shown=False)

    @property
    def shown_strangers(self) -> list[str]:
        """`strangers` as the viewer may see them, once `fleet.booking.permissions.redact_cards` has
        set `shown_containers`/`shown_processes` on the booked cards (see
        `fleet.booking.services.cards.show_strangers`): another team's holders are not named."""
        return self._strangers(shown=True)

    def _strangers(self, *, shown: bool) -> list[str]:
        found: list[str] = []
        for booked in self.booked_cards.all():
            card = booked.card
            on = f"on davinci{card.device}"
            containers = getattr(card, "shown_containers", []) if shown else card.containers
            processes = getattr(card, "shown_processes", []) if shown else card.processes
            for entry in containers:
                if entry.get("busy"):  # another team's: only what kind of holder it is
                    if entry.get("managed"):
                        found.append(f"another team's dashboard container {on}")
                    else:
                        found.append(f"a container outside the dashboard {on}")
                    continue
                mine = entry.get("managed") and str(entry.get("booking", "")) in ("", str(self.pk))
                if not mine:
                    found.append(f"container {entry.get('name')} {on}")
            for proc in processes:
                if proc.get("busy"):
                    if not proc.get("managed"):
                        found.append(f"a process outside the dashboard {on}")
                elif not proc.get("container"):
                    found.append(f"pid {proc.get('pid')} {on}")
        return list(dict.fromkeys(found))

    @property
    def is_live(self) -> bool:
        """Upcoming or active: it still holds its cards."""
        return self.status in LIVE_STATUSES

    @property
    def held_until(self) -> datetime:
        """End of the time the cards were really held (earlier than `end` if cut short)."""
        if self.ended_at is not None and self.ended_at < self.end:
            return max(self.ended_at, self.start)
        return self.end


class BookedCardQuerySet(models.QuerySet):
    def holding(self) -> BookedCardQuerySet:
        """Rows that still hold their card (not cancelled or released)."""
        return self.filter(released=False)

    def overlapping(self, start: datetime, end: datetime) -> BookedCardQuerySet:
        """Rows whose [start, end) meets [start, end)."""
        return self.filter(start__lt=end, end__gt=start)


class BookedCard(models.Model):
    """One card of a booking, with the booking's window copied so one constraint guards overlap."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="booked_cards")
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="booked_cards")
    start = models.DateTimeField()
    end = models.DateTimeField()
    released = models.BooleanField(default=False, help_text="Cancelled or released early.")

    objects = BookedCardQuerySet.as_manager()

    class Meta:
        db_table = "fleet_bookedcard"
        ordering = ["booking", "card__device"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "card"], name="one_row_per_booked_card"),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="booked_card_end_after_start"
            ),
        ]
        indexes = [models.Index(fields=["card", "start", "end"], name="booked_card_window")]

    def __str__(self) -> str:
        return f"{self.card} for booking #{self.booking_id}"


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, user) -> NotificationQuerySet:
        """Notifications of the user's teams (all of them for a site admin)."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(team__in=Team.objects.of_user(user).values("pk"))


class Notification(models.Model):
    """A message to a team, shown in the app and posted to the team's webhook."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="notifications")
    booking = models.ForeignKey(
        Booking, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    kind = models.CharField(max_length=10, choices=NotificationKind.choices)
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read = models.BooleanField(default=False)
    webhook_status = models.CharField(max_length=200, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        db_table = "fleet_notification"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.team}: {self.text}"
