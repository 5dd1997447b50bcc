"""Typed, validating access to environment variables: bad values fail at start, loudly."""

from __future__ import annotations

import base64
import binascii
import builtins
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import environ
from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Settings:
    """Reads variables from the process environment (and an optional `.env` file).

    Its methods are named after the types they return, so signatures below `str` spell the
    built-in types `builtins.str`.
    """

    def __init__(self, env_file: Path | None = None) -> None:
        self.env = environ.Env()
        if env_file is not None and env_file.is_file():
            environ.Env.read_env(str(env_file), overwrite=False)

    def raw(self, name: str) -> str | None:
        """The variable's text, or None when unset."""
        return self.env.str(name, default=None)

    def _fail(self, name: str, value: str, expected: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(
            f"Environment variable {name}={value!r} is invalid: expected {expected}. "
            f"Fix it in your environment or .env file (see .env.example)."
        )

    def str(self, name: str, default: str | None = None, *, required: bool = False) -> str:
        value = self.raw(name)
        if value is None or value == "":
            if required or default is None:
                raise ImproperlyConfigured(
                    f"Environment variable {name} is required but not set (see .env.example)."
                )
            return default
        return value

    def bool(self, name: builtins.str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise self._fail(name, value, "one of 1/0, true/false, yes/no, on/off")

    def int(self, name: builtins.str, default: int, *, minimum: int | None = None) -> int:
        value = self.raw(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise self._fail(name, value, "a whole number") from None
        if minimum is not None and number < minimum:
            raise self._fail(name, value, f"a whole number of at least {minimum}")
        return number

    def float(self, name: builtins.str, default: float, *, minimum: float = 0.0) -> float:
        value = self.raw(name)
        if value is None or value == "":
            return default
        try:
            number = float(value)
        except ValueError:
            raise self._fail(name, value, "a number") from None
        if number < minimum:
            raise self._fail(name, value, f"a number of at least {minimum}")
        return number

    def list(self, name: builtins.str, default: list[builtins.str]) -> list[builtins.str]:
        value = self.raw(name)
        if value is None:
            return default
        return [item.strip() for item in value.split(",") if item.strip()]

    def parsed(
        self,
        name: builtins.str,
        default: builtins.str,
        parse: Callable[[builtins.str], T],
        expected: builtins.str,
    ) -> T:
        value = self.raw(name) or default
        if not value:
            raise ImproperlyConfigured(
                f"Environment variable {name} is required but not set: expected {expected} "
                "(see .env.example)."
            )
        try:
            return parse(value)
        except (ValueError, KeyError, ImproperlyConfigured):
            raise self._fail(name, value, expected) from None


def parse_database_url(url: str) -> dict:
    """A Django DATABASES entry from a URL; only PostgreSQL and SQLite are supported."""
    if not url.startswith(("postgres://", "postgresql://", "sqlite://")):
        raise ValueError(url)
    config = environ.Env.db_url_config(url)
    if config.get("ENGINE") not in (
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    ):
        raise ValueError(url)
    if not config.get("NAME"):
        raise ValueError(url)
    return config


def parse_redis_url(url: str) -> str:
    """The URL itself if it is a redis:// or rediss:// URL with a host."""
    if not url.startswith(("redis://", "rediss://")) or len(url.split("://", 1)[1]) == 0:
        raise ValueError(url)
    return url


def parse_fernet_keys(value: str) -> list[str]:
    """Comma-separated Fernet keys (url-safe base64 of 32 bytes); the first one encrypts."""
    keys = [item.strip() for item in value.split(",") if item.strip()]
    if not keys:
        raise ValueError(value)
    for key in keys:
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            raise ValueError(key) from None
        if len(raw) != 32:
            raise ValueError(key)
    return keys
