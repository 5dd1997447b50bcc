"""Recipe pages: list, detail with rendered commands, editor with live validation, archive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from fleet.booking import permissions
from fleet.booking.models import Team
from fleet.errors import DomainError, Invalid, NotAllowed
from fleet.models import Node
from fleet.validators import as_id
from jobs.catalog.choices import RecipeKind
from jobs.catalog.models import INFERENCE_FIELDS, TRAINING_FIELDS, Recipe
from jobs.catalog.pages.forms import RecipeForm, initial_from
from jobs.catalog.planning import ERROR, Message
from jobs.catalog.services import recipes
from jobs.catalog.services.placement import GENERIC_LABEL, Placement, parse_cards, placement_for
from jobs.catalog.services.recipe_specs import content_of

PAGE_SIZE = 50


def _teams(user: Any):
    """Teams the user may create recipes for."""
    return permissions.teams_of(user)


def _can_edit(user: Any, recipe: Recipe) -> bool:
    return permissions.is_member(user, recipe.team)


@login_required
def recipe_list(request: HttpRequest) -> HttpResponse:
    """Every recipe with its current version; filter by team, kind, archived."""
    rows = (
        Recipe.objects.visible_to(request.user)
        .select_related("team", "created_by", "current_version")
        .annotate(version_count=Count("versions"))
        .order_by("name", "pk")
    )
    archived = request.GET.get("archived") == "1"
    rows = rows.filter(archived=archived)
    team_id = as_id(request.GET.get("team", ""))
    if team_id is not None:
        rows = rows.filter(team_id=team_id)
    if request.GET.get("kind") in RecipeKind.values:
        rows = rows.filter(kind=request.GET["kind"])
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "teams": Team.objects.all(),
        "kinds": RecipeKind.choices,
        "archived": archived,
        "can_create": _teams(request.user).exists(),
    }
    return render(request, "recipes/list.html", context)


def _placement(request: HttpRequest, source: Any, count: int) -> tuple[Placement | None, str]:
    """The node and cards picked on the page (generic node when none); an error message."""
    node_id = as_id(source.get("node", ""))
    node: Node | None = None
    if node_id is not None:
        nodes = Node.objects.visible_to(request.user).prefetch_related("cards")
        node = nodes.filter(pk=node_id).first()
    try:
        return placement_for(node, parse_cards(source.get("cards", "")), count), ""
    except Invalid as exc:
        return None, exc.message


def _preview(
    kind: str,
    content: dict[str, Any],
    placement: Placement | None,
    problem: str,
    render_on: Callable[[Placement], recipes.Rendered],
) -> dict[str, Any]:
    """Messages and rendered commands for the preview partial."""
    if placement is None:
        return {"findings": [Message(ERROR, "cards", problem, "pick cards the node has")]}
    found = recipes.review(kind, content, placement)
    out: dict[str, Any] = {"findings": found, "placement": placement}
    try:
        out["rendered"] = render_on(placement)
    except DomainError as exc:
        if exc.field not in {m.field for m in found if m.level == ERROR}:
            refusal = Message(ERROR, exc.field or "recipe", exc.message, "correct the value")
            out["findings"] = [refusal, *found]
    return out


def _picker(request: HttpRequest, source: Any) -> dict[str, Any]:
    """Node choices for the node selector."""
    return {
        "nodes": Node.objects.visible_to(request.user).only("pk", "name"),
        "node_ref": source.get("node", ""),
        "cards_ref": source.get("cards", ""),
        "generic_label": GENERIC_LABEL,
    }


@login_required
def recipe_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A version (current by default) with its commands on a chosen node, and the history."""
    recipe = get_object_or_404(
        Recipe.objects.visible_to(request.user).select_related("team", "created_by"), pk=pk
    )
    versions = list(recipe.versions.select_related("created_by").order_by("-number"))
    wanted = request.GET.get("v", "")
    version = next((v for v in versions if str(v.number) == wanted), recipe.current_version)
    assert version is not None
    content = version.content()
    training = recipe.kind == RecipeKind.TRAINING
    fields = TRAINING_FIELDS if training else INFERENCE_FIELDS
    count = (content["cards_per_node"] or 8) if training else None
    placement, problem = _placement(
        request, request.GET, count or content["tensor_parallel_size"] or 1
    )
    preview = _preview(
        recipe.kind, content, placement, problem, lambda t: recipes.render_version(version, t)
    )
    context = {
        "recipe": recipe,
        "version": version,
        "versions": versions,
        "content": {k: content[k] for k in fields},
        "can_edit": _can_edit(request.user, recipe),
        "exceptions": recipe.policy_exceptions.select_related("granted_by"),
        **preview,
        **_picker(request, request.GET),
    }
    return render(request, "recipes/detail.html", context)


def _apply_errors(form: RecipeForm, exc: DomainError) -> None:
    """Put a service's field errors on the form."""
    reported = cast(dict[str, Any], exc.details.get("messages", {}))  # RecipeInvalid's messages
    found = reported.get("errors", []) if exc.details else []
    for item in found or [{"field": exc.field, "message": exc.message}]:
        field = item["field"] if item["field"] in form.fields else None
        form.add_error(field, item["message"])


def _editor(request: HttpRequest, recipe: Recipe | None, kind: str) -> HttpResponse:
    """The editor page for a new recipe or a new version of one."""
    teams = _teams(request.user) if recipe is None else None
    current = recipe.current_version if recipe else None
    initial = initial_from(current, kind)
    if recipe is not None:
        initial["name"] = recipe.name
    form = RecipeForm(request.POST or None, kind=kind, teams=teams, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                if recipe is None:
                    recipe = recipes.create_recipe(
                        request.user,
                        team=data["team"],
                        name=data["name"],
                        kind=kind,
                        values=form.values(),
                        change_note=data["change_note"],
                    )
                    messages.success(request, f"{recipe.name} created.")
                else:
                    saved = recipes.edit_recipe(
                        request.user,
                        recipe,
                        form.values(),
                        name=data["name"],
                        change_note=data["change_note"],
                    )
                    messages.success(request, f"{recipe.name} is at version {saved.number}.")
                return redirect("recipe-detail", recipe.pk)
            except NotAllowed as exc:
                raise PermissionDenied(exc.message) from None
            except DomainError as exc:
                _apply_errors(form, exc)
    source = request.POST if request.method == "POST" else {}
    context = {"form": form, "recipe": recipe, "kind": kind, **_picker(request, source)}
    return render(request, "recipes/editor.html", context, status=status)


@login_required
def recipe_create(request: HttpRequest) -> HttpResponse:
    """A new recipe for one of your teams (`?kind=training` for a training recipe)."""
    if not _teams(request.user).exists():
        raise PermissionDenied("join a team to create recipes")
    source = request.POST if request.method == "POST" else request.GET
    kind = source.get("kind", RecipeKind.INFERENCE)
    kind = kind if kind in RecipeKind.values else RecipeKind.INFERENCE
    return _editor(request, None, kind)


@login_required
def recipe_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A new version of a recipe (members of its team and site admins)."""
    recipe = get_object_or_404(Recipe.objects.select_related("team"), pk=pk)
    if not _can_edit(request.user, recipe):
        raise PermissionDenied("only members of the recipe's team may edit it")
    if recipe.archived:
        messages.error(request, f"{recipe.name} is archived.")
        return redirect("recipe-detail", recipe.pk)
    return _editor(request, recipe, recipe.kind)


@login_required
@require_POST
def recipe_preview(request: HttpRequest) -> HttpResponse:
    """HTMX: the editor's messages and rendered commands for the values typed so far."""
    kind = request.POST.get("kind", RecipeKind.INFERENCE)
    kind = kind if kind in RecipeKind.values else RecipeKind.INFERENCE
    form = RecipeForm(request.POST, kind=kind)
    form.fields["name"].required = False
    pk = request.POST.get("recipe", "")
    name = f"npufleet-recipe-{pk if pk.isdigit() else 'new'}"
    if not form.is_valid():
        found = [
            Message(ERROR, field, str(error), "correct the value")
            for field, errors in form.errors.items()
            for error in errors
        ]
        return render(request, "recipes/_preview.html", {"findings": found})
    content = content_of(kind, form.values())
    count = (content["cards_per_node"] or 8) if kind == RecipeKind.TRAINING else None
    placement, problem = _placement(
        request, request.POST, count or content["tensor_parallel_size"] or 1
    )
    context = _preview(
        kind,
        content,
        placement,
        problem,
        lambda t: recipes.render_content(kind, content, t, container_name=name),
    )
    return render(request, "recipes/_preview.html", context)


@login_required
@require_POST
def recipe_archive(request: HttpRequest, pk: int) -> HttpResponse:
    """Archive a recipe (its versions stay for whatever ran them)."""
    recipe = get_object_or_404(Recipe.objects.visible_to(request.user), pk=pk)
    try:
        recipes.archive_recipe(request.user, recipe)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    messages.success(request, f"{recipe.name} archived.")
    return redirect("recipe-list")
