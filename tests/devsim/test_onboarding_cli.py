"""Adding simulated nodes: `up`/`status` print the onboarding form's values, `onboard` registers a
node through the node services, and a demo restart keeps the nodes a user added."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devsim import cli, sshd
from devsim.client import DevsimNode
from devsim.demo_setup import DemoSetup
from devsim.fleet import Fleet
from fleet.choices import HostKeyStatus
from fleet.models import Node
from tests.devsim.test_cli import devsim_cli
from tests.frontend.conftest import make_node

pytestmark = pytest.mark.devsim


@pytest.fixture
def fleet_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="devsim-onboard-"))
    root.chmod(0o755)
    yield root
    Fleet(root).down(purge=True)
    shutil.rmtree(root, ignore_errors=True)


def block(stdout: str, name: str) -> dict[str, str]:
    """The `label  value` lines printed for one node."""
    text = stdout.split(f"{name}: paste into Nodes > Onboard a node", 1)[1]
    rows = {}
    for line in text.splitlines()[1:]:
        if not line.startswith("  ") or line.startswith("  (or run"):
            break
        label, value = line.strip().split("  ", 1)
        rows[label.strip()] = value.strip()
    return rows


def test_up_and_status_print_the_values_to_paste_into_the_onboarding_form(fleet_dir):
    up = devsim_cli("--dir", str(fleet_dir), "up", "--nodes", "1", "--cards", "4")
    assert up.returncode == 0, up.stderr

    node = DevsimNode.from_meta(Fleet(fleet_dir).meta("node-1"))
    expected = {
        "Name": "node-1",
        "Host": node.host,
        "Port": str(node.port),
        "User": node.user,
        "Private key file": node.key_path,
        "Expected cards": "4",
        "Device dir": node.device_dir,
        "Driver dir": node.driver_dir,
        "npu-smi": node.npu_smi_path,
        "Install info": node.install_info_path,
        "Weights dir": node.onboarding_values()["weights_dir"],
        "Workspace root": node.onboarding_values()["workspace_root"],
        "Host key (step 2)": node.host_key_fingerprint,
    }
    printed = block(up.stdout, "node-1")
    assert {k: printed.get(k) for k in expected} == expected
    assert "bridge" in printed["Network mode"]
    assert Path(printed["Private key file"]).read_text().startswith("-----BEGIN")
    assert "python -m devsim onboard node-1" in up.stdout

    status = devsim_cli("--dir", str(fleet_dir), "status")
    assert block(status.stdout, "node-1") == printed
    brief = devsim_cli("--dir", str(fleet_dir), "status", "--brief")
    assert "paste into" not in brief.stdout and "node-1" in brief.stdout


@pytest.mark.django_db(transaction=True)
def test_onboard_registers_the_node_through_the_services_and_pins_its_key(
    fleet_dir, admin_user, capsys
):
    Fleet(fleet_dir).up([cli.NodeSpec("node-1", cards=4)])
    meta = Fleet(fleet_dir).meta("node-1")

    assert cli.main(["--dir", str(fleet_dir), "onboard", "node-1", "--name", "sim-1"]) == 0

    node = Node.objects.get(name="sim-1")
    assert (node.host, node.port, node.username) == (meta["host"], meta["port"], meta["user"])
    assert node.host_key_status == HostKeyStatus.ACCEPTED
    assert node.host_key_fingerprint == meta["host_key_fingerprint"]
    assert node.network_mode == "bridge" and "devsim" in node.labels
    assert node.npu_smi_path == meta["npu_smi_path"]
    assert node.cards.count() == 4  # probed over SSH with the pinned key
    out = capsys.readouterr().out
    assert f"node sim-1 registered as {admin_user.username}" in out

    # A second time: the name is taken; nothing is overwritten.
    assert cli.main(["--dir", str(fleet_dir), "onboard", "node-1", "--name", "sim-1"]) == 1
    assert "a node named sim-1 exists already" in capsys.readouterr().err
    assert Node.objects.count() == 1


@pytest.mark.django_db
def test_onboard_without_a_site_admin_says_how_to_make_one(fleet_dir, member_user, capsys):
    Fleet(fleet_dir).up([cli.NodeSpec("node-1", cards=1)])

    assert cli.main(["--dir", str(fleet_dir), "onboard", "node-1", "--no-probe"]) == 1

    assert "createsuperuser" in capsys.readouterr().err
    assert not Node.objects.exists()


def test_a_demo_restart_keeps_nodes_added_with_up(fleet_dir):
    fleet = Fleet(fleet_dir)
    fleet.up([cli.NodeSpec("extra-1", chip="910B4", cards=2)])
    fleet.set_health("extra-1", 1, "Alarm")
    port = fleet.meta("extra-1")["port"]
    key = fleet.meta("extra-1")["host_key_fingerprint"]
    fleet.down()
    assert sshd.read_pid(fleet.paths.node("extra-1")) is None

    fleet.demo()

    rows = {r.name: r for r in fleet.status()}
    assert set(rows) == {"node-a", "node-b", "node-c", "extra-1"}
    assert all(r.state == "up" for r in rows.values())
    assert (rows["extra-1"].chip, rows["extra-1"].cards) == ("910B4", 2)
    assert "card1=Alarm" in rows["extra-1"].faults  # the user's fault switch is kept
    assert fleet.meta("extra-1")["port"] == port
    assert fleet.meta("extra-1")["host_key_fingerprint"] == key


@pytest.mark.django_db(transaction=True)
def test_demo_setup_registers_only_its_nodes_and_keeps_the_ones_an_admin_added(
    fleet_dir, admin_user
):
    fleet = Fleet(fleet_dir)
    fleet.up([cli.NodeSpec("node-a", cards=1), cli.NodeSpec("node-b", cards=1)])
    fleet.up([cli.NodeSpec("extra-1", cards=1)])
    mine = make_node("node-a", notes="my real server")
    other = make_node("lab-1", notes="untouched")

    DemoSetup()._nodes(admin_user, fleet_dir)

    mine.refresh_from_db()
    assert (mine.host, mine.notes, mine.labels) == ("192.0.2.10", "my real server", [])
    demo_b = Node.objects.get(name="node-b")
    assert demo_b.host_key_fingerprint == fleet.meta("node-b")["host_key_fingerprint"]
    assert not Node.objects.filter(name="extra-1").exists()  # added by `up`: onboard it yourself
    other.refresh_from_db()
    assert other.notes == "untouched"
    # Run again (a demo restart): node-b is refreshed, not duplicated; the others stay.
    DemoSetup()._nodes(admin_user, fleet_dir)
    assert sorted(Node.objects.values_list("name", flat=True)) == ["lab-1", "node-a", "node-b"]


@pytest.mark.django_db(transaction=True)
def test_setup_demo_makes_the_accounts_nodes_recipes_and_booking_and_a_rerun_keeps_them(
    fleet_dir, tmp_path, capsys, monkeypatch
):
    from django.contrib.auth import get_user_model

    from devsim import serving_image
    from jobs.catalog.services.catalog_edits import ensure_seed_catalog

    monkeypatch.setattr(serving_image, "ensure_serving_image", lambda: None)  # tested on its own
    ensure_seed_catalog()  # a transactional test's flush removes the seed rows
    secrets_dir = tmp_path / "demo"
    argv = ["--dir", str(fleet_dir), "setup-demo", "--secrets-dir", str(secrets_dir)]

    assert cli.main(argv) == 1  # no simulated fleet yet
    assert "no simulated nodes under" in capsys.readouterr().err
    Fleet(fleet_dir).up([cli.NodeSpec("node-a", cards=8)])

    assert cli.main(argv) == 0
    first = capsys.readouterr().out
    assert cli.main(argv) == 0
    again = capsys.readouterr().out

    passwords = dict(
        line.split(" ", 1) for line in (secrets_dir / "passwords").read_text().split("\n") if line
    )
    assert set(passwords) == {"admin", "vera", "sam"}
    for text in (first, again):
        assert "Sign in at http://127.0.0.1:" in text
        assert f"  vera   {passwords['vera']:<24} (admin of team vision)" in text
        assert "recipes of team vision: qwen2-7b-tp1, llama2-13b-tp2, llama2-7b-pretrain" in text
    node = Node.objects.get(name="node-a")
    assert node.host_key_fingerprint == Fleet(fleet_dir).meta("node-a")["host_key_fingerprint"]
    assert "node-a cards 0-3 for team vision, 8 h" in first
    assert "of team vision on node-a is still live" in again
    users = get_user_model().objects
    assert users.get(username="vera").check_password(passwords["vera"])
    assert users.filter(username__in=passwords).count() == 3
