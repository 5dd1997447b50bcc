"""The API against its own OpenAPI schema, as each persona, with schemathesis.

Every operation of /api/schema/ gets bounded, derandomized requests through the real Django app
(WSGI), signed in with a real API token from the token endpoint. Each answer must be no 5xx and
match the schema: a declared status code, the declared content type, a body valid against the
declared schema. Fixture data (a node with cards, bookings, a recipe with a version, a job with
log lines, a deployment, an image) makes reads return real bodies. The node points at a closed
port on 127.0.0.1, and request bodies that name a host are pointed there too, so whatever reaches
a node fails at once as unreachable (503), which must be declared as well. Writes, deletions
included, run after the reads, inside the test's database transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fleet.booking.choices import NotificationKind
from fleet.booking.models import Membership, Notification
from fleet.booking.services import bookings as booking_services
from fleet.choices import HostKeyStatus, TeamRole
from fleet.models import Card, CardSample, Node
from jobs.catalog.services import recipes
from jobs.choices import DeploymentStatus, JobKind, JobStatus
from jobs.models import Deployment, Job, LogChunk, NodeImage
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

CLOSED_PORT = 1  # nothing listens on port 1 of 127.0.0.1: a connection is refused at once
MAX_EXAMPLES = 6  # generated requests per operation, per persona (plus as many on real objects)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
HYPOTHESIS = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
PERSONAS = ["site_admin", "team_admin", "member", "outsider"]
IMAGE = "npufleet/vllm-sim:local"


@contextmanager
def in_test_transaction() -> Iterator[None]:
    """Requests through the raw WSGI handler keep the test's connection (as the test client does)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def quick_and_local(settings) -> None:
    """SSH gives up fast; throttles do not cut the run short; answers as in production."""
    settings.DEBUG = False
    settings.FLEET_SSH_CONNECT_TIMEOUT = 1.0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    rates = {"anon": "100000/minute", "user": "100000/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


@pytest.fixture
def team_admin_user(team):
    user = get_user_model().objects.create_user("tina-teamadmin", "tina@example.com", PASSWORD)
    Membership.objects.create(team=team, user=user, role=TeamRole.ADMIN)
    return user


@pytest.fixture
def fleet(admin_user, member_user, team, other_team) -> dict[str, Any]:
    """A node with cards, bookings of two teams, a recipe, a job with a log, a deployment."""
    node = Node.objects.create(
        name="gy1-01",
        host="127.0.0.1",
        port=CLOSED_PORT,
        status="online",
        host_key_status=HostKeyStatus.ACCEPTED,
        host_key_type="ssh-ed25519",
        host_key=host_key(),
        facts={"chip_name": "910B3", "hbm_total_mb": 65536},
        npu_smi_path="/usr/local/bin/npu-smi",
        preflight=[
            {"name": "driver", "status": "pass", "message": "23.0.6", "fix": ""},
            {"name": "ip_forward", "status": "fail", "message": "0", "fix": "sysctl -w ..."},
        ],
        preflight_at=timezone.now(),
    )
    Card.objects.bulk_create(
        Card(
            node=node,
            npu_id=d,
            device=d,
            chip_name="910B3",
            health="OK",
            hbm_total_mb=65536,
            processes=[{"pid": 4242, "name": "python", "managed": False}] if d == 7 else [],
        )
        for d in range(8)
    )
    # A node not probed yet: no chip, so no card memory (null in the answers).
    Node.objects.create(name="gy1-02", host="127.0.0.1", port=CLOSED_PORT)
    card = node.cards.get(device=0)
    CardSample.objects.create(card=card, at=timezone.now(), health="OK", hbm_used_mb=1024)
    now = timezone.now().replace(microsecond=0)
    booking = booking_services.book_cards(
        member_user,
        team=team,
        node=node,
        start=now,
        end=now + timedelta(hours=4),
        purpose="schema test",
        devices=[0, 1],
    )
    booking_services.book_cards(
        admin_user,
        team=other_team,
        node=node,
        start=now + timedelta(hours=1),
        end=now + timedelta(hours=3),
        purpose="other team",
        devices=[4, 5],
    )
    recipe = recipes.create_recipe(
        member_user,
        team=team,
        name="llama2-13b-tp2",
        values={"model": "llama2-13b", "image": IMAGE, "tensor_parallel_size": 2},
    )
    version = recipe.current_version
    deployment = Deployment.objects.create(
        recipe_version=version,
        node=node,
        booking=booking,
        team=team,
        created_by=member_user,
        cards=[0, 1],
        status=DeploymentStatus.RUNNING,
        container_name="npufleet-deploy-1",
        host_port=30123,
    )
    job = Job.objects.create(
        kind=JobKind.DEPLOY,
        status=JobStatus.SUCCEEDED,
        node=node,
        node_name=node.name,
        team=team,
        booking=booking,
        recipe_version=version,
        deployment=deployment,
        requested_by=member_user,
        steps=[{"name": "run", "label": "Start the container", "status": "succeeded"}],
        log_seq=3,
    )
    LogChunk.objects.bulk_create(LogChunk(job=job, seq=n, text=f"line {n}\n") for n in range(1, 4))
    Notification.objects.create(
        team=team, booking=booking, kind=NotificationKind.WARNING, text="ends in 30 minutes"
    )
    image = NodeImage.objects.create(
        node=node, tag=IMAGE, image_id="sha256:" + "ab" * 32, size_bytes=10**9
    )
    return {
        "node": node,
        "card": card,
        "booking": booking,
        "recipe": recipe,
        "version": version,
        "job": job,
        "deployment": deployment,
        "image": image,
    }


def host_key() -> str:
    """The base64 blob of a fresh ed25519 public key, as a pinned host key is stored."""
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return line.decode().split()[1]


def real_path_parameters(path: str, fleet: dict[str, Any], team) -> dict[str, Any] | None:
    """Path parameters naming a fixture object for this operation, when one fits."""
    resource = path.removeprefix("/api/v1/").split("/{")[0]
    ids = {
        "nodes": fleet["node"].pk,
        "timeline": fleet["node"].pk,
        "cards": fleet["card"].pk,
        "bookings": fleet["booking"].pk,
        "teams": team.pk,
        "recipes": fleet["recipe"].pk,
        "recipe-versions": fleet["version"].pk,
        "jobs": fleet["job"].pk,
        "deployments": fleet["deployment"].pk,
        "images": fleet["image"].pk,
        "build-templates": "ascend-vllm",
        "catalog/versions": "0.6.0",
    }
    if resource not in ids:
        return None
    name = "version" if resource == "catalog/versions" else "id"
    return {name: ids[resource]} if "{" + name + "}" in path else None


def run_order(operation) -> tuple[int, str]:
    """Reads first, then writes, then deletions; deleting the node (which cascades) last."""
    if operation.method.upper() == "DELETE":
        rank = 3 if operation.path.startswith("/api/v1/nodes/") else 2
    else:
        rank = 0 if operation.method.upper() in ("GET", "HEAD") else 1
    return rank, f"{operation.path} {operation.method}"


def keep_local(case) -> None:
    """Bodies naming a host to reach point at the closed local port: no SSH leaves this machine."""
    body = case.body
    if not isinstance(body, dict):
        return
    if "host" in body:
        body["host"] = "127.0.0.1"
    if "port" in body and case.path.startswith("/api/v1/nodes/"):
        body["port"] = CLOSED_PORT
    if "jump_host" in body:
        body["jump_host"] = ""
    if "webhook_url" in body:
        body["webhook_url"] = ""


def token_for(user) -> str:
    """A real API token, from the token endpoint."""
    answer = APIClient().post(
        "/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert answer.status_code in (200, 201), answer.content
    return answer.json()["token"]


def exercise(operation, strategy, headers: dict[str, str]) -> str | None:
    """Bounded examples of one operation; the first failure found, as text."""

    @given(case=strategy)
    @HYPOTHESIS
    def run(case) -> None:
        keep_local(case)
        # A savepoint per request: a failed request cannot spoil the ones after it.
        with transaction.atomic():
            case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # a check failed, or the request broke
        return f"{operation.method.upper()} {operation.path}: {str(exc)[:3000]}"
    return None


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_operation_answers_as_the_schema_says(persona, request, fleet, team):
    user = {
        "site_admin": lambda: request.getfixturevalue("admin_user"),
        "team_admin": lambda: request.getfixturevalue("team_admin_user"),
        "member": lambda: request.getfixturevalue("member_user"),
        "outsider": lambda: request.getfixturevalue("outsider_user"),
    }[persona]()
    headers = {"Authorization": f"Token {token_for(user)}"}
    started = time.monotonic()
    failures = []
    with in_test_transaction():
        api = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
        operations = sorted((result.ok() for result in api.get_all_operations()), key=run_order)
        assert len(operations) > 50, "the schema lost its operations"
        for operation in operations:
            strategies = [operation.as_strategy()]
            real = real_path_parameters(operation.path, fleet, team)
            if real is not None:
                strategies.insert(0, operation.as_strategy(path_parameters=real))
            for strategy in strategies:
                failure = exercise(operation, strategy, headers)
                if failure is not None:
                    failures.append(failure)
                    break
    elapsed = time.monotonic() - started
    print(f"{persona}: {len(operations)} operations in {elapsed:.1f} s")
    assert not failures, f"{len(failures)} operations broke as {persona}:\n\n" + "\n\n".join(
        failures
    )
