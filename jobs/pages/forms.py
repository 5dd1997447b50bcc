"""The deploy form: a recipe version, one of the team's active bookings, and optional cards."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.http import QueryDict
from django.utils import timezone

from fleet.booking.choices import LIVE_STATUSES
from fleet.booking.models import Booking
from fleet.reachability import failed_node_checks, node_problem, reachable
from fleet.validators import as_id
from jobs.catalog.choices import RecipeKind
from jobs.catalog.models import RecipeVersion


def deployable_versions(user: Any):
    """Versions of the live inference recipes the user can read, newest version first."""
    return (
        RecipeVersion.objects.visible_to(user)
        .filter(recipe__kind=RecipeKind.INFERENCE, recipe__archived=False)
        .select_related("recipe__team", "recipe__current_version")
        .order_by("recipe__name", "recipe_id", "-number")
    )


def active_bookings(user: Any):
    """The user's teams' bookings that hold their cards right now (all of them for admins)."""
    now = timezone.now()
    return (
        Booking.objects.visible_to(user)
        .filter(status__in=LIVE_STATUSES, start__lte=now, end__gt=now)
        .with_cards()
        .order_by("end", "pk")
    )


class VersionChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: RecipeVersion) -> str:
        current = " (current)" if obj.recipe.current_version_id == obj.pk else ""
        tp = obj.tensor_parallel_size or 1
        return f"{obj.recipe.name} v{obj.number}{current} · TP {tp} · {obj.recipe.team.name}"


class BookingChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Booking) -> str:
        cards = ", ".join(str(d) for d in obj.devices)
        until = timezone.localtime(obj.end).strftime("%Y-%m-%d %H:%M")
        label = f"#{obj.pk} · {obj.team.name} · {obj.node.name} · cards {cards} · until {until}"
        if not reachable(obj.node):
            return f"{label} · node unreachable"
        failed = failed_node_checks(obj.node)
        if failed:
            return f"{label} · preflight fails ({', '.join(c['name'] for c in failed)})"
        return label


class DeployForm(forms.Form):
    """Shape only: `jobs.services.deployments.deploy` decides whether the launch may go ahead."""

    recipe_version = VersionChoice(RecipeVersion.objects.none(), empty_label=None)
    booking = BookingChoice(
        Booking.objects.none(),
        empty_label=None,
        error_messages={
            "invalid_choice": "That booking is not an active booking of your team; pick one "
            "of the bookings listed, or book cards first."
        },
    )
    cards = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: the booking's first cards, as many as the recipe's TP.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        cast(VersionChoice, self.fields["recipe_version"]).queryset = deployable_versions(user)
        cast(BookingChoice, self.fields["booking"]).queryset = active_bookings(user)
        self.picked = self._picked_booking()
        devices = self.picked.devices if self.picked else []
        cast(forms.ChoiceField, self.fields["cards"]).choices = [
            (d, f"davinci{d}") for d in devices
        ]
        # Cards of a node that does not answer, or fails preflight, are not offered.
        self.node_problem = node_problem(self.picked.node) if self.picked else ""
        if self.node_problem:
            self.fields["cards"].disabled = True
            self.fields["cards"].help_text = self.node_problem

    def _picked_booking(self) -> Booking | None:
        """The booking chosen so far (bound data, else the initial one, else the first)."""
        bookings = cast(BookingChoice, self.fields["booking"]).queryset
        assert bookings is not None  # set by __init__
        ref = self.data.get("booking") if self.is_bound else self.initial.get("booking")
        booking_id = as_id(ref)
        found = bookings.filter(pk=booking_id).first() if booking_id is not None else None
        return found if found or self.is_bound else bookings.first()

    def clean(self) -> dict[str, Any]:
        """Ticked cards must have been offered for the booking now chosen."""
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        booking = data.get("booking")
        if data.get("cards") and booking and self.data.get("cards_for") != str(booking.pk):
            self.add_error(
                "cards",
                "These cards were offered for another booking; tick cards "
                f"of booking #{booking.pk} again.",
            )
        return data

    def picked_cards(self) -> list[int]:
        """Ticked cards that belong to the chosen booking (stale ticks are dropped)."""
        if self.picked is None:
            return []
        held = set(self.picked.devices)
        bound = cast(QueryDict, self.data)  # a bound form's data is a QueryDict
        raw = bound.getlist("cards") if self.is_bound else self.initial.get("cards", [])
        return sorted({n for n in map(as_id, raw) if n is not None and n in held})
