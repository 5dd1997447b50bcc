"""Fleet pages with Django's test client: overview, node page, onboarding, host keys, permissions."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection
from django.test.html import Element, parse_html
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fleet.choices import HostKeyStatus, NodeStatus
from fleet.models import Card, Node
from fleet.remote import HostKey
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


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
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def member_client(client, member_user):
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


# Overview ---------------------------------------------------------------------------------


def test_overview_shows_every_node_with_card_squares_coloured_by_health(member_client):
    make_node("node-a", healths=("OK", "OK", "Warning", "OK"))
    make_node("node-b", chip="910B4", healths=("Critical", "Alarm"), labels=["region=gy1"])

    response = member_client.get(reverse("home"))

    assert response.status_code == 200
    tiles = {attr(t, "data-node-id"): t for t in elements(response, "tile")}
    assert len(tiles) == 2
    squares = elements(response, "npu")
    by_node = [(attr(s, "data-device"), classes(s)) for s in squares]
    assert by_node == [
        ("0", {"npu", "h-OK"}),
        ("1", {"npu", "h-OK"}),
        ("2", {"npu", "h-Warning"}),
        ("3", {"npu", "h-OK"}),
        ("0", {"npu", "h-Critical"}),
        ("1", {"npu", "h-Alarm"}),
    ]
    assert attr(squares[2], "title") == (
        "davinci2 · Warning · HBM 32768 / 65536 MB · AICore 20% · 42 °C · 90.5 W"
    )
    bars = elements(response, "hbm")
    assert attr(bars[2], "style") == "width: 50%"
    tile_b = next(t for t in elements(response, "tile") if "node-b" in str(t))
    assert attr(tile_b, "data-chip") == "910B4"
    assert attr(tile_b, "data-labels") == "region=gy1"


def test_overview_marks_cordoned_cards_and_shows_which_side_failed(member_client):
    node = make_node(
        "node-a",
        healths=("OK", "OK"),
        status=NodeStatus.UNREACHABLE,
        last_error="unreachable: 192.0.2.10:22 did not answer within 15 s",
    )
    Card.objects.filter(node=node, device=1).update(cordoned=True)

    response = member_client.get(reverse("home"))

    squares = elements(response, "npu")
    assert classes(squares[1]) == {"npu", "h-OK", "cordoned"}
    assert attr(squares[1], "title").endswith("· cordoned")
    error = elements(response, "tile-error")[0]
    assert "unreachable: 192.0.2.10:22 did not answer" in str(error)
    assert [classes(b) for b in elements(response, "badge")] == [{"badge", "unreachable"}]


def test_overview_query_count_does_not_grow_with_nodes(member_client):
    make_node("node-0", healths=("OK",) * 8)
    with CaptureQueriesContext(connection) as one:
        member_client.get(reverse("home"))
    for index in range(1, 6):
        make_node(f"node-{index}", healths=("OK",) * 8)
    with CaptureQueriesContext(connection) as six:
        response = member_client.get(reverse("home"))
    assert len(elements(response, "npu")) == 48
    assert len(six.captured_queries) <= len(one.captured_queries)


def test_overview_preselects_the_filters_of_the_query_string(member_client):
    make_node("node-a", chip="910B4", healths=("OK",), labels=["team=vision"])

    response = member_client.get(reverse("home"), {"status": "degraded", "chip": "910B4"})

    html = response.content.decode()
    assert '<option value="degraded" selected>' in html
    assert '<option value="910B4" selected>' in html
    assert '<option value="team=vision">' in html
    assert "app/fleet.js" in html


def test_overview_offers_onboarding_to_admins_only(client, admin_user, member_user):
    client.force_login(member_user)
    assert reverse("node-create") not in client.get(reverse("home")).content.decode()
    client.force_login(admin_user)
    assert reverse("node-create") in client.get(reverse("home")).content.decode()


def test_pages_send_anonymous_users_to_login(client):
    node = make_node("node-a")
    for url in (reverse("home"), reverse("node-detail", args=[node.pk]), reverse("node-create")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# Node page --------------------------------------------------------------------------------


def test_node_page_shows_facts_preflight_fixes_and_card_table(member_client):
    node = make_node(
        "node-a",
        healths=("OK", "Warning"),
        facts={
            "os": "EulerOS 2.0 (SP10)",
            "arch": "aarch64",
            "kernel": "4.19.90",
            "cpus": 192,
            "mem_total_mb": 1572864,
            "mem_available_mb": 1048576,
            "disk_free_gb": 812.5,
            "disk_mount": "/",
            "docker_installed": True,
            "docker_version": "18.09.0",
            "driver_version": "23.0.6",
            "firmware_version": "7.1.0.5.220",
            "npu_smi_version": "23.0.6",
            "ip_forward": 0,
        },
        probe_ms=842,
        last_probe_at=timezone.now(),
        preflight=[
            {"name": "driver", "status": "pass", "message": "driver 23.0.6", "fix": ""},
            {
                "name": "ip_forward",
                "status": "fail",
                "message": "net.ipv4.ip_forward is 0",
                "fix": "sysctl -w net.ipv4.ip_forward=1",
            },
        ],
    )

    response = member_client.get(reverse("node-detail", args=[node.pk]))

    assert response.status_code == 200
    facts = str(elements(response, "facts")[0])
    for text in ("EulerOS 2.0 (SP10)", "aarch64", "192", "1024 GB free of 1536 GB", "812.5 GB"):
        assert text in facts
    for text in ("18.09.0", "7.1.0.5.220", "842 ms"):
        assert text in facts
    checks = elements(response, "check")
    assert [attr(c, "data-check") for c in checks] == ["driver", "ip_forward"]
    assert "<pre" not in str(checks[0])
    assert "sysctl -w net.ipv4.ip_forward=1" in str(checks[1])
    assert 'data-copy="fix-2"' in str(checks[1])
    health = [b for b in elements(response, "badge") if attr(b, "data-f") == "health"]
    assert [(classes(b), b.children) for b in health] == [
        ({"badge", "OK"}, ["OK"]),
        ({"badge", "Warning"}, ["Warning"]),
    ]
    assert "16384 / 65536 MB (25%)" in response.content.decode()


def test_node_page_shows_processes_with_their_containers(member_client):
    node = make_node("node-a", healths=("OK", "OK"))
    Card.objects.filter(node=node, device=0).update(
        processes=[
            {"pid": 4242, "name": "python3", "memory_mb": 3072, "container": "vllm-qwen"},
            {"pid": 777, "name": "train.py", "memory_mb": 1024, "container": ""},
        ],
        containers=[{"id": "abc123", "name": "vllm-qwen", "managed": True}],
    )

    response = member_client.get(reverse("node-detail", args=[node.pk]))

    procs = [str(p) for p in elements(response, "proc")]
    assert len(procs) == 2
    assert "4242" in procs[0]
    assert "python3" in procs[0]
    assert "vllm-qwen" in procs[0]
    assert "777" in procs[1]
    assert "outside any container" in procs[1]
    assert "outside any container" not in procs[0]


def test_node_page_wires_the_card_charts_to_the_series_api(member_client):
    node = make_node("node-a", healths=("OK", "OK"))
    cards = list(node.cards.order_by("device"))

    response = member_client.get(reverse("node-detail", args=[node.pk]))

    html = response.content.decode()
    for card in cards:
        assert f'data-url="{reverse("card-series", args=[card.pk])}"' in html
    assert [attr(b, "data-range") for b in walk(parse_html(html)) if attr(b, "data-range")] == [
        "1h",
        "24h",
        "7d",
    ]
    for metric in ("hbm_used_mb", "aicore_pct", "temp_c", "power_w"):
        assert f'data-metric="{metric}"' in html
    assert "vendor/chart.umd.js" in html
    assert "vendor/chartjs-adapter-date-fns.bundle.min.js" in html


def test_node_with_changed_key_shows_old_and_new_fingerprints(client, admin_user):
    old, new = public_host_key(), public_host_key()
    node = make_node(
        "node-a",
        status=NodeStatus.HOST_KEY_CHANGED,
        host_key_type=old.key_type,
        host_key=old.base64,
        host_key_fingerprint=old.fingerprint,
        seen_host_key_fingerprint=new.fingerprint,
    )
    Node.objects.filter(pk=node.pk).update(host_key_status=HostKeyStatus.CHANGED)
    client.force_login(admin_user)

    response = client.get(reverse("node-detail", args=[node.pk]))

    banner = str(elements(response, "banner")[0])
    assert "Host key changed" in banner
    assert old.fingerprint in banner
    assert new.fingerprint in banner
    assert reverse("node-host-key", args=[node.pk]) in banner
    review = client.get(reverse("node-host-key", args=[node.pk])).content.decode()
    assert "Scan again" in review
    assert "Accept this key" not in review  # only the fingerprint is known: scan first


# Onboarding -------------------------------------------------------------------------------


def test_onboarding_form_prefills_the_ascend_paths(admin_client):
    html = admin_client.get(reverse("node-create")).content.decode()
    for value in (
        'value="/dev"',
        'value="/usr/local/Ascend/driver"',
        'value="/usr/local/sbin/npu-smi"',
        'value="/etc/ascend_install.info"',
        'value="8"',
    ):
        assert value in html
    assert 'enctype="multipart/form-data"' in html


def test_onboarding_an_unreachable_node_shows_the_classified_error_and_scan_again(admin_client):
    data = form_data()

    response = admin_client.post(reverse("node-create"), data, follow=True)

    node = Node.objects.get(name="gy1-node-01")
    assert response.redirect_chain == [(reverse("node-host-key", args=[node.pk]), 302)]
    error = str(elements(response, "banner")[0])
    assert "unreachable" in error
    assert f"127.0.0.1:{data['port']}" in error
    assert "Scan again" in response.content.decode()
    assert "Accept this key" not in response.content.decode()
    assert node.labels == ["region=gy1", "team=vision"]
    assert node.weights_dir == "/data/weights"
    assert str(node.private_key) == data["private_key"]
    assert "PRIVATE KEY" not in response.content.decode()


def test_onboarding_takes_the_private_key_from_an_uploaded_file(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    key = openssh_private_key()
    data = form_data(private_key="")
    data["private_key_file"] = SimpleUploadedFile("id_ed25519", key.encode())

    response = admin_client.post(reverse("node-create"), data)

    assert response.status_code == 302
    assert str(Node.objects.get(name="gy1-node-01").private_key) == key


def test_scan_again_reads_the_key_again_and_keeps_the_error_when_still_down(admin_client):
    admin_client.post(reverse("node-create"), form_data())
    node = Node.objects.get(name="gy1-node-01")
    Node.objects.filter(pk=node.pk).update(last_error="", port=closed_port())

    response = admin_client.post(reverse("node-scan-key", args=[node.pk]), follow=True)

    node.refresh_from_db()
    assert node.last_error.startswith("unreachable:")
    assert node.last_error_kind == "unreachable"
    assert "Scan again" in response.content.decode()


@pytest.mark.parametrize(
    ("override", "field", "fragment"),
    [
        ({"host": "bad host!"}, "host", "is not a host name or IP address"),
        ({"name": "Bad_Name"}, "name", "is not allowed"),
        ({"private_key": "not a key"}, "private_key", "cannot be read"),
        ({"labels": "ok, bad label"}, "labels", "is not allowed"),
        ({"npu_smi_path": "npu-smi; rm -rf /"}, "npu_smi_path", "must be an absolute path"),
        ({"port": "ssh"}, "port", "Enter a whole number"),
    ],
)
def test_bad_input_shows_the_error_next_to_the_field_and_saves_nothing(
    admin_client, override, field, fragment
):
    response = admin_client.post(reverse("node-create"), form_data(**override))

    assert response.status_code == 400
    errors = [e for e in elements(response, "errorlist") if attr(e, "id") == f"{field}-errors"]
    assert len(errors) == 1
    assert fragment in str(errors[0])
    assert Node.objects.count() == 0


def test_a_failed_submit_does_not_render_the_secrets_back(admin_client):
    data = form_data(host="bad host!", passphrase="pass-phrase-123", password="hunter2-secret")

    html = admin_client.post(reverse("node-create"), data).content.decode()

    assert "PRIVATE KEY-----\n" not in html
    assert data["private_key"].splitlines()[1] not in html
    assert "pass-phrase-123" not in html
    assert "hunter2-secret" not in html


def test_accepting_the_shown_fingerprint_pins_the_key_and_probes_at_once(admin_client, monkeypatch):
    offered = public_host_key()
    node = make_node("node-a", private_key=openssh_private_key(), status=NodeStatus.NEW)
    Node.objects.filter(pk=node.pk).update(
        host_key_status=HostKeyStatus.PENDING,
        seen_host_key_type=offered.key_type,
        seen_host_key=offered.base64,
        seen_host_key_fingerprint=offered.fingerprint,
    )
    probed: list[int] = []
    monkeypatch.setattr(
        "frontend.views_fleet.probing.probe_node", lambda pk, full=None: probed.append(pk)
    )
    page = admin_client.get(reverse("node-host-key", args=[node.pk]))
    assert offered.fingerprint in str(by_testid(page, "fingerprint"))
    assert "ssh-ed25519" in page.content.decode()

    response = admin_client.post(
        reverse("node-accept-key", args=[node.pk]), {"fingerprint": offered.fingerprint}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("node-detail", args=[node.pk])
    node.refresh_from_db()
    assert node.host_key_status == HostKeyStatus.ACCEPTED
    assert node.host_key == offered.base64
    assert probed == [node.pk]


def test_accepting_another_fingerprint_is_refused_with_the_reason(admin_client, monkeypatch):
    offered = public_host_key()
    node = make_node("node-a", private_key=openssh_private_key(), status=NodeStatus.NEW)
    Node.objects.filter(pk=node.pk).update(
        host_key_status=HostKeyStatus.PENDING,
        seen_host_key_type=offered.key_type,
        seen_host_key=offered.base64,
        seen_host_key_fingerprint=offered.fingerprint,
    )
    monkeypatch.setattr("frontend.views_fleet.probing.probe_node", pytest.fail)
    fake = "SHA256:" + base64.b64encode(b"x" * 32).decode().rstrip("=")

    response = admin_client.post(reverse("node-accept-key", args=[node.pk]), {"fingerprint": fake})

    assert response.status_code == 400
    assert f"the node offers {offered.fingerprint}" in str(elements(response, "errorlist")[0])
    node.refresh_from_db()
    assert node.host_key_status == HostKeyStatus.PENDING
    assert node.host_key == ""


# Edit, delete, probe ----------------------------------------------------------------------


def test_edit_form_never_contains_the_secrets_and_blank_keeps_them(admin_client):
    key = openssh_private_key()
    node = make_node(
        "node-a", private_key=key, passphrase="pass-phrase-123", password="hunter2-secret"
    )
    response = admin_client.get(reverse("node-edit", args=[node.pk]))

    html = response.content.decode()
    assert 'value="node-a"' in html
    assert key.splitlines()[1] not in html
    assert "pass-phrase-123" not in html
    assert "hunter2-secret" not in html

    data = form_data(name="node-a", host="192.0.2.10", port=22, private_key="", notes="moved")
    response = admin_client.post(reverse("node-edit", args=[node.pk]), data)

    assert response.status_code == 302
    node.refresh_from_db()
    assert node.notes == "moved"
    assert str(node.private_key) == key
    assert str(node.password) == "hunter2-secret"


def test_admin_deletes_a_node_after_confirming(admin_client):
    node = make_node("node-a", healths=("OK",))
    confirm = admin_client.get(reverse("node-delete", args=[node.pk]))
    assert "Delete node-a?" in confirm.content.decode()
    assert Node.objects.filter(pk=node.pk).exists()

    response = admin_client.post(reverse("node-delete", args=[node.pk]))

    assert response["Location"] == reverse("home")
    assert not Node.objects.filter(pk=node.pk).exists()


def test_probe_now_queues_a_full_probe(admin_client, monkeypatch):
    node = make_node("node-a")
    queued: list[tuple] = []
    monkeypatch.setattr("frontend.views_fleet.tasks.probe_node.delay", lambda *a: queued.append(a))

    response = admin_client.post(reverse("node-probe", args=[node.pk]))

    assert response["Location"] == reverse("node-detail", args=[node.pk])
    assert queued == [(node.pk, True)]


@pytest.mark.parametrize("persona", ["member_user", "outsider_user"])
@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("get", "node-create"),
        ("post", "node-create"),
        ("get", "node-edit"),
        ("post", "node-edit"),
        ("get", "node-delete"),
        ("post", "node-delete"),
        ("get", "node-host-key"),
        ("post", "node-accept-key"),
        ("post", "node-scan-key"),
        ("post", "node-probe"),
    ],
)
def test_only_site_admins_may_change_nodes(client, request, persona, method, route, monkeypatch):
    node = make_node("node-a", healths=("OK",), notes="unchanged")
    Node.objects.filter(pk=node.pk).update(
        host_key_status=HostKeyStatus.PENDING, seen_host_key_fingerprint="SHA256:x"
    )
    monkeypatch.setattr("frontend.views_fleet.tasks.probe_node.delay", pytest.fail)
    client.force_login(request.getfixturevalue(persona))
    url = reverse(route) if route == "node-create" else reverse(route, args=[node.pk])

    data = form_data(name="node-a", notes="changed", fingerprint="SHA256:x")
    response = client.post(url, data) if method == "post" else client.get(url)

    assert response.status_code == 403
    node.refresh_from_db()
    assert node.notes == "unchanged"
    assert node.host_key_status == HostKeyStatus.PENDING
    assert Node.objects.count() == 1


def test_members_read_the_node_page_without_admin_actions(member_client):
    node = make_node("node-a", healths=("OK",))
    html = member_client.get(reverse("node-detail", args=[node.pk])).content.decode()
    assert "node-a" in html
    for route in ("node-edit", "node-delete", "node-probe"):
        assert reverse(route, args=[node.pk]) not in html


def test_member_can_log_in_with_password_and_see_the_overview(client, member_user):
    make_node("node-a", healths=("OK",))
    assert client.login(username=member_user.username, password=PASSWORD)
    assert len(elements(client.get(reverse("home")), "tile")) == 1
