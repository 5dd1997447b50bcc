"""Fixtures of the jobs page tests: the signed-in clients the other page tests use."""

from tests.frontend.conftest import as_member  # noqa: F401  (a fixture)
