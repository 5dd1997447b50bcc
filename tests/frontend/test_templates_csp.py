"""The Content-Security-Policy forbids inline code: no template of ours may contain any."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.template import engines
from django.template.utils import get_app_template_dirs

ROOT = Path(settings.BASE_DIR).resolve()
TAG = re.compile(r"<(?!!--)[a-zA-Z][^<>]*>", re.S)
SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)
STYLE = re.compile(r"<style\b", re.I)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.I)
HANDLER_ATTR = re.compile(r"\s(on[a-z]+)\s*=", re.I)
JS_URL = re.compile(r"""=\s*["']?\s*javascript:""", re.I)


def project_template_dirs() -> list[Path]:
    """The template folders of every installed app of this project and of TEMPLATES DIRS."""
    dirs = [Path(d) for d in get_app_template_dirs("templates")]
    for engine in engines.all():
        dirs += [Path(d) for d in getattr(engine, "dirs", [])]
    ours = {d.resolve() for d in dirs if d.is_dir() and d.resolve().is_relative_to(ROOT)}
    return sorted(d for d in ours if ".venv" not in d.parts and "node_modules" not in d.parts)


def inline_code(text: str) -> list[tuple[int, str]]:
    """(line, what) for each inline script, style, style attribute, handler or javascript: URL."""
    found: list[tuple[int, str]] = []

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    for match in SCRIPT.finditer(text):
        attrs = match.group(1)
        if not re.search(r"\ssrc\s*=", attrs, re.I) and "application/json" not in attrs:
            found.append((line_of(match.start()), "inline <script> (use a static file)"))
    for match in STYLE.finditer(text):
        found.append((line_of(match.start()), "inline <style> (use a stylesheet)"))
    for match in TAG.finditer(text):
        tag = match.group(0)
        if STYLE_ATTR.search(tag):
            found.append((line_of(match.start()), "style= attribute (use a class or data-width)"))
        for handler in HANDLER_ATTR.findall(tag):
            found.append((line_of(match.start()), f"{handler}= attribute (use app.js)"))
        if JS_URL.search(tag):
            found.append((line_of(match.start()), "javascript: URL"))
    return sorted(found)


def test_the_scan_finds_each_kind_of_inline_code():
    text = (
        '<p>ok</p>\n<script>alert(1)</script>\n<style>p{}</style>\n<div style="x">\n'
        '<button type="button"\n  onclick="go()">\n<a href="javascript:void(0)">\n'
        '<script src="/static/app/app.js" defer></script>\n'
        '<script type="application/json" id="d">{}</script>\n'
    )
    assert [line for line, _ in inline_code(text)] == [2, 3, 4, 5, 7]


def test_every_project_template_folder_is_scanned():
    dirs = {d.relative_to(ROOT).as_posix() for d in project_template_dirs()}
    assert {
        "frontend/templates",
        "fleet/templates",
        "fleet/booking/templates",
        "jobs/templates",
        "jobs/catalog/templates",
    } <= dirs


def test_no_template_has_inline_scripts_styles_or_handlers():
    problems = []
    templates = [p for d in project_template_dirs() for p in sorted(d.rglob("*.html"))]
    assert len(templates) > 50
    for path in templates:
        for line, what in inline_code(path.read_text()):
            problems.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not problems, "the CSP forbids inline code:\n" + "\n".join(problems)
