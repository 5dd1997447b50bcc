"""The container policy on the simulated fleet: real builds and deploys that are refused.

The two attacks of the security review come first: a member's build with its context in
/etc/ssh (host secrets copied into the build log), and a recipe mounting host / with the
member's own ENTRYPOINT writing on the node as root. Then each rule, through a real deploy job
whose rendered `docker run` breaks it: refused before Docker, no container left, rule named.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import docker
import pytest

from fleet.booking.models import AuditEntry
from jobs.catalog.render import Command
from jobs.catalog.services.recipes import create_recipe
from jobs.choices import DeploymentStatus, JobStatus
from jobs.models import Deployment, Job, LogChunk, PolicyException
from jobs.policy import PolicyRefused
from jobs.services import deployments, images
from jobs.tasks import run_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.devsim]

SECRET_MARK = "BEGIN OPENSSH PRIVATE KEY"


def log_text(job: Job) -> str:
    return "".join(LogChunk.objects.filter(job=job).order_by("seq").values_list("text", flat=True))


def container_exists(name: str) -> bool:
    return any(c.name == name for c in docker.from_env().containers.list(all=True))


@pytest.fixture(autouse=True)
def _catalog(catalog):
    """Recipes validate against the manuals' catalog (reloaded after a flush)."""


@pytest.fixture
def escape_link():
    """Makes symlinks in allowed folders that point out of them; removed afterwards."""
    made: list[Path] = []

    def make(folder: str, target: str) -> Path:
        link = Path(folder) / f"npufleet-test-escape-{uuid.uuid4().hex[:10]}"
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, link)
        made.append(link)
        return link

    yield make
    for link in made:
        link.unlink(missing_ok=True)


@pytest.fixture
def run_id_image(engine_node, member_user, team):
    """Builds a member's own image through the dashboard (so the image rule allows it)."""
    from devsim.image import IMAGE, ensure_image

    ensure_image()
    tags: list[str] = []

    def build(line: str) -> str:
        tag = f"vision/own-{uuid.uuid4().hex[:10]}:1"
        job = images.start_build(
            member_user,
            node=engine_node,
            team=team,
            tag=tag,
            dockerfile=f"FROM {IMAGE}\n{line}\n",
        )
        assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
        tags.append(tag)
        return tag

    yield build
    client = docker.from_env()
    for tag in tags:
        with contextlib.suppress(docker.errors.DockerException):
            client.images.remove(tag, force=True)


def inference_recipe(member_user, team, name: str, **values):
    base = {
        "model": "qwen2-7b",
        "image": "npufleet/vllm-sim:local",
        "tensor_parallel_size": 2,
        "max_model_len": 4096,
        "max_num_batched_tokens": 4096,
        "weights_path": "/data/models/qwen2-7b",
        "served_model_name": "qwen2-7b",
        "env": {"VLLM_SIM_STARTUP_SECONDS": "1"},
    }
    return create_recipe(member_user, team=team, name=name, values={**base, **values})


# ------------------------------------------------------------------ the reviewer's attacks


def test_member_build_with_context_etc_ssh_is_refused_before_anything_runs(
    engine_node, member_api, team
):
    answer = member_api.post(
        "/api/v1/builds/",
        {
            "node": engine_node.pk,
            "team": team.pk,
            "tag": "vision/steal:1",
            "context_path": "/etc/ssh",
            "dockerfile": "FROM npufleet/busybox:local\nCOPY . /loot\nRUN cat /loot/*\n",
        },
        format="json",
    )
    assert answer.status_code == 403, answer.json()
    body = answer.json()
    assert body["rule"] == "host-path"
    assert "rule host-path" in body["detail"] and "/etc/ssh" in body["detail"]
    assert not Job.objects.exists()


def test_build_context_symlinked_to_etc_ssh_is_refused_on_the_node(
    engine_node, member_user, team, workspace, escape_link
):
    link = escape_link(str(workspace), "/etc/ssh")
    job = images.start_build(
        member_user,
        node=engine_node,
        team=team,
        tag="vision/steal:2",
        context_path=str(link),
        dockerfile="FROM npufleet/busybox:local\nCOPY . /loot\nRUN cat /loot/*\n",
    )
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert "rule host-path" in job.error and "resolves to /etc/ssh" in job.error
    assert [s["status"] for s in job.steps] == ["failed", "cancelled", "cancelled"]
    assert SECRET_MARK not in log_text(job) and "Step 1/" not in log_text(job)
    assert not docker.from_env().images.list(name="vision/steal")


def test_recipe_mounting_host_root_with_its_own_entrypoint_is_refused(
    engine_node, booking, member_user, member_api, team, run_id_image
):
    # The member's own image: built by the dashboard (allowed), its ENTRYPOINT writes on /host.
    marker = f"/tmp/npufleet-test-pwned-{uuid.uuid4().hex[:10]}"
    tag = run_id_image(f'ENTRYPOINT ["sh", "-c", "touch /host{marker}; sleep 60"]')
    recipe = inference_recipe(
        member_user,
        team,
        "own-entrypoint",
        image=tag,
        mounts=[{"host_path": "/", "container_path": "/host", "read_only": False}],
    )
    answer = member_api.post(
        "/api/v1/deployments/",
        {"recipe_version": recipe.current_version.pk, "booking": booking.pk},
        format="json",
    )
    assert answer.status_code == 403, answer.json()
    assert answer.json()["rule"] == "host-path"
    assert "/ is a system folder" in answer.json()["detail"]
    assert not Deployment.objects.exists()
    assert not Path(marker).exists()


def test_a_weights_symlink_to_host_root_is_refused_on_the_node_and_nothing_runs(
    engine_node, booking, member_user, team, escape_link, run_id_image
):
    marker = f"/tmp/npufleet-test-pwned-{uuid.uuid4().hex[:10]}"
    tag = run_id_image(f'ENTRYPOINT ["sh", "-c", "touch /host{marker}; sleep 60"]')
    link = escape_link(engine_node.weights_dir, "/")
    recipe = inference_recipe(
        member_user,
        team,
        "symlinked-root",
        image=tag,
        mounts=[{"host_path": str(link), "container_path": "/host", "read_only": False}],
    )
    # Lexically the path is inside the weights folder, so the request is accepted ...
    deployment = deployments.deploy(
        actor=member_user, recipe_version=recipe.current_version, booking=booking
    )
    job = deployment.jobs.get()
    # ... and the node says where it really leads, before Docker is asked.
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    deployment.refresh_from_db()
    assert "rule host-path" in job.error and "resolves to / on the node" in job.error
    steps = {s["name"]: s["status"] for s in job.steps}
    assert steps["checks"] == "done" and steps["create"] == "failed"
    assert "running" not in steps.values()
    assert deployment.status == DeploymentStatus.FAILED
    assert not container_exists(deployment.container_name)
    assert not Path(marker).exists()


# ------------------------------------------------------------------ each rule, on a real deploy


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        (["--privileged"], "privileged"),
        (["--cap-add=SYS_ADMIN"], "capabilities"),
        (["--pid=host"], "host-namespace"),
        (["--ipc=host"], "host-namespace"),
        (["--net=host"], "network"),  # node-a publishes ports (bridge)
        (["--device=/dev/sda"], "devices"),
        (["-v", "/var/run/docker.sock:/var/run/docker.sock"], "host-path"),
    ],
)
def test_a_deploy_whose_docker_run_breaks_a_rule_fails_before_docker(
    engine_node, booking, recipe, member_user, monkeypatch, extra, rule
):
    from jobs.runners import deploy as runner

    real_render = runner.render_version

    def render_with_extra(*args, **kwargs):
        rendered = real_render(*args, **kwargs)
        argv = list(rendered.docker_run.argv)
        at = argv.index("--name")
        argv[at:at] = extra
        return type(rendered)(
            rendered.container_name,
            rendered.labels,
            rendered.card_ids,
            Command(tuple(argv)),
            rendered.launch,
        )

    monkeypatch.setattr(runner, "render_version", render_with_extra)
    deployment = deployments.deploy(
        actor=member_user, recipe_version=recipe.current_version, booking=booking
    )
    job = deployment.jobs.get()
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert f"rule {rule}" in job.error
    assert f"rule {rule}" in log_text(job)
    assert {s["status"] for s in job.steps} <= {"done", "failed", "cancelled"}
    assert not container_exists(deployment.container_name)


def test_image_rule_refuses_then_an_audited_exception_lets_that_image_through(
    engine_node, booking, member_user, member_api, admin_api, team, settings
):
    settings.JOBS_ALLOWED_IMAGE_PREFIXES = []
    recipe = inference_recipe(member_user, team, "own-registry")
    body = {"recipe_version": recipe.current_version.pk, "booking": booking.pk}
    answer = member_api.post("/api/v1/deployments/", body, format="json")
    assert answer.status_code == 403 and answer.json()["rule"] == "image"
    assert answer.json()["value"] == "npufleet/vllm-sim:local"
    # a member cannot grant it
    grant = {
        "recipe": recipe.pk,
        "rule": "image",
        "value": "npufleet/vllm-sim:local",
        "reason": "stand-in image for the simulated fleet",
    }
    assert member_api.post("/api/v1/policy-exceptions/", grant, format="json").status_code == 403
    made = admin_api.post("/api/v1/policy-exceptions/", grant, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["granted_by"] == "alice-admin"
    entry = AuditEntry.objects.get(action="policy")
    assert entry.reason == grant["reason"] and "rule image" in entry.summary
    # the exception covers this image for this recipe only
    deployment = deployments.deploy(
        actor=member_user, recipe_version=recipe.current_version, booking=booking
    )
    assert run_job(deployment.jobs.get().pk) == JobStatus.SUCCEEDED
    other = inference_recipe(member_user, team, "other-recipe")
    with pytest.raises(PolicyRefused):
        deployments.check_policy(other.current_version, engine_node, team, [0, 1])
    # revoked: refused again
    exception = PolicyException.objects.get()
    assert admin_api.delete(f"/api/v1/policy-exceptions/{exception.pk}/").status_code == 204
    with pytest.raises(PolicyRefused):
        deployments.check_policy(recipe.current_version, engine_node, team, [0, 1])


def test_a_build_from_a_base_image_outside_the_allowed_registries_is_refused(
    engine_node, member_api, team, settings
):
    settings.JOBS_ALLOWED_IMAGE_PREFIXES = []
    answer = member_api.post(
        "/api/v1/builds/",
        {
            "node": engine_node.pk,
            "team": team.pk,
            "tag": "vision/x:1",
            "dockerfile": "FROM npufleet/busybox:local\nRUN true\n",
        },
        format="json",
    )
    assert answer.status_code == 403 and answer.json()["rule"] == "image"
    assert not Job.objects.exists()
