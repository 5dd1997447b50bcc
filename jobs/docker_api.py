"""The Docker seam: the docker SDK talking to a node's engine through the node's SSH connection.

The SDK's own SSH transport reads ~/.ssh and trusts the system's known_hosts; ours goes through
the pooled paramiko connection of `fleet.remote`, with the node's pinned host key and stored
credentials, and runs `docker system dial-stdio` there. Errors leave as `RemoteError`.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import socket
from collections.abc import Iterator
from typing import Any

import docker
import paramiko
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.transport.sshconn import SSHHTTPAdapter

from fleet.models import Node
from fleet.remote import ErrorKind, RemoteError, pool
from fleet.services.nodes import target_for

API_VERSION_FLOOR = "1.39"
# How a lost SSH channel shows through requests/urllib3 inside the SDK's own exceptions.
_CONNECTION_SIGNS = (
    "Connection aborted",
    "RemoteDisconnected",
    "Connection refused",
    "Connection reset",
    "SSH session not active",
    # paramiko, when the node went away under a pooled transport: no channel opens on it, or the
    # SDK's socket to it is already gone
    "Unable to open channel",
    "object has no attribute 'settimeout'",
)  # docker 18.09, what the manuals' EulerOS images ship


class _PinnedSSHAdapter(SSHHTTPAdapter):
    """docker-py's SSH adapter, fed with an already authenticated, host-key-pinned client."""

    # types-docker declares both as int; the SDK stores a float timeout and a pool container.
    timeout: float  # type: ignore[assignment]
    pools: Any

    def __init__(self, client: paramiko.SSHClient, timeout: float) -> None:
        from docker import constants
        from docker.transport.sshconn import RecentlyUsedContainer

        self.ssh_client = client
        self.ssh_host = "pinned"
        self.ssh_params: dict[str, Any] = {}
        self.timeout = timeout
        self.max_pool_size = constants.DEFAULT_MAX_POOL_SIZE
        self.pools = RecentlyUsedContainer(
            constants.DEFAULT_NUM_POOLS, dispose_func=lambda p: p.close()
        )
        requests.adapters.HTTPAdapter.__init__(self)

    def _connect(self) -> None:  # the fleet's SSH pool reconnects, not the adapter
        return None

    def close(self) -> None:  # the connection belongs to the pool
        requests.adapters.HTTPAdapter.close(self)
        self.pools.clear()


def client_for(node: Node, timeout: float = 60.0) -> docker.DockerClient:
    """A docker SDK client for the node's engine; raises RemoteError naming the failing side."""
    ssh = pool.client(target_for(node))
    client = docker.DockerClient(base_url="tcp://127.0.0.1:9", version=API_VERSION_FLOOR)
    adapter = _PinnedSSHAdapter(ssh, timeout)
    client.api.mount("http+docker://ssh", adapter)
    client.api._custom_adapter = adapter  # type: ignore[attr-defined]  # private SDK attribute
    client.api.base_url = "http+docker://ssh"
    client.api.timeout = timeout  # type: ignore[assignment]  # the SDK takes a float
    try:
        # Private SDK members, not in types-docker.
        client.api._version = client.api._retrieve_server_version()  # type: ignore[attr-defined]
    except Exception as exc:
        error = classify(exc, node)
        if error.kind == ErrorKind.UNREACHABLE:
            pool.close(target_for(node).key)  # reconnect next time instead of reusing it
        raise error from None
    return client


def classify(exc: BaseException, node: Node | str) -> RemoteError:
    """A RemoteError for anything the SDK or the transport raised, naming the node."""
    name = node if isinstance(node, str) else node.name
    error = _classify(exc, name)
    error.node = error.node or name
    return error


def _classify(exc: BaseException, name: str) -> RemoteError:
    if isinstance(exc, RemoteError):
        return exc
    if isinstance(exc, ImageNotFound | NotFound):
        return RemoteError(
            ErrorKind.COMMAND_FAILED, f"docker on {name}: {exc.explanation or exc}", permanent=True
        )
    if isinstance(exc, APIError):
        detail = exc.explanation or str(exc)
        if "dial-stdio" in detail or "command not found" in detail:
            return RemoteError(
                ErrorKind.COMMAND_FAILED,
                f"docker on {name} is missing or too old for remote use ({detail}); install "
                "docker (manual: yum install -y docker-engine.aarch64 ...)",
                permanent=True,
            )
        return RemoteError(
            ErrorKind.COMMAND_FAILED,
            f"docker on {name}: {detail}",
            permanent=400 <= (exc.status_code or 500) < 500,
        )
    if isinstance(exc, requests.exceptions.Timeout | socket.timeout | TimeoutError):
        return RemoteError(ErrorKind.TIMEOUT, f"docker on {name} did not answer in time ({exc})")
    if isinstance(
        exc, requests.exceptions.ConnectionError | paramiko.SSHException | OSError | EOFError
    ):
        return RemoteError(ErrorKind.UNREACHABLE, f"docker on {name}: connection lost ({exc})")
    if isinstance(exc, DockerException):
        text = str(exc)
        if any(sign in text for sign in _CONNECTION_SIGNS):
            return RemoteError(ErrorKind.UNREACHABLE, f"docker on {name}: connection lost ({text})")
        return RemoteError(ErrorKind.COMMAND_FAILED, f"docker on {name}: {text}")
    return RemoteError(ErrorKind.COMMAND_FAILED, f"docker on {name}: {type(exc).__name__}: {exc}")


@contextlib.contextmanager
def docker_on(node: Node, timeout: float = 60.0) -> Iterator[docker.DockerClient]:
    """`with docker_on(node) as client:`; every SDK error becomes a RemoteError."""
    client = client_for(node, timeout)
    try:
        yield client
    except RemoteError:
        raise
    except Exception as exc:
        raise classify(exc, node) from None
    finally:
        with contextlib.suppress(Exception):
            client.api.close()


class _Replay:
    """A socket stand-in that replays received bytes to http.client's parser."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self._data)


def http_on_node(
    node: Node,
    port: int,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    timeout: float = 10.0,
) -> tuple[int, Any]:
    """An HTTP request to 127.0.0.1:port on the node, tunnelled through its SSH connection.

    Returns (status, parsed JSON or text). The serving port need not be reachable from here.
    """
    transport = pool.client(target_for(node)).get_transport()
    if transport is None:
        raise RemoteError(ErrorKind.UNREACHABLE, f"{node.name}: SSH connection closed")
    try:
        channel = transport.open_channel(
            "direct-tcpip", ("127.0.0.1", port), ("127.0.0.1", 0), timeout=timeout
        )
    except paramiko.ChannelException as exc:
        raise RemoteError(
            ErrorKind.UNREACHABLE, f"{node.name}: nothing answers on port {port} ({exc})"
        ) from None
    except (paramiko.SSHException, OSError, EOFError) as exc:
        pool.close(target_for(node).key)
        raise RemoteError(
            ErrorKind.UNREACHABLE, f"{node.name}: SSH connection lost ({exc or type(exc).__name__})"
        ) from None
    channel.settimeout(timeout)
    payload = json.dumps(body).encode() if body is not None else b""
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Connection: close",
        f"Content-Length: {len(payload)}",
    ]
    if body is not None:
        head.append("Content-Type: application/json")
    received = bytearray()
    try:
        channel.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        # The server closes after answering (Connection: close): read to the end first, then
        # parse, so nothing depends on how the tunnel splits or ends the stream.
        while True:
            chunk = channel.recv(65536)
            if not chunk:
                break
            received += chunk
        # http.client only calls makefile() on its "socket".
        response = http.client.HTTPResponse(_Replay(bytes(received)), method=method)  # type: ignore[arg-type]
        response.begin()
        raw = response.read().decode("utf-8", "replace")
    except (OSError, EOFError, paramiko.SSHException, http.client.HTTPException) as exc:
        raise RemoteError(
            ErrorKind.TIMEOUT if isinstance(exc, TimeoutError) else ErrorKind.UNREACHABLE,
            f"{node.name}:{port} {method} {path} failed ({exc}; {len(received)} bytes received)",
        ) from None
    finally:
        channel.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw
