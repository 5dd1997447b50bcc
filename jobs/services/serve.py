"""Serve a model: size it from the card table, find the earliest fitting cards, book and deploy.

`plan_serving` answers what serving a catalog model for a team for some hours would take, and
why: the card count, tensor-parallel size and max-model-len the card table gives for the vLLM
version on each card size the fleet has; the earliest cards that fit (healthy, answering nodes,
one HCCS half when it fits, as the allocator picks them); the image, weights and environment of
the recipe; the quota. Every refusal names its fix. `serve_model` runs the same plan again and,
in one transaction, books the cards, writes a recipe version (`serve-<model>` of the team) and
deploys it; on any error nothing is left behind.

When the earliest fitting cards are only free later, serving is refused with that start: a
deployment runs on cards booked now (deploy checks it), and a booking nobody deploys on would
be released by the no-show rule. The refusal names the start, so the caller can try again
then, ask for fewer hours, or book that window and deploy when it begins.

The image comes from, in order: the `image` argument, the JOBS_SERVE_IMAGE setting, the
team's newest recipe for the same model, then the team's newest inference recipe of the same
vLLM version. The catalog's base images are not used: they hold CANN and PyTorch, and the
manuals install vLLM into them, so a serving image is built from one first (Images page).
The weights folder comes from the `weights_path` argument, the team's newest recipe for the
model, else `<node weights folder>/<model>` (mounted read-only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fleet.booking.errors import BookingInvalid, NoCapacity, QuotaExceeded
from fleet.booking.models import Booking, Team
from fleet.booking.services.allocation import allowed_counts
from fleet.booking.services.availability import Option, find_available
from fleet.booking.services.bookings import book_cards
from fleet.booking.services.notify import when, window
from fleet.booking.services.quotas import check_quota
from fleet.booking.services.rules import check_member
from fleet.errors import Invalid
from fleet.models import Node
from jobs.catalog.choices import DEFAULT_VLLM_VERSION, RecipeKind
from jobs.catalog.models import Recipe, RecipeVersion
from jobs.catalog.planning import ERROR, Message, lookup
from jobs.catalog.planning.generic import k_label
from jobs.catalog.planning.memory import card_memory_gb, describe_memory, table_column
from jobs.catalog.services.catalog import DbCatalog, catalog_lines
from jobs.catalog.services.placement import placement_for
from jobs.catalog.services.recipe_specs import content_of
from jobs.catalog.services.recipes import (
    RecipeInvalid,
    create_recipe,
    edit_recipe,
    review,
    split_messages,
)
from jobs.catalog.services.rendering import render_content
from jobs.models import Deployment, Job
from jobs.services import policy, ports
from jobs.services.deployments import deploy

RECIPE_PREFIX = "serve-"
DEFAULT_PORT = 8080  # vLLM's port in the manuals' launch commands
CARD_SIZES = (64, 32)


@dataclass(frozen=True)
class Sizing:
    """What the card table says a model needs on one card size."""

    card_gb: int
    cards: int
    min_cards: int
    max_model_len: int
    cite: str
    len_cite: str


@dataclass
class ServePlan:
    """Where and how a model would be served now, with a sentence per decision."""

    model: str
    key: str
    vllm_version: str
    team: Team
    hours: float
    sizing: Sizing
    quantization: str | None
    node: Node
    devices: tuple[int, ...]
    start: datetime
    end: datetime
    image: str
    weights_path: str
    env: dict[str, str]
    recipe_name: str
    port: int = DEFAULT_PORT
    steps: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[Message] = field(default_factory=list)
    not_offered: dict[str, str] = field(default_factory=dict)

    @property
    def tensor_parallel_size(self) -> int:
        """One card per tensor-parallel rank (the manuals' rule)."""
        return self.sizing.cards

    @property
    def explanation(self) -> list[str]:
        """The decisions in order, one sentence each."""
        return [text for _, text in self.steps]

    def values(self) -> dict[str, Any]:
        """The recipe values this plan deploys."""
        length = self.sizing.max_model_len
        return {
            "model": self.model,
            "vllm_version": self.vllm_version,
            "image": self.image,
            "tensor_parallel_size": self.tensor_parallel_size,
            "max_model_len": length,
            "max_num_batched_tokens": length,
            "gpu_memory_utilization": 0.9,
            "quantization": self.quantization or "",
            "weights_path": self.weights_path,
            "served_model_name": self.key,
            "port": self.port,
            "env": dict(self.env),
        }

    def as_dict(self) -> dict[str, Any]:
        """The wire form of the plan."""
        return {
            "model": self.model,
            "vllm_version": self.vllm_version,
            "team": self.team.pk,
            "team_name": self.team.name,
            "hours": self.hours,
            "card_gb": self.sizing.card_gb,
            "cards": self.sizing.cards,
            "tensor_parallel_size": self.tensor_parallel_size,
            "max_model_len": self.sizing.max_model_len,
            "quantization": self.quantization,
            "node": self.node.pk,
            "node_name": self.node.name,
            "devices": list(self.devices),
            "start": self.start,
            "end": self.end,
            "image": self.image,
            "weights_path": self.weights_path,
            "port": self.port,
            "recipe_name": self.recipe_name,
            "explanation": self.explanation,
            "steps": [{"step": step, "text": text} for step, text in self.steps],
            "warnings": [m.as_dict() for m in self.warnings],
            "not_offered": dict(self.not_offered),
        }


@dataclass(frozen=True)
class Served:
    """What one confirmation made: the booking, the recipe version, the deployment, its job."""

    plan: ServePlan
    booking: Booking
    recipe_version: RecipeVersion
    deployment: Deployment
    job: Job


# ------------------------------------------------------------------ the catalog side


def catalog_models(vllm_version: str | None = None) -> list[tuple[str, str]]:
    """(model, label) of every model the card table sizes for a vLLM version, table order."""
    version = lookup.normalize_version(vllm_version or DEFAULT_VLLM_VERSION)
    out: dict[str, str] = {}
    for line in catalog_lines(DbCatalog(), version):
        if line.card is None or line.key in out:
            continue
        sizes = []
        for gb in (32, 64):
            cell = line.card.cell(gb)
            if cell.supported:
                sizes.append(f"{cell.min_cards} x {gb} GB")
        out[line.key] = f"{line.model} ({', '.join(sizes) or 'no card size'})"
    return [(key, label) for key, label in out.items()]


def _resolve_model(
    source: DbCatalog, model: str, version: str
) -> tuple[str, str, tuple, str | None]:
    """(table spelling, family key, applicable card rows, quantization) or a refusal."""
    model = (model or "").strip()
    if not model:
        raise Invalid("Name the model to serve, e.g. qwen2-7b.", field="model")
    if version not in source.vllm_versions():
        known = ", ".join(source.vllm_versions())
        raise Invalid(
            f"vLLM {version} is not in the catalog: use one of {known}.", field="vllm_version"
        )
    key = source.resolve_model(model)
    rows = lookup.card_rows(source, key, version)
    if not rows:
        near = lookup.close_matches(source, key, version)
        hint = f"did you mean {', '.join(near)}? " if near else ""
        others = [
            v for v in source.vllm_versions() if v != version and lookup.card_rows(source, key, v)
        ]
        also = f"its card table row is for vLLM {', '.join(others)}; " if others else ""
        raise Invalid(
            f"No catalog entry sizes {model} at vLLM {version} (the card table has no row "
            f"for it): {also}{hint}pick a model from the catalog (GET "
            f"/api/v1/catalog/models/?vllm_version={version}), or create a recipe by hand.",
            field="model",
        )
    scheme = source.variant_quantization(model)
    quant = lookup.quant_row(source, key, version)
    if scheme is None and quant is not None and not quant.supports("fp16_bf16"):
        scheme = next(iter(quant.supported_schemes), None)
    usable = lookup.applicable_rows(rows, scheme)
    if not usable:  # a quantized checkpoint row only (…-AWQ): serve that variant
        usable = rows[:1]
        scheme = rows[0].variant_quantization
    spelling = next((r.model for r in usable if r.model.lower() == model.lower()), usable[0].model)
    return spelling, key, usable, scheme


def _sizing(rows: tuple, card_gb: int) -> Sizing | str:
    """The cards and length on one card size, or why that size cannot run it."""
    limit = lookup.limit_for(rows, card_gb)
    if limit is None or not limit.supported:
        cite = limit.cards_cite if limit else "the card table"
        return f"{cite} marks it unsupported on {card_gb} GB cards ('-')"
    assert limit.min_cards is not None and limit.max_model_len is not None
    cards = next((n for n in allowed_counts(8) if n >= limit.min_cards), limit.min_cards)
    return Sizing(
        card_gb, cards, limit.min_cards, limit.max_model_len, limit.cards_cite, limit.len_cite
    )


def _why_not_size(
    gb: int, other: Sizing, firsts: dict[int, Option | None], chosen: Option, sizing: Sizing
) -> str:
    """Why the plan is not on the other card size (after its sizing)."""
    if gb not in firsts:
        return f"no {gb} GB node can take them."
    first = firsts[gb]
    if first is None:
        return f"no {gb} GB node has them free within the booking horizon."
    if first.start > chosen.start:
        return f"the earliest {gb} GB ones are free only from {when(first.start)}."
    if other.cards > sizing.cards:
        return f"the {sizing.card_gb} GB plan takes fewer cards."
    return f"{chosen.node.name} ranks first."


def _cards(n: int, gb: int) -> str:
    return f"{n} x {gb} GB card{'s' if n != 1 else ''}"


# ------------------------------------------------------------------ the fleet side


def _node_size(node: Node) -> int | str:
    """The card-table column of a node's cards, or why it has none."""
    facts = placement_for(node).facts
    if facts.chip_name is None and not facts.hbm_total_mb:
        return "card size unknown: no probe has reported its cards yet"
    gb = table_column(card_memory_gb(facts))
    if gb is None:
        return f"{describe_memory(facts)} cards: the card table has columns for 32 and 64 GB only"
    return gb


def _span(devices: tuple[int, ...]) -> str:
    if len(devices) > 1 and list(devices) == list(range(devices[0], devices[-1] + 1)):
        return f"{devices[0]}-{devices[-1]}"
    return ", ".join(str(d) for d in devices)


def _earliest(
    actor: Any,
    sizings: dict[int, Sizing | str],
    hours: float,
    now: datetime,
) -> tuple[Option, Sizing, dict[str, str], dict[int, Option | None]]:
    """The earliest fitting option over every card size, why other nodes are not offered, and
    the earliest option per card size the fleet has (None: no node of that size fits)."""
    groups: dict[int, list[Node]] = {}
    not_offered: dict[str, str] = {}
    nodes = list(Node.objects.visible_to(actor).prefetch_related("cards").order_by("name"))
    for node in nodes:
        size = _node_size(node)
        if isinstance(size, str):
            not_offered[node.name] = size
            continue
        sizing = sizings.get(size)
        have = len(node.cards.all())
        if isinstance(sizing, str) or sizing is None:
            not_offered[node.name] = f"{size} GB cards: {sizing}"
        elif have < sizing.cards:
            not_offered[node.name] = f"{have} x {size} GB cards, {sizing.cards} needed"
        else:
            groups.setdefault(size, []).append(node)
    found: list[tuple[Option, Sizing]] = []
    for gb, members in groups.items():
        sizing = sizings[gb]
        assert isinstance(sizing, Sizing)
        answer = find_available(actor, count=sizing.cards, hours=hours, nodes=members, now=now)
        found += [(option, sizing) for option in answer.options]
        not_offered.update(answer.unavailable)
    if not found:
        if not nodes:
            raise NoCapacity("No node is registered yet: onboard a node first.", field="model")
        reasons = "; ".join(
            f"{name}: {why.rstrip('.')}" for name, why in sorted(not_offered.items())
        )
        needs = " or ".join(
            _cards(s.cards, gb) for gb, s in sizings.items() if isinstance(s, Sizing)
        )
        if not groups:
            raise NoCapacity(
                f"No node has the cards it needs ({needs}): {reasons}. Onboard a node with "
                "such cards, or pick a smaller model.",
                field="model",
                not_offered=not_offered,
            )
        raise NoCapacity(
            f"No node can hold {needs} for {hours:g} h within the booking horizon: {reasons}. "
            "Ask for fewer hours, or free or repair cards.",
            field="hours",
            not_offered=not_offered,
        )
    # Earliest first; at the same start a fully healthy node, then one HCCS half beats a split,
    # then fewer cards. The sort is stable, so find_available's own ranking decides the rest.
    found.sort(key=lambda item: (item[0].start, not item[0].healthy, item[0].split, item[1].cards))
    option, sizing = found[0]
    firsts: dict[int, Option | None] = dict.fromkeys(groups)
    for other, other_sizing in found:
        if firsts.get(other_sizing.card_gb) is None:
            firsts[other_sizing.card_gb] = other
    for other, other_sizing in found[1:]:
        cards = _cards(other_sizing.cards, other_sizing.card_gb)
        if other.start > option.start:
            why = f"its {cards} are free only from {when(other.start)}"
        else:
            why = f"{cards} fit too; {option.node.name} ranks first"
        not_offered.setdefault(other.node.name, why)
    return option, sizing, not_offered, firsts


# ------------------------------------------------------------------ image, weights, recipe


def _team_recipes(team: Team) -> list[RecipeVersion]:
    """Current versions of the team's live inference recipes, newest first."""
    recipes = (
        Recipe.objects.active()
        .filter(team=team, kind=RecipeKind.INFERENCE, current_version__isnull=False)
        .select_related("current_version")
        .order_by("-updated_at", "-pk")
    )
    return [r.current_version for r in recipes if r.current_version is not None]


def _image(
    image: str, team: Team, key: str, version: str, source: DbCatalog, mine: list[RecipeVersion]
) -> tuple[str, str]:
    """(image, where it came from) or a refusal naming the ways to give one."""
    image = (image or "").strip()
    if image:
        return image, "given in the request"
    configured = getattr(settings, "JOBS_SERVE_IMAGE", "")
    if configured:
        return configured, "set by JOBS_SERVE_IMAGE"
    same = [v for v in mine if v.image and source.resolve_model(v.model) == key]
    if same:
        return same[0].image, f"taken from the team's recipe {same[0].recipe.name} for this model"
    other = [v for v in mine if v.image and v.vllm_version == version]
    if other:
        return other[0].image, (
            f"taken from the team's recipe {other[0].recipe.name} (vLLM {version})"
        )
    raise Invalid(
        f"No serving image for vLLM {version}: team {team.name} has no inference recipe to take "
        "one from and JOBS_SERVE_IMAGE is not set. Pass image (a vLLM serving image from an "
        "allowed registry, or one built on the Images page from the catalog's base image).",
        field="image",
    )


def _weights(
    weights_path: str,
    node: Node,
    model: str,
    key: str,
    source: DbCatalog,
    mine: list[RecipeVersion],
) -> tuple[str, str]:
    """(weights folder on the node, where it came from)."""
    weights_path = (weights_path or "").strip()
    if weights_path:
        if not weights_path.startswith("/"):
            raise Invalid(
                f"weights_path {weights_path!r} is not an absolute path on the node: give "
                f"one like {node.weights_dir.rstrip('/')}/{model}.",
                field="weights_path",
            )
        return weights_path, "given in the request"
    same = [v for v in mine if v.weights_path and source.resolve_model(v.model) == key]
    if same:
        return same[0].weights_path, f"taken from the team's recipe {same[0].recipe.name}"
    return f"{node.weights_dir.rstrip('/')}/{model}", f"in the weights folder of {node.name}"


def _env(key: str, extra: Mapping[str, str] | None) -> tuple[dict[str, str], list[str]]:
    """The environment the manuals require for the model, plus `extra`; and why each is set."""
    env: dict[str, str] = {}
    why = []
    for req in lookup.env_requirements():
        if key in req.models:
            env[req.env] = req.value
            why.append(f"{req.env}={req.value}: the manuals require it for {key}")
    env.update(dict(extra or {}))
    return env, why


def _port(node: Node) -> tuple[int, str]:
    """The server's port: 8080, or under host networking the first one no deployment holds."""
    if node.network_mode != "host":
        return DEFAULT_PORT, "inside the container; the host port is picked when it starts"
    claimed = ports.claimed_in_db(node)
    port = DEFAULT_PORT
    while port in claimed:
        port += 1
    if port == DEFAULT_PORT:
        return port, f"{node.name} uses host networking, and no deployment there holds it"
    return port, f"{node.name} uses host networking and {DEFAULT_PORT} is held by " + (
        claimed[DEFAULT_PORT]
    )


def _check_quota(team: Team, start: datetime, end: datetime, cards: int) -> str:
    """Refuse over quota, naming the fix; else a sentence for the plan."""
    breaches = check_quota(team, start, end, cards)
    if breaches:
        raise QuotaExceeded(
            f"Over quota for team {team.name}: {'; '.join(b.message for b in breaches)}. Ask for "
            "fewer hours, stop or cancel another booking, or ask a site admin to raise the "
            "team's quota.",
            field="hours",
            quota=[b.as_dict() for b in breaches],
        )
    return f"Within team {team.name}'s quota ({team.max_cards} cards at once)."


# ------------------------------------------------------------------ the services


def plan_serving(
    actor: Any,
    *,
    team: Team,
    model: str,
    hours: float,
    vllm_version: str | None = None,
    image: str = "",
    weights_path: str = "",
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> ServePlan:
    """How `team` would serve `model` for `hours` from now, and why; refusals name the fix."""
    now = now or timezone.now()
    check_member(actor, team)
    try:
        hours = float(hours)
    except (TypeError, ValueError):
        raise BookingInvalid("Hours must be a number, e.g. 2.", field="hours") from None
    version = lookup.normalize_version(vllm_version or DEFAULT_VLLM_VERSION)
    source = DbCatalog()
    spelling, key, rows, scheme = _resolve_model(source, model, version)
    sizings: dict[int, Sizing | str] = {gb: _sizing(rows, gb) for gb in CARD_SIZES}
    if not any(isinstance(s, Sizing) for s in sizings.values()):
        raise Invalid(
            f"The card table marks {spelling} unsupported on every card size at vLLM {version}: "
            "pick another model or vLLM version.",
            field="model",
        )
    option, sizing, not_offered, firsts = _earliest(actor, sizings, hours, now)
    node = option.node
    if option.start > now:
        raise NoCapacity(
            f"Nothing fits {_cards(sizing.cards, sizing.card_gb)} for {hours:g} h now: the "
            f"earliest is {node.name} cards {_span(option.devices)} from {when(option.start)}. "
            "Try again then, ask for fewer hours, or book that window (Find cards) and deploy "
            "when it starts.",
            field="hours",
            earliest_start=option.start,
            node=node.name,
            devices=list(option.devices),
        )
    steps: list[tuple[str, str]] = []
    quant = f" ({scheme})" if scheme else ""
    steps.append(
        (
            "size",
            f"{spelling}{quant} needs {_cards(sizing.min_cards, sizing.card_gb)} at vLLM "
            f"{version} ({sizing.cite}): tensor-parallel-size {sizing.cards} (one rank per "
            f"card), max-model-len {k_label(sizing.max_model_len)} ({sizing.len_cite}, "
            "measured at gpu-memory-utilization 0.9).",
        )
    )
    if sizing.cards != sizing.min_cards:
        steps.append(
            (
                "size",
                f"{sizing.min_cards} cards is not a job size on an 8-card node, so "
                f"{sizing.cards} are booked.",
            )
        )
    for gb, other in sizings.items():
        if gb == sizing.card_gb:
            continue
        if isinstance(other, Sizing):
            text = (
                f"On {gb} GB cards it would need {other.cards} (max-model-len "
                f"{k_label(other.max_model_len)}); "
                + _why_not_size(gb, other, firsts, option, sizing)
            )
        else:
            text = f"Not on {gb} GB cards: {other}."
        steps.append(("size", text))
    half = "" if option.split else " (one HCCS half)"
    steps.append(
        (
            "cards",
            f"{node.name} cards {_span(option.devices)}{half}: {option.reason} {node.name} "
            "answers and passes its node-wide preflight checks; these cards are healthy, not "
            "cordoned and free of other processes.",
        )
    )
    end = option.start + timedelta(hours=hours)
    steps.append(("window", f"Free now for {hours:g} h: {window(option.start, end)}."))
    steps.append(("quota", _check_quota(team, option.start, end, sizing.cards)))
    mine = _team_recipes(team)
    image, image_from = _image(image, team, key, version, source, mine)
    weights, weights_from = _weights(weights_path, node, spelling, key, source, mine)
    env_values, env_why = _env(key, env)
    steps.append(("image", f"Image {image}: {image_from}."))
    steps.append(("weights", f"Weights {weights}: {weights_from}; mounted read-only."))
    steps += [("env", f"Environment {text}.") for text in env_why]
    port, port_why = _port(node)
    steps.append(("port", f"Port {port} ({port_why})."))
    plan = ServePlan(
        model=spelling,
        key=key,
        vllm_version=version,
        team=team,
        hours=hours,
        sizing=sizing,
        quantization=scheme,
        node=node,
        devices=tuple(option.devices),
        start=option.start,
        end=end,
        image=image,
        weights_path=weights,
        env=env_values,
        recipe_name=f"{RECIPE_PREFIX}{key}",
        port=port,
        steps=steps,
        not_offered=not_offered,
    )
    if not_offered:
        listed = "; ".join(
            f"{name}: {why.rstrip('.')}" for name, why in sorted(not_offered.items())
        )
        steps.append(("others", f"Not offered: {listed}."))
    _check_recipe(plan)
    steps.append(
        (
            "recipe",
            f"Recipe {plan.recipe_name} of team {team.name} gets a version with these values; "
            "the deployment runs it on the booked cards and ends on its endpoint with the "
            "smoke test's latencies.",
        )
    )
    return plan


def _check_recipe(plan: ServePlan) -> None:
    """The recipe on the chosen cards: catalog review and container policy, as deploy checks."""
    content = content_of(RecipeKind.INFERENCE, plan.values())
    placement = placement_for(plan.node, plan.devices)
    messages = review(RecipeKind.INFERENCE, content, placement)
    errors = [m for m in messages if m.level == ERROR]
    if errors:
        first = errors[0]
        raise RecipeInvalid(
            f"The planned recipe does not validate on {plan.node.name}: {first.message} "
            f"({first.fix}).",
            field=first.field,
            messages=split_messages(messages),
        )
    plan.warnings = messages
    rendered = render_content(
        RecipeKind.INFERENCE,
        content,
        placement,
        container_name="npufleet-serve-check",
        network=plan.node.network_mode,
        host_port=content["port"],
    )
    policy.check_run(
        rendered.docker_run.argv,
        node=plan.node,
        team=plan.team,
        cards=plan.devices,
        on_node=False,
        field="image",
    )


def _recipe_version(actor: Any, plan: ServePlan) -> RecipeVersion:
    """The team's `serve-<model>` recipe at the plan's values (a new version when they changed)."""
    note = (
        f"serve {plan.model}: {plan.tensor_parallel_size} x {plan.sizing.card_gb} GB cards on "
        f"{plan.node.name}"
    )
    found = Recipe.objects.active().filter(team=plan.team, name=plan.recipe_name).first()
    if found is None:
        recipe = create_recipe(
            actor,
            team=plan.team,
            name=plan.recipe_name,
            kind=RecipeKind.INFERENCE,
            values=plan.values(),
            change_note=note,
        )
        assert recipe.current_version is not None
        return recipe.current_version
    if found.kind != RecipeKind.INFERENCE:
        raise Invalid(
            f"Team {plan.team.name} has a {found.kind} recipe named {plan.recipe_name}: "
            "rename or archive it.",
            field="model",
        )
    return edit_recipe(actor, found, plan.values(), change_note=note)


@transaction.atomic
def serve_model(
    actor: Any,
    *,
    team: Team,
    model: str,
    hours: float,
    vllm_version: str | None = None,
    image: str = "",
    weights_path: str = "",
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Served:
    """Plan, then book the cards, write the recipe version and deploy it: one transaction."""
    now = now or timezone.now()
    plan = plan_serving(
        actor,
        team=team,
        model=model,
        hours=hours,
        vllm_version=vllm_version,
        image=image,
        weights_path=weights_path,
        env=env,
        now=now,
    )
    booking = book_cards(
        actor,
        team=team,
        node=plan.node,
        start=plan.start,
        end=plan.end,
        purpose=(
            f"Serve {plan.model} (TP {plan.tensor_parallel_size}, max-model-len "
            f"{k_label(plan.sizing.max_model_len)})"
        ),
        devices=list(plan.devices),
        now=now,
    )
    version = _recipe_version(actor, plan)
    deployment = deploy(
        actor=actor, recipe_version=version, booking=booking, cards=list(plan.devices)
    )
    job = deployment.jobs.order_by("-pk").first()
    assert job is not None
    return Served(plan, booking, version, deployment, job)
