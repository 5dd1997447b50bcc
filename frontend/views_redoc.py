"""Redoc's bundle, served from the app without its one run-time fetch from a CDN.

drf-spectacular-sidecar ships Redoc's standalone build; its side menu shows the Redocly logo from
https://cdn.redoc.ly/, which the site's policy (img-src 'self') blocks and an offline site cannot
reach. The bundle is served here with that one address pointing at the site's own icon.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import drf_spectacular_sidecar
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.templatetags.static import static
from django.views.decorators.http import require_safe

BUNDLE = Path(drf_spectacular_sidecar.__file__).parent.joinpath(
    "static", "drf_spectacular_sidecar", "redoc", "bundles", "redoc.standalone.js"
)
CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
# The build's trailing source-map comment would point at a file this view does not serve.
SOURCE_MAP = "//# sourceMappingURL=redoc.standalone.js.map"


@lru_cache(maxsize=4)
def _bundle(logo_url: str) -> tuple[bytes, str]:
    text = BUNDLE.read_text(encoding="utf-8")
    if CDN_LOGO not in text:
        # A newer Redoc changed the address: better a visible failure in the tests than a
        # silent fetch from the CDN.
        raise RuntimeError(f"{BUNDLE} no longer mentions {CDN_LOGO}")
    body = text.replace(CDN_LOGO, logo_url).replace(SOURCE_MAP, "").encode()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@require_safe
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    """Redoc's standalone script, its logo taken from this site."""
    body, etag = _bundle(static("app/favicon.svg"))
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified(headers={"ETag": etag})
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=86400"
    return response
