"""The recipe editor in a real browser: messages change as you type; the catalog browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from jobs.catalog.services import recipes
from jobs.catalog.services.catalog_edits import ensure_seed_catalog
from tests.catalog.conftest import inference, make_node
from tests.conftest import PASSWORD
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots")


@pytest.fixture
def seeded(transactional_db):
    """The manuals' catalog (a flush by an earlier browser test empties the tables)."""
    ensure_seed_catalog()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_editing_a_recipe_into_an_invalid_state_and_back(
    page, asgi_live_server, seeded, member_user, team
):
    node = make_node("gy1-b4", "910B4", 32768)
    recipe = recipes.create_recipe(
        member_user,
        team=team,
        name="llama2-13b-tp2",
        values=inference(weights_path="/data/models/Llama-2-13b-chat-hf"),
    )
    login(page, asgi_live_server, member_user.username, PASSWORD)
    page.goto(f"{asgi_live_server.url}/recipes/{recipe.pk}/edit/")
    preview = page.locator("#preview")
    preview.get_by_test_id("all-clear").wait_for()
    assert "--device=/dev/davinci1" in preview.get_by_test_id("cmd-docker-run").inner_text()

    page.fill("#id_tensor_parallel_size", "3")
    error = preview.locator('[data-level=error][data-field="tensor_parallel_size"]')
    error.wait_for()
    assert "tensor-parallel-size 3 is not 1, 2, 4 or 8" in error.inner_text()
    assert preview.get_by_test_id("all-clear").count() == 0

    page.fill("#id_env", "1BAD=x")
    preview.locator('[data-level=error][data-field="env"]').wait_for()
    shot(page, "recipe-editor-invalid")

    page.fill("#id_env", "")
    page.fill("#id_tensor_parallel_size", "2")
    preview.get_by_test_id("all-clear").wait_for()
    assert preview.locator("[data-level=error]").count() == 0

    page.select_option("#id_node", str(node.pk))
    page.fill("#id_max_model_len", "32768")
    page.fill("#id_max_num_batched_tokens", "32768")
    warning = preview.locator('[data-level=warning][data-field="max_model_len"]')
    warning.wait_for()
    assert "above the 16K" in warning.inner_text()
    assert "on gy1-b4" in preview.inner_text()
    shot(page, "recipe-editor-warning")

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy = preview.locator('button[data-copy="cmd-launch"]')
    copy.click()
    expect(copy).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == preview.get_by_test_id("cmd-launch").inner_text()

    page.fill("#id_max_model_len", "8192")
    page.fill("#id_max_num_batched_tokens", "8192")
    page.fill("#id_change_note", "8K context")
    preview.get_by_test_id("all-clear").wait_for()
    page.get_by_role("button", name="Save as version 2").click()
    page.wait_for_url(f"{asgi_live_server.url}/recipes/{recipe.pk}/")
    assert "showing version 2" in page.locator("main p.muted").first.inner_text()
    assert "--max-model-len=8192" in page.get_by_test_id("cmd-launch").inner_text()
    shot(page, "recipe-detail")


def test_catalog_browser_filters(page, asgi_live_server, seeded, member_user):
    login(page, asgi_live_server, member_user.username, PASSWORD)
    page.goto(f"{asgi_live_server.url}/catalog/")
    everything = int(page.get_by_test_id("line-count").inner_text())
    page.select_option("#f-gb", "32")
    page.select_option("#f-cards", "1")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**card_gb=32**")
    fewer = int(page.get_by_test_id("line-count").inner_text())
    assert 0 < fewer < everything
    assert page.locator("table.catalog code", has_text="llama2-70b").count() == 0
    shot(page, "catalog-browser")
