"""The README's walk-through, as written: the browser deploy on the demo's booking, then the
README's own shell block (curl + jq) run by bash from a project folder, unchanged but for the
server's address."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from devsim.demo_setup import book_demo_cards, create_demo_recipes
from fleet.booking.models import Membership, Team
from jobs.catalog.services.catalog_edits import ensure_seed_catalog
from jobs.models import Deployment
from jobs.services import jobs as job_services
from tests.conftest import PASSWORD
from tests.frontend.conftest import make_node

README = Path(__file__).resolve().parents[2] / "README.md"
DEMO_URL = "http://127.0.0.1:8000"


def run_readme_api_block(url: str, folder: Path) -> subprocess.CompletedProcess:
    """The README's API block, run by bash from a project folder whose .demo/passwords holds
    vera's password (as make demo writes it), against `url` instead of the demo's address."""
    (folder / ".demo").mkdir()
    (folder / ".demo" / "passwords").write_text(f"admin not-this-one\nvera {PASSWORD}\n")
    block = readme_api_block()
    assert DEMO_URL in block
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.replace(DEMO_URL, url)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def readme_api_block() -> str:
    """The README's shell block that deploys over the API."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    found = [b for b in blocks if "/auth/token/" in b and "/deployments/" in b]
    assert len(found) == 1, "the README has one API deploy example"
    return found[0]


@pytest.fixture
def no_workers(monkeypatch):
    monkeypatch.setattr(job_services, "enqueue", lambda job: None)


@pytest.fixture
def demo(transactional_db, settings):
    return make_demo(settings)


def make_demo(settings):
    """What `make demo` leaves: vera of team vision, the example recipes, the demo booking."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ensure_seed_catalog()  # a transactional test's flush removes the seed rows
    users = get_user_model().objects
    admin = users.create_user("admin", "admin@example.com", PASSWORD, is_superuser=True)
    vera = users.create_user("vera", "vera@example.com", PASSWORD)
    team = Team.objects.create(name="Vision", slug="vision")
    Membership.objects.create(team=team, user=vera, role="admin")
    # The demo's nodes publish ports (bridge), as `python -m devsim setup-demo` registers them.
    node = make_node("node-a", healths=("OK",) * 8, network_mode="bridge")
    recipes = {r.name: r for r in create_demo_recipes(vera, team)}
    booking, made = book_demo_cards(admin, team, node)
    assert made, booking
    return vera, recipes, booking


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
@pytest.mark.parametrize(("picked", "taken"), [("qwen2-7b-tp1", [0]), ("llama2-13b-tp2", [0, 1])])
def test_the_readme_api_deploy_works_after_the_browser_deploy(
    demo, live_server, no_workers, picked, taken, tmp_path
):
    vera, recipes, booking = demo
    # The browser part: Deploy a recipe, pick the recipe and the booking, no card ticked.
    browser = Client()
    browser.force_login(vera)
    assert reverse("deploy") in browser.get(reverse("home")).content.decode()
    answer = browser.post(
        reverse("deploy"),
        {
            "recipe_version": recipes[picked].current_version_id,
            "booking": booking.pk,
            "cards_for": booking.pk,
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert Deployment.objects.get().cards == taken

    run = run_readme_api_block(live_server.url, tmp_path)

    assert run.returncode == 0, run.stderr
    assert Deployment.objects.count() == 2, run.stdout
    made = Deployment.objects.exclude(cards=taken).get()
    assert made.booking_id == booking.pk
    assert made.recipe_version_id == recipes["qwen2-7b-tp1"].current_version_id
    assert made.cards == [2]
    assert made.created_by == vera
    # What the README shows: the deployments so far, then the new one.
    listed, created = run.stdout.split("\n", 1)
    assert json.loads(listed)["cards"] == taken
    assert json.loads(created)["id"] == made.pk
