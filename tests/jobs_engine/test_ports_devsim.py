"""Host ports come from what is free on the node, right before `docker create`.

The simulated nodes share this machine's ports and Docker engine, as containers of a real node
share its ports: a port held by anything here is held "on the node".
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta

import docker
import pytest
from django.utils import timezone

from devsim.client import wait_for
from fleet.booking.models import Booking
from fleet.booking.services.bookings import book_cards
from fleet.errors import Conflict
from fleet.models import Node
from fleet.services import probing
from jobs.catalog.services.recipes import edit_recipe
from jobs.choices import DeploymentStatus, JobStatus
from jobs.docker_api import http_on_node
from jobs.models import Deployment, Job, LogChunk
from jobs.services import deployments, ports
from jobs.tasks import run_job
from tests.helpers import onboard

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.devsim]
FIRST = 30000  # the default range's first port: held on purpose below
BUSYBOX = "npufleet/busybox:local"


def log_text(job: Job) -> str:
    return "".join(LogChunk.objects.filter(job=job).order_by("seq").values_list("text", flat=True))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


def hold_port(port: int, *, host_network: bool = False) -> docker.models.containers.Container:
    """A container the dashboard did not start, holding `port` on this machine."""
    client = docker.from_env()
    name = f"npufleet-test-stranger-{uuid.uuid4().hex[:8]}"
    if host_network:
        command, options = ["nc", "-ll", "-p", str(port), "-e", "cat"], {"network_mode": "host"}
    else:
        command, options = ["sleep", "600"], {"ports": {"80/tcp": port}}
    try:
        return client.containers.run(
            BUSYBOX, command, detach=True, name=name, labels={"npufleet.devsim": "1"}, **options
        )
    except docker.errors.APIError:
        for left in client.containers.list(all=True, filters={"name": name}):
            left.remove(force=True)
        raise


@pytest.fixture
def strangers() -> Iterator[list]:
    made: list = []
    yield made
    for container in made:
        container.remove(force=True)


@pytest.fixture
def first_port_held(strangers) -> int:
    """FIRST is held on the node: by a foreign container, or by whatever held it already (this
    test must not need the port free either)."""
    try:
        strangers.append(hold_port(FIRST))
    except docker.errors.APIError as exc:
        if "allocated" not in str(exc) and "in use" not in str(exc):
            raise
    return FIRST


@pytest.fixture
def second_node(devsim, admin_user) -> Iterator[Node]:
    node = onboard(admin_user, devsim.node("node-b"), network_mode="bridge")
    probing.probe_node(node.pk)
    node.refresh_from_db()
    yield node
    client = docker.from_env()
    for container in client.containers.list(all=True, filters={"label": "npufleet.managed=1"}):
        devices = container.attrs["HostConfig"].get("Devices") or []
        if any(d.get("PathOnHost", "").startswith(node.device_dir + "/") for d in devices):
            container.remove(force=True)


def served_models(node: Node, port: int) -> set[str]:
    status, answer = http_on_node(node, port, "GET", "/v1/models")
    assert status == 200, answer
    return {m["id"] for m in answer["data"]}


def test_walk_through_deploys_first_try_beside_a_held_port_and_another_nodes_deployment(
    booking, recipe, member_user, member_api, team, engine_node, second_node, first_port_held,
    fast_jobs,
):  # fmt: skip
    fast_jobs.JOBS_HOST_PORTS = (FIRST, FIRST + 999)
    # Another deployment, on a second node (its port is held on this machine too).
    now = timezone.now()
    other_booking = book_cards(
        member_user, team=team, node=second_node, start=now, end=now + timedelta(hours=1),
        purpose="the other node", devices=[0, 1],
    )  # fmt: skip
    other = deployments.deploy(
        actor=member_user, recipe_version=recipe.current_version, booking=other_booking
    )
    assert run_job(other.jobs.get().pk) == JobStatus.SUCCEEDED, other.jobs.get().error
    other.refresh_from_db()
    assert other.host_port not in (None, first_port_held)
    # The README's walk-through on node-a, over the API: deployed on the first try.
    answer = member_api.post(
        "/api/v1/deployments/",
        {"recipe_version": recipe.current_version_id, "booking": booking.pk},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    deployment = Deployment.objects.get(pk=answer.json()["id"])
    assert deployment.host_port is None  # picked at launch, from what the node says then
    job = deployment.jobs.get()
    assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    deployment.refresh_from_db()
    port = deployment.host_port
    assert port not in (first_port_held, other.host_port)
    assert FIRST <= port <= FIRST + 999
    assert deployment.status == DeploymentStatus.RUNNING
    assert deployment.endpoint_url == f"http://{engine_node.host}:{port}/v1"
    assert f"{port}:8080" in deployment.docker_run
    assert f"host port {port} is free on node-a" in log_text(job)
    # The endpoint is its own: Docker maps the port to this container, the server names its model
    mine = docker.from_env().containers.get(deployment.container_name)
    assert {b["HostPort"] for b in mine.attrs["NetworkSettings"]["Ports"]["8080/tcp"]} == {
        str(port)
    }
    assert "qwen2-7b" in served_models(engine_node, port)
    assert Job.objects.filter(deployment=deployment).count() == 1  # no retry was needed


def test_a_retry_picks_the_port_again_from_what_is_free_then(
    booking, recipe, member_user, engine_node, strangers
):
    version = edit_recipe(
        member_user,
        recipe,
        values={"env": {"USE_PFA_HIGH_PRECISION_MODE": "1", "VLLM_SIM_FAIL_STARTUP": "1"}},
    )
    deployment = deployments.deploy(actor=member_user, recipe_version=version, booking=booking)
    job = deployment.jobs.get()
    assert run_job(job.pk) == JobStatus.FAILED
    deployment.refresh_from_db()
    first = deployment.host_port
    assert first is not None
    strangers.append(hold_port(first))  # something takes that port meanwhile
    again = deployments.retry(job, actor=member_user)
    assert run_job(again.pk) == JobStatus.FAILED  # the recipe still fails to start...
    deployment.refresh_from_db()
    assert deployment.host_port not in (None, first)  # ...but on a port picked again
    assert f"{deployment.host_port}:8080" in deployment.docker_run
    assert "exited with code 1" in Job.objects.get(pk=again.pk).error


def test_a_port_taken_between_the_pick_and_the_start_is_picked_again(
    booking, recipe, member_user, engine_node, strangers, fast_jobs, monkeypatch
):
    low = fast_jobs.JOBS_HOST_PORTS[0]
    try:
        strangers.append(hold_port(low))
    except docker.errors.APIError:
        pytest.fail(f"port {low} of this test's own range is busy; run again")
    real = ports.held_on_node
    calls: list[int] = []

    def blind_first(node, **kw):
        # The first look misses the stranger, as if it had started right after the look.
        calls.append(1)
        return {} if len(calls) == 1 else real(node, **kw)

    monkeypatch.setattr(ports, "held_on_node", blind_first)
    deployment = deployments.deploy(
        actor=member_user, recipe_version=recipe.current_version, booking=booking
    )
    job = deployment.jobs.get()
    assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    deployment.refresh_from_db()
    assert deployment.host_port != low
    text = log_text(job)
    assert f"host port {low} was taken before the container started" in text
    assert "qwen2-7b" in served_models(engine_node, deployment.host_port)


@pytest.fixture
def host_network(engine_node, booking) -> Booking:
    """The booking, on node-a switched to host networking (as the manuals run vLLM)."""
    Node.objects.filter(pk=engine_node.pk).update(network_mode="host")
    return Booking.objects.select_related("node").get(pk=booking.pk)


def test_host_networking_refuses_a_recipe_port_held_on_the_node_naming_what_holds_it(
    recipe, member_user, host_network, strangers
):
    port = free_port()
    version = edit_recipe(member_user, recipe, values={"port": port})
    strangers.append(hold_port(port, host_network=True))
    node = host_network.node
    wait_for(lambda: port in ports.parse_listening(ports.listening_on_node(node)))
    deployment = deployments.deploy(actor=member_user, recipe_version=version, booking=host_network)
    job = deployment.jobs.get()
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert f"port {port} on node-a is held by process nc (pid" in job.error, job.error
    assert [s["status"] for s in job.steps][:2] == ["done", "failed"]
    assert not docker.from_env().containers.list(
        all=True, filters={"name": deployment.container_name}
    )


def test_host_networking_serves_from_its_own_container_and_no_second_deployment_shares_the_port(
    recipe, member_user, team, host_network
):
    port = free_port()
    node = host_network.node
    version = edit_recipe(member_user, recipe, values={"port": port})
    deployment = deployments.deploy(actor=member_user, recipe_version=version, booking=host_network)
    job = deployment.jobs.get()
    assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    deployment.refresh_from_db()
    assert deployment.host_port is None and "--net=host" in deployment.docker_run
    assert f"server ready on port {port} (container {deployment.container_name})" in log_text(job)
    # the listening socket belongs to the container's process
    pids = ports.listening_pids(ports.listening_on_node(node), port)
    top = docker.from_env().containers.get(deployment.container_name).top()
    column = top["Titles"].index("PID")
    assert pids & {int(row[column]) for row in top["Processes"]}
    # a second deployment of a recipe on the same port is refused before anything runs
    now = timezone.now()
    more = book_cards(
        member_user, team=team, node=node, start=now, end=now + timedelta(hours=1),
        purpose="second", devices=[2, 3],
    )  # fmt: skip
    with pytest.raises(Conflict, match=f"port {port} on node-a is held by deployment"):
        deployments.deploy(actor=member_user, recipe_version=version, booking=more)
