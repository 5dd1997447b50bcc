"""Deploying a recipe: checks, create, start, readiness, smoke test; and stop/restart/remove."""

from __future__ import annotations

import shlex
import threading
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone
from docker.errors import APIError

from fleet.choices import device_path
from fleet.remote import RemoteError, pool
from fleet.services.nodes import target_for as ssh_target
from jobs import choices, dispatch
from jobs.catalog.services.placement import placement_for as target_for
from jobs.catalog.services.recipes import review
from jobs.catalog.services.rendering import render_version
from jobs.choices import LATENCY_KEYS, DeploymentStatus, JobStatus
from jobs.docker_api import docker_on, http_on_node
from jobs.follow import Control, follow_in_thread
from jobs.models import Deployment, Job
from jobs.runners.base import Runner, StepFailed
from jobs.services import policy, ports
from jobs.services.deployments import check_booking

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

    from jobs.catalog.models import RecipeVersion

READY_LINES = ("Application startup complete.", "Uvicorn running on")
READY_LINE_GRACE = 3.0  # seconds to wait for a ready line after /v1/models already answered
PORT_ATTEMPTS = 3  # picks of a host port per deploy, when another holder wins a race to it
PORT_TAKEN_SIGNS = ("port is already allocated", "address already in use")


def _set(deployment: Deployment, **values: Any) -> None:
    for name, value in values.items():
        setattr(deployment, name, value)
    Deployment.objects.filter(pk=deployment.pk).update(**values, updated_at=timezone.now())


class _DeploymentRunner(Runner):
    """Shared by the runners that act on one deployment's container."""

    def __init__(self, job: Job) -> None:
        super().__init__(job)
        assert job.deployment_id is not None  # these runners act on a deployment
        self.deployment = Deployment.objects.select_related(
            "node", "booking", "recipe_version__recipe"
        ).get(pk=job.deployment_id)
        self.node = self.deployment.node
        self.follower: tuple[threading.Thread, Control] | None = None
        self.ready = threading.Event()

    def execute(self) -> Job:
        job = super().execute()
        if job.status == JobStatus.FAILED:
            # The deployments list says why a deployment failed: the job's reason, kept on it.
            Deployment.objects.filter(pk=self.deployment.pk, status=DeploymentStatus.FAILED).update(
                error=job.error, updated_at=timezone.now()
            )
        return job

    def _container(self, client: DockerClient) -> Container | None:
        from docker.errors import NotFound

        try:
            return client.containers.get(self.deployment.container_name)
        except NotFound:
            return None

    def _start_following(self) -> None:
        _set(self.deployment, log_job=self.job)

        def on_line(text: str) -> None:
            if any(marker in text for marker in READY_LINES):
                self.ready.set()

        self.follower = follow_in_thread(self.deployment.pk, on_line)

    def _stop_following(self) -> None:
        if self.follower is not None:
            thread, control = self.follower
            control.stop()
            thread.join(timeout=10)
            self.follower = None

    def wait_ready(self) -> None:
        """Until this container's server answers, the container exits, or the timeout passes."""
        deadline = time.monotonic() + settings.JOBS_READY_TIMEOUT
        port = ports.port_of(self.deployment)
        assert port is not None  # a deployment being started has its port
        told: set[str] = set()
        while True:
            self.check_cancel()
            with docker_on(self.node) as client:
                container = self._container(client)
                state = container.attrs["State"] if container else {}
                stranger = (
                    self._stranger_on(container, port)
                    if container is not None and state.get("Running")
                    else ""
                )
            if not container or not state.get("Running"):
                code = state.get("ExitCode")
                tail = self._last_lines()
                _set(
                    self.deployment,
                    status=DeploymentStatus.FAILED,
                    exit_code=code,
                    last_log_lines=tail,
                )
                raise StepFailed(
                    f"the container exited with code {code} before the server was ready; "
                    f"last lines:\n{tail}"
                )
            if stranger and stranger not in told:
                told.add(stranger)
                self.log.line(f"port {port}: {stranger}; waiting for this container's server")
            if not stranger and self._models_answer(port):
                # The server can answer before its startup lines reach the follower, which
                # stops after this job: give them a moment so they land in this job's log.
                self.ready.wait(READY_LINE_GRACE)
                self.log.line(f"server ready on port {port} (container {container.name})")
                return
            if time.monotonic() > deadline:
                raise StepFailed(
                    f"the server did not become ready within {settings.JOBS_READY_TIMEOUT:g} s "
                    f"(GET /v1/models on port {port} did not answer with "
                    f"{self._served_name()!r} from {self.deployment.container_name}"
                    + (f"; {stranger}" if stranger else "")
                    + ")"
                )
            self.ready.wait(1.0)

    def _stranger_on(self, container: Container, port: int) -> str:
        """Why the server on `port` may not be this container's ("" when it is).

        An answer on the port alone proves nothing: a server that held the port first, or
        another deployment's, would answer too. Under a published port Docker must map it to
        this container (its inspect's NetworkSettings.Ports); under host networking the
        listening socket must belong to one of the container's processes (the pid `ss` shows
        is in `docker top`). Where the node does not tell the pid (a login that may not see
        it), the container running plus `/v1/models` naming the recipe's served model is the
        evidence left; `_models_answer` checks that name in every case.
        """
        if self.deployment.network != "host":
            mapped = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
            bound = {
                str(entry.get("HostPort"))
                for entry in mapped.get(f"{self.recipe.port}/tcp") or []
                if entry
            }
            if str(port) not in bound:
                return f"Docker does not map host port {port} to {container.name}"
            return ""
        pids = ports.listening_pids(ports.listening_on_node(self.node), port)
        if not pids:
            return ""
        try:
            top = container.top()
        except APIError:  # it stopped meanwhile: the next look sees it exited
            return ""
        column = top["Titles"].index("PID")
        own = {int(row[column]) for row in top["Processes"] if str(row[column]).isdigit()}
        if pids & own:
            return ""
        outside = ", ".join(str(p) for p in sorted(pids))
        return f"pid {outside} listens there, outside {container.name}"

    def _served_name(self) -> str:
        """The model name the launch serves under (what vLLM lists in /v1/models)."""
        launch = list(self.deployment.launch or [])
        for flag in ("--served-model-name", "--model"):
            if flag in launch[:-1]:
                return launch[launch.index(flag) + 1]
        return self.recipe.served_model_name or self.recipe.model

    def _models_answer(self, port: int) -> bool:
        try:
            status, answer = http_on_node(self.node, port, "GET", "/v1/models", timeout=3)
        except RemoteError:
            return False
        if status != 200 or not isinstance(answer, dict):
            return False
        names = {m.get("id") for m in answer.get("data") or [] if isinstance(m, dict)}
        return self._served_name() in names

    def _last_lines(self, count: int = 20) -> str:
        try:
            with docker_on(self.node) as client:
                container = self._container(client)
                if container is None:
                    return "(container gone)"
                return container.logs(tail=count).decode("utf-8", "replace").strip()
        except RemoteError as exc:
            return f"(logs unavailable: {exc})"

    @property
    def recipe(self) -> RecipeVersion:
        return self.deployment.recipe_version

    def _remove_container(self) -> bool:
        with docker_on(self.node) as client:
            container = self._container(client)
            if container is None:
                return False
            container.remove(force=True)
            return True

    def _queue_follow(self) -> None:
        dispatch.follow_deployment(self.deployment.pk)


class DeployRunner(_DeploymentRunner):
    """Runs exactly the rendered `docker run` (as create + start), then waits and tests."""

    def run(self) -> None:
        with self.step("checks"):
            self._checks()
        with self.step("create"):
            self._create()
        with self.step("start"):
            self._start()
            # Follow once it runs: `logs --follow` on a container not yet started ends at once.
            # Docker keeps the output from the start, so nothing printed meanwhile is missed.
            self._start_following()
            _set(self.deployment, status=DeploymentStatus.STARTING)
        with self.step("ready"):
            self.wait_ready()
        with self.step("smoke"):
            self._smoke()
        self._stop_following()
        _set(self.deployment, status=DeploymentStatus.RUNNING, ready_at=timezone.now(), error="")
        self._queue_follow()

    def _checks(self) -> None:
        deployment = self.deployment
        if deployment.booking is None:
            raise StepFailed("the deployment's booking is gone")
        check_booking(deployment.booking, deployment.cards)
        messages = review(
            "inference", self.recipe.content(), target_for(self.node, tuple(deployment.cards))
        )
        errors = [m for m in messages if m.level == "error"]
        if errors:
            raise StepFailed(
                "the recipe does not validate: "
                + "; ".join(f"{m.field}: {m.message}" for m in errors)
            )
        wanted = {device_path(self.node.device_dir, card) for card in deployment.cards}
        with docker_on(self.node) as client:
            for container in client.containers.list():
                if container.name == deployment.container_name:
                    continue
                held = {
                    d.get("PathOnHost") for d in container.attrs["HostConfig"].get("Devices") or []
                }
                clash = sorted(held & wanted)
                if clash:
                    raise StepFailed(
                        f"{', '.join(clash)} on {self.node.name} is held by container "
                        f"{container.name}; two containers on one NPU break the second one"
                    )
        self.log.line(f"cards {deployment.cards} on {self.node.name} are booked and free")

    def _create(self, avoid: set[int] | None = None) -> None:
        deployment = self.deployment
        if self._remove_container():
            self.log.line(f"removed {deployment.container_name} left by an earlier attempt")
        self._claim_port(avoid or set())
        labels = {
            choices.JOB_LABEL: str(self.job.pk),
            choices.DEPLOYMENT_LABEL: str(deployment.pk),
            choices.BOOKING_LABEL: str(deployment.booking_id),
        }
        rendered = render_version(
            self.recipe,
            target_for(self.node, tuple(deployment.cards)),
            kind="deploy",
            pk=deployment.pk,
            labels=labels,
            network=deployment.network,
            host_port=deployment.host_port,
        )
        # The container policy has the last word, on the node: host paths resolved there.
        run = policy.check_run(
            rendered.docker_run.argv,
            node=self.node,
            team=deployment.team,
            cards=deployment.cards,
            recipe=self.recipe.recipe,
        )
        _set(
            deployment,
            docker_run=run,
            launch=list(rendered.launch.argv) if rendered.launch else [],
            container_name=rendered.container_name,
        )
        self.log.line("$ " + shlex.join(run))
        # `docker run -itd ARGS` is `docker create -it ARGS` followed by `docker start`.
        assert run[:3] == ["docker", "run", "-itd"], run[:3]
        created = pool.run(
            ssh_target(self.node),
            ["docker", "create", "-it", *run[3:]],
            timeout=settings.FLEET_SSH_COMMAND_TIMEOUT * 4,
        )
        container_id = created.stdout.strip().splitlines()[-1]
        _set(deployment, container_id=container_id)
        self.log.line(f"created container {container_id[:12]}")

    def _claim_port(self, avoid: set[int]) -> None:
        """Pick the host port now, from what the node says is free (a retry picks again)."""
        held = ports.held_on_node(self.node)
        port = ports.claim_port(self.deployment, held, avoid=avoid)
        if self.deployment.network == "host":
            self.log.line(f"port {port} (host networking) is free on {self.node.name}")
        else:
            self.log.line(f"host port {port} is free on {self.node.name}; publishing it")

    def _start(self) -> None:
        """docker start; a published port something took since it was picked is picked again."""
        tried: set[int] = set()
        while True:
            try:
                with docker_on(self.node) as client:
                    container = self._container(client)
                    assert container is not None  # the create step made it
                    container.start()
                return
            except RemoteError as exc:
                taken = self.deployment.host_port
                if (
                    self.deployment.network == "host"
                    or taken is None
                    or len(tried) >= PORT_ATTEMPTS - 1
                    or not any(sign in str(exc) for sign in PORT_TAKEN_SIGNS)
                ):
                    raise
                tried.add(taken)
                self.log.line(f"host port {taken} was taken before the container started")
                self._create(avoid=tried)

    def _smoke(self) -> None:
        recipe = self.recipe
        port = ports.port_of(self.deployment)
        assert port is not None  # a started deployment has its port
        name = recipe.served_model_name or recipe.model
        body = {"model": name, "prompt": "Hello, Ascend", "max_tokens": 16, "return_latency": True}
        status, answer = http_on_node(
            self.node, port, "POST", "/v1/completions", body, timeout=settings.JOBS_SMOKE_TIMEOUT
        )
        if status != 200 or not isinstance(answer, dict):
            raise StepFailed(f"POST /v1/completions answered {status}: {str(answer)[:300]}")
        latency = answer.get("latency") or {}
        recorded = {key: latency.get(key) for key in LATENCY_KEYS if key in latency}
        self.log.line("latency (ms): " + ", ".join(f"{k}={v}" for k, v in recorded.items()))
        _set(self.deployment, latencies=recorded, endpoint_url=f"http://{self.node.host}:{port}/v1")

    def on_failure(self) -> None:
        self._stop_following()
        if self.deployment.status != DeploymentStatus.FAILED:
            _set(self.deployment, status=DeploymentStatus.FAILED)
        if self._remove_container():
            self.log.line(f"removed {self.deployment.container_name}: its cards are free again")

    def on_cancel(self) -> None:
        self.on_failure()
        _set(self.deployment, status=DeploymentStatus.STOPPED, error="deploy cancelled")


class StopRunner(_DeploymentRunner):
    """docker stop; the container stays for its logs and a restart."""

    def run(self) -> None:
        with self.step("stop"), docker_on(self.node) as client:
            container = self._container(client)
            if container is None:
                self.log.line("the container is already gone")
            else:
                container.stop(timeout=settings.JOBS_STOP_TIMEOUT)
                container.reload()
                _set(self.deployment, exit_code=container.attrs["State"].get("ExitCode"))
        _set(self.deployment, status=DeploymentStatus.STOPPED)


class RestartRunner(_DeploymentRunner):
    """docker restart, then the same readiness wait as a deploy."""

    def run(self) -> None:
        with self.step("restart"):
            with docker_on(self.node) as client:
                container = self._container(client)
                if container is None:
                    raise StepFailed("the container is gone: deploy again instead")
                container.restart(timeout=settings.JOBS_STOP_TIMEOUT)
            self._start_following()  # from the saved cursor: no line twice, none lost
            _set(self.deployment, status=DeploymentStatus.STARTING, exit_code=None)
        with self.step("ready"):
            self.wait_ready()
        self._stop_following()
        _set(self.deployment, status=DeploymentStatus.RUNNING, ready_at=timezone.now())
        self._queue_follow()

    def on_failure(self) -> None:
        self._stop_following()


class RemoveRunner(_DeploymentRunner):
    """docker rm -f; the deployment record stays, marked removed."""

    def run(self) -> None:
        with self.step("remove"):
            if not self._remove_container():
                self.log.line("the container was already gone")
        _set(self.deployment, status=DeploymentStatus.REMOVED)
