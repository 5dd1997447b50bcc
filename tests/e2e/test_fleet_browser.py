"""Fleet pages in a real browser: onboarding a simulated node and watching it live."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from fleet.choices import Health, HostKeyStatus, NodeStatus
from fleet.models import Card, Node
from fleet.services.probing import probe_node
from fleet.streams import broadcast_node
from tests.conftest import PASSWORD
from tests.e2e.conftest import login, off_loop

pytestmark = pytest.mark.e2e
pytest_plugins = ["devsim.pytest_plugin"]

SHOTS = Path("/tmp/shots")


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.devsim
def test_onboard_a_simulated_node_accept_its_key_and_see_a_card_turn_to_warning_live(
    asgi_live_server, page, admin_user, devsim
):
    sim = devsim.node("node-a")
    server = asgi_live_server
    login(page, server, admin_user.username, PASSWORD)

    page.locator("main").get_by_role("link", name="Onboard a node").click()
    page.fill("#id_name", "sim-node-a")
    page.fill("#id_host", sim.host)
    page.fill("#id_port", str(sim.port))
    page.fill("#id_username", sim.user)
    page.fill("#id_private_key", Path(sim.key_path).read_text())
    page.fill("#id_labels", "sim, region=lab")
    page.fill("#id_device_dir", sim.device_dir)
    page.fill("#id_driver_dir", sim.driver_dir)
    page.fill("#id_npu_smi_path", sim.npu_smi_path)
    page.fill("#id_install_info_path", sim.install_info_path)
    shot(page, "onboarding-form")
    page.click("button[type=submit]")

    page.wait_for_url("**/host-key/")
    assert page.get_by_test_id("fingerprint").inner_text() == sim.host_key_fingerprint
    shot(page, "host-key")
    page.get_by_role("button", name="Accept this key").click()

    node = Node.objects.get(name="sim-node-a")
    page.wait_for_url(f"{server.url}/nodes/{node.pk}/")
    health = page.locator("tr[data-device] [data-f=health]")
    assert health.all_inner_texts() == ["OK"] * 8
    expect(page.locator("#chart-status")).to_have_text("1 point")
    assert node.cards.count() == 8
    shot(page, "node-page")

    page.locator("nav").get_by_role("link", name="Overview").click()
    page.wait_for_selector("#live[data-state=open]")
    tile = page.locator(f'.tile[data-node-id="{node.pk}"]')
    squares = tile.locator(".npu")
    assert squares.count() == 8
    assert tile.locator(".npu.h-OK").count() == 8
    page.evaluate("window.__marker = 1")

    devsim.set_card_health("node-a", 3, "Warning")
    off_loop(probe_node, node.pk)

    tile.locator('.npu[data-device="3"].h-Warning').wait_for()
    assert page.evaluate("window.__marker") == 1
    assert tile.locator(".npu.h-OK").count() == 7
    assert "Warning" in tile.locator('.npu[data-device="3"]').get_attribute("title")
    assert tile.locator("[data-f=status]").inner_text() == "Degraded"
    shot(page, "overview")

    tile.locator(".tile-name").click()
    page.wait_for_selector("#live[data-state=open]")
    page.evaluate("window.__marker = 2")
    devsim.set_card_health("node-a", 5, "Alarm")
    off_loop(probe_node, node.pk)

    expect(page.locator('tr[data-device="5"] [data-f=health]')).to_have_text("Alarm")
    expect(page.locator('#node-page .npu[data-device="5"]')).to_have_class("npu h-Alarm")
    assert page.evaluate("window.__marker") == 2


def _node(name: str, chip: str, labels: list[str], healths: list[str]) -> Node:
    node = Node.objects.create(
        name=name,
        host="192.0.2.10",
        status=NodeStatus.ONLINE,
        facts={"chip_name": chip},
        labels=labels,
        host_key_status=HostKeyStatus.ACCEPTED,
    )
    for device, health in enumerate(healths):
        Card.objects.create(
            node=node, npu_id=device, device=device, chip_name=chip, health=health,
            hbm_used_mb=8192, hbm_total_mb=32768,
        )  # fmt: skip
    return node


def test_filters_hide_tiles_keep_the_query_string_and_new_nodes_appear_live(
    asgi_live_server, page, member_user
):
    _node("node-a", "910B3", ["region=gy1"], [Health.OK] * 8)
    _node("node-b", "910B4", ["region=wlcb"], [Health.OK] * 8)
    login(page, asgi_live_server, member_user.username, PASSWORD)
    page.wait_for_selector("#live[data-state=open]")
    page.evaluate("window.__marker = 1")

    page.select_option("#f-chip", "910B4")
    assert page.url.endswith("/?chip=910B4")
    assert page.locator(".tile:visible .tile-name").all_inner_texts() == ["node-b"]
    page.select_option("#f-chip", "")
    page.select_option("#f-label", "region=gy1")
    assert page.url.endswith("/?label=region%3Dgy1")
    assert page.locator(".tile:visible .tile-name").all_inner_texts() == ["node-a"]
    page.select_option("#f-label", "")

    node_c = _node("node-c", "910B3", ["region=gy1"], [Health.OK, Health.CRITICAL])
    off_loop(broadcast_node, node_c, list(node_c.cards.all()))

    new_tile = page.locator(f'.tile[data-node-id="{node_c.pk}"]')
    new_tile.wait_for()
    assert page.locator(".tile .tile-name").all_inner_texts() == ["node-a", "node-b", "node-c"]
    assert new_tile.locator(".npu.h-Critical").count() == 1
    assert new_tile.locator(".tile-name").get_attribute("href") == f"/nodes/{node_c.pk}/"
    assert page.evaluate("window.__marker") == 1
    page.reload()
    assert page.url.endswith("/")
    assert page.locator(".tile").count() == 3
    assert page.locator("#fleet-count").inner_text() == "3 nodes"
