"""POST /api/v1/serve/: serve a catalog model for a team for some hours, in one call.

A dry run answers the plan (200): the cards, tensor-parallel size and max-model-len the card
table gives, the earliest fitting cards and why each was chosen. Otherwise the same plan is
booked and deployed in one transaction (201) and the answer names the booking, the recipe
version, the deployment and the job to follow; any refusal names its fix and leaves nothing.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from fleet.api.fields import as_id, bounded_float
from fleet.booking.models import Team
from fleet.errors import Invalid
from jobs.catalog.api.recipe_serializers import MessageSerializer
from jobs.services.serve import plan_serving, serve_model

MAX_HOURS = 24 * 366


class ServeRequestSerializer(serializers.Serializer):
    model = serializers.CharField(
        max_length=200, help_text="A model of the catalog's card table, e.g. qwen2-72b."
    )
    team = serializers.CharField(
        max_length=80, help_text="One of your teams: its id, slug or name."
    )
    hours = bounded_float(0.01, MAX_HOURS, help_text="How long to serve, from now.")
    vllm_version = serializers.CharField(
        max_length=20, required=False, help_text="The card table's vLLM version (default 0.6.0)."
    )
    image = serializers.CharField(
        max_length=400,
        required=False,
        allow_blank=True,
        help_text="The vLLM serving image; default: JOBS_SERVE_IMAGE, else the image of the "
        "team's newest recipe for the model (or of the same vLLM version).",
    )
    weights_path = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text="The weights folder on the node; default: the team's recipe for the model, "
        "else <node weights folder>/<model>.",
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Only answer the plan; book and deploy nothing."
    )


class PlanStepSerializer(serializers.Serializer):
    step = serializers.CharField(help_text="size, cards, window, quota, image, weights, ...")
    text = serializers.CharField()


class ServePlanSerializer(serializers.Serializer):
    model = serializers.CharField(help_text="The model as the card table spells it.")
    vllm_version = serializers.CharField()
    team = serializers.IntegerField()
    team_name = serializers.CharField()
    hours = serializers.FloatField()
    card_gb = serializers.IntegerField(help_text="The card-table column used: 32 or 64 GB.")
    cards = serializers.IntegerField()
    tensor_parallel_size = serializers.IntegerField()
    max_model_len = serializers.IntegerField(help_text="In tokens (the table's K is 1024).")
    quantization = serializers.CharField(allow_null=True)
    node = serializers.IntegerField()
    node_name = serializers.CharField()
    devices = serializers.ListField(child=serializers.IntegerField())
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    image = serializers.CharField()
    weights_path = serializers.CharField()
    port = serializers.IntegerField()
    recipe_name = serializers.CharField()
    explanation = serializers.ListField(
        child=serializers.CharField(), help_text="Why each choice, one sentence per step."
    )
    steps = PlanStepSerializer(many=True)
    warnings = MessageSerializer(many=True)
    not_offered = serializers.DictField(
        child=serializers.CharField(), help_text="Node name: why it was not chosen."
    )


class ServeDryRunSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    plan = ServePlanSerializer()


class ServeResultSerializer(serializers.Serializer):
    booking = serializers.IntegerField()
    recipe = serializers.IntegerField()
    recipe_version = serializers.IntegerField()
    deployment = serializers.IntegerField()
    job = serializers.IntegerField(help_text="Follow it at /api/v1/jobs/{job}/.")
    plan = ServePlanSerializer()


def find_team(user: Any, ref: str) -> Team:
    """One of the user's teams by id, slug or name; a 400 naming the user's teams otherwise."""
    mine = Team.objects.of_user(user)
    pk = as_id(ref)
    team = (
        mine.filter(pk=pk).first()
        if pk is not None
        else (mine.filter(slug=ref).first() or mine.filter(name=ref).first())
    )
    if team is None:
        names = ", ".join(mine.order_by("name").values_list("name", flat=True)[:20])
        hint = f"use one of yours: {names}" if names else "ask a team admin to add you to a team"
        raise Invalid(f"Team {ref!r} is not one of your teams: {hint}.", field="team")
    return team


class ServeViewSet(viewsets.ViewSet):
    """Serve a catalog model: plan (dry run) or book and deploy in one call."""

    @extend_schema(
        request=ServeRequestSerializer,
        responses={200: ServeDryRunSerializer, 201: ServeResultSerializer},
    )
    def create(self, request):
        body = ServeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        args = {
            "team": find_team(request.user, data["team"]),
            "model": data["model"],
            "hours": data["hours"],
            "vllm_version": data.get("vllm_version"),
            "image": data.get("image", ""),
            "weights_path": data.get("weights_path", ""),
        }
        if data["dry_run"]:
            plan = plan_serving(request.user, **args)
            return Response({"dry_run": True, "plan": ServePlanSerializer(plan.as_dict()).data})
        served = serve_model(request.user, **args)
        answer = {
            "booking": served.booking.pk,
            "recipe": served.recipe_version.recipe_id,
            "recipe_version": served.recipe_version.pk,
            "deployment": served.deployment.pk,
            "job": served.job.pk,
            "plan": ServePlanSerializer(served.plan.as_dict()).data,
        }
        return Response(answer, status=status.HTTP_201_CREATED)
