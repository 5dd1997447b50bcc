"""Recipes: create, edit (new version), archive, review against the catalog, render commands."""

# Saving checks a recipe against the database catalog on a generic 8 x 64 GB node: what fails
# there (unknown model, TP not 1/2/4/8, unsupported quantization, hostile paths) fails
# everywhere and nothing is saved. Node-specific findings (32 GB cards need more cards, cards
# in use) come from review()/render against a chosen node and never block saving.

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.db import transaction
from django.utils import timezone

from fleet.booking import permissions
from fleet.booking.choices import AuditAction, AuditObject
from fleet.booking.models import Team
from fleet.booking.services import audit
from fleet.errors import Conflict, Invalid, NotAllowed
from jobs.catalog.choices import RecipeKind
from jobs.catalog.models import Recipe, RecipeVersion
from jobs.catalog.planning import (
    ERROR,
    Message,
    lookup,
    validate_recipe,
    validate_training,
)
from jobs.catalog.services.catalog import DbCatalog
from jobs.catalog.services.placement import GENERIC_PLACEMENT, Placement
from jobs.catalog.services.recipe_checks import shape_messages
from jobs.catalog.services.recipe_specs import content_of, recipe_spec, training_spec
from jobs.catalog.services.rendering import Rendered, render_content, render_version

__all__ = [
    "RecipeInvalid",
    "Rendered",
    "archive_recipe",
    "content_of",
    "create_recipe",
    "edit_recipe",
    "render_content",
    "render_version",
    "review",
    "split_messages",
]


class RecipeInvalid(Invalid):
    """A recipe with errors; nothing was saved. `messages` holds every finding."""


def review(
    kind: str,
    content: dict[str, Any],
    placement: Placement = GENERIC_PLACEMENT,
    *,
    card_count: int = 0,
) -> list[Message]:
    """Every finding for a recipe on a placement: shape first, then the catalog (errors first)."""
    shape = shape_messages(kind, content)
    if any(m.field in ("model", "tensor_parallel_size", "mounts") for m in shape):
        return shape
    source = DbCatalog()
    if kind == RecipeKind.TRAINING:
        found = validate_training(training_spec(content), placement.facts, catalog=source)
    else:
        cards = card_count or len(placement.card_ids) or None
        found = validate_recipe(recipe_spec(content), placement.facts, cards, catalog=source)
    flagged = {m.field for m in shape}
    if "weights_path" in flagged:
        flagged.add("mounts")
    found = [m for m in found if m.field not in flagged]
    messages = shape + placement.notes + found
    return [m for m in messages if m.level == ERROR] + [m for m in messages if m.level != ERROR]


def split_messages(messages: list[Message]) -> dict[str, list[dict[str, str]]]:
    """{"errors": [...], "warnings": [...]} in the wire form."""
    return {
        "errors": [m.as_dict() for m in messages if m.level == ERROR],
        "warnings": [m.as_dict() for m in messages if m.level != ERROR],
    }


def _raise_errors(messages: list[Message]) -> None:
    """RecipeInvalid naming every field with an error, when there is one."""
    errors = [m for m in messages if m.level == ERROR]
    if not errors:
        return
    fields: dict[str, list[str]] = {}
    for m in errors:
        fields.setdefault(m.field, []).append(f"{m.message} ({m.fix})")
    first = errors[0]
    raise RecipeInvalid(
        first.message, field=first.field, messages=split_messages(messages), **fields
    )


def _normalized(content: dict[str, Any]) -> dict[str, Any]:
    """Store quantization by scheme name ('awq' -> 'W4A16') when the catalog knows it."""
    if content["quantization"]:
        with suppress(KeyError):
            content["quantization"] = lookup.scheme_of(content["quantization"])
    return content


def _check_name(team: Team, name: str, recipe: Recipe | None = None) -> str:
    """A non-empty name, unique among the team's live recipes."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise RecipeInvalid("a recipe needs a name of 1-100 characters", field="name")
    taken = Recipe.objects.active().filter(team=team, name=name)
    if recipe is not None:
        taken = taken.exclude(pk=recipe.pk)
    if taken.exists():
        raise RecipeInvalid(f"{team.name} already has a recipe named {name!r}", field="name")
    return name


def _may_edit(actor: Any, team: Team) -> None:
    """Site admins and members of the owning team change its recipes."""
    if permissions.is_member(actor, team):
        return
    raise NotAllowed(f"only members of {team.name} may change its recipes", field="team")


@transaction.atomic
def create_recipe(
    actor: Any,
    *,
    team: Team,
    name: str,
    kind: str = RecipeKind.INFERENCE,
    values: dict[str, Any],
    change_note: str = "",
) -> Recipe:
    """A new recipe with version 1, owned by `team`; refused with every error when invalid."""
    _may_edit(actor, team)
    if kind not in RecipeKind.values:
        raise RecipeInvalid(f"kind must be one of {', '.join(RecipeKind.values)}", field="kind")
    name = _check_name(team, name)
    content = content_of(kind, values)
    _raise_errors(review(kind, content))
    recipe = Recipe.objects.create(name=name, kind=kind, team=team, created_by=actor)
    version = RecipeVersion.objects.create(
        recipe=recipe, number=1, created_by=actor, change_note=change_note, **_normalized(content)
    )
    recipe.current_version = version
    recipe.save(update_fields=["current_version", "updated_at"])
    _audit(AuditAction.ADD, actor, recipe, "created", change_note, {"version": (None, 1)})
    return recipe


@transaction.atomic
def edit_recipe(
    actor: Any,
    recipe: Recipe,
    values: dict[str, Any],
    *,
    name: str | None = None,
    change_note: str = "",
) -> RecipeVersion:
    """Version n+1 with `values` applied (partial); the current version if nothing changed."""
    recipe = Recipe.objects.select_for_update().select_related("team").get(pk=recipe.pk)
    _may_edit(actor, recipe.team)
    if recipe.archived:
        raise Conflict(f"{recipe.name} is archived; it cannot be edited", field="recipe")
    old_name = recipe.name
    if name is not None and name.strip() != recipe.name:
        recipe.name = _check_name(recipe.team, name, recipe)
        recipe.save(update_fields=["name", "updated_at"])
        _audit(AuditAction.EDIT, actor, recipe, "renamed", "", {"name": (old_name, recipe.name)})
    current = recipe.current_version
    assert current is not None
    content = content_of(recipe.kind, values, base=current.content())
    _raise_errors(review(recipe.kind, content))
    content = _normalized(content)
    if content == current.content():
        return current
    version = RecipeVersion.objects.create(
        recipe=recipe,
        number=current.number + 1,
        created_by=actor,
        change_note=change_note,
        **content,
    )
    recipe.current_version = version
    recipe.save(update_fields=["current_version", "updated_at"])
    changes = {k: (v, content[k]) for k, v in current.content().items() if content.get(k) != v}
    changes["version"] = (current.number, version.number)
    _audit(AuditAction.EDIT, actor, recipe, f"version {version.number}", change_note, changes)
    return version


@transaction.atomic
def archive_recipe(actor: Any, recipe: Recipe) -> Recipe:
    """Hide a recipe from lists; its versions stay for whatever ran them."""
    recipe = Recipe.objects.select_for_update().select_related("team").get(pk=recipe.pk)
    _may_edit(actor, recipe.team)
    if not recipe.archived:
        recipe.archived, recipe.archived_at = True, timezone.now()
        recipe.save(update_fields=["archived", "archived_at", "updated_at"])
        _audit(AuditAction.ARCHIVE, actor, recipe, "archived", "", {"archived": (False, True)})
    return recipe


def _audit(
    action: AuditAction, actor: Any, recipe: Recipe, what: str, reason: str, changes: dict
) -> None:
    """One audit entry about a recipe, carrying its team so the team's admins see it."""
    summary = f"Recipe {recipe.name} of {recipe.team.name}: {what}"
    about = (AuditObject.RECIPE, recipe.pk, recipe.name)
    audit.record(
        action, actor, summary, team=recipe.team, reason=reason, changes=changes, about=about
    )
