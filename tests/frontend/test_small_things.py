"""First-run polish: the favicon, Redoc without a CDN, the README's validate method, the
in-use marker in the legend and Deploy a recipe in the main navigation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.templatetags.static import static
from django.test import Client
from django.urls import reverse

from frontend.views_redoc import CDN_LOGO
from jobs.catalog.services.recipes import create_recipe
from tests.frontend.conftest import by_testid, make_node

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def icon_href(html: str) -> str:
    found = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    assert found, "no icon link"
    return found.group(1)


def test_every_page_links_a_favicon_the_app_serves(member_user, settings):
    # WhiteNoise as the demo runs it (DEBUG=1: files found in the apps, no collectstatic);
    # the test runner turns DEBUG off, so say it here, before the client builds its middleware.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = Client()
    for url in (reverse("login"), reverse("home"), "/api/redoc/"):
        if url != reverse("login"):
            client.force_login(member_user)
        page = client.get(url)
        assert page.status_code == 200, url
        href = icon_href(page.content.decode())
        assert href == static("app/favicon.svg")
        icon = client.get(href)
        assert icon.status_code == 200, url
        assert icon["Content-Type"].startswith("image/svg+xml")
        assert b"<svg" in b"".join(icon.streaming_content)


def test_deploy_a_recipe_is_in_the_main_navigation(as_member):
    html = as_member.get(reverse("recipe-list")).content.decode()
    nav = html[html.index('<div class="site-menu"') : html.index("</nav>")]
    assert f'<a href="{reverse("deploy")}">Deploy a recipe</a>' in nav


def test_redoc_loads_its_bundle_from_the_app_with_no_cdn_address(client, member_user):
    client.force_login(member_user)
    page = client.get("/api/redoc/").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts == [reverse("api-redoc-bundle")]
    assert "https://" not in page

    bundle = client.get(reverse("api-redoc-bundle"))
    assert bundle.status_code == 200
    assert bundle["Content-Type"].startswith("text/javascript")
    body = bundle.content.decode()
    assert "Redoc" in body and len(body) > 500_000  # the real standalone build
    assert CDN_LOGO not in body and "cdn.redoc.ly" not in body
    assert f'src:"{static("app/favicon.svg")}"' in body  # the side menu's logo is the site's
    again = client.get(reverse("api-redoc-bundle"), headers={"if-none-match": bundle["ETag"]})
    assert again.status_code == 304


def readme_validate_rows() -> list[tuple[str, str]]:
    """(method, path) of every validate endpoint the README's API table names."""
    text = (ROOT / "README.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("|") and "validate/" in line]
    found = []
    for row in rows:
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH) ([^` ?]*validate/)", row):
            if path.startswith("..."):
                path = "/api/v1/recipes" + path[3:]
            found.append((method, path))
    return found


def test_the_readme_names_the_validate_methods_the_api_answers(as_member, member_user, team):
    rows = readme_validate_rows()
    assert {path for _, path in rows} == {
        "/api/v1/recipes/{id}/validate/",
        "/api/v1/recipes/validate/",
    }, rows
    node = make_node("node-a", healths=("OK",) * 8)
    recipe = create_recipe(
        member_user,
        team=team,
        name="qwen",
        values={"model": "qwen2-7b", "image": "npufleet/vllm-sim:local", "weights_path": "/w"},
    )
    draft = {"kind": "inference", "model": "qwen2-7b", "image": "npufleet/vllm-sim:local"}
    for method, path in rows:
        url = path.replace("{id}", str(recipe.pk))
        other = "post" if method == "GET" else "get"
        if method == "GET":
            answer = as_member.get(url, {"node": node.pk, "cards": "0"})
        else:
            answer = as_member.post(url, draft, content_type="application/json")
        assert answer.status_code == 200, (method, url, answer.content[:500])
        assert "errors" in answer.json() or "messages" in answer.json(), answer.json()
        assert getattr(as_member, other)(url).status_code == 405, (other, url)


def test_the_in_use_marker_is_explained_in_the_legend(as_member):
    css = (ROOT / "frontend/static/app/fleet.css").read_text()
    marker = re.search(r'\.npu\.used \.npu-id::after \{\s*content: " (.)"', css).group(1)
    response = as_member.get(reverse("home"))
    legend = by_testid(response, "legend-used")
    text = "".join(map(str, legend.children))
    assert marker in text and "processes" in text
