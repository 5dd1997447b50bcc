"""The OpenAPI schema's error responses, declared in one place for every operation.

Each operation gets the error codes its shape allows (one shared `Error` body, `{detail, field?}`
plus per-field messages): 400 when it takes input, 401/403 when it needs a user, 404 when it has
a path parameter or pages, 409 for writes, 415 when it takes a body, 429 when it is throttled.
Operations marked with `reaches_node` also declare 502/503/504 (`RemoteError`: the node and the
side that failed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from fleet.remote import ErrorKind

F = TypeVar("F", bound=Callable[..., Any])

WRITES = ("POST", "PUT", "PATCH", "DELETE")


class ErrorSerializer(serializers.Serializer):
    """Every API error: `detail` always; `field` names the input at fault, when there is one."""

    detail = serializers.CharField(help_text="What went wrong and how to fix it.")
    field = serializers.CharField(
        required=False, help_text="The input at fault; its messages are under its own name too."
    )


class RemoteErrorSerializer(serializers.Serializer):
    """A node reached during the request failed: which node, and which side."""

    detail = serializers.CharField()
    node = serializers.CharField(help_text="The node's name.")
    kind = serializers.ChoiceField(
        choices=[k.value for k in ErrorKind],
        help_text="unreachable → 503, timeout → 504, the rest (the node answered) → 502.",
    )


class ErrorSchema(OpenApiSerializerExtension):
    """`Error` allows the per-field message lists next to `detail`."""

    target_class = ErrorSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = {}
        return schema


ERROR_TEXT = {
    "400": "The input is invalid; `field` names it.",
    "401": "Not signed in: send a token or a session cookie.",
    "403": "Signed in, but not allowed to do this.",
    "404": "Not found, or not visible to you.",
    "409": "Conflicts with the current state (a booking, a running job, a card).",
    "415": "Send the body as JSON (or a form).",
    "429": "Too many requests; wait as Retry-After says.",
}
REMOTE_TEXT = {
    "502": "The node answered but failed (command failed, SSH credentials or host key).",
    "503": "The node could not be reached.",
    "504": "The node did not answer in time.",
}


def reaches_node(func: F) -> F:
    """Marks a view method that talks to a node during the request (declares 502/503/504)."""
    func.reaches_node = True  # type: ignore[attr-defined]
    return func


def _model_field(field: serializers.Field) -> Any:
    """The model field a ModelSerializer field reads directly, if any."""
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or "." in (field.source or "") or field.source == "*":
        return None
    try:
        return model._meta.get_field(field.source)
    except Exception:  # a property or an annotation, not a column
        return None


class FleetAutoSchema(AutoSchema):
    """drf-spectacular's schema plus the error responses each operation can give."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """Read-only choices keep their model's blank and null values (DRF drops them)."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.ChoiceField) and field.read_only and "enum" in schema:
            column = _model_field(field)
            if column is not None and column.blank and "" not in schema["enum"]:
                schema["enum"] = [*schema["enum"], ""]
            if column is not None and column.null and None not in schema["enum"]:
                schema["enum"] = [*schema["enum"], None]
        return schema

    def _view_method(self) -> Any:
        action = getattr(self.view, "action", None)
        return getattr(self.view, action or self.method.lower(), None)

    def _is_public(self) -> bool:
        return any(isinstance(p, AllowAny) for p in self.view.get_permissions())

    def _error_codes(self, operation: dict[str, Any]) -> list[str]:
        parameters = operation.get("parameters", [])
        in_path = any(p.get("in") == "path" for p in parameters)
        in_query = any(p.get("in") == "query" for p in parameters)
        codes = []
        if in_query or "requestBody" in operation or self.method in WRITES:
            codes.append("400")
        if not self._is_public():
            codes += ["401", "403"]
        if in_path or self._is_list_view():
            codes.append("404")
        if self.method in WRITES:
            codes.append("409")
        if "requestBody" in operation:
            codes.append("415")
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _error_response(self, serializer: type[serializers.Serializer], text: str) -> dict:
        component = self.resolve_serializer(serializer, "response")
        return {"content": {"application/json": {"schema": component.ref}}, "description": text}

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self._error_codes(operation):
            if code not in responses:
                responses[code] = self._error_response(ErrorSerializer, ERROR_TEXT[code])
        for code, answer in responses.items():
            if code >= "400" and "content" not in answer:  # declared with a description only
                body = self._error_response(ErrorSerializer, answer.get("description", ""))
                responses[code] = {**body, "description": body["description"] or "Refused."}
        if getattr(self._view_method(), "reaches_node", False):
            for code, text in REMOTE_TEXT.items():
                responses.setdefault(code, self._error_response(RemoteErrorSerializer, text))
        operation["responses"] = dict(sorted(responses.items()))
        return operation
