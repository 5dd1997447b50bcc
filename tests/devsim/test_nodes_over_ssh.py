"""Each simulated node is a real sshd whose login environment serves the simulated npu-smi."""

from __future__ import annotations

import json
import time
from pathlib import Path

import paramiko
import pytest

from devsim.client import DevsimFleet, connect
from tests.devsim.conftest import sample
from tests.devsim.layout import device_rows, kv_shape, processes, token_starts

pytestmark = pytest.mark.devsim


def test_demo_fleet_has_three_nodes_with_their_chips(devsim: DevsimFleet) -> None:
    assert devsim.names == ["node-a", "node-b", "node-c"]
    expected = {"node-a": ("910B3", 65536), "node-b": ("910B4", 32768), "node-c": ("910B3", 65536)}
    for name, (chip, hbm) in expected.items():
        node = devsim.node(name)
        assert (node.chip, node.cards, node.hbm_mb) == (chip, 8, hbm)
        rows = device_rows(devsim.npu_smi(name, "info").stdout)
        assert sorted(rows) == list(range(8))
        assert {(r[0], r[3]) for r in rows.values()} == {(chip, hbm)}


def test_demo_node_c_has_a_warning_card_and_a_foreign_process(devsim: DevsimFleet) -> None:
    out = devsim.npu_smi("node-c", "info").stdout
    assert {n: r[1] for n, r in device_rows(out).items() if r[1] != "OK"} == {5: "Warning"}
    assert [p[0] for p in processes(out)] == [7]


def test_node_json_describes_how_to_reach_and_configure_the_node(devsim: DevsimFleet) -> None:
    node = devsim.node("node-a")
    meta = json.loads((Path(node.node_dir) / "node.json").read_text())
    for key in (
        "host", "port", "user", "key_path", "host_key_fingerprint", "device_dir", "driver_dir",
        "npu_smi_path", "install_info_path",
    ):  # fmt: skip
        assert meta[key], key
    assert meta["host"] == "127.0.0.1"
    assert meta["npu_smi_path"].endswith("/usr/local/sbin/npu-smi")
    assert meta["host_key_fingerprint"].startswith("SHA256:")
    client = connect(node)
    try:
        key = client.get_transport().get_remote_server_key()
        assert f"SHA256:{key.fingerprint.split(':', 1)[1]}" == node.host_key_fingerprint
    finally:
        client.close()
    other = devsim.node("node-b")
    assert other.host_key_fingerprint != node.host_key_fingerprint
    assert other.port != node.port


def test_login_environment_puts_the_node_npu_smi_first(devsim: DevsimFleet) -> None:
    node = devsim.node("node-b")
    out = devsim.ssh("node-b", 'command -v npu-smi; echo "$DEVSIM_NODE_DIR"; echo $PATH').stdout
    which, node_dir, path = out.splitlines()
    assert which == node.npu_smi_path
    assert node_dir == node.node_dir
    assert path.split(":")[0] == str(Path(node.npu_smi_path).parent)
    login = devsim.ssh("node-b", "bash -lc 'command -v npu-smi'").stdout.strip()
    assert login == node.npu_smi_path  # login shells reset PATH; /etc/profile.d puts it back


def test_ascend_files_and_devices_exist_on_the_node(devsim: DevsimFleet) -> None:
    node = devsim.node("node-a")
    script = (
        f"ls {node.device_dir}; stat -c %F {node.device(0)}; cat {node.driver_dir}/version.info;"
        f" cat {node.install_info_path}"
    )
    out = devsim.ssh("node-a", script).stdout
    devices = {f"davinci{i}" for i in range(8)} | {"davinci_manager", "devmm_svm", "hisi_hdc"}
    assert devices <= set(out.split())
    assert "character special file" in out
    assert "Version=23.0.6" in out.splitlines()
    assert "Driver_Install_Path_Param=/usr/local/Ascend" in out


def test_seed_host_checks_work_over_ssh(devsim: DevsimFleet) -> None:
    total = devsim.ssh("node-a", "npu-smi info -l | grep Total").stdout
    assert total.split(":")[1].strip() == "8"
    versions = devsim.ssh(
        "node-a", "npu-smi info -t board -i 1 | egrep -i 'software|firmware'"
    ).stdout.splitlines()
    assert [line.split(":")[1].strip() for line in versions] == ["23.0.6", "7.1.0.11.220"]
    assert devsim.ssh("node-a", "docker -v").ok


def test_info_over_ssh_keeps_the_real_layout(devsim: DevsimFleet, samples: Path) -> None:
    real = sample(samples, "info-007.txt")
    ours = devsim.npu_smi("node-a", "info").stdout.splitlines()
    assert ours[0] == real[0]
    assert ours[1] == real[1].replace("25.2.0", "23.0.6")
    assert ours[2:6] == real[2:6]
    assert [token_starts(line) for line in ours[6:8]] == [token_starts(line) for line in real[6:8]]
    assert ours[-1] == real[-1]


@pytest.mark.parametrize(
    ("args", "real_file"),
    [
        ("info -t board -i 0", "board-003.txt"),
        ("info -t usages -i 0", "usages-002.txt"),
        ("info -t common -i 1", "common-003.txt"),
        ("info -t health -i 0 -c 0", "health-001.txt"),
    ],
)
def test_key_value_commands_over_ssh(
    devsim: DevsimFleet, samples: Path, args: str, real_file: str
) -> None:
    result = devsim.npu_smi("node-a", *args.split())
    assert result.ok
    assert kv_shape(result.stdout.splitlines()) == kv_shape(sample(samples, real_file))


def test_list_and_mapping_over_ssh_equal_real_outputs(devsim: DevsimFleet, samples: Path) -> None:
    assert devsim.npu_smi("node-a", "info -l").stdout.splitlines() == sample(
        samples, "info-list-001.txt"
    )
    assert devsim.npu_smi("node-b", "info -m").stdout.splitlines() == sample(
        samples, "mapping-002.txt"
    )


def test_unknown_arguments_exit_non_zero(devsim: DevsimFleet) -> None:
    for args in ("-v", "info -t board -i 9", "info --bogus"):
        result = devsim.npu_smi("node-a", args)
        assert result.exit_status != 0, args
        assert result.stdout.strip(), args


def test_npu_smi_answers_fast(devsim: DevsimFleet) -> None:
    client = devsim.connect("node-a")
    try:
        client.exec_command("npu-smi info")[1].read()
        start = time.perf_counter()
        for _ in range(10):
            _, out, _ = client.exec_command("npu-smi info")
            out.read()
        per_call = (time.perf_counter() - start) / 10
    finally:
        client.close()
    assert per_call < 0.1, per_call


def test_password_user_is_refused_unless_enabled(devsim: DevsimFleet) -> None:
    node = devsim.node("node-a")
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507 - test client
    with pytest.raises(paramiko.AuthenticationException):
        client.connect(
            node.host, port=node.port, username="root", password="x", look_for_keys=False,
            allow_agent=False, timeout=10,
        )  # fmt: skip
    client.close()
