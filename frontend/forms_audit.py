"""The audit page's filter form: shape only; what a user may see is the queryset's business."""

from __future__ import annotations

from django import forms

from fleet.booking.choices import AuditAction, AuditObject
from fleet.booking.models import Team
from fleet.choices import TeamRole
from frontend.forms_booking import LOCAL_INPUT, MomentField


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
        teams = Team.objects.order_by("name")
        if user is not None and not user.is_superuser:
            # Only the teams whose log this team admin reads: other teams' names stay private.
            teams = teams.filter(memberships__user=user, memberships__role=TeamRole.ADMIN)
        self.fields["team"].queryset = teams
