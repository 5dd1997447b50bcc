"""Fixtures of the fleet page tests: the signed-in clients the page tests share."""

from tests.frontend.conftest import as_admin, as_member  # noqa: F401  (fixtures)
