"""Onboarding, host-key review, edit, delete and probe pages: admins only, services do the work."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fleet.choices import HostKeyStatus, NodeStatus
from fleet.models import Node
from tests.frontend.conftest import (
    attr,
    by_testid,
    closed_port,
    elements,
    form_data,
    make_node,
    openssh_private_key,
    public_host_key,
)

pytestmark = pytest.mark.django_db


# Onboarding -------------------------------------------------------------------------------


def test_onboarding_form_prefills_the_ascend_paths(as_admin):
    html = as_admin.get(reverse("node-create")).content.decode()
    for value in (
        'value="/dev"',
        'value="/usr/local/Ascend/driver"',
        'value="/usr/local/sbin/npu-smi"',
        'value="/etc/ascend_install.info"',
        'value="8"',
    ):
        assert value in html
    assert 'enctype="multipart/form-data"' in html


def test_onboarding_an_unreachable_node_shows_the_classified_error_and_scan_again(as_admin):
    data = form_data()

    response = as_admin.post(reverse("node-create"), data, follow=True)

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


def test_onboarding_takes_the_private_key_from_an_uploaded_file(as_admin):
    key = openssh_private_key()
    data = form_data(private_key="")
    data["private_key_file"] = SimpleUploadedFile("id_ed25519", key.encode())

    response = as_admin.post(reverse("node-create"), data)

    assert response.status_code == 302
    assert str(Node.objects.get(name="gy1-node-01").private_key) == key


def test_scan_again_reads_the_key_again_and_keeps_the_error_when_still_down(as_admin):
    as_admin.post(reverse("node-create"), form_data())
    node = Node.objects.get(name="gy1-node-01")
    Node.objects.filter(pk=node.pk).update(last_error="", port=closed_port())

    response = as_admin.post(reverse("node-scan-key", args=[node.pk]), follow=True)

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
    as_admin, override, field, fragment
):
    response = as_admin.post(reverse("node-create"), form_data(**override))

    assert response.status_code == 400
    errors = [e for e in elements(response, "errorlist") if attr(e, "id") == f"{field}-errors"]
    assert len(errors) == 1
    assert fragment in str(errors[0])
    assert Node.objects.count() == 0


def test_a_failed_submit_keeps_what_the_admin_entered_and_is_never_cached(as_admin):
    data = form_data(host="bad host!", passphrase="pass-phrase-123", password="hunter2-secret")

    response = as_admin.post(reverse("node-create"), data)

    assert response.status_code == 400
    html = response.content.decode()
    assert all(line in html for line in data["private_key"].splitlines())
    assert 'value="pass-phrase-123"' in html
    assert "no-store" in response["Cache-Control"]
    assert by_testid(response, "secrets-kept")


def test_accepting_the_shown_fingerprint_pins_the_key_and_probes_at_once(as_admin, monkeypatch):
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
        "fleet.pages.views.probing.probe_node", lambda pk, full=None: probed.append(pk)
    )
    page = as_admin.get(reverse("node-host-key", args=[node.pk]))
    assert offered.fingerprint in str(by_testid(page, "fingerprint"))
    assert "ssh-ed25519" in page.content.decode()

    response = as_admin.post(
        reverse("node-accept-key", args=[node.pk]), {"fingerprint": offered.fingerprint}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("node-detail", args=[node.pk])
    node.refresh_from_db()
    assert node.host_key_status == HostKeyStatus.ACCEPTED
    assert node.host_key == offered.base64
    assert probed == [node.pk]


def test_accepting_another_fingerprint_is_refused_with_the_reason(as_admin, monkeypatch):
    offered = public_host_key()
    node = make_node("node-a", private_key=openssh_private_key(), status=NodeStatus.NEW)
    Node.objects.filter(pk=node.pk).update(
        host_key_status=HostKeyStatus.PENDING,
        seen_host_key_type=offered.key_type,
        seen_host_key=offered.base64,
        seen_host_key_fingerprint=offered.fingerprint,
    )
    monkeypatch.setattr("fleet.pages.views.probing.probe_node", pytest.fail)
    fake = "SHA256:" + base64.b64encode(b"x" * 32).decode().rstrip("=")

    response = as_admin.post(reverse("node-accept-key", args=[node.pk]), {"fingerprint": fake})

    assert response.status_code == 400
    assert f"the node offers {offered.fingerprint}" in str(elements(response, "errorlist")[0])
    node.refresh_from_db()
    assert node.host_key_status == HostKeyStatus.PENDING
    assert node.host_key == ""


# Edit, delete, probe ----------------------------------------------------------------------


def test_edit_form_never_contains_the_secrets_and_blank_keeps_them(as_admin):
    key = openssh_private_key()
    node = make_node(
        "node-a", private_key=key, passphrase="pass-phrase-123", password="hunter2-secret"
    )
    response = as_admin.get(reverse("node-edit", args=[node.pk]))

    html = response.content.decode()
    assert 'value="node-a"' in html
    assert key.splitlines()[1] not in html
    assert "pass-phrase-123" not in html
    assert "hunter2-secret" not in html

    data = form_data(name="node-a", host="192.0.2.10", port=22, private_key="", notes="moved")
    response = as_admin.post(reverse("node-edit", args=[node.pk]), data)

    assert response.status_code == 302
    node.refresh_from_db()
    assert node.notes == "moved"
    assert str(node.private_key) == key
    assert str(node.password) == "hunter2-secret"


def test_admin_deletes_a_node_after_confirming(as_admin):
    node = make_node("node-a", healths=("OK",))
    confirm = as_admin.get(reverse("node-delete", args=[node.pk]))
    assert "Delete node-a?" in confirm.content.decode()
    assert Node.objects.filter(pk=node.pk).exists()

    response = as_admin.post(reverse("node-delete", args=[node.pk]))

    assert response["Location"] == reverse("home")
    assert not Node.objects.filter(pk=node.pk).exists()


def test_probe_now_queues_a_full_probe(as_admin, monkeypatch):
    node = make_node("node-a")
    queued: list[tuple] = []
    monkeypatch.setattr("fleet.tasks.probe_node.delay", lambda *a: queued.append(a))

    response = as_admin.post(reverse("node-probe", args=[node.pk]))

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
    monkeypatch.setattr("fleet.tasks.probe_node.delay", pytest.fail)
    client.force_login(request.getfixturevalue(persona))
    url = reverse(route) if route == "node-create" else reverse(route, args=[node.pk])

    data = form_data(name="node-a", notes="changed", fingerprint="SHA256:x")
    response = client.post(url, data) if method == "post" else client.get(url)

    assert response.status_code == 403
    node.refresh_from_db()
    assert node.notes == "unchanged"
    assert node.host_key_status == HostKeyStatus.PENDING
    assert Node.objects.count() == 1
