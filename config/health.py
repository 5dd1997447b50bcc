"""/healthz: ok or fail per backend, as JSON, with nothing about where the backends live."""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _check_database() -> dict[str, object]:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not reachable"; the detail is logged only
        logger.warning("healthz: the database did not answer: %s: %s", type(exc).__name__, exc)
        return {"ok": False}
    return {"ok": True, "ms": _ms(started)}


def _check_redis() -> dict[str, object]:
    started = time.monotonic()
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        logger.warning("healthz: Redis did not answer: %s: %s", type(exc).__name__, exc)
        return {"ok": False}
    finally:
        client.close()
    return {"ok": True, "ms": _ms(started)}


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with {"status": "ok"} when every backend answers, 503 naming the failing one otherwise.

    The body says only ok or fail per backend (database; Redis, which carries the task queue,
    the cache and the websocket layer): hosts, URLs and driver errors are logged, never shown.
    """
    checks = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", **checks}, status=200 if healthy else 503
    )
