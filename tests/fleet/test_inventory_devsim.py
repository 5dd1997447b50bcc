"""Onboarding and probing simulated DevServers over real SSH."""

from __future__ import annotations

import docker
import pytest
from django.test import override_settings

from devsim.client import wait_for
from fleet.choices import HostKeyStatus, NodeStatus
from fleet.errors import Conflict
from fleet.models import Node
from fleet.remote import ErrorKind, pool
from fleet.services import nodes, probing
from tests.helpers import node_values, onboard

pytestmark = pytest.mark.django_db(transaction=True)


def probe(node: Node) -> Node:
    result = probing.probe_node(node.pk)
    assert result is not None
    return result


def test_onboarding_reads_the_host_key_and_waits_for_an_admin(devsim, admin_user):
    dev = devsim.node("node-a")
    node = nodes.register_node(actor=admin_user, values=node_values(dev))
    assert node.host_key_status == HostKeyStatus.PENDING
    assert node.seen_host_key_fingerprint == dev.host_key_fingerprint
    assert node.host_key == ""
    # Not trusted yet: a probe refuses to log in.
    refused = probe(node)
    assert refused.status == NodeStatus.NEW
    assert refused.last_error_kind == ErrorKind.HOST_KEY_UNKNOWN.value
    assert refused.cards.count() == 0


def test_accepting_a_wrong_fingerprint_is_refused(devsim, admin_user):
    node = nodes.register_node(actor=admin_user, values=node_values(devsim.node("node-a")))
    with pytest.raises(Conflict, match="offers SHA256:"):
        nodes.accept_host_key(node, actor=admin_user, fingerprint="SHA256:not-the-key")
    node.refresh_from_db()
    assert node.host_key_status == HostKeyStatus.PENDING


def test_probe_records_every_card_and_the_node_facts(devsim, admin_user):
    dev = devsim.node("node-a")
    node = probe(onboard(admin_user, dev))
    assert node.status == NodeStatus.ONLINE, [c for c in node.preflight if c["status"] != "pass"]
    cards = list(node.cards.order_by("device"))
    assert [c.device for c in cards] == list(range(8))
    assert {c.chip_name for c in cards} == {dev.chip}
    assert all(c.health == "OK" and c.hbm_total_mb == dev.hbm_mb for c in cards)
    assert node.facts["driver_version"] == dev.driver_version
    assert node.facts["firmware_version"] == dev.firmware_version
    assert node.facts["ip_forward"] in (0, 1)
    assert node.facts["docker_installed"] is True
    assert node.facts["npu_total_count"] == 8
    assert node.card_memory_gb == 64
    assert node.cards.first().samples.count() == 1


def test_changed_host_key_is_refused_and_flagged(devsim, admin_user):
    dev = devsim.node("node-a")
    # Pin node-b's key for node-a's address: the server now offers a different key.
    other = devsim.node("node-b")
    node = onboard(admin_user, dev)
    Node.objects.filter(pk=node.pk).update(host_key=other.host_key.split()[1])
    pool.close_all()
    node = probe(Node.objects.get(pk=node.pk))
    assert node.status == NodeStatus.HOST_KEY_CHANGED
    assert node.host_key_status == HostKeyStatus.CHANGED
    assert node.last_error_kind == ErrorKind.HOST_KEY_CHANGED.value
    assert dev.host_key_fingerprint in node.last_error
    assert node.cards.count() == 0


def test_node_down_is_unreachable_only_after_three_failed_probes(devsim, admin_user):
    a = onboard(admin_user, devsim.node("node-a"))
    b = onboard(
        admin_user,
        devsim.node("node-b"),
    )
    assert probe(a).status == NodeStatus.ONLINE
    devsim.fault_down("node-a")
    pool.close_all()
    with override_settings(FLEET_SSH_CONNECT_TIMEOUT=3):
        statuses = [probe(a).status for _ in range(3)]
        other = probe(b)
    assert statuses == [NodeStatus.ONLINE, NodeStatus.ONLINE, NodeStatus.UNREACHABLE]
    a.refresh_from_db()
    assert a.consecutive_failures == 3
    assert a.last_error_kind == ErrorKind.UNREACHABLE.value
    assert other.status in (NodeStatus.ONLINE, NodeStatus.DEGRADED)
    assert other.consecutive_failures == 0
    devsim.fault_up("node-a")
    assert probe(a).status == NodeStatus.ONLINE


def test_card_set_to_warning_makes_the_node_degraded(devsim, admin_user):
    node = onboard(admin_user, devsim.node("node-a"))
    assert probe(node).status == NodeStatus.ONLINE
    devsim.set_card_health("node-a", 3, "Warning")
    node = probe(node)
    assert node.status == NodeStatus.DEGRADED
    assert node.cards.get(device=3).health == "Warning"
    health = next(c for c in node.preflight if c["name"] == "health")
    assert health["status"] == "warn"
    assert "davinci3 Warning" in health["message"]


def test_foreign_process_fails_preflight(devsim, admin_user):
    node = probe(onboard(admin_user, devsim.node("node-c")))
    check = next(c for c in node.preflight if c["name"] == "foreign_processes")
    assert check["status"] == "fail"
    assert "davinci7" in check["message"]
    assert check["fix"]
    card7 = node.cards.get(device=7)
    assert card7.processes and card7.processes[0]["managed"] is False
    assert card7.processes[0]["container"] == ""
    assert node.status == NodeStatus.DEGRADED


def test_npu_smi_failure_and_garbage_end_as_a_clear_status(devsim, admin_user):
    node = probe(onboard(admin_user, devsim.node("node-a")))
    devsim.npu_smi_fail("node-a")
    node = probe(node)
    assert node.status == NodeStatus.DEGRADED
    assert node.last_error.startswith("npu-smi: npu-smi info exited with")
    cards = next(c for c in node.preflight if c["name"] == "cards")
    assert cards["status"] == "fail"
    # The cards seen before are kept, not wiped by one failed read.
    assert node.cards.count() == 8


def test_hanging_npu_smi_times_out_without_stalling_others(devsim, admin_user):
    a = probe(onboard(admin_user, devsim.node("node-a")))
    b = onboard(admin_user, devsim.node("node-b"))
    devsim.npu_smi_slow("node-a", 30)
    with override_settings(FLEET_SSH_COMMAND_TIMEOUT=2):
        a = probe(a)
        b = probe(b)
    assert a.last_error_kind == ErrorKind.TIMEOUT.value
    assert "within 2 s" in a.last_error
    assert b.last_error == ""
    assert b.cards.count() == 8


def test_wrong_key_is_an_authentication_failure(devsim, admin_user, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    stranger = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )
    node = onboard(admin_user, devsim.node("node-b"), private_key=stranger)
    node = probe(node)
    assert node.last_error_kind == ErrorKind.AUTH_FAILED.value
    assert "rejected the credentials" in node.last_error


def test_container_on_a_card_is_attributed_to_it(devsim, admin_user):
    dev = devsim.node("node-b")
    node = probe(onboard(admin_user, dev))
    client = docker.from_env()
    name = "npufleet-test-attribution"
    container = client.containers.run(
        "npufleet/busybox:local",
        ["sleep", "300"],
        name=name,
        detach=True,
        remove=True,
        labels={"npufleet.devsim": "1", "npufleet.managed": "1"},
        network_mode="host",
        devices=[f"{dev.device(2)}:/dev/davinci2:rwm"],
    )
    try:
        wait_for(lambda: devsim.card_processes("node-b", 2), timeout=10)
        node = probe(node)
        card = node.cards.get(device=2)
        assert len(card.processes) == 1
        assert card.processes[0]["container"] == name
        assert card.processes[0]["managed"] is True
        assert card.containers == [{"id": container.id[:12], "name": name, "managed": True}]
        assert node.cards.get(device=1).processes == []
        foreign = next(c for c in node.preflight if c["name"] == "foreign_processes")
        assert foreign["status"] == "pass"
    finally:
        container.remove(force=True)


def test_node_deleted_during_a_probe_loses_nothing_else(devsim, admin_user):
    import threading

    from django.db import connection

    a = probe(onboard(admin_user, devsim.node("node-a")))
    b = probe(onboard(admin_user, devsim.node("node-b")))
    devsim.npu_smi_slow("node-a", 2)
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = probing.probe_node(a.pk)
        except Exception as exc:  # the assertion below reports it
            outcome["error"] = exc
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    wait_for(lambda: pool._clients.get(f"node-{a.pk}"), timeout=5)
    nodes.delete_node(Node.objects.get(pk=a.pk), actor=admin_user)
    worker.join(timeout=30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"] is None
    assert not Node.objects.filter(pk=a.pk).exists()
    assert b.cards.count() == 8
    assert Node.objects.get(pk=b.pk).status == NodeStatus.ONLINE
