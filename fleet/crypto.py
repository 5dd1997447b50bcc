"""Encryption at rest for credentials (SSH keys, passwords), keyed from settings."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    """The configured cipher; the first key encrypts, all keys decrypt."""
    return _fernet(tuple(settings.FLEET_CREDENTIALS_KEYS))


def encrypt(plaintext: str) -> str:
    """Ciphertext token for a non-empty secret; empty stays empty."""
    if not plaintext:
        return ""
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The secret behind a token; a token no configured key opens raises ValueError."""
    if not token:
        return ""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError(
            "a stored credential cannot be decrypted with FLEET_CREDENTIALS_KEY: "
            "the key was changed without keeping the old one for rotation"
        ) from None


class Secret(str):
    """A decrypted value whose repr never shows the secret."""

    def __repr__(self) -> str:
        return "Secret('***')" if self else "Secret('')"


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees the plaintext as a `Secret`."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret | None:
        if value is None:
            return value
        return Secret(decrypt(value))

    def to_python(self, value: Any) -> Secret | None:
        if value is None or isinstance(value, Secret):
            return value
        return Secret(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None:
            return value
        return encrypt(str(value))
