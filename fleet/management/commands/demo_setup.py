"""Prepare the local demo: an admin, two teams with a member each, and the simulated nodes."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from devsim.client import DevsimNode
from fleet.choices import HostKeyStatus, TeamRole
from fleet.errors import DomainError
from fleet.models import Membership, Node, Team
from fleet.services import nodes

DEMO_USERS = (
    # username, team slug, role, is admin
    ("admin", None, None, True),
    ("vera", "vision", TeamRole.ADMIN, False),
    ("sam", "speech", TeamRole.MEMBER, False),
)


class Command(BaseCommand):
    help = (
        "Create the demo accounts (passwords kept in .demo/passwords, shown on every run) and "
        "register the simulated fleet's nodes, pinning the host keys devsim generated."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--devsim-dir", type=Path, default=Path(".devsim"))
        parser.add_argument("--secrets-dir", type=Path, default=Path(".demo"))

    def handle(self, *args, devsim_dir: Path, secrets_dir: Path, **options) -> None:
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
        from datetime import timedelta

        from django.utils import timezone

        from devsim.serving_image import ensure_serving_image
        from fleet.booking.lifecycle import run_lifecycle
        from fleet.booking.services import book_cards
        from fleet.models import Booking
        from jobs.services.recipes import create_demo_recipes

        ensure_serving_image()
        from jobs.models import AllowedImagePrefix
        from jobs.services.policy import allow_registry

        if not AllowedImagePrefix.objects.filter(prefix="npufleet/").exists():
            allow_registry(admin, "npufleet/", note="the simulated fleet's stand-in images")
            self.stdout.write("container policy: images under npufleet/ allowed (stand-ins)")
        team = Team.objects.get(slug="vision")
        vera = get_user_model().objects.get(username="vera")
        recipes = create_demo_recipes(vera, team)
        self.stdout.write(f"recipes of team vision: {', '.join(r.name for r in recipes)}")
        node = Node.objects.get(name="node-a")
        run_lifecycle()  # end what a previous demo left behind before deciding to book
        now = timezone.now()
        if not Booking.objects.live().filter(team=team, node=node, end__gt=now).exists():
            try:
                booking = book_cards(
                    vera,
                    team=team,
                    node=node,
                    start=now,
                    end=now + timedelta(hours=8),
                    purpose="demo: serve the example recipes",
                    devices=[0, 1],
                )
                self.stdout.write(f"booking {booking.pk}: node-a cards 0,1 for team vision, 8 h")
            except DomainError as exc:
                self.stdout.write(f"no demo booking: {exc.message}")

    def _nodes(self, admin, devsim_dir: Path) -> None:
        import json

        metas = sorted((devsim_dir / "nodes").glob("*/node.json"))
        if not metas:
            raise CommandError(f"no simulated nodes under {devsim_dir}: run python -m devsim demo")
        for path in metas:
            meta = json.loads(path.read_text())
            node = Node.objects.filter(name=meta["name"]).first()
            values = DevsimNode.from_meta(meta).onboarding_values(
                labels=["devsim", f"chip={meta['chip']}"],
                # The simulated nodes share one network: deployments publish ports instead.
                network_mode="bridge",
            )
            try:
                if node is None:
                    node = nodes.register_node(actor=admin, values=values)
                else:
                    node = nodes.update_node(node, actor=admin, values=values)
                    if node.host_key_fingerprint != meta["host_key_fingerprint"]:
                        node = nodes.scan_host_key(node)
                if node.host_key_status != HostKeyStatus.ACCEPTED or (
                    node.host_key_fingerprint != meta["host_key_fingerprint"]
                ):
                    # devsim generated this key itself: the demo pins exactly that fingerprint.
                    node = nodes.accept_host_key(
                        node, actor=admin, fingerprint=meta["host_key_fingerprint"]
                    )
            except DomainError as exc:
                raise CommandError(f"node {meta['name']}: {exc.message}") from None
            from fleet.services.probing import probe_node

            node = probe_node(node.pk, full=True) or node
            self.stdout.write(
                f"node {node.name}: {node.host}:{node.port} key {node.host_key_fingerprint} "
                f"({node.status}, {node.cards.count()} cards)"
            )
