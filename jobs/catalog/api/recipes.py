"""Recipe endpoints: CRUD (edits make versions, DELETE archives), validate and render actions.

Everyone signed in reads every recipe; members of the owning team and site admins create,
edit and archive. Validation and rendering are reads: anyone who can see the recipe and the node.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from fleet.api.fields import as_id
from fleet.booking import permissions
from fleet.errors import Invalid
from fleet.models import Card, Node
from jobs.catalog.api.recipe_serializers import (
    DraftSerializer,
    RecipeCreateSerializer,
    RecipeSerializer,
    RecipeUpdateSerializer,
    RecipeVersionSerializer,
    RenderSerializer,
    ReviewSerializer,
)
from jobs.catalog.models import Recipe, RecipeVersion
from jobs.catalog.services import recipes
from jobs.catalog.services.placement import Placement, parse_cards, placement_for

TARGET_PARAMS = [
    OpenApiParameter(
        "node", str, description="Node id or name (default: a generic 8 x 64 GB node)."
    ),
    OpenApiParameter(
        "cards", str, description="Physical cards, e.g. 0,1 (default: the first free)."
    ),
    OpenApiParameter("version", int, description="Recipe version number (default: current)."),
]


def find_node(user: Any, ref: str | None) -> Node | None:
    """The visible node with this id or name, with its cards; None for the generic node."""
    if not ref:
        return None
    nodes = Node.objects.visible_to(user).prefetch_related(
        Prefetch("cards", Card.objects.order_by("device"))
    )
    pk = as_id(ref)
    node = (nodes.filter(pk=pk) if pk is not None else nodes.none()).first()
    node = node or nodes.filter(name=ref).first()
    if node is None:
        raise Invalid(f"no node {ref!r}", field="node")
    return node


def placement_from(user: Any, node_ref: str | None, cards_ref: str | None, count: int) -> Placement:
    """The placement named by `node` / `cards` parameters."""
    return placement_for(find_node(user, node_ref), parse_cards(cards_ref), count)


def _card_count(kind: str, content: dict[str, Any]) -> int:
    """How many cards the recipe runs on by default."""
    if kind == "training":
        return content.get("cards_per_node") or 8
    return content.get("tensor_parallel_size") or 1


def _review_body(messages: list, placement: Placement) -> dict[str, Any]:
    return {
        **recipes.split_messages(messages),
        "node": placement.label,
        "cards": list(placement.card_ids),
    }


class RecipeViewSet(viewsets.ModelViewSet):
    """Recipes with their current version. PATCH makes a new version; DELETE archives."""

    serializer_class = RecipeSerializer
    filterset_fields = ["team", "kind", "archived"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        rows = (
            Recipe.objects.visible_to(self.request.user)
            .select_related("team", "created_by", "current_version__created_by")
            .annotate(version_count=Count("versions"))
            .order_by("name", "pk")
        )
        if self.action == "list" and "archived" not in self.request.query_params:
            rows = rows.active()
        return rows

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        user = self.request.user
        if user.is_authenticated:
            context["my_teams"] = permissions.team_ids(user)
        return context

    def _reply(self, recipe: Recipe, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=recipe.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=RecipeCreateSerializer, responses={201: RecipeSerializer})
    def create(self, request, *args, **kwargs):
        """Create a recipe (version 1) for one of your teams; errors name their fields."""
        body = RecipeCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
        recipe = recipes.create_recipe(
            request.user,
            team=values.pop("team"),
            name=values.pop("name"),
            kind=values.pop("kind"),
            change_note=values.pop("change_note", ""),
            values=values,
        )
        return self._reply(recipe, status.HTTP_201_CREATED)

    @extend_schema(request=RecipeUpdateSerializer, responses=RecipeSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Edit: the given fields over the current version make version n+1 (none if unchanged)."""
        recipe = self.get_object()
        body = RecipeUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
        recipes.edit_recipe(
            request.user,
            recipe,
            values,
            name=values.pop("name", None),
            change_note=values.pop("change_note", ""),
        )
        return self._reply(recipe)

    def perform_destroy(self, instance):
        recipes.archive_recipe(self.request.user, instance)

    def _version(self, recipe: Recipe, number: str | None) -> RecipeVersion:
        if not number:
            assert recipe.current_version is not None
            return recipe.current_version
        wanted = as_id(number)
        if wanted is None:
            raise Invalid(f"version must be a whole number, not {number!r}", field="version")
        found = recipe.versions.filter(number=wanted).first()
        if found is None:
            raise Invalid(f"{recipe.name} has no version {number}", field="version")
        return found

    def _placement(self, request: Request, version: RecipeVersion) -> Placement:
        count = _card_count(version.recipe.kind, version.content())
        params = request.query_params
        return placement_from(request.user, params.get("node"), params.get("cards"), count)

    @extend_schema(parameters=TARGET_PARAMS, responses=ReviewSerializer)
    @action(detail=True, methods=["get"])
    def validate(self, request, pk=None):
        """Errors and warnings for the recipe on a node and a set of cards."""
        recipe = self.get_object()
        version = self._version(recipe, request.query_params.get("version"))
        placement = self._placement(request, version)
        messages = recipes.review(recipe.kind, version.content(), placement)
        return Response(_review_body(messages, placement))

    @extend_schema(parameters=TARGET_PARAMS, responses=RenderSerializer)
    @action(detail=True, methods=["get"])
    def render(self, request, pk=None):
        """The docker run and vLLM launch for the recipe on a node's cards (argv and shell)."""
        recipe = self.get_object()
        version = self._version(recipe, request.query_params.get("version"))
        placement = self._placement(request, version)
        messages = recipes.review(recipe.kind, version.content(), placement)
        out = recipes.render_version(version, placement)
        launch = out.launch
        body = {
            "recipe": recipe.pk,
            "version": version.number,
            "container_name": out.container_name,
            "labels": out.labels,
            "docker_run": {"argv": list(out.docker_run.argv), "shell": out.docker_run.shell},
            "launch": {"argv": list(launch.argv), "shell": launch.shell} if launch else None,
            **_review_body(messages, placement),
        }
        return Response(body)

    @extend_schema(responses=RecipeVersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        """Every version of the recipe, newest first."""
        recipe = self.get_object()
        rows = recipe.versions.select_related("created_by").order_by("-number")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(RecipeVersionSerializer(page, many=True).data)

    @extend_schema(request=DraftSerializer, responses=ReviewSerializer)
    @action(detail=False, methods=["post"], url_path="validate")
    def validate_draft(self, request):
        """Check unsaved recipe values (what the editor sends as you type); nothing is saved."""
        body = DraftSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
        kind, node, cards = values.pop("kind"), values.pop("node", ""), values.pop("cards", "")
        content = recipes.content_of(kind, values)
        placement = placement_from(request.user, node, cards, _card_count(kind, content))
        return Response(_review_body(recipes.review(kind, content, placement), placement))


class RecipeVersionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Immutable recipe versions (what jobs and deployments refer to)."""

    serializer_class = RecipeVersionSerializer
    filterset_fields = ["recipe", "number"]

    def get_queryset(self):
        return RecipeVersion.objects.visible_to(self.request.user).select_related("created_by")
