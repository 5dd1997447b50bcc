"""The OpenAPI schema: generated without warnings, valid, and saying what the API really does."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_blocker) -> dict:
    """`manage.py spectacular --validate --fail-on-warn`: fails on any warning or invalid schema."""
    out = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return yaml.safe_load(out.read_text())


def response(schema: dict, path: str, method: str, code: str) -> dict:
    return schema["paths"][path][method]["responses"][code]


def component(schema: dict, ref_holder: dict) -> dict:
    name = ref_holder["$ref"].rsplit("/", 1)[1]
    return schema["components"]["schemas"][name]


def json_schema(answer: dict) -> dict:
    return answer["content"]["application/json"]["schema"]


def test_schema_validates_without_warnings(schema):
    assert schema["openapi"].startswith("3.")
    assert len(schema["paths"]) > 50


def test_every_operation_declares_its_errors_with_the_error_body(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = operation["responses"]
            public = operation.get("security") == [] or {} in operation.get("security", [{}])
            if not public:
                assert {"401", "403"} <= set(codes), (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if method in ("post", "put", "patch", "delete"):
                assert {"400", "409"} <= set(codes), (method, path)
            for code, answer in codes.items():
                if code >= "400" and "content" in answer:
                    assert "$ref" in json_schema(answer), (method, path, code)


def test_error_body_is_detail_and_field(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]
    assert set(error["properties"]) == {"detail", "field"}
    assert error["additionalProperties"] == {}  # the per-field messages


def test_operations_that_reach_a_node_declare_the_gateway_errors(schema):
    refresh = schema["paths"]["/api/v1/images/refresh/"]["post"]["responses"]
    for code in ("502", "503", "504"):
        body = component(schema, json_schema(refresh[code]))
        assert set(body["required"]) == {"detail", "node", "kind"}
    plain = schema["paths"]["/api/v1/bookings/"]["get"]["responses"]
    assert "503" not in plain


def test_availability_timeline_and_team_are_objects(schema):
    availability = json_schema(response(schema, "/api/v1/availability/", "get", "200"))
    assert "$ref" in availability, availability  # one object, not a list
    assert set(component(schema, availability)["properties"]) == {
        "count",
        "hours",
        "options",
        "unavailable",
    }
    timeline = json_schema(response(schema, "/api/v1/timeline/{id}/", "get", "200"))
    assert "cards" in component(schema, timeline)["properties"]
    team = json_schema(response(schema, "/api/v1/teams/{id}/", "get", "200"))
    assert "usage" in component(schema, team)["properties"]


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("Node", "card_memory_gb"),
        ("ModelAlias", "edited_by"),
        ("CardRequirement", "edited_by"),
        ("AuditEntry", "actor"),
        ("AuditEntry", "team_name"),
        ("AuditEntry", "node_name"),
        ("AuditEntry", "card_device"),
        ("Job", "requested_by"),
        ("Recipe", "created_by"),
    ],
)
def test_fields_that_can_be_null_say_so(schema, name, field):
    assert schema["components"]["schemas"][name]["properties"][field].get("nullable") is True


def test_read_only_choices_keep_their_blank_value(schema):
    end_reason = schema["components"]["schemas"]["Booking"]["properties"]["end_reason"]
    assert {"$ref": "#/components/schemas/BlankEnum"} in end_reason["oneOf"]
