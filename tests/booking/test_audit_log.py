"""The audit log covers every write: who, when, which object, what changed and why.

Each kind of write is made through its service and must leave one entry naming the actor, the
object (type, id, label) and the change; the list is filterable by object type, team, actor and
time in the API and on the page, team admins see only their teams' entries, and secrets never
reach `changes`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config import tokens
from fleet.booking.choices import AuditAction, AuditObject
from fleet.booking.models import AuditEntry, Membership
from fleet.booking.services import teams
from fleet.booking.services.bookings import book_cards
from fleet.choices import HostKeyStatus, TeamRole
from fleet.models import Node
from fleet.remote import ErrorKind, RemoteError
from fleet.services import nodes, probing
from jobs.catalog.models import CardRequirement
from jobs.catalog.services import catalog_edits, recipes
from jobs.choices import DeploymentStatus, JobKind, JobStatus
from jobs.models import Deployment, Job, NodeImage
from jobs.services import deployments, images, recovery
from jobs.services import jobs as job_services
from tests.frontend.conftest import openssh_private_key, public_host_key

IMAGE = "npufleet/vllm-sim:local"


@pytest.fixture(autouse=True)
def no_workers(monkeypatch):
    """Jobs are only queued here; nothing runs them."""
    monkeypatch.setattr(job_services, "enqueue", lambda job: None)


@pytest.fixture
def team_admin(db, team):
    """An admin of `team` (the member's team), not a site admin."""
    user = get_user_model().objects.create_user("tina-teamadmin", "tina@example.com", "x")
    Membership.objects.create(team=team, user=user, role=TeamRole.ADMIN)
    return user


@pytest.fixture
def recipe(member_user, team):
    return recipes.create_recipe(
        member_user,
        team=team,
        name="qwen",
        values={"model": "qwen2-7b", "image": IMAGE, "weights_path": "/data/models/Qwen2-7B"},
    )


@pytest.fixture
def running(recipe, team, node):
    """A running deployment of the team's recipe (made directly: no worker runs here)."""
    return Deployment.objects.create(
        recipe_version=recipe.current_version,
        node=node,
        team=team,
        cards=[0],
        status=DeploymentStatus.RUNNING,
        container_name="npufleet-deploy-audit",
    )


@dataclass
class World:
    admin: object
    member: object
    team: object
    node: Node
    recipe: object
    running: Deployment


@pytest.fixture
def world(admin_user, member_user, team, node, recipe, running) -> World:
    node.private_key = openssh_private_key()  # edits check the node can still sign in
    node.save()
    return World(admin_user, member_user, team, node, recipe, running)


# ---------------------------------------------------------------- one entry per kind of write
# Each case: (object type, action, the write; returns (actor, object id, a change it records)).


def node_create(w: World):
    values = {"name": "gy1-new", "host": "192.0.2.7", "private_key": openssh_private_key()}
    node = nodes.register_node(actor=w.admin, values=values, scan=False)
    return w.admin, node.pk, "host"


def node_edit(w: World):
    nodes.update_node(w.node, actor=w.admin, values={"notes": "rack 4"})
    return w.admin, w.node.pk, "notes"


def node_delete(w: World):
    Deployment.objects.all().delete()
    pk = w.node.pk
    nodes.delete_node(w.node, actor=w.admin)
    return w.admin, pk, None


def key_accept(w: World):
    key = public_host_key()
    Node.objects.filter(pk=w.node.pk).update(
        seen_host_key_type=key.key_type,
        seen_host_key=key.base64,
        seen_host_key_fingerprint=key.fingerprint,
        host_key_status=HostKeyStatus.PENDING,
    )
    nodes.accept_host_key(w.node, actor=w.admin, fingerprint=key.fingerprint)
    return w.admin, w.node.pk, "host_key_fingerprint"


def key_refuse(w: World):
    exc = RemoteError(ErrorKind.HOST_KEY_CHANGED, "offered another key", fingerprint="SHA256:x")
    probing._record_failure(w.node.pk, exc)
    return None, w.node.pk, "host_key_fingerprint"


def recipe_create(w: World):
    made = recipes.create_recipe(
        w.member, team=w.team, name="qwen-2", values={"model": "qwen2-7b", "image": IMAGE}
    )
    return w.member, made.pk, "version"


def recipe_edit(w: World):
    recipes.edit_recipe(w.member, w.recipe, {"max_num_seqs": 64}, change_note="more seqs")
    return w.member, w.recipe.pk, "max_num_seqs"


def recipe_archive(w: World):
    recipes.archive_recipe(w.member, w.recipe)
    return w.member, w.recipe.pk, "archived"


def catalog_edit(w: World):
    row = CardRequirement.objects.exclude(min_cards_64=8).order_by("pk").first()
    catalog_edits.update_row(w.admin, row, {"min_cards_64": 8})
    return w.admin, f"cardrequirement:{row.pk}", "min_cards_64"


def deploy(w: World):
    Deployment.objects.all().delete()
    now = timezone.now()
    booking = book_cards(
        w.member,
        team=w.team,
        node=w.node,
        start=now,
        end=now + timedelta(hours=2),
        purpose="serving",
        devices=[0, 1],
    )
    made = deployments.deploy(
        actor=w.member, recipe_version=w.recipe.current_version, booking=booking
    )
    return w.member, made.pk, "status"


def deployment_stop(w: World):
    deployments.stop(w.running, actor=w.member)
    return w.member, w.running.pk, "status"


def deployment_restart(w: World):
    deployments.restart(w.running, actor=w.member)
    return w.member, w.running.pk, "status"


def deployment_remove(w: World):
    deployments.remove(w.running, actor=w.member)
    return w.member, w.running.pk, "status"


def deployment_retry(w: World):
    failed = Job.objects.create(
        kind=JobKind.STOP,
        status=JobStatus.FAILED,
        node=w.node,
        team=w.team,
        deployment=w.running,
        steps=[{"name": "stop", "label": "Stop", "status": "failed"}],
    )
    recovery.retry_job(failed, actor=w.member)
    return w.member, w.running.pk, "retry_of_job"


def job_cancel(w: World):
    job = job_services.create_job(
        kind=JobKind.STOP, actor=w.member, steps=[("stop", "Stop")], node=w.node, team=w.team
    )
    job_services.cancel_job(job, actor=w.member)
    return w.member, job.pk, "status"


def image_build(w: World):
    images.start_build(
        w.member,
        node=w.node,
        team=w.team,
        tag="team/app:1",
        dockerfile="FROM npufleet/busybox\n",
        build_args={"HF_TOKEN": "hf_do_not_log"},
    )
    return w.member, f"{w.node.pk}/team/app:1", "build_args"


def image_remove(w: World):
    image = NodeImage.objects.create(node=w.node, tag="old/app:1", image_id="sha256:abc")
    images.remove_image(w.admin, image)
    return w.admin, f"{w.node.pk}/old/app:1", "image_id"


def team_quota(w: World):
    teams.update_team(w.admin, w.team, max_cards=4, reason="more work")
    return w.admin, w.team.pk, "max_cards"


def token_issue(w: World):
    token, _key = tokens.issue_token(w.member)
    return w.member, tokens.token_id(token), "expiry"


def token_revoke(w: World):
    token, _key = tokens.issue_token(w.member)
    assert tokens.revoke_token(w.member, tokens.token_id(token))
    return w.member, tokens.token_id(token), "expiry"


WRITES: list[tuple[str, str, Callable]] = [
    (AuditObject.NODE, AuditAction.ADD, node_create),
    (AuditObject.NODE, AuditAction.EDIT, node_edit),
    (AuditObject.NODE, AuditAction.DELETE, node_delete),
    (AuditObject.NODE, AuditAction.KEY_ACCEPT, key_accept),
    (AuditObject.NODE, AuditAction.KEY_REFUSE, key_refuse),
    (AuditObject.RECIPE, AuditAction.ADD, recipe_create),
    (AuditObject.RECIPE, AuditAction.EDIT, recipe_edit),
    (AuditObject.RECIPE, AuditAction.ARCHIVE, recipe_archive),
    (AuditObject.CATALOG, AuditAction.EDIT, catalog_edit),
    (AuditObject.DEPLOYMENT, AuditAction.DEPLOY, deploy),
    (AuditObject.DEPLOYMENT, AuditAction.STOP, deployment_stop),
    (AuditObject.DEPLOYMENT, AuditAction.RESTART, deployment_restart),
    (AuditObject.DEPLOYMENT, AuditAction.REMOVE, deployment_remove),
    (AuditObject.DEPLOYMENT, AuditAction.RETRY, deployment_retry),
    (AuditObject.JOB, AuditAction.CANCEL, job_cancel),
    (AuditObject.IMAGE, AuditAction.BUILD, image_build),
    (AuditObject.IMAGE, AuditAction.REMOVE, image_remove),
    (AuditObject.TEAM, AuditAction.TEAM, team_quota),
    (AuditObject.TOKEN, AuditAction.TOKEN_ISSUE, token_issue),
    (AuditObject.TOKEN, AuditAction.TOKEN_REVOKE, token_revoke),
]


@pytest.mark.parametrize(
    ("object_type", "action", "write"), WRITES, ids=[w[2].__name__ for w in WRITES]
)
def test_every_write_leaves_an_entry_with_actor_object_and_change(
    world, object_type, action, write
):
    AuditEntry.objects.all().delete()
    before = timezone.now()
    actor, object_id, change = write(world)
    entries = AuditEntry.objects.filter(object_type=object_type, action=action)
    assert entries.count() == 1, list(AuditEntry.objects.values("object_type", "action"))
    entry = entries.get()
    assert entry.actor == actor
    assert entry.at >= before
    assert entry.object_id == str(object_id)
    assert entry.object_label
    assert entry.summary
    if change is not None:
        assert change in entry.changes, entry.changes
    if object_type in (AuditObject.RECIPE, AuditObject.DEPLOYMENT) or action == AuditAction.BUILD:
        assert entry.team == world.team  # so the team's admins see it


def test_secrets_never_reach_the_log(world):
    key = openssh_private_key()
    nodes.update_node(world.node, actor=world.admin, values={"private_key": key})
    image_build(world)
    _token, secret = tokens.issue_token(world.member)
    recipes.edit_recipe(world.member, world.recipe, {"env": {"HF_TOKEN": "hf_secret_value"}})
    text = json.dumps(list(AuditEntry.objects.values("changes", "summary", "object_label")))
    for secret_text in (key.splitlines()[1], "hf_do_not_log", secret, "hf_secret_value"):
        assert secret_text not in text
    edit = AuditEntry.objects.get(object_type=AuditObject.NODE, action=AuditAction.EDIT)
    assert edit.changes["private_key"] == ["(secret)", "(secret)"]  # changed, value hidden


def test_recipe_edit_records_before_and_after_and_the_note_as_reason(world):
    recipes.edit_recipe(world.member, world.recipe, {"max_num_seqs": 64}, change_note="load test")
    entry = AuditEntry.objects.get(object_type=AuditObject.RECIPE, action=AuditAction.EDIT)
    before = world.recipe.current_version.max_num_seqs
    assert entry.changes["max_num_seqs"] == [before, 64]
    assert entry.changes["version"] == [1, 2]
    assert entry.reason == "load test"


# ---------------------------------------------------------------- visibility


def test_team_admins_see_their_teams_deployment_entries_and_never_another_teams(
    world, team_admin, other_team, client
):
    theirs = recipes.create_recipe(
        world.admin,
        team=other_team,
        name="secret-plan",
        values={"model": "qwen2-7b", "image": IMAGE},
    )
    deployments.stop(world.running, actor=world.member)
    api = APIClient()
    api.force_authenticate(team_admin)
    rows = api.get("/api/v1/audit/").json()["results"]
    labels = {r["object_label"] for r in rows}
    assert any(r["object_type"] == "deployment" for r in rows)
    assert theirs.name not in labels
    assert {r["team"] for r in rows} == {world.team.pk}
    # Asking for the other team by filter shows nothing of it either.
    # Asking for the other team by id is refused like an unknown id: ids reveal nothing.
    asked = api.get("/api/v1/audit/", {"team": other_team.pk})
    unknown = api.get("/api/v1/audit/", {"team": other_team.pk + 1000})
    assert asked.status_code == unknown.status_code == 400
    assert asked.json()["detail"] == unknown.json()["detail"]
    client.force_login(team_admin)
    html = client.get(reverse("booking-audit")).content.decode()
    assert "secret-plan" not in html
    assert other_team.name not in html  # not even as a choice of the team filter
    assert "npufleet-deploy-audit" in html or f"Deployment {world.running.pk}" in html


def test_members_without_admin_role_cannot_read_the_log(world, member_api):
    assert member_api.get("/api/v1/audit/").status_code == 403


# ---------------------------------------------------------------- filters


@pytest.fixture
def mixed_log(world, other_team):
    """Entries of several kinds, teams and actors."""
    node_edit(world)  # admin, node, no team
    deployment_stop(world)  # member, deployment, team
    token_issue(world)  # member, token, no team
    recipes.create_recipe(
        world.admin, team=other_team, name="speech", values={"model": "qwen2-7b", "image": IMAGE}
    )  # admin, recipe, other team
    return world


def test_api_filters_by_object_type_team_actor_and_time(mixed_log, admin_api, other_team):
    w = mixed_log

    def ids(**query) -> set[tuple[str, str]]:
        response = admin_api.get("/api/v1/audit/", query)
        assert response.status_code == 200, response.content
        return {(r["object_type"], r["actor"]) for r in response.json()["results"]}

    assert ids(object_type="deployment") == {("deployment", w.member.username)}
    assert ids(object_type="token") == {("token", w.member.username)}
    assert ("recipe", w.admin.username) in ids(team=other_team.pk)
    assert all(t != "deployment" for t, _ in ids(team=other_team.pk))
    by_member = ids(actor=w.member.username)
    assert by_member and all(a == w.member.username for _, a in by_member)
    assert ids(actor=str(w.member.pk)) == by_member
    stop = AuditEntry.objects.get(action=AuditAction.STOP)
    after_stop = ids(since=(stop.at + timedelta(microseconds=1)).isoformat())
    assert ("deployment", w.member.username) not in after_stop
    assert ("token", w.member.username) in after_stop
    before_stop = ids(until=stop.at.isoformat())
    assert ("deployment", w.member.username) not in before_stop
    assert ("node", w.admin.username) in before_stop
    assert ids(object_type="deployment", object_id=str(w.running.pk)) == {
        ("deployment", w.member.username)
    }


def test_api_refuses_an_unknown_object_type_naming_the_field(admin_api, db):
    response = admin_api.get("/api/v1/audit/", {"object_type": "spaceship"})
    assert response.status_code == 400
    assert "object_type" in response.content.decode()


def test_page_filters_by_object_type_team_and_actor(mixed_log, client, other_team):
    w = mixed_log
    client.force_login(w.admin)
    url = reverse("booking-audit")

    def types(**query) -> set[str]:
        response = client.get(url, query)
        assert response.status_code == 200
        rows = response.content.decode().split('data-object-type="')[1:]
        return {row.split('"', 1)[0] for row in rows}

    assert types() >= {"node", "deployment", "token", "recipe"}
    assert types(object_type="deployment") == {"deployment"}
    assert types(team=other_team.pk) == {"recipe"}
    # The member made the team's recipe, stopped the deployment and made a token.
    assert types(actor=w.member.username) == {"recipe", "deployment", "token"}
    assert types(actor=w.admin.username) == {"node", "recipe"}
    html = client.get(url, {"object_type": "recipe"}).content.decode()
    assert f'href="{reverse("recipe-detail", args=[w.recipe.pk])}"' in html  # the object links
    html = client.get(url, {"object_type": "token"}).content.decode()
    assert f"API token {tokens.token_id(tokens.active_tokens(w.member).first())}" in html


# ---------------------------------------------------------------- query count


def test_the_list_does_not_grow_in_queries(world, admin_api, client, django_assert_max_num_queries):
    def fill(n: int) -> None:
        for i in range(n):
            teams.update_team(world.admin, world.team, max_cards=i + 1)
            nodes.update_node(world.node, actor=world.admin, values={"notes": f"n{i}"})

    fill(2)
    with django_assert_max_num_queries(12) as few:
        assert admin_api.get("/api/v1/audit/").status_code == 200
    client.force_login(world.admin)
    with django_assert_max_num_queries(20) as few_page:
        assert client.get(reverse("booking-audit")).status_code == 200
    fill(15)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert admin_api.get("/api/v1/audit/").json()["count"] > 30
    with django_assert_max_num_queries(len(few_page.captured_queries)):
        assert client.get(reverse("booking-audit")).status_code == 200
