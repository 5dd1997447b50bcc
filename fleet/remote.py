"""The SSH seam: pooled, kept-alive paramiko connections with pinned host keys.

Every failure leaves this module as a `RemoteError` whose `kind` says which side failed:
unreachable, timeout, authentication failed, host key unknown/changed, or command failed.
"""

from __future__ import annotations

import base64
import codecs
import enum
import hashlib
import io
import os
import select
import shlex
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import paramiko


class ErrorKind(enum.StrEnum):
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    AUTH_FAILED = "authentication failed"
    HOST_KEY_UNKNOWN = "host key not accepted"
    HOST_KEY_CHANGED = "host key changed"
    COMMAND_FAILED = "command failed"


class RemoteError(Exception):
    """A remote operation failed; `kind` names the failing side, `permanent` means don't retry."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        permanent: bool = False,
        exit_code: int | None = None,
        stderr: str = "",
        fingerprint: str = "",
        node: str = "",
    ) -> None:
        super().__init__(f"{kind.value}: {message}")
        self.kind = kind
        self.message = message
        self.permanent = permanent
        self.exit_code = exit_code
        self.stderr = stderr
        self.fingerprint = fingerprint
        # The node it happened on (its name), for callers that report it outside a job.
        self.node = node


@dataclass(frozen=True)
class HostKey:
    """A server's public host key."""

    key_type: str
    base64: str

    @property
    def fingerprint(self) -> str:
        """OpenSSH-style SHA256 fingerprint."""
        return fingerprint_of(base64.b64decode(self.base64))

    def to_pkey(self) -> paramiko.PKey:
        return paramiko.PKey.from_type_string(self.key_type, base64.b64decode(self.base64))

    @classmethod
    def parse(cls, text: str) -> HostKey:
        """'type base64' as stored for pinned keys."""
        key_type, _, data = text.strip().partition(" ")
        return cls(key_type, data.split(" ")[0])


def fingerprint_of(blob: bytes) -> str:
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to log in; `host_key` None means 'not accepted yet'."""

    host: str
    port: int
    username: str
    host_key: HostKey | None


@dataclass(frozen=True)
class Target:
    """Everything needed to reach one node."""

    key: str
    endpoint: Endpoint
    private_key: str = field(default="", repr=False)
    passphrase: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    jump: Endpoint | None = None
    connect_timeout: float = 15.0
    name: str = ""  # the node's name, stamped on errors

    def fingerprint(self) -> str:
        """A digest of the connection settings: a change reconnects."""
        parts = [
            repr(self.endpoint),
            repr(self.jump),
            self.private_key,
            self.passphrase,
            self.password,
            str(self.connect_timeout),
        ]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class CommandResult:
    """What a remote command returned."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float


def load_private_key(text: str, passphrase: str = "") -> paramiko.PKey:
    """A paramiko key from OpenSSH/PEM text; ValueError with a readable reason otherwise."""
    last: Exception | None = None
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text), password=passphrase or None)
        except paramiko.PasswordRequiredException:
            raise ValueError("the private key is encrypted: give its passphrase") from None
        except (paramiko.SSHException, ValueError, IndexError, TypeError) as exc:
            last = exc
    raise ValueError(f"the private key cannot be read ({last}); paste an OpenSSH or PEM key")


def stamped(error: RemoteError, target: Target) -> RemoteError:
    """The error with the node it happened on (when not already named)."""
    if not error.node:
        error.node = target.name or target.key
    return error


def _known_name(endpoint: Endpoint) -> str:
    return endpoint.host if endpoint.port == 22 else f"[{endpoint.host}]:{endpoint.port}"


def _classify_connect(exc: BaseException, endpoint: Endpoint, timeout: float) -> RemoteError:
    where = f"{endpoint.host}:{endpoint.port}"
    if isinstance(exc, RemoteError):
        return exc
    if isinstance(exc, paramiko.BadHostKeyException):
        got = fingerprint_of(exc.key.asbytes())
        return RemoteError(
            ErrorKind.HOST_KEY_CHANGED,
            f"{where} offered {got}, not the accepted {fingerprint_of(exc.expected_key.asbytes())};"
            " connection refused. If the server was reinstalled, an admin must review and accept "
            "the new key.",
            permanent=True,
            fingerprint=got,
        )
    if isinstance(exc, paramiko.AuthenticationException):
        return RemoteError(
            ErrorKind.AUTH_FAILED,
            f"{endpoint.username}@{where} rejected the credentials ({exc}); check the user, key "
            "or password",
            permanent=True,
        )
    if isinstance(exc, socket.timeout | TimeoutError):
        return RemoteError(ErrorKind.UNREACHABLE, f"{where} did not answer within {timeout:g} s")
    if isinstance(exc, OSError | EOFError):
        # EOFError has no strerror.
        return RemoteError(
            ErrorKind.UNREACHABLE, f"{where}: {getattr(exc, 'strerror', None) or exc}"
        )
    if isinstance(exc, paramiko.SSHException):
        return RemoteError(ErrorKind.UNREACHABLE, f"{where}: SSH handshake failed ({exc})")
    return RemoteError(ErrorKind.UNREACHABLE, f"{where}: {type(exc).__name__}: {exc}")


class _PinnedKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Refuses any key that is not pinned; remembers what was offered for the admin to review."""

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        fp = fingerprint_of(key.asbytes())
        raise RemoteError(
            ErrorKind.HOST_KEY_UNKNOWN,
            f"{hostname} offered {key.get_name()} {fp}, which no admin has accepted yet",
            permanent=True,
            fingerprint=fp,
        )


def _open_socket(
    target: Target, endpoint: Endpoint, via: paramiko.SSHClient | None
) -> socket.socket | paramiko.Channel:
    if via is None:
        sock = socket.create_connection((endpoint.host, endpoint.port), target.connect_timeout)
        # Small request/response exchanges: without this each command waits on Nagle's delay.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    transport = via.get_transport()
    assert transport is not None
    return transport.open_channel(
        "direct-tcpip",
        (endpoint.host, endpoint.port),
        ("127.0.0.1", 0),
        timeout=target.connect_timeout,
    )


def _connect(
    target: Target, endpoint: Endpoint, via: paramiko.SSHClient | None
) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(_PinnedKeyPolicy())
    if endpoint.host_key is not None:
        client.get_host_keys().add(
            _known_name(endpoint), endpoint.host_key.key_type, endpoint.host_key.to_pkey()
        )
    try:
        sock = _open_socket(target, endpoint, via)
        pkey = (
            load_private_key(target.private_key, target.passphrase) if target.private_key else None
        )
        client.connect(
            endpoint.host,
            port=endpoint.port,
            username=endpoint.username,
            pkey=pkey,
            password=target.password or None,
            sock=sock,
            timeout=target.connect_timeout,
            banner_timeout=target.connect_timeout,
            auth_timeout=target.connect_timeout,
            allow_agent=False,
            look_for_keys=False,
        )
    except ValueError as exc:
        client.close()
        raise RemoteError(ErrorKind.AUTH_FAILED, str(exc), permanent=True) from None
    except Exception as exc:
        client.close()
        raise _classify_connect(exc, endpoint, target.connect_timeout) from None
    transport = client.get_transport()
    if transport is not None:
        transport.set_keepalive(30)
    return client


class SSHPool:
    """One kept-alive connection per node in this process; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._node_locks: dict[str, threading.Lock] = {}
        self._clients: dict[str, tuple[str, list[paramiko.SSHClient]]] = {}
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        # A forked worker must not reuse its parent's sockets.
        self._lock = threading.Lock()
        self._node_locks = {}
        self._clients = {}

    def _node_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._node_locks.setdefault(key, threading.Lock())

    def client(self, target: Target) -> paramiko.SSHClient:
        """The node's live connection, (re)connecting when absent, dead or reconfigured."""
        with self._node_lock(target.key):
            cached = self._clients.get(target.key)
            if cached is not None:
                digest, chain = cached
                transport = chain[-1].get_transport()
                if (
                    digest == target.fingerprint()
                    and transport is not None
                    and transport.is_active()
                ):
                    return chain[-1]
                self._close_chain(chain)
                del self._clients[target.key]
            chain = []
            try:
                if target.jump is not None:
                    chain.append(_connect(target, target.jump, None))
                chain.append(_connect(target, target.endpoint, chain[-1] if chain else None))
            except RemoteError as exc:
                self._close_chain(chain)
                stamped(exc, target)
                raise
            except BaseException:
                self._close_chain(chain)
                raise
            self._clients[target.key] = (target.fingerprint(), chain)
            return chain[-1]

    @staticmethod
    def _close_chain(chain: list[paramiko.SSHClient]) -> None:
        for client in reversed(chain):
            client.close()

    def close(self, key: str) -> None:
        """Drop a node's connection (after an error, a deletion or new settings)."""
        with self._node_lock(key):
            cached = self._clients.pop(key, None)
            if cached:
                self._close_chain(cached[1])

    def close_all(self) -> None:
        for key in list(self._clients):
            self.close(key)

    def run(
        self,
        target: Target,
        command: Sequence[str] | str,
        *,
        timeout: float = 30.0,
        check: bool = True,
        stdin: bytes | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> CommandResult:
        """Run a command (an argv list, quoted here; or a script built from quoted parts).

        `on_output`, when given, receives stdout and stderr text as it arrives, and "" about
        once a second while the command is quiet; whatever it raises stops the command.
        """
        text = command if isinstance(command, str) else shlex.join(command)
        for attempt in (1, 2):
            client = self.client(target)
            transport = client.get_transport()
            try:
                if transport is None:
                    raise paramiko.SSHException("transport closed")
                channel = transport.open_session(timeout=target.connect_timeout)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                # A pooled connection that died since last use: reconnect once.
                self.close(target.key)
                if attempt == 2:
                    error = _classify_connect(exc, target.endpoint, target.connect_timeout)
                    raise stamped(error, target) from None
                continue
            try:
                return self._execute(target, channel, text, timeout, check, stdin, on_output)
            except RemoteError as exc:
                stamped(exc, target)
                raise
        raise AssertionError("unreachable")

    def _execute(
        self,
        target: Target,
        channel: paramiko.Channel,
        text: str,
        timeout: float,
        check: bool,
        stdin: bytes | None,
        on_output: Callable[[str], None] | None,
    ) -> CommandResult:
        started = time.monotonic()
        deadline = started + timeout
        out, err = bytearray(), bytearray()
        tell = _Relay(on_output) if on_output is not None else None
        try:
            channel.exec_command(text)
            if stdin is not None:
                channel.sendall(stdin)
            channel.shutdown_write()
            while True:
                while channel.recv_ready():
                    data = channel.recv(65536)
                    out += data
                    if tell is not None:
                        tell.out(data)
                while channel.recv_stderr_ready():
                    data = channel.recv_stderr(65536)
                    err += data
                    if tell is not None:
                        tell.err(data)
                if (
                    channel.exit_status_ready()
                    and channel.eof_received
                    and not (channel.recv_ready() or channel.recv_stderr_ready())
                ):
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    channel.close()
                    self.close(target.key)
                    raise RemoteError(
                        ErrorKind.TIMEOUT,
                        f"{target.endpoint.host}:{target.endpoint.port} did not finish "
                        f"`{_short(text)}` within {timeout:g} s",
                    )
                if channel.eof_received:
                    # All output is in; only the exit status is still to come.
                    channel.status_event.wait(min(remaining, 1.0))
                else:
                    # The channel's fileno becomes readable on data or EOF.
                    ready, _, _ = select.select([channel], [], [], min(remaining, 1.0))
                    if not ready and tell is not None:
                        tell.callback("")
            code = channel.recv_exit_status()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close(target.key)
            raise RemoteError(
                ErrorKind.UNREACHABLE,
                f"{target.endpoint.host}:{target.endpoint.port} dropped the connection ({exc})",
            ) from None
        finally:
            channel.close()
        result = CommandResult(
            code,
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
            time.monotonic() - started,
        )
        if check and code != 0:
            raise RemoteError(
                ErrorKind.COMMAND_FAILED,
                f"`{_short(text)}` exited with {code}: "
                f"{_short(result.stderr or result.stdout, 300)}",
                exit_code=code,
                stderr=result.stderr,
            )
        return result


class _Relay:
    """Decodes stdout and stderr bytes incrementally (a character may span two reads)."""

    def __init__(self, callback: Callable[[str], None]) -> None:
        self.callback = callback
        self._out = codecs.getincrementaldecoder("utf-8")("replace")
        self._err = codecs.getincrementaldecoder("utf-8")("replace")

    def out(self, data: bytes) -> None:
        text = self._out.decode(data)
        if text:
            self.callback(text)

    def err(self, data: bytes) -> None:
        text = self._err.decode(data)
        if text:
            self.callback(text)


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fetch_host_key(
    endpoint: Endpoint, timeout: float = 15.0, jump: Target | None = None
) -> HostKey:
    """The key a server offers, without logging in (for an admin to review)."""
    sock = None
    try:
        if jump is not None:
            via = pool.client(jump)
            sock = _open_socket(jump, endpoint, via)
        else:
            sock = socket.create_connection((endpoint.host, endpoint.port), timeout)
        transport = paramiko.Transport(sock)
        transport.banner_timeout = timeout
        try:
            transport.start_client(timeout=timeout)
            key = transport.get_remote_server_key()
        finally:
            transport.close()
    except Exception as exc:
        if sock is not None:
            sock.close()
        raise _classify_connect(exc, endpoint, timeout) from None
    return HostKey(key.get_name(), base64.b64encode(key.asbytes()).decode())


pool = SSHPool()
