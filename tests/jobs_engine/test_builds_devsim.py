"""Building images on a simulated node with the real Docker engine, listing and removing them."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
import uuid
from datetime import timedelta

import docker
import pytest
from django.db import connections
from django.utils import timezone

from fleet.errors import Conflict
from jobs.build_templates import template
from jobs.choices import DeploymentStatus, JobStatus
from jobs.models import Deployment, Job, LogChunk, NodeImage
from jobs.runners.build import BUILD_LABEL
from jobs.services import images
from jobs.services.jobs import cancel_job
from jobs.tasks import run_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.devsim]

FAILING = (
    "Step 4/6 : RUN exit 3 failed: The command '/bin/sh -c exit 3' returned a non-zero code: 3"
)


def log_text(job: Job) -> str:
    return "".join(LogChunk.objects.filter(job=job).order_by("seq").values_list("text", flat=True))


def run_in(tag: str, *argv: str) -> bytes:
    """stdout of a command in a throwaway container (the CLI attaches before the start)."""
    done = subprocess.run(
        ["docker", "run", "--rm", tag, *argv], capture_output=True, check=True, timeout=60
    )
    return done.stdout


def remove_images(label: str) -> None:
    """Remove every image (intermediate ones too) carrying the test's label."""
    client = docker.from_env()
    for _ in range(3):
        found = client.images.list(all=True, filters={"label": label})
        if not found:
            return
        for image in found:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(image.id, force=True)


@pytest.fixture
def run_id() -> str:
    """A unique label value and tag suffix; every image made with it is removed afterwards."""
    value = uuid.uuid4().hex[:12]
    yield value
    remove_images(f"npufleet.test={value}")


def dockerfile(run_id: str, *body: str) -> str:
    return "\n".join(["FROM npufleet/busybox:local", f"LABEL npufleet.test={run_id}", *body]) + "\n"


def test_build_with_uploaded_file_and_build_arg_streams_steps_and_records_the_image(
    engine_node, member_user, team, run_id
):
    tag = f"npufleet-test/hello:{run_id}"
    job = images.start_build(
        member_user,
        node=engine_node,
        team=team,
        tag=tag,
        dockerfile=dockerfile(
            run_id,
            "ARG GREETING=unset",
            "COPY hello.txt /srv/hello.txt",
            'RUN echo "greeting=$GREETING" && cat /srv/hello.txt',
        ),
        files={"hello.txt": b"uploaded-content-42\n"},
        build_args={"GREETING": "bonjour"},
    )
    assert job.status == JobStatus.PENDING
    assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    job.refresh_from_db()
    assert [(s["name"], s["status"]) for s in job.steps] == [
        ("context", "done"),
        ("build", "done"),
        ("record", "done"),
    ]
    assert job.progress == 100
    # Five lines of Dockerfile plus the LABEL the engine adds for the job's label.
    assert job.result["build_step"] == job.result["build_steps"] == 6
    text = log_text(job)
    assert "Step 1/6 : FROM npufleet/busybox:local" in text
    assert f"Step 6/6 : LABEL {BUILD_LABEL}" in text
    assert "greeting=bonjour" in text
    assert "uploaded-content-42" in text
    # The image is recorded with what the engine says about it.
    inspected = docker.from_env().images.get(tag)
    image = NodeImage.objects.get(node=engine_node, tag=tag)
    assert image.image_id == inspected.id == job.result["image_id"]
    assert image.size_bytes == inspected.attrs["Size"] > 0
    assert timezone.now() - image.created < timedelta(minutes=5)
    assert image.build_job == job
    assert inspected.labels[BUILD_LABEL] == str(job.pk)
    out = run_in(tag, "cat", "/srv/hello.txt")
    assert out == b"uploaded-content-42\n"
    # Uploaded bytes are dropped once built; their names and digests stay.
    assert "file_data" not in job.params
    assert job.params["files"][0]["name"] == "hello.txt"
    assert job.params["files"][0]["size"] == 20


@pytest.mark.parametrize("mode", ["upload", "folder"])
def test_failing_run_fails_the_job_naming_the_step_with_the_log(
    engine_node, member_user, team, run_id, workspace, mode
):
    text = dockerfile(run_id, "RUN echo before-the-failure", "RUN exit 3", "RUN echo never")
    if mode == "folder":
        (workspace / "Dockerfile").write_text(text)
        source = {"context_path": str(workspace)}
    else:
        source = {"dockerfile": text}
    tag = f"npufleet-test/failing:{run_id}"
    job = images.start_build(member_user, node=engine_node, team=team, tag=tag, **source)
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.error == FAILING
    assert [s["status"] for s in job.steps] == ["done", "failed", "cancelled"]
    assert job.steps[1]["detail"] == FAILING
    assert job.result == {"build_step": 4, "build_steps": 6}
    log = log_text(job)
    assert "before-the-failure" in log
    assert "returned a non-zero code: 3" in log
    assert "echo never" not in log
    assert not NodeImage.objects.filter(tag=tag).exists()
    with pytest.raises(docker.errors.ImageNotFound):
        docker.from_env().images.get(tag)


def test_build_from_a_folder_on_the_node_with_its_own_dockerfile(
    engine_node, member_user, team, run_id, workspace
):
    context = workspace / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(
        dockerfile(run_id, "ARG FLAVOUR", "COPY data.txt /srv/", 'RUN echo "flavour=$FLAVOUR"')
    )
    (context / "data.txt").write_text("from-the-node-folder\n")
    tag = f"npufleet-test/folder:{run_id}"
    job = images.start_build(
        member_user,
        node=engine_node,
        team=team,
        tag=tag,
        context_path=str(context),
        build_args={"FLAVOUR": "mint"},
    )
    assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    job.refresh_from_db()
    log = log_text(job)
    assert f"build context: {context} on node-a" in log
    assert "Step 1/6 : FROM npufleet/busybox:local" in log
    assert "flavour=mint" in log
    assert job.result["build_steps"] == 6
    image = NodeImage.objects.get(node=engine_node, tag=tag)
    assert image.image_id == docker.from_env().images.get(tag).id
    out = run_in(tag, "cat", "/srv/data.txt")
    assert out == b"from-the-node-folder\n"


def test_folder_build_with_a_dockerfile_written_here(
    engine_node, member_user, team, run_id, workspace
):
    (workspace / "payload.bin").write_bytes(b"payload")
    tag = f"npufleet-test/stdin:{run_id}"
    job = images.start_build(
        member_user,
        node=engine_node,
        team=team,
        tag=tag,
        context_path=str(workspace),
        dockerfile=dockerfile(run_id, "COPY payload.bin /srv/"),
    )
    assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    assert "-f -" in log_text(job)
    out = run_in(tag, "cat", "/srv/payload.bin")
    assert out == b"payload"


def test_folder_missing_on_the_node_fails_the_context_step(
    engine_node, member_user, team, workspace
):
    job = images.start_build(
        member_user,
        node=engine_node,
        team=team,
        tag="npufleet-test/missing:1",
        context_path=f"{workspace}/npufleet-no-such-folder/context",
    )
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert f"{workspace}/npufleet-no-such-folder/context is not a folder on node-a" in job.error
    assert [s["status"] for s in job.steps] == ["failed", "cancelled", "cancelled"]


def _containers_running(command: str) -> list[str]:
    """Ids of running containers whose command contains `command` (sparse: no inspect races)."""
    listed = docker.from_env().containers.list(sparse=True)
    return [c.id for c in listed if command in (c.attrs.get("Command") or "")]


def wait_for_sleep(seconds: int, *, gone: bool = False, timeout: float = 60) -> bool:
    """Until a build's `sleep N` container runs (or, with gone, is gone for good)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bool(_containers_running(f"sleep {seconds}")) != gone:
            if not gone:
                return True
            time.sleep(3)  # and stays gone
            return not _containers_running(f"sleep {seconds}")
        time.sleep(0.3)
    return False


def run_in_thread(job_id: int) -> dict:
    """run_job in a worker thread; the outcome dict gets its status."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["status"] = run_job(job_id)
        finally:
            connections.close_all()

    outcome["thread"] = threading.Thread(target=run)
    outcome["thread"].start()
    return outcome


@pytest.mark.parametrize("mode", ["upload", "folder"])
def test_cancel_stops_a_quiet_build_on_the_node(
    engine_node, member_user, team, run_id, workspace, mode
):
    seconds = 400 + int(run_id[:4], 16) % 500
    text = dockerfile(run_id, f"RUN sleep {seconds}")
    (workspace / "Dockerfile").write_text(text)
    source = {"context_path": str(workspace)} if mode == "folder" else {"dockerfile": text}
    job = images.start_build(
        member_user, node=engine_node, team=team, tag=f"npufleet-test/slow:{run_id}", **source
    )
    outcome = run_in_thread(job.pk)
    assert wait_for_sleep(seconds), "the build never reached its RUN step"
    cancel_job(Job.objects.get(pk=job.pk), actor=member_user)
    outcome["thread"].join(timeout=30)
    assert not outcome["thread"].is_alive()
    assert outcome["status"] == JobStatus.CANCELLED
    assert wait_for_sleep(seconds, gone=True, timeout=20)
    if mode == "folder":
        assert "stopped docker build (pid" in log_text(job)


@pytest.mark.parametrize("mode", ["upload", "folder"])
def test_build_over_its_time_limit_fails_and_stops_on_the_node(
    engine_node, member_user, team, run_id, workspace, settings, mode
):
    settings.JOBS_BUILD_TIMEOUT = 8
    seconds = 400 + int(run_id[:4], 16) % 500
    text = dockerfile(run_id, f"RUN sleep {seconds}")
    (workspace / "Dockerfile").write_text(text)
    source = {"context_path": str(workspace)} if mode == "folder" else {"dockerfile": text}
    job = images.start_build(
        member_user, node=engine_node, team=team, tag=f"npufleet-test/late:{run_id}", **source
    )
    outcome = run_in_thread(job.pk)
    assert wait_for_sleep(seconds), "the build never reached its RUN step"
    outcome["thread"].join(timeout=40)
    assert outcome["status"] == JobStatus.FAILED
    job.refresh_from_db()
    assert "did not finish" in job.error and "within 8 s" in job.error, job.error
    assert [s["status"] for s in job.steps] == ["done", "failed", "cancelled"]
    assert wait_for_sleep(seconds, gone=True)


def _deployment_using(tag: str, node, team, member_user, status: str) -> Deployment:
    from jobs.catalog.services.recipes import create_recipe

    recipe = create_recipe(
        member_user,
        team=team,
        name=f"uses-{uuid.uuid4().hex[:6]}",
        values={
            "model": "qwen2-7b",
            "image": tag,
            "tensor_parallel_size": 1,
            "max_model_len": 4096,
            "max_num_batched_tokens": 4096,
            "weights_path": "/data/models/qwen2-7b",
        },
    )
    return Deployment.objects.create(
        recipe_version=recipe.current_version,
        node=node,
        team=team,
        cards=[0],
        status=status,
        container_name="npufleet-deploy-x",
    )


def test_refresh_lists_used_by_and_removal_refuses_live_use_then_removes(
    engine_node, catalog, admin_user, member_user, team, run_id
):
    tag = f"npufleet-test/listed:{run_id}"
    build = images.start_build(
        member_user, node=engine_node, team=team, tag=tag, dockerfile=dockerfile(run_id)
    )
    assert run_job(build.pk) == JobStatus.SUCCEEDED
    NodeImage.objects.filter(node=engine_node).delete()
    NodeImage.objects.create(node=engine_node, tag="npufleet-test/gone:1", image_id="sha256:00")
    listed = {i.tag: i for i in images.refresh_images(engine_node, actor=member_user)}
    assert "npufleet-test/gone:1" not in listed
    assert listed[tag].image_id == docker.from_env().images.get(tag).id
    assert "npufleet/busybox:local" in listed
    assert listed[tag].used_by == []
    # A live deployment uses it: removal is refused up front.
    deployment = _deployment_using(tag, engine_node, team, member_user, DeploymentStatus.RUNNING)
    (image,) = [i for i in images.images_with_usage(engine_node) if i.tag == tag]
    assert image.used_by == [deployment]
    with pytest.raises(Conflict, match=f"used by deployment {deployment.pk}"):
        images.remove_image(admin_user, image)
    # Queued while unused, then a deployment starts using it: the job refuses at run time.
    Deployment.objects.filter(pk=deployment.pk).update(status=DeploymentStatus.STOPPED)
    job = images.remove_image(admin_user, image)
    Deployment.objects.filter(pk=deployment.pk).update(status=DeploymentStatus.STARTING)
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert f"used by deployment {deployment.pk}" in job.error
    assert docker.from_env().images.get(tag)
    # Once the deployment is removed the image goes, from the node and from the list.
    Deployment.objects.filter(pk=deployment.pk).update(status=DeploymentStatus.REMOVED)
    job = images.remove_image(admin_user, image)
    assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    with pytest.raises(docker.errors.ImageNotFound):
        docker.from_env().images.get(tag)
    assert not NodeImage.objects.filter(node=engine_node, tag=tag).exists()


def test_refresh_over_the_api_reads_docker_images_on_the_node(engine_node, member_api):
    answer = member_api.post(f"/api/v1/images/refresh/?node={engine_node.pk}")
    assert answer.status_code == 200, answer.json()
    rows = {r["tag"]: r for r in answer.json()}
    busybox = docker.from_env().images.get("npufleet/busybox:local")
    assert rows["npufleet/busybox:local"]["image_id"] == busybox.id
    assert rows["npufleet/busybox:local"]["size_bytes"] == busybox.attrs["Size"]
    listed = member_api.get(f"/api/v1/images/?node={engine_node.pk}&tag=npufleet/busybox:local")
    assert listed.json()["count"] == 1


def test_the_demo_template_builds_on_the_simulated_node(engine_node, member_user, team, run_id):
    demo = template("simulated-fleet")
    tag = f"npufleet-test/demo:{run_id}"
    job = images.start_build(
        member_user,
        node=engine_node,
        team=team,
        tag=tag,
        dockerfile=demo.dockerfile,
        build_args={"GREETING": "ni hao"},
    )
    try:
        assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
        assert run_in(tag) == b"ni hao from the build\n"
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker.from_env().images.remove(tag, force=True)
