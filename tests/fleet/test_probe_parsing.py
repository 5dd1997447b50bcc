"""The probe script's output read back: sections, facts, cards, containers; preflight rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet import preflight, probes

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "npu-smi"
PATHS = probes.ProbePaths("/usr/local/sbin/npu-smi", "/usr/local/Ascend/driver", "/data")


def sample(name: str) -> str:
    path = SAMPLES / name
    assert path.exists(), f"shared samples missing: {path}"
    return path.read_text()


def output(info: str, rc: int = 0, **extra: str) -> str:
    parts = {
        "ipfwd": "1",
        "mem": "MemTotal:       1572864000 kB\nMemAvailable:   1048576000 kB",
        "disk": "/dev/vdb 3221225472 1073741824 2147483648 34% /data",
        "docker": "/usr/bin/docker",
        **extra,
    }
    text = "".join(f"{probes.MARK}{k}\n{v}\n" for k, v in parts.items())
    return text + f"{probes.MARK}npusmi\n{info}\n{probes.MARK}rc={rc}\n"


def test_script_quotes_every_path():
    hostile = probes.ProbePaths("/opt/npu smi;reboot", "/drv$(id)", "/w`x`")
    script = probes.build_script(hostile, full=True)
    assert "'/opt/npu smi;reboot' info" in script
    assert "'/drv$(id)/version.info'" in script
    assert "df -Pk '/w`x`'" in script


def test_quick_probe_reads_facts_and_cards_with_processes():
    report = probes.parse_report(output(sample("info-048.txt")), full=False)
    assert report.npu_smi_error == ""
    assert report.facts["ip_forward"] == 1
    assert report.facts["mem_total_mb"] == 1536000
    assert report.facts["disk_free_gb"] == 2048.0
    assert report.facts["docker_installed"] is True
    assert report.facts["chip_name"] == "910B2"
    assert [c.device for c in report.cards] == list(range(8))
    assert report.cards[0].hbm_used_mb == 62877
    assert report.cards[3].processes == [
        {"pid": 412128, "name": "mindie_llm_back", "memory_mb": 59539}
    ]


def test_dual_die_cards_get_devices_from_the_chip_map():
    mapping = {f"{n}:{c}": n * 2 + c for n in range(8) for c in range(2)}
    report = probes.parse_report(output(sample("info-008.txt")), full=False, device_map=mapping)
    assert len(report.cards) == 16
    assert [c.device for c in report.cards] == list(range(16))
    assert {(c.npu_id, c.chip_id) for c in report.cards if c.device == 5} == {(2, 1)}


def test_npu_smi_failure_is_reported_not_raised():
    report = probes.parse_report(
        output("dcmi module initialize failed. ret is -8005", rc=255), full=False
    )
    assert report.cards == []
    assert report.npu_smi_error.startswith("npu-smi info exited with 255: dcmi module")


def test_garbage_npu_smi_output_is_reported_not_raised():
    report = probes.parse_report(output("+----+\n| hello | world |\n+---+"), full=False)
    assert report.cards == []
    assert report.npu_smi_error.startswith("line ")


def test_full_probe_reads_inventory():
    report = probes.parse_report(
        output(
            sample("info-007.txt"),
            os='NAME="EulerOS"\nPRETTY_NAME="EulerOS 2.0 (SP10)"',
            uname="aarch64\n4.19.90-vhulk2211.3.0.h1543.eulerosv2r10.aarch64\n192",
            cpu="model name\t: Kunpeng-920",
            dockerv="Docker version 18.09.0, build 384e3e9",
            driver="Version=23.0.6\nascendhal_version=7.35.19",
            npulist=sample("info-list-001.txt"),
            npumap=sample("mapping-002.txt"),
            board=sample("board-003.txt"),
        ),
        full=True,
    )
    facts = report.facts
    assert facts["os"] == "EulerOS 2.0 (SP10)"
    assert (facts["arch"], facts["cpus"]) == ("aarch64", 192)
    assert facts["cpu_model"] == "Kunpeng-920"
    assert facts["docker_version"] == "18.09.0"
    assert facts["driver_version"] == "23.0.6"
    assert facts["npu_total_count"] == 8
    assert facts["firmware_version"] == "7.8.0.6.201"
    assert facts["device_map"]["3:0"] == 3


def test_holders_attribute_processes_and_devices_to_containers():
    cid = "a" * 64
    text = (
        f"{probes.MARK}containers\n"
        f"{cid}\t/npufleet-deploy-7\t4242\t1\t/dev/davinci2 /dev/davinci3 /dev/davinci_manager \n"
        f"{'b' * 64}\t/stranger\t5151\t\t/dev/davinci6 \n"
        f"{probes.MARK}cgroups\n"
        f"4300 0::/system.slice/docker-{cid}.scope \n"
        "777 0::/user.slice \n"
    )
    containers, owners = probes.parse_holders(text)
    assert owners == {4300: cid, 4242: cid, 5151: "b" * 64}
    cards = [
        probes.CardReading(
            0,
            0,
            2,
            "910B3",
            "",
            "OK",
            1,
            2,
            0,
            30,
            90.0,
            [{"pid": 4300, "name": "python", "memory_mb": 3000}],
        ),
        probes.CardReading(
            1,
            0,
            6,
            "910B3",
            "",
            "OK",
            1,
            2,
            0,
            30,
            90.0,
            [{"pid": 777, "name": "", "memory_mb": 10}],
        ),
    ]
    holders = probes.attribute(cards, containers, owners, "/dev")
    assert cards[0].processes[0]["container"] == "npufleet-deploy-7"
    assert cards[0].processes[0]["managed"] is True
    assert cards[1].processes[0]["container"] == ""
    assert cards[1].processes[0]["managed"] is False
    assert sorted(holders) == [2, 3, 6]
    assert holders[6] == [{"id": "b" * 12, "name": "stranger", "managed": False}]


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("23.0.rc3", "23.0.0"),
        ("23.0.0", "23.0.6"),
        ("23.0.6", "24.1.rc1"),
        ("24.1.rc3", "24.1.0"),
        ("24.1.0", "25.2.0"),
        ("23.0.6", "23.0.6.1"),
    ],
)
def test_driver_versions_order_like_ascend_releases(older, newer):
    assert preflight.version_key(older) < preflight.version_key(newer)


def checks(**facts) -> dict[str, preflight.Check]:
    base = {
        "driver_version": "23.0.6",
        "docker_installed": True,
        "ip_forward": 1,
        "disk_free_gb": 500,
    }
    cards = facts.pop("cards", [{"device": d, "health": "OK", "processes": []} for d in range(8)])
    result = preflight.run_checks(
        {**base, **facts},
        cards,
        npu_smi_error=facts.pop("error", ""),
        expected_cards=8,
        min_driver="23.0.6",
        min_free_disk_gb=100,
    )
    return {c.name: c for c in result}


def test_healthy_node_passes_every_check():
    assert {c.status for c in checks().values()} == {"pass"}


def test_each_failed_check_carries_the_manuals_fix():
    assert checks(driver_version="23.0.rc3")["driver"].status == "fail"
    docker = checks(docker_installed=False)["docker"]
    assert docker.status == "fail" and docker.fix.startswith("yum install -y docker-engine")
    fwd = checks(ip_forward=0)["ip_forward"]
    assert fwd.status == "fail" and "ip_forward=1/g" in fwd.fix
    few = checks(cards=[{"device": 0, "health": "OK", "processes": []}])["cards"]
    assert few.status == "fail" and "1 cards visible, 8 expected" in few.message
    assert checks(disk_free_gb=20)["disk"].status == "warn"
    alarm = [
        {"device": d, "health": "Alarm" if d == 2 else "OK", "processes": []} for d in range(8)
    ]
    assert checks(cards=alarm)["health"].status == "fail"
