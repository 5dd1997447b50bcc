"""Prepare the local demo: an admin, two teams with a member each, and the simulated nodes.

`python -m devsim setup-demo` (run by `make demo` after `python -m devsim demo`): the demo data
lives with the simulator, so no production module carries it.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.core.management.base import OutputWrapper
from django.core.management.color import color_style
from django.utils import timezone

from devsim import serving_image
from devsim.fleet import DEMO_NODES
from devsim.onboard import DEVSIM_LABEL, register
from fleet.booking.models import Booking, Membership, Team
from fleet.booking.services.bookings import book_cards
from fleet.booking.services.lifecycle import run_lifecycle
from fleet.booking.services.rules import DEMO_PURPOSE_PREFIX
from fleet.choices import TeamRole
from fleet.errors import DomainError, Invalid
from fleet.models import Node
from jobs.catalog.choices import RecipeKind
from jobs.catalog.models import Recipe
from jobs.catalog.services.recipes import create_recipe
from jobs.models import AllowedImagePrefix
from jobs.services.policy import allow_registry

DEMO_USERS = (
    # username, team slug, role, is admin
    ("admin", None, None, True),
    ("vera", "vision", TeamRole.ADMIN, False),
    ("sam", "speech", TeamRole.MEMBER, False),
)

# The walk-through deploys in the browser on the booking's first card(s), then over the API on
# card 2 (README): one HCCS half leaves room for both, whichever example recipe was picked.
DEMO_CARDS = [0, 1, 2, 3]
DEMO_CARDS_TEXT = "0-3"
DEMO_HOURS = 8

DEMO_IMAGE = serving_image.IMAGE
DEMO_RECIPES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "qwen2-7b-tp1",
        RecipeKind.INFERENCE,
        {
            "model": "qwen2-7b",
            "weights_path": "/data/models/Qwen2-7B",
            "served_model_name": "qwen2-7b",
            "env": {"USE_PFA_HIGH_PRECISION_MODE": "1"},
        },
    ),
    (
        "llama2-13b-tp2",
        RecipeKind.INFERENCE,
        {
            "model": "llama2-13b",
            "weights_path": "/data/models/Llama-2-13b-chat-hf",
            "served_model_name": "llama2-13b",
            "tensor_parallel_size": 2,
            "max_model_len": 16384,
            "max_num_batched_tokens": 16384,
        },
    ),
    (
        "llama2-7b-pretrain",
        RecipeKind.TRAINING,
        {
            "model": "llama2-7b",
            "weights_path": "/data/models/Llama-2-7b-hf",
            "framework": "ascendspeed",
            "strategy": "pretrain",
            "tensor_parallel_size": 1,
            "pipeline_parallel_size": 4,
            "micro_batch_size": 1,
        },
    ),
)


class DemoSetupError(RuntimeError):
    """The demo cannot be set up; the message says what to run first."""


def create_demo_recipes(admin: Any, team: Team | None = None) -> list[Recipe]:
    """The manuals' example recipes for the demo (idempotent: existing names are kept)."""
    team = team or Team.objects.order_by("pk").first()
    if team is None:
        raise Invalid("create a team before the demo recipes", field="team")
    out = []
    for name, kind, values in DEMO_RECIPES:
        found = Recipe.objects.active().filter(team=team, name=name).first()
        if found is None:
            found = create_recipe(
                admin,
                team=team,
                name=name,
                kind=kind,
                values={"image": DEMO_IMAGE, **values},
                change_note="demo recipe from the manuals",
            )
        out.append(found)
    return out


def book_demo_cards(admin, team: Team, node: Node) -> tuple[Booking | None, bool | str]:
    """The demo's booking: (booking, True) when made now, (booking, False) when one is still
    live, (None, reason) when the cards could not be booked.

    A site admin books it with a purpose starting with "demo:", so the no-show rule leaves it
    for whoever does the walk-through, however long after `make demo` they arrive.
    """
    run_lifecycle()  # end what a previous demo left behind before deciding to book
    now = timezone.now()
    live = (
        Booking.objects.live()
        .filter(team=team, node=node, end__gt=now, purpose__startswith=DEMO_PURPOSE_PREFIX)
        .first()
    )
    if live is not None:
        return live, False
    try:
        booking = book_cards(
            admin,
            team=team,
            node=node,
            start=now,
            end=now + timedelta(hours=DEMO_HOURS),
            purpose=f"{DEMO_PURPOSE_PREFIX} serve the example recipes (README walk-through)",
            devices=DEMO_CARDS,
        )
    except DomainError as exc:
        return None, exc.message
    return booking, True


class DemoSetup:
    """Create the demo accounts (passwords kept in .demo/passwords, shown on every run) and
    register the simulated fleet's nodes, pinning the host keys devsim generated."""

    def __init__(self, stdout: IO[str] | None = None) -> None:
        self.stdout = OutputWrapper(stdout or sys.stdout)
        self.style = color_style()

    def run(self, devsim_dir: Path, secrets_dir: Path = Path(".demo")) -> None:
        """Everything, idempotent: a demo restart keeps the passwords, nodes and booking."""
        passwords = self._users(secrets_dir)
        admin = get_user_model().objects.get(username="admin")
        self._nodes(admin, devsim_dir)
        self._jobs(admin)
        self.stdout.write("")
        port = os.environ.get("WEB_PORT", "8000")
        self.stdout.write(self.style.SUCCESS(f"Sign in at http://127.0.0.1:{port} with:"))
        for username, team_slug, role, is_admin in DEMO_USERS:
            what = "site admin" if is_admin else f"{role} of team {team_slug}"
            self.stdout.write(f"  {username:<6} {passwords[username]:<24} ({what})")

    def _users(self, secrets_dir: Path) -> dict[str, str]:
        secrets_dir.mkdir(mode=0o700, exist_ok=True)
        store = secrets_dir / "passwords"
        known = (
            dict(line.split(" ", 1) for line in store.read_text().splitlines() if " " in line)
            if store.exists()
            else {}
        )
        User = get_user_model()
        for username, team_slug, role, is_admin in DEMO_USERS:
            password = known.get(username) or secrets.token_urlsafe(12)
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "is_staff": is_admin,
                    "is_superuser": is_admin,
                    "email": f"{username}@example.com",
                },
            )
            if created or username not in known:
                user.set_password(password)
                user.save()
            known[username] = password
            if team_slug:
                team, _ = Team.objects.get_or_create(
                    slug=team_slug, defaults={"name": team_slug.capitalize()}
                )
                Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
        store.write_text("".join(f"{k} {v}\n" for k, v in known.items()))
        store.chmod(0o600)
        return known

    def _jobs(self, admin) -> None:
        """The stand-in serving image, the manuals' example recipes, a booking to deploy on."""
        serving_image.ensure_serving_image()
        if not AllowedImagePrefix.objects.filter(prefix="npufleet/").exists():
            allow_registry(admin, "npufleet/", note="the simulated fleet's stand-in images")
            self.stdout.write("container policy: images under npufleet/ allowed (stand-ins)")
        team = Team.objects.get(slug="vision")
        vera = get_user_model().objects.get(username="vera")
        recipes = create_demo_recipes(vera, team)
        self.stdout.write(f"recipes of team vision: {', '.join(r.name for r in recipes)}")
        booking, made = book_demo_cards(admin, team, Node.objects.get(name="node-a"))
        if booking is None:
            self.stdout.write(f"no demo booking: {made}")
        elif made:
            self.stdout.write(
                f"booking {booking.pk}: node-a cards {DEMO_CARDS_TEXT} for team vision, "
                f"{DEMO_HOURS} h (kept without a deployment)"
            )
        else:
            self.stdout.write(f"booking {booking.pk} of team vision on node-a is still live")

    def _nodes(self, admin, devsim_dir: Path) -> None:
        """Register the demo's nodes (node-a/b/c) as the form would, pinning devsim's host keys.

        Nodes an admin added are left alone: other simulated nodes (python -m devsim up, then
        onboard), and a node that has a demo name but was not registered from devsim.
        """
        demo_names = {spec.name for spec in DEMO_NODES}
        metas = [
            json.loads(path.read_text())
            for path in sorted((devsim_dir / "nodes").glob("*/node.json"))
        ]
        metas = [meta for meta in metas if meta["name"] in demo_names]
        if not metas:
            raise DemoSetupError(
                f"no simulated nodes under {devsim_dir}: run python -m devsim demo"
            )
        for meta in metas:
            existing = Node.objects.filter(name=meta["name"]).first()
            if existing is not None and DEVSIM_LABEL not in existing.labels:
                self.stdout.write(
                    f"node {existing.name}: kept as it is (added by an admin, not by the demo)"
                )
                continue
            try:
                node = register(meta, admin)
            except DomainError as exc:
                raise DemoSetupError(f"node {meta['name']}: {exc.message}") from None
            self.stdout.write(
                f"node {node.name}: {node.host}:{node.port} key {node.host_key_fingerprint} "
                f"({node.status}, {node.cards.count()} cards)"
            )
        others = Node.objects.exclude(name__in=demo_names).order_by("name")
        if others.exists():
            self.stdout.write(f"other nodes kept: {', '.join(n.name for n in others)}")
