"""The SSH seam against real sshd: password logins, bastions, pooled connections."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from devsim.client import DevsimFleet
from devsim.fleet import Fleet
from devsim.nodes import NodeSpec
from fleet.choices import NodeStatus
from fleet.errors import Conflict
from fleet.remote import Endpoint, ErrorKind, HostKey, RemoteError, SSHPool, Target
from fleet.services import nodes, probing
from tests.helpers import node_values, onboard

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def password_fleet():
    """One extra simulated node that also accepts the password user."""
    root = Path(tempfile.mkdtemp(prefix="devsim-pw-"))
    root.chmod(0o755)
    fleet = Fleet(root)
    fleet.up([NodeSpec("pw-node", chip="910B4", cards=8)], password_user=True)
    try:
        yield DevsimFleet(root, baseline={})
    finally:
        fleet.down(purge=True)
        shutil.rmtree(root, ignore_errors=True)


def test_password_login_onboards_and_probes(password_fleet, admin_user):
    dev = password_fleet.node("pw-node")
    assert dev.password_user and dev.password
    node = onboard(
        admin_user,
        dev,
        auth_method="password",
        username=dev.password_user,
        password=dev.password,
        private_key="",
    )
    node = probing.probe_node(node.pk)
    assert node.last_error == ""
    assert node.cards.count() == 8
    assert node.status in (NodeStatus.ONLINE, NodeStatus.DEGRADED)


def test_wrong_password_is_an_authentication_failure(password_fleet, admin_user):
    dev = password_fleet.node("pw-node")
    node = onboard(
        admin_user,
        dev,
        name="pw-wrong",
        auth_method="password",
        username=dev.password_user,
        password="not-it",
        private_key="",
    )
    node = probing.probe_node(node.pk)
    assert node.last_error_kind == ErrorKind.AUTH_FAILED.value
    assert node.cards.count() == 0


def test_node_behind_a_jump_host(devsim, admin_user):
    bastion = devsim.node("node-a")
    dev = devsim.node("node-b")
    values = node_values(
        dev, "behind-bastion", jump_host=f"{bastion.user}@{bastion.host}:{bastion.port}"
    )
    node = nodes.register_node(actor=admin_user, values=values)
    assert node.seen_host_key_fingerprint == dev.host_key_fingerprint, node.last_error
    # the bastion's key is read for review, not trusted: accepting needs its fingerprint too
    assert node.jump_host_key == ""
    assert node.seen_jump_host_key_fingerprint == bastion.host_key_fingerprint
    with pytest.raises(Conflict, match="bastion"):
        nodes.accept_host_key(node, actor=admin_user, fingerprint=dev.host_key_fingerprint)
    with pytest.raises(Conflict, match="bastion"):
        nodes.accept_host_key(
            node,
            actor=admin_user,
            fingerprint=dev.host_key_fingerprint,
            jump_fingerprint="SHA256:someone-else",
        )
    node = nodes.accept_host_key(
        node,
        actor=admin_user,
        fingerprint=dev.host_key_fingerprint,
        jump_fingerprint=bastion.host_key_fingerprint,
    )
    assert bastion.host_key.split()[1] in node.jump_host_key
    node = probing.probe_node(node.pk)
    assert node.last_error == ""
    assert node.cards.count() == 8
    assert node.facts["chip_name"] == dev.chip


def target(dev, **overrides) -> Target:
    key_type, data = dev.host_key.split()[:2]
    values = {
        "key": f"t-{dev.name}",
        "endpoint": Endpoint(dev.host, dev.port, dev.user, HostKey(key_type, data)),
        "private_key": Path(dev.key_path).read_text(),
        "connect_timeout": 5.0,
    }
    values.update(overrides)
    return Target(**values)


def test_pool_keeps_one_connection_and_reconnects_after_a_restart(devsim):
    dev = devsim.node("node-a")
    pool = SSHPool()
    first = pool.run(target(dev), ["echo", "hi there"])
    assert first.stdout == "hi there\n"
    client = pool.client(target(dev))
    pool.run(target(dev), "true")
    assert pool.client(target(dev)) is client
    devsim.fault_down("node-a")
    devsim.fault_up("node-a")
    again = pool.run(target(dev), ["echo", "back"])
    assert again.stdout == "back\n"
    pool.close_all()


def test_failed_command_carries_exit_code_and_stderr(devsim):
    pool = SSHPool()
    with pytest.raises(RemoteError) as caught:
        pool.run(target(devsim.node("node-a")), "echo oops >&2; exit 3")
    assert caught.value.kind == ErrorKind.COMMAND_FAILED
    assert caught.value.exit_code == 3
    assert caught.value.stderr == "oops\n"
    assert "exited with 3: oops" in str(caught.value)
    pool.close_all()


def test_arguments_reach_the_node_as_single_words(devsim):
    pool = SSHPool()
    hostile = "$(touch /tmp/npufleet-pwned); `id` 'q\" x"
    result = pool.run(target(devsim.node("node-a")), ["printf", "%s|", hostile, "b c"])
    assert result.stdout == f"{hostile}|b c|"
    assert not Path("/tmp/npufleet-pwned").exists()
    pool.close_all()


def test_unreachable_port_is_classified(devsim):
    pool = SSHPool()
    dev = devsim.node("node-a")
    closed = target(dev, endpoint=Endpoint(dev.host, 1, dev.user, None))
    with pytest.raises(RemoteError) as caught:
        pool.run(closed, "true")
    assert caught.value.kind == ErrorKind.UNREACHABLE
    assert "127.0.0.1:1" in caught.value.message


def test_kept_shell_survives_exit_and_timeouts(devsim):
    from fleet.remote_shell import ShellSessions

    sessions = ShellSessions()
    node = target(devsim.node("node-a"), key="shell-test")
    first = sessions.run(node, "echo one; exit 3", timeout=5)
    assert (first.exit_code, first.stdout) == (3, "one\n")
    # the same shell answers again: `exit` ended a subshell only
    again = sessions.run(node, "echo $$ > /dev/null; echo two", timeout=5)
    assert (again.exit_code, again.stdout) == (0, "two\n")
    with pytest.raises(RemoteError) as caught:
        sessions.run(node, "sleep 30", timeout=1)
    assert caught.value.kind == ErrorKind.TIMEOUT
    # a fresh shell replaces the killed one
    assert sessions.run(node, "echo three >&2; echo four", timeout=5).stdout == "four\n"


def test_a_changed_bastion_key_is_refused(devsim, admin_user):
    bastion = devsim.node("node-a")
    dev = devsim.node("node-b")
    node = nodes.register_node(
        actor=admin_user,
        values=node_values(
            dev, "behind-bastion-2", jump_host=f"{bastion.user}@{bastion.host}:{bastion.port}"
        ),
    )
    node = nodes.accept_host_key(
        node,
        actor=admin_user,
        fingerprint=dev.host_key_fingerprint,
        jump_fingerprint=bastion.host_key_fingerprint,
    )
    # pretend a different bastion key had been accepted: the real one is now a change
    other = devsim.node("node-c").host_key
    type(node).objects.filter(pk=node.pk).update(jump_host_key=other)
    node.refresh_from_db()
    node = nodes.scan_host_key(node)
    assert node.last_error_kind == ErrorKind.HOST_KEY_CHANGED.value
    assert "bastion" in node.last_error and bastion.host_key_fingerprint in node.last_error
