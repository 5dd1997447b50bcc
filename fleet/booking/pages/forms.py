"""Forms of the booking pages: shape only; the booking services decide."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from functools import cache
from typing import cast

from django import forms
from django.utils import timezone

from fleet.booking import permissions
from fleet.booking.choices import (
    EARLIEST_MOMENT,
    LATEST_MOMENT,
    MOMENT_RANGE_TEXT,
)
from fleet.booking.models import Team
from fleet.models import Node

LOCAL_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
# Booking starts are offered on quarter hours (the shortest booking is a quarter of an hour);
# the rules accept any minute from now on (fleet.booking.services.rules.check_window), so this
# is always valid.
START_STEP = timedelta(minutes=15)


def next_start(now: datetime | None = None) -> datetime:
    """The first quarter hour from now on, in the user's zone: a start the rules accept."""
    local = timezone.localtime(now or timezone.now())
    step = int(START_STEP.total_seconds() // 60)
    floor = local.replace(minute=local.minute - local.minute % step, second=0, microsecond=0)
    return floor if floor == local else timezone.localtime(floor + START_STEP)


class MomentField(forms.DateTimeField):
    """A date and time in the user's zone, refused outside the range bookings may use."""

    default_error_messages = {
        "invalid": "Enter a date and time, e.g. 2025-06-01 09:00.",
        "range": f"Give a date and time {MOMENT_RANGE_TEXT}.",
    }

    def to_python(self, value):
        try:
            moment = super().to_python(value)
        except OverflowError:  # a zone shift past year 1 or 9999
            raise forms.ValidationError(self.error_messages["range"], code="range") from None
        if moment is not None and not EARLIEST_MOMENT <= moment < LATEST_MOMENT:
            raise forms.ValidationError(self.error_messages["range"], code="range")
        return moment


@cache
def zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone, for the time zone picker."""
    return [("", "Site default")] + [(z, z) for z in sorted(zoneinfo.available_timezones())]


def team_field(user) -> forms.ModelChoiceField:
    """The teams the user may book for."""
    return forms.ModelChoiceField(permissions.teams_of(user), empty_label=None)


class BookForm(forms.Form):
    """Book cards of one node: by hand (timeline) or as offered by the availability search."""

    team = forms.ModelChoiceField(Team.objects.none(), empty_label=None)
    cards = forms.TypedMultipleChoiceField(
        coerce=int, widget=forms.CheckboxSelectMultiple, help_text="Click free slots to pick."
    )
    start = MomentField(widget=LOCAL_INPUT, help_text="In your time zone.")
    hours = forms.FloatField(min_value=0.25, max_value=24 * 90, initial=2)
    purpose = forms.CharField(max_length=200)
    override_reason = forms.CharField(
        max_length=300, required=False, label="Quota override reason (site admins)"
    )

    def __init__(self, *args, user, devices: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"] = team_field(user)
        cast(forms.ChoiceField, self.fields["cards"]).choices = [(d, str(d)) for d in devices]
        if not user.is_superuser:
            del self.fields["override_reason"]


class ExtendForm(forms.Form):
    hours = forms.FloatField(min_value=0.25, max_value=24 * 30, initial=1, label="Add hours")

    def problem(self) -> str:
        """What is wrong with the input, naming the field and the fix."""
        errors = self.errors.get("hours") or ["Enter a number of hours."]
        return f"Add hours: {' '.join(str(e) for e in errors)} Give 0.25 to {24 * 30} hours."


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=300, required=False)


class FindForm(forms.Form):
    """ "Find me N cards for H hours": the fleet-wide availability search."""

    count = forms.TypedChoiceField(
        coerce=int, choices=[(n, str(n)) for n in (1, 2, 4, 8)], initial=2, label="Cards"
    )
    hours = forms.FloatField(min_value=0.25, max_value=24 * 90, initial=2)
    earliest = MomentField(widget=LOCAL_INPUT, required=False, help_text="Blank: now.")
    nodes = forms.ModelMultipleChoiceField(
        Node.objects.none(), required=False, help_text="Blank: the whole fleet."
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        nodes = cast(forms.ModelMultipleChoiceField, self.fields["nodes"])
        nodes.queryset = Node.objects.visible_to(user)


class MoveForm(forms.Form):
    node = forms.ModelChoiceField(Node.objects.none(), empty_label=None, label="Move to")
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["node"]).queryset = Node.objects.visible_to(user)


class CordonForm(forms.Form):
    node = forms.ModelChoiceField(Node.objects.all(), empty_label=None)
    cards = forms.CharField(
        required=False, help_text="Device numbers, e.g. 3 or 3,5; blank for the whole node."
    )
    reason = forms.CharField(max_length=300, required=False)

    def clean_cards(self) -> list[int] | None:
        text = self.cleaned_data["cards"].replace(" ", "")
        if not text:
            return None
        try:
            return sorted({int(part) for part in text.split(",")})
        except ValueError:
            raise forms.ValidationError("List device numbers separated by commas.") from None


class TeamSettingsForm(forms.Form):
    """Quotas (site admins) and the webhook (team admins too) of one team."""

    max_cards = forms.IntegerField(min_value=0, required=False, label="Cards at once")
    max_card_hours_per_week = forms.IntegerField(
        min_value=0, required=False, label="Card-hours per week"
    )
    webhook_url = forms.CharField(max_length=200, required=False, label="Webhook URL")
    reason = forms.CharField(max_length=300, required=False)


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(choices=zone_choices, required=False)
