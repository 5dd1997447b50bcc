"""A kept-open shell per node for the frequent probe: no new SSH session, sshd fork or shell
start-up per probe. Scripts go in on stdin and end with a marker carrying their exit status."""

from __future__ import annotations

import secrets
import select
import threading
import time

import paramiko

from fleet.remote import CommandResult, ErrorKind, RemoteError, Target, pool


class _Shell:
    def __init__(self, channel: paramiko.Channel, transport: paramiko.Transport) -> None:
        self.channel = channel
        self.transport = transport
        self.lock = threading.Lock()

    def usable(self, transport: paramiko.Transport | None) -> bool:
        return (
            transport is self.transport
            and not self.channel.closed
            and not self.channel.exit_status_ready()
        )


class ShellSessions:
    """One `sh` per node (per process), reading scripts from stdin."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shells: dict[str, _Shell] = {}

    def _shell(self, target: Target) -> _Shell:
        client = pool.client(target)
        transport = client.get_transport()
        with self._lock:
            shell = self._shells.get(target.key)
            if shell is not None and shell.usable(transport):
                return shell
            if shell is not None:
                shell.channel.close()
            if transport is None:
                raise RemoteError(ErrorKind.UNREACHABLE, f"{target.endpoint.host}: no connection")
            try:
                channel = transport.open_session(timeout=target.connect_timeout)
                channel.exec_command("exec sh")
            except (paramiko.SSHException, OSError, EOFError) as exc:
                pool.close(target.key)
                raise RemoteError(
                    ErrorKind.UNREACHABLE, f"{target.endpoint.host}: cannot open a shell ({exc})"
                ) from None
            shell = _Shell(channel, transport)
            self._shells[target.key] = shell
            return shell

    def drop(self, key: str) -> None:
        with self._lock:
            shell = self._shells.pop(key, None)
        if shell is not None:
            shell.channel.close()

    def run(self, target: Target, script: str, *, timeout: float) -> CommandResult:
        """Run a script in the node's shell; a timeout kills that shell (and what it runs)."""
        for attempt in (1, 2):
            shell = self._shell(target)
            with shell.lock:
                try:
                    return self._run(target, shell, script, timeout)
                except _Stale:
                    self.drop(target.key)
                    if attempt == 2:
                        raise RemoteError(
                            ErrorKind.UNREACHABLE,
                            f"{target.endpoint.host}:{target.endpoint.port} closed the shell",
                        ) from None
        raise AssertionError("unreachable")

    def _run(self, target: Target, shell: _Shell, script: str, timeout: float) -> CommandResult:
        marker = f"@@NPUFLEET-END-{secrets.token_hex(8)}@@"
        channel = shell.channel
        started = time.monotonic()
        deadline = started + timeout
        # Run in a subshell so `exit` or a failing `set -e` never ends the kept shell.
        body = f"( {script}\n) </dev/null\nprintf '\\n{marker}%s\\n' \"$?\"\n"
        try:
            channel.sendall(body.encode())
        except (OSError, EOFError, paramiko.SSHException):
            raise _Stale from None
        out, err = bytearray(), bytearray()
        end = marker.encode()
        while end not in out:
            while channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
            if channel.recv_ready():
                data = channel.recv(65536)
                if not data:
                    raise _Stale
                out += data
                continue
            if channel.closed or channel.eof_received:
                raise _Stale
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.drop(target.key)
                raise RemoteError(
                    ErrorKind.TIMEOUT,
                    f"{target.endpoint.host}:{target.endpoint.port} did not finish the probe "
                    f"within {timeout:g} s",
                )
            select.select([channel], [], [], min(remaining, 1.0))
        text = out.decode("utf-8", "replace")
        head, _, tail = text.rpartition(marker)
        code_text = tail.strip().splitlines()[0] if tail.strip() else "0"
        while channel.recv_stderr_ready():
            err += channel.recv_stderr(65536)
        return CommandResult(
            int(code_text) if code_text.lstrip("-").isdigit() else -1,
            head[:-1] if head.endswith("\n") else head,
            err.decode("utf-8", "replace"),
            time.monotonic() - started,
        )


class _Stale(Exception):
    """The kept shell is gone; open a new one."""


shells = ShellSessions()
