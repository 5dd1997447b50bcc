"""Helpers of the page tests: keys, nodes written directly, and reading rendered HTML."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test.html import Element, parse_html

from fleet.choices import HostKeyStatus, NodeStatus
from fleet.models import Card, Node
from fleet.remote import HostKey


def openssh_private_key() -> str:
    """A fresh Ed25519 private key in OpenSSH format."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )


def public_host_key() -> HostKey:
    """A fresh Ed25519 public key as a server would offer it."""
    text = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return HostKey.parse(text)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def walk(element: Element) -> Iterator[Element]:
    """Every element below this one, leaving out <template> contents (not on the page)."""
    for child in element.children:
        if isinstance(child, Element) and child.name != "template":
            yield child
            yield from walk(child)


def elements(response, css_class: str) -> list[Element]:
    """Elements of a page whose class list holds css_class."""
    root = parse_html(response.content.decode())
    found = []
    for el in walk(root):
        classes = dict(el.attributes).get("class") or ""
        if css_class in classes.split():
            found.append(el)
    return found


def by_testid(response, testid: str) -> Element:
    """The element of a page with this data-testid."""
    root = parse_html(response.content.decode())
    return next(el for el in walk(root) if attr(el, "data-testid") == testid)


def attr(element: Element, name: str) -> str:
    return dict(element.attributes).get(name) or ""


def classes(element: Element) -> set[str]:
    return set(attr(element, "class").split())


def make_node(name: str, *, chip: str = "910B3", healths: tuple[str, ...] = (), **extra) -> Node:
    """A node with one card per health word (written directly: these are read tests)."""
    node = Node.objects.create(
        name=name,
        host="192.0.2.10",
        status=extra.pop("status", NodeStatus.ONLINE),
        facts={"chip_name": chip, **extra.pop("facts", {})},
        host_key_status=HostKeyStatus.ACCEPTED,
        **extra,
    )
    for device, health in enumerate(healths):
        Card.objects.create(
            node=node,
            npu_id=device,
            device=device,
            chip_name=chip,
            health=health,
            hbm_used_mb=16384 * device,
            hbm_total_mb=65536,
            aicore_pct=10 * device,
            temp_c=40 + device,
            power_w=90.5,
        )
    return node


@pytest.fixture
def as_admin(client, admin_user):
    """The test client signed in as the site admin."""
    client.force_login(admin_user)
    return client


@pytest.fixture
def as_member(client, member_user):
    """The test client signed in as a team member."""
    client.force_login(member_user)
    return client


def form_data(**overrides) -> dict:
    data = {
        "name": "gy1-node-01",
        "host": "127.0.0.1",
        "port": closed_port(),
        "username": "root",
        "auth_method": "key",
        "private_key": openssh_private_key(),
        "passphrase": "",
        "password": "",
        "jump_host": "",
        "labels": "region=gy1, team=vision",
        "notes": "rack 4",
        "device_dir": "/dev",
        "driver_dir": "/usr/local/Ascend/driver",
        "npu_smi_path": "/usr/local/sbin/npu-smi",
        "install_info_path": "/etc/ascend_install.info",
        "weights_dir": "/data/weights",
        "expected_cards": 8,
    }
    data.update(overrides)
    return data
