"""These tests ask for many tokens anonymously from one address: each starts with a fresh count."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_anonymous_throttle():
    cache.delete("throttle_anon_127.0.0.1")
