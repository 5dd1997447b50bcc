"""Commands for a recipe on a placement: docker run and the vLLM launch, from argv lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleet.choices import MANAGED_LABEL
from fleet.errors import Invalid
from jobs.catalog import choices
from jobs.catalog.choices import RecipeKind
from jobs.catalog.models import RecipeVersion
from jobs.catalog.render import (
    AscendPaths,
    Command,
    RenderError,
    render_deployment,
    render_docker_run,
)
from jobs.catalog.services.placement import Placement
from jobs.catalog.services.recipe_specs import recipe_spec, weights_mount


@dataclass(frozen=True)
class Rendered:
    """The commands for a recipe on a placement: container name, labels, docker run, launch."""

    container_name: str
    labels: dict[str, str]
    card_ids: tuple[int, ...]
    docker_run: Command
    launch: Command | None


_RENDER_FIELDS = {"card_ids": "cards", "model_path": "weights_path", "container_name": "name"}


def render_content(
    kind: str,
    content: dict[str, Any],
    placement: Placement,
    *,
    container_name: str,
    labels: dict[str, str] | None = None,
    network: str = "host",
    host_port: int | None = None,
) -> Rendered:
    """docker run (+ the vLLM launch for inference) for the placement's cards, from argv lists."""
    labels = {MANAGED_LABEL: "1", **(labels or {})}
    paths: AscendPaths = placement.paths
    try:
        if kind == RecipeKind.TRAINING:
            run = render_docker_run(
                image=content["image"],
                container_name=container_name,
                card_ids=placement.card_ids,
                paths=paths,
                mounts=weights_mount(content)[1],
                env=content["env"],
                labels=labels,
                network=network,
                published_port=None if network == "host" else (host_port or 0, host_port or 0),
                shm_size=choices.TRAINING_SHM_SIZE,
            )
            return Rendered(container_name, labels, placement.card_ids, run, None)
        spec = recipe_spec(content)
        deployment = render_deployment(
            spec,
            image=content["image"],
            container_name=container_name,
            card_ids=placement.card_ids,
            paths=paths,
            labels=labels,
            network=network,
            host_port=host_port,
        )
    except RenderError as exc:
        field = _RENDER_FIELDS.get(exc.field, exc.field)
        raise Invalid(str(exc).split(": ", 1)[-1], field=field) from None
    return Rendered(
        container_name, labels, placement.card_ids, deployment.docker_run, deployment.launch
    )


def render_version(
    version: RecipeVersion,
    placement: Placement,
    *,
    kind: str = "recipe",
    pk: str | int | None = None,
    labels: dict[str, str] | None = None,
    network: str = "host",
    host_port: int | None = None,
) -> Rendered:
    """A saved version's commands, named `npufleet-<kind>-<pk>` (a job passes its own)."""
    recipe = version.recipe
    name = f"{choices.CONTAINER_PREFIX}-{kind}-{pk if pk is not None else recipe.pk}"
    tags = {"npufleet.recipe": str(recipe.pk), "npufleet.recipe_version": str(version.number)}
    return render_content(
        recipe.kind,
        version.content(),
        placement,
        container_name=name,
        labels={**tags, **(labels or {})},
        network=network,
        host_port=host_port,
    )
