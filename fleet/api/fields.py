"""Input fields shared by the API: bounded numbers and moments whose errors state the range."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from fleet.validators import as_id

__all__ = ["as_id", "bounded_float", "bounded_int"]


def bounded_int(low: int, high: int, **kwargs: Any) -> serializers.IntegerField:
    """A whole number in [low, high]; any refusal says the range."""
    message = f"Give a whole number from {low} to {high}."
    keys = ("invalid", "min_value", "max_value", "max_string_length")
    errors: dict[str, Any] = {key: message for key in keys}
    return serializers.IntegerField(min_value=low, max_value=high, error_messages=errors, **kwargs)


def bounded_float(low: float, high: float, **kwargs: Any) -> serializers.FloatField:
    """A finite number in [low, high]; any refusal says the range."""
    message = f"Give a number from {low:g} to {high:g}."
    keys = ("invalid", "min_value", "max_value", "max_string_length", "overflow")
    errors: dict[str, Any] = {key: message for key in keys}
    return serializers.FloatField(min_value=low, max_value=high, error_messages=errors, **kwargs)
