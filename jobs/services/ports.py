"""Host ports of deployments: chosen from what is free on the node, and never shared on a node.

Two sources say what holds a port on a node: the node itself (`ss -Htlnp`, or /proc/net/tcp
where ss is missing: every listening socket, with its process when the login may see it) and
its Docker engine (the ports every container publishes, created or stopped ones included,
since they take their port back when started). The database adds the deployments that hold a
port but may not be listening right now. A deployment's port is picked under the node's row
lock, so two deployments starting at once on one node never pick the same one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from fleet.errors import Conflict
from fleet.models import Node
from fleet.remote import pool
from fleet.services.nodes import target_for
from jobs.choices import DeploymentStatus
from jobs.docker_api import docker_on
from jobs.models import Deployment

# Deployments whose container may hold its port: live ones, and stopped or exited ones whose
# container stays for a restart (which takes the same port back).
PORT_HOLDING_STATUSES = (
    DeploymentStatus.PENDING,
    DeploymentStatus.STARTING,
    DeploymentStatus.RUNNING,
    DeploymentStatus.STOPPED,
    DeploymentStatus.EXITED,
)
LISTENING_SCRIPT = "ss -Htlnp 2>/dev/null || cat /proc/net/tcp /proc/net/tcp6"
_SS_PROCESS = re.compile(r'\("([^"]*)",pid=(\d+)')


def port_of(deployment: Deployment) -> int | None:
    """The host port the deployment serves on: its published port, or under host networking the
    recipe's own port."""
    if deployment.network == "host":
        return deployment.recipe_version.port
    return deployment.host_port


def claimed_in_db(node: Node, *, exclude: int | None = None) -> dict[int, str]:
    """Ports held on the node by its deployments, each with a phrase naming the deployment."""
    rows = (
        Deployment.objects.filter(node=node, status__in=PORT_HOLDING_STATUSES)
        .exclude(pk=exclude)  # type: ignore[misc]  # pk=None excludes nothing
        .select_related("recipe_version")
    )
    claimed: dict[int, str] = {}
    for row in rows:
        port = port_of(row)
        if port:
            claimed[port] = (
                f"deployment {row.pk} ({row.container_name or 'no container yet'}, {row.status})"
            )
    return claimed


def check_unclaimed(node: Node, port: int, *, exclude: int | None = None) -> None:
    """Refuse (409 naming the holder) when another deployment on the node holds this port."""
    holder = claimed_in_db(node, exclude=exclude).get(port)
    if holder:
        raise Conflict(
            f"port {port} on {node.name} is held by {holder}; under host networking the "
            f"recipe's port is the host port: remove that deployment or give the recipe "
            "another port",
            field="port",
        )


def parse_listening(text: str) -> dict[int, str]:
    """Listening TCP ports from `ss -Htlnp` (or /proc/net/tcp*) output, with their process."""
    found: dict[int, str] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == "LISTEN":
            _, _, port_text = fields[3].rpartition(":")
            if not port_text.isdigit():
                continue
            process = _SS_PROCESS.search(line)
            if process:
                found[int(port_text)] = f"process {process.group(1)} (pid {process.group(2)})"
            else:
                found.setdefault(int(port_text), "a listening process")
        elif len(fields) >= 4 and fields[3] == "0A" and ":" in fields[1]:  # /proc/net/tcp LISTEN
            found.setdefault(int(fields[1].rpartition(":")[2], 16), "a listening process")
    return found


def listening_pids(text: str, port: int) -> set[int]:
    """Pids of the processes listening on `port`, from `ss -Htlnp` output (empty if unknown)."""
    pids: set[int] = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == "LISTEN" and fields[3].rpartition(":")[2] == str(port):
            pids.update(int(pid) for _, pid in _SS_PROCESS.findall(line))
    return pids


def listening_on_node(node: Node) -> str:
    """The node's own list of listening TCP sockets (raises RemoteError)."""
    return pool.run(
        target_for(node), LISTENING_SCRIPT, timeout=settings.FLEET_SSH_COMMAND_TIMEOUT
    ).stdout


def published_by_containers(node: Node, *, skip: Iterable[str] = ()) -> dict[int, str]:
    """Host ports published by the node's containers (any state), naming the container."""
    skipped = set(skip)
    found: dict[int, str] = {}
    with docker_on(node, timeout=30) as client:
        for container in client.containers.list(all=True):
            if container.name in skipped:
                continue
            attrs = container.attrs
            bindings = [
                *((attrs.get("HostConfig") or {}).get("PortBindings") or {}).values(),
                *((attrs.get("NetworkSettings") or {}).get("Ports") or {}).values(),
            ]
            for binding in bindings:
                for entry in binding or []:
                    port = str(entry.get("HostPort") or "")
                    if port.isdigit():
                        state = attrs.get("State", {}).get("Status", "")
                        found[int(port)] = f"container {container.name} ({state})"
    return found


def held_on_node(node: Node, *, own_container: str = "") -> dict[int, str]:
    """Every port something holds on the node now, with what holds it (raises RemoteError)."""
    held = parse_listening(listening_on_node(node))
    # Docker's name is better than "docker-proxy": it says which container to stop.
    held.update(published_by_containers(node, skip=[own_container] if own_container else []))
    return held


def claim_port(deployment: Deployment, held: dict[int, str], *, avoid: Iterable[int] = ()) -> int:
    """The host port this deployment will hold, recorded on it under the node's row lock.

    Bridge networking: the lowest port of JOBS_HOST_PORTS that neither the node (`held`) nor
    another deployment holds. Host networking: the recipe's port, refused with the name of what
    holds it when it is taken (it cannot be changed without changing the recipe).
    """
    avoided = set(avoid)
    with transaction.atomic():
        node = Node.objects.select_for_update().get(pk=deployment.node_id)
        claimed = claimed_in_db(node, exclude=deployment.pk)
        if deployment.network == "host":
            port = deployment.recipe_version.port
            holder = claimed.get(port) or held.get(port)
            if holder:
                raise Conflict(
                    f"port {port} on {node.name} is held by {holder}; under host networking "
                    f"the recipe's port is the host port: stop what holds it or give the "
                    "recipe another port",
                    field="port",
                )
            return port
        low, high = settings.JOBS_HOST_PORTS
        for candidate in range(low, high + 1):
            if candidate in claimed or candidate in held or candidate in avoided:
                continue
            Deployment.objects.filter(pk=deployment.pk).update(host_port=candidate)
            deployment.host_port = candidate
            return candidate
    raise Conflict(
        f"no free host port in {low}-{high} on {node.name}: every one is held by a container, "
        "a process or a deployment; remove stopped deployments or widen JOBS_HOST_PORTS",
        field="port",
    )
