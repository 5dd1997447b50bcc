"""The web server started as the Procfile (and so `make demo`) starts it sends no Server header
naming itself, on pages or on the websocket handshake; the image starts it the same way."""

from __future__ import annotations

import base64
import http.client
import json
import os
import shlex
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def procfile_web_command(port: int) -> list[str]:
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    return shlex.split(line.split(":", 1)[1].replace("${WEB_PORT:-8000}", str(port)))


def wait_until_answers(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll until the server answers HTTP (or fail, with its output, if it died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"daphne exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("HEAD", "/login/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"daphne did not answer on port {port} within {timeout}s")


@pytest.fixture
def web_server(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "1",
        "NPUFLEET_ENV_FILE": "",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    log = (tmp_path / "daphne.log").open("w")
    process = subprocess.Popen(
        procfile_web_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_until_answers(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def test_pages_carry_no_server_header(web_server):
    conn = http.client.HTTPConnection("127.0.0.1", web_server, timeout=10)
    for path in ("/login/", "/no-such-page/"):
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert response.status in (200, 404), (path, response.status)
        names = {name.lower() for name, _ in response.getheaders()}
        assert "server" not in names, (path, response.getheaders())
        assert "x-content-type-options" in names  # the app's own headers are there
    conn.close()


def test_the_websocket_handshake_carries_no_server_header(web_server):
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET /ws/fleet/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{web_server}\r\n"
        f"Origin: http://127.0.0.1:{web_server}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", web_server), timeout=10) as sock:
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    status, *headers = head.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    assert status.startswith("HTTP/1.1 "), status
    assert not [h for h in headers if h.lower().startswith("server:")], headers


def test_the_image_starts_daphne_without_a_server_name():
    cmd = next(
        line
        for line in (ROOT / "docker" / "Dockerfile").read_text().splitlines()
        if line.startswith("CMD ")
    )
    argv = json.loads(cmd[4:])
    assert argv[0] == "daphne" and "--no-server-name" in argv
