"""The audit page's filter form: shape only; what a user may see is the queryset's business."""

from __future__ import annotations

from typing import cast

from django import forms

from fleet.booking import permissions
from fleet.booking.choices import AuditAction, AuditObject
from fleet.booking.models import Team
from fleet.booking.pages.forms import LOCAL_INPUT, MomentField


class AuditFilterForm(forms.Form):
    object_type = forms.ChoiceField(
        label="Object", choices=[("", "Any object"), *AuditObject.choices], required=False
    )
    action = forms.ChoiceField(choices=[("", "Any action"), *AuditAction.choices], required=False)
    team = forms.ModelChoiceField(Team.objects.none(), required=False, empty_label="Any team")
    actor = forms.CharField(
        label="Who",
        max_length=150,
        required=False,
        help_text="A username, or 'automatic'.",
        widget=forms.TextInput(attrs={"placeholder": "username"}),
    )
    since = MomentField(label="From", required=False, widget=LOCAL_INPUT)
    until = MomentField(label="Until", required=False, widget=LOCAL_INPUT)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the teams whose log this user reads: other teams' names stay private.
        teams = Team.objects.all() if user is None else permissions.admin_teams(user)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams.order_by("name")
