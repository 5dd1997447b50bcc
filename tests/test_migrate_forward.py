"""A database created by the old layout (every model in `fleet` and `jobs`) migrates forward.

The booking models moved to `booking` and the catalog models to `catalog` with their tables kept
(`SeparateDatabaseAndState`). This builds a throwaway database with the code of commit d64cc31
(the last commit before the move), fills it through that code, migrates it with today's code and
reads every row back through today's models, relations and content types included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
import uuid
from io import BytesIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

OLD_MAIN = "d64cc31"
REPO = Path(__file__).resolve().parent.parent

# Run by the old code (manage.py shell -c): one row of each moved model and what points at them.
# bulk_create: no signals, no side effects beyond the rows.
FILL = r"""
import json
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from fleet.models import AuditEntry, BookedCard, Booking, Card, Membership, Node, Notification, Team
from jobs.models import Deployment, Job, PolicyException, Recipe, RecipeVersion, VllmVersion

now = timezone.now()
hour = timezone.timedelta(hours=1)
user = User.objects.create_user("old-user", password="x")
[team] = Team.objects.bulk_create([Team(name="Old team", slug="old-team")])
Membership.objects.bulk_create([Membership(team=team, user=user, role="admin")])
[node] = Node.objects.bulk_create([Node(name="old-node", host="10.0.0.1")])
[card] = Card.objects.bulk_create([Card(node=node, npu_id=0, device=3)])
[booking] = Booking.objects.bulk_create(
    [Booking(team=team, node=node, created_by=user, start=now, end=now + hour, purpose="forward")]
)
[booked] = BookedCard.objects.bulk_create(
    [BookedCard(booking=booking, card=card, start=booking.start, end=booking.end)]
)
[audit] = AuditEntry.objects.bulk_create(
    [AuditEntry(actor=user, action="create", object_type="booking", object_id=str(booking.pk),
                summary="booked", team=team, booking=booking, node=node, card=card)]
)
[note] = Notification.objects.bulk_create(
    [Notification(team=team, booking=booking, kind="warning", text="ends soon")]
)
[recipe] = Recipe.objects.bulk_create([Recipe(name="old-recipe", team=team, created_by=user)])
[version] = RecipeVersion.objects.bulk_create(
    [RecipeVersion(recipe=recipe, number=1, model="Qwen2-7B", image="example/vllm:1")]
)
Recipe.objects.filter(pk=recipe.pk).update(current_version=version)
[exception] = PolicyException.objects.bulk_create(
    [PolicyException(recipe=recipe, rule="image", value="example/vllm:1", reason="test")]
)
[deployment] = Deployment.objects.bulk_create(
    [Deployment(recipe_version=version, node=node, booking=booking, team=team, cards=[3])]
)
[job] = Job.objects.bulk_create(
    [Job(kind="deploy", node=node, team=team, booking=booking, recipe_version=version,
         deployment=deployment, requested_by=user)]
)
team_type = ContentType.objects.get(app_label="fleet", model="team")
recipe_type = ContentType.objects.get(app_label="jobs", model="recipe")
log = LogEntry.objects.create(
    user=user, content_type=team_type, object_id=str(team.pk), object_repr="Old team",
    action_flag=ADDITION,
)
vllm_type = ContentType.objects.get(app_label="jobs", model="vllmversion")
vllm_log = LogEntry.objects.create(
    user=user, content_type=vllm_type, object_id="1", object_repr="vLLM", action_flag=ADDITION
)
group = Group.objects.create(name="team editors")
group.permissions.add(
    Permission.objects.get(content_type=team_type, codename="change_team"),
    Permission.objects.get(content_type=recipe_type, codename="view_recipe"),
    Permission.objects.get(content_type=vllm_type, codename="change_vllmversion"),
)
user.user_permissions.add(Permission.objects.get(content_type=vllm_type, codename="view_vllmversion"))
# A content type of the new label made before the relabelling (e.g. by a partial run): the old
# row's links move onto it and the old row goes.
early_type = ContentType.objects.create(app_label="catalog", model="vllmversion")
early_view = Permission.objects.create(
    content_type=early_type, codename="view_vllmversion", name="Can view vllm version"
)
print(json.dumps({
    "team": team.pk, "booking": booking.pk, "booked": booked.pk, "audit": audit.pk,
    "note": note.pk, "recipe": recipe.pk, "version": version.pk, "exception": exception.pk,
    "deployment": deployment.pk, "job": job.pk, "node": node.pk, "card": card.pk,
    "user": user.pk, "log": log.pk, "team_type": team_type.pk, "recipe_type": recipe_type.pk,
    "vllm_log": vllm_log.pk, "early_type": early_type.pk, "early_view": early_view.pk,
    "vllm_versions": VllmVersion.objects.count(),
}))
"""

# Run by today's code after its migrate: the same rows read through the moved models.
READ = r"""
import json
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from fleet.booking.models import AuditEntry, BookedCard, Booking, Membership, Notification, Team
from jobs.catalog.models import Recipe, RecipeVersion, VllmVersion
from jobs.models import Deployment, Job, PolicyException

team = Team.objects.get(slug="old-team")
booking = Booking.objects.select_related("team", "node", "created_by").get()
booked = BookedCard.objects.select_related("booking", "card").get()
audit = AuditEntry.objects.get()
note = Notification.objects.get()
member = Membership.objects.select_related("user").get()
recipe = Recipe.objects.select_related("team", "current_version").get()
version = RecipeVersion.objects.select_related("recipe").get()
exception = PolicyException.objects.select_related("recipe").get()
deployment = Deployment.objects.select_related("recipe_version__recipe", "team", "booking").get()
job = Job.objects.get()
types = {
    f"{t.app_label}.{t.model}": t.pk
    for t in ContentType.objects.filter(model__in=["team", "booking", "recipe", "vllmversion"])
}
group = Group.objects.get(name="team editors")
constraints = []
if connection.vendor == "postgresql":
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE conname = 'booked_card_no_overlap'")
        constraints = [row[0] for row in cursor.fetchall()]
print(json.dumps({
    "team": team.pk, "member_user": member.user.username, "member_role": member.role,
    "booking": booking.pk, "booking_team": booking.team.slug, "booking_node": booking.node.name,
    "booking_by": booking.created_by.username, "booking_devices": booking.devices,
    "booked": booked.pk, "booked_booking": booked.booking_id, "booked_card": booked.card_id,
    "audit": audit.pk, "audit_team": audit.team_id, "audit_booking": audit.booking_id,
    "audit_entries_of_booking": list(booking.audit_entries.values_list("pk", flat=True)),
    "note": note.pk, "note_team": note.team_id, "note_booking": note.booking_id,
    "recipe": recipe.pk, "recipe_team": recipe.team.slug, "recipe_current": recipe.current_version_id,
    "version": version.pk, "version_recipe": version.recipe.name,
    "exception": exception.pk, "exception_recipe": exception.recipe.name,
    "deployment": deployment.pk, "deployment_recipe": deployment.recipe_version.recipe.name,
    "deployment_team": deployment.team.slug, "deployment_booking": deployment.booking_id,
    "job": job.pk, "job_team": job.team_id, "job_booking": job.booking_id,
    "job_version": job.recipe_version_id, "job_deployment": job.deployment_id,
    "team_jobs": list(team.jobs.values_list("pk", flat=True)),
    "team_recipes": list(team.recipes.values_list("name", flat=True)),
    "version_deployments": list(version.deployments.values_list("pk", flat=True)),
    "types": types,
    "log_types": dict(LogEntry.objects.values_list("pk", "content_type_id")),
    "group_perms": sorted(
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()
    ),
    "user_perms": [
        (p.pk, f"{p.content_type.app_label}.{p.codename}")
        for p in User.objects.get(username="old-user").user_permissions.all()
    ],
    "vllm_versions": VllmVersion.objects.count(),
    "constraints": constraints,
}))
"""


def _has_old_main() -> bool:
    found = subprocess.run(
        ["git", "-C", str(REPO), "cat-file", "-e", f"{OLD_MAIN}^{{commit}}"],
        capture_output=True,
    )
    return found.returncode == 0


def _manage(tree: Path, database_url: str, *args: str) -> str:
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(tree),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    done = subprocess.run(
        [sys.executable, str(tree / "manage.py"), *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"manage.py {args[0]} in {tree}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


class _ThrowawayDatabase:
    """A fresh database next to the test database: PostgreSQL when the suite runs on it, else a
    SQLite file."""

    def __init__(self, workdir: Path) -> None:
        self.settings = connection.settings_dict
        self.vendor = connection.vendor
        self.name = f"npufleet_forward_{uuid.uuid4().hex[:10]}"
        self.workdir = workdir

    @property
    def url(self) -> str:
        if self.vendor != "postgresql":
            return f"sqlite:///{self.workdir / 'forward.sqlite3'}"
        s = self.settings
        auth = quote(s["USER"] or "", safe="")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"], safe="")
        host = s["HOST"] or "127.0.0.1"
        return f"postgres://{auth}@{host}:{s['PORT'] or 5432}/{self.name}"

    def _server(self, sql: str) -> None:
        import psycopg

        s = self.settings
        with psycopg.connect(
            dbname="postgres",
            user=s["USER"] or None,
            password=s.get("PASSWORD") or None,
            host=s["HOST"] or "127.0.0.1",
            port=s["PORT"] or 5432,
            autocommit=True,
        ) as server:
            server.execute(sql)

    def create(self) -> None:
        if self.vendor == "postgresql":
            self._server(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.vendor == "postgresql":
            self._server(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def test_old_main_database_migrates_forward() -> None:
    if not _has_old_main():
        pytest.skip(f"git history without {OLD_MAIN} (shallow clone?): no old layout to build")
    with tempfile.TemporaryDirectory(prefix="npufleet-forward-") as tmp:
        old_tree = Path(tmp) / "old"
        old_tree.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", OLD_MAIN], capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(old_tree, filter="data")
        database = _ThrowawayDatabase(Path(tmp))
        database.create()
        try:
            _manage(old_tree, database.url, "migrate", "--no-input", "-v", "0")
            old = _last_json(_manage(old_tree, database.url, "shell", "-c", FILL))
            _manage(REPO, database.url, "migrate", "--no-input", "-v", "0")
            new = _last_json(_manage(REPO, database.url, "shell", "-c", READ))
        finally:
            database.drop()

    # Every row is there, under its old id, with its relations.
    for key in ("team", "booking", "booked", "audit", "note", "recipe", "version"):
        assert new[key] == old[key], key
    for key in ("exception", "deployment", "job"):
        assert new[key] == old[key], key
    assert (new["member_user"], new["member_role"]) == ("old-user", "admin")
    assert (new["booking_team"], new["booking_node"], new["booking_by"]) == (
        "old-team",
        "old-node",
        "old-user",
    )
    assert new["booking_devices"] == [3]
    assert (new["booked_booking"], new["booked_card"]) == (old["booking"], old["card"])
    assert (new["audit_team"], new["audit_booking"]) == (old["team"], old["booking"])
    assert new["audit_entries_of_booking"] == [old["audit"]]
    assert (new["note_team"], new["note_booking"]) == (old["team"], old["booking"])
    assert (new["recipe_team"], new["recipe_current"]) == ("old-team", old["version"])
    assert new["version_recipe"] == new["exception_recipe"] == "old-recipe"
    assert new["deployment_recipe"] == "old-recipe"
    assert (new["deployment_team"], new["deployment_booking"]) == ("old-team", old["booking"])
    assert (new["job_team"], new["job_booking"]) == (old["team"], old["booking"])
    assert (new["job_version"], new["job_deployment"]) == (old["version"], old["deployment"])
    assert new["team_jobs"] == [old["job"]]
    assert new["team_recipes"] == ["old-recipe"]
    assert new["version_deployments"] == [old["deployment"]]
    # The seeded catalog rows are still there (and not seeded twice).
    assert new["vllm_versions"] == old["vllm_versions"] > 0

    # Content types relabelled in place: same ids, so the admin log and permissions follow.
    assert new["types"]["booking.team"] == old["team_type"]
    assert new["types"]["catalog.recipe"] == old["recipe_type"]
    assert "fleet.team" not in new["types"] and "fleet.booking" not in new["types"]
    assert "jobs.recipe" not in new["types"] and "jobs.vllmversion" not in new["types"]
    assert {"booking.booking", "catalog.vllmversion"} <= set(new["types"])
    assert new["log_types"][str(old["log"])] == old["team_type"]
    assert new["group_perms"] == [
        "booking.change_team",
        "catalog.change_vllmversion",
        "catalog.view_recipe",
    ]
    # Where a row of the new label already existed, it stays and takes over the old row's links.
    assert new["types"]["catalog.vllmversion"] == old["early_type"]
    assert new["log_types"][str(old["vllm_log"])] == old["early_type"]
    assert new["user_perms"] == [[old["early_view"], "catalog.view_vllmversion"]]

    if database.vendor == "postgresql":
        assert new["constraints"] == ["booked_card_no_overlap"]
