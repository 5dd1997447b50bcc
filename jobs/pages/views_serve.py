"""Serve a model: pick a catalog model, a team and how long; see the plan; book and deploy.

The plan is a GET (it writes nothing); "Book and deploy" posts the same choices, and the same
plan is made again and booked and deployed in one transaction, then the job page follows the
deployment live until it ends on the endpoint with its latencies (jobs/_endpoint.html, one of
the job page's live fragments).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from fleet.booking.models import Team
from fleet.errors import DomainError, NotAllowed
from jobs.catalog.choices import DEFAULT_VLLM_VERSION
from jobs.catalog.services.catalog import DbCatalog
from jobs.services.serve import catalog_models, plan_serving, serve_model

MAX_HOURS = 24 * 366


def _model_choices() -> list[tuple[str, str]]:
    """Card-table models of every vLLM version, the default version's first."""
    versions = [DEFAULT_VLLM_VERSION, *DbCatalog().vllm_versions()]
    seen: dict[str, str] = {}
    for version in dict.fromkeys(versions):
        try:
            for key, label in catalog_models(version):
                seen.setdefault(key, label)
        except DomainError:  # a version without a card table
            continue
    return list(seen.items())


class ServeForm(forms.Form):
    model = forms.ChoiceField(help_text="From the catalog's card table (cards on 32 / 64 GB).")
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    hours = forms.FloatField(
        min_value=0.01, max_value=MAX_HOURS, initial=2, help_text="How long to serve, from now."
    )
    vllm_version = forms.ChoiceField(label="vLLM version")
    image = forms.CharField(
        required=False,
        max_length=400,
        help_text="Blank: the team's recipe image for the model (or JOBS_SERVE_IMAGE).",
    )
    weights_path = forms.CharField(
        required=False,
        max_length=255,
        label="Weights folder",
        help_text="Blank: the team's recipe for the model, else <node weights folder>/<model>.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = Team.objects.of_user(user).order_by("name")
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams
        cast(forms.ChoiceField, self.fields["model"]).choices = _model_choices()
        versions = DbCatalog().vllm_versions()
        cast(forms.ChoiceField, self.fields["vllm_version"]).choices = [(v, v) for v in versions]
        self.fields["vllm_version"].initial = DEFAULT_VLLM_VERSION

    def service_args(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "team": data["team"],
            "model": data["model"],
            "hours": data["hours"],
            "vllm_version": data["vllm_version"],
            "image": data["image"],
            "weights_path": data["weights_path"],
        }


def _refused(form: ServeForm, exc: DomainError) -> None:
    """A refusal on the field it names (or above the form), with its fix."""
    if isinstance(exc, NotAllowed):
        raise PermissionDenied(exc.message) from None
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
def serve(request: HttpRequest) -> HttpResponse:
    """GET: the form, and the plan once chosen. POST: book and deploy, then the job page."""
    status = 200
    plan = None
    if request.method == "POST":
        form = ServeForm(request.POST, user=request.user)
        status = 400
        if form.is_valid():
            try:
                served = serve_model(request.user, **form.service_args())
            except DomainError as exc:
                _refused(form, exc)
                status = exc.status_code
            else:
                plan = served.plan
                messages.success(
                    request,
                    f"Booked {plan.node.name} cards {', '.join(map(str, plan.devices))} until "
                    f"{plan.end:%H:%M} and deploying {plan.model} (deployment "
                    f"{served.deployment.pk}).",
                )
                return redirect("job-page", served.job.pk)
    elif "model" in request.GET:
        form = ServeForm(request.GET, user=request.user)
        status = 400
        if form.is_valid():
            try:
                plan = plan_serving(request.user, **form.service_args())
                status = 200
            except DomainError as exc:
                _refused(form, exc)
                status = exc.status_code
    else:
        form = ServeForm(user=request.user, initial={"hours": 2})
    teams = cast(forms.ModelChoiceField, form.fields["team"]).queryset
    has_teams = teams is not None and teams.exists()
    context = {"form": form, "plan": plan, "has_teams": has_teams}
    return render(request, "jobs/serve.html", context, status=status)
