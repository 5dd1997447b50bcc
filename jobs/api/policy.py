"""Container policy endpoints: allowed image registries and per-recipe exceptions.

Everyone signed in reads both (a refused deploy names the rule; the caller can see why).
Only site admins add or remove them, and every change is audited with its reason.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from fleet.api.permissions import AdminWritesOthersRead
from jobs import policy
from jobs.catalog.models import Recipe
from jobs.models import AllowedImagePrefix, PolicyException
from jobs.services import policy as policy_services


class AllowedImagePrefixSerializer(serializers.ModelSerializer):
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = AllowedImagePrefix
        fields = ["id", "prefix", "note", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]
        extra_kwargs: dict[str, Any] = {"prefix": {"validators": []}}


class PolicyExceptionSerializer(serializers.ModelSerializer):
    rule = serializers.ChoiceField(choices=list(policy.EXCEPTABLE))
    recipe = serializers.PrimaryKeyRelatedField(queryset=Recipe.objects.all())
    granted_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = PolicyException
        fields = ["id", "recipe", "rule", "value", "reason", "granted_by", "created_at"]
        read_only_fields = ["id", "granted_by", "created_at"]
        validators: list = []


class AllowedImagePrefixViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Registry or repository prefixes whose images any team may run."""

    serializer_class = AllowedImagePrefixSerializer
    permission_classes = [AdminWritesOthersRead]

    def get_queryset(self):
        return AllowedImagePrefix.objects.select_related("created_by").order_by("prefix")

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        serializer.instance = policy_services.allow_registry(
            self.request.user, data["prefix"], note=data.get("note", "")
        )

    def perform_destroy(self, instance: AllowedImagePrefix) -> None:
        policy_services.disallow_registry(self.request.user, instance)


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("recipe", int, description="Recipe id.")])
)
class PolicyExceptionViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Exceptions a site admin granted: one recipe may break one rule for one value."""

    serializer_class = PolicyExceptionSerializer
    permission_classes = [AdminWritesOthersRead]

    def get_queryset(self):
        rows = PolicyException.objects.select_related("granted_by", "recipe").filter(
            recipe__in=Recipe.objects.visible_to(self.request.user)
        )
        recipe = self.request.query_params.get("recipe", "")
        if recipe.isdigit() and len(recipe) < 12:
            rows = rows.filter(recipe_id=int(recipe))
        return rows.order_by("recipe_id", "rule", "value")

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        recipe = get_object_or_404(Recipe.objects.visible_to(request.user), pk=data["recipe"].pk)
        row = policy_services.grant_exception(
            request.user, recipe, rule=data["rule"], value=data["value"], reason=data["reason"]
        )
        return Response(self.get_serializer(row).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: PolicyException) -> None:
        reason = str(self.request.query_params.get("reason", ""))[:500]
        policy_services.revoke_exception(self.request.user, instance, reason=reason)
