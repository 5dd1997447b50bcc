"""Nodes, cards and samples over the REST API: permissions, secrets, filters, pagination."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from fleet.models import Card, CardSample, Node
from fleet.services import nodes as node_services
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

KEY = None


def private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    global KEY
    if KEY is None:
        KEY = (
            ed25519.Ed25519PrivateKey.generate()
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            )
            .decode()
        )
    return KEY


def make_node(name: str = "gy1-01", cards: int = 8, **facts) -> Node:
    node = Node.objects.create(
        name=name,
        host="127.0.0.1",
        port=1,
        private_key=private_key(),
        facts={"chip_name": "910B3", **facts},
        status="online",
    )
    for device in range(cards):
        Card.objects.create(
            node=node,
            npu_id=device,
            device=device,
            chip_name="910B3",
            health="Warning" if device == 5 else "OK",
            hbm_total_mb=65536,
            hbm_used_mb=3400,
            processes=[{"pid": 10 + device, "name": "x", "managed": False}] if device == 7 else [],
        )
    return node


def payload(**overrides) -> dict:
    data = {
        "name": "gy1-02",
        "host": "127.0.0.1",
        "port": 1,
        "username": "root",
        "auth_method": "key",
        "private_key": private_key(),
    }
    data.update(overrides)
    return data


def test_everyone_signed_in_reads_nodes_and_cards(admin_api, member_api, outsider_api):
    make_node()
    for client in (admin_api, member_api, outsider_api):
        nodes = client.get("/api/v1/nodes/").json()
        assert nodes["count"] == 1
        assert client.get("/api/v1/cards/").json()["count"] == 8


def test_anonymous_is_refused(client):
    make_node()
    assert APIClient().get("/api/v1/nodes/").status_code in (401, 403)


@pytest.mark.parametrize("persona", ["member_api", "outsider_api"])
def test_only_admins_onboard_edit_delete_and_accept_keys(persona, request):
    client = request.getfixturevalue(persona)
    node = make_node()
    assert client.post("/api/v1/nodes/", payload(), format="json").status_code == 403
    assert (
        client.patch(f"/api/v1/nodes/{node.pk}/", {"notes": "x"}, format="json").status_code == 403
    )
    assert client.delete(f"/api/v1/nodes/{node.pk}/").status_code == 403
    assert (
        client.post(
            f"/api/v1/nodes/{node.pk}/accept-host-key/", {"fingerprint": "SHA256:x"}, format="json"
        ).status_code
        == 403
    )
    assert client.post(f"/api/v1/nodes/{node.pk}/probe/").status_code == 403
    assert Node.objects.get(pk=node.pk).notes == ""
    assert Node.objects.count() == 1


def test_admin_onboards_and_secrets_are_write_only_and_encrypted(admin_api):
    response = admin_api.post("/api/v1/nodes/", payload(password="hunter2-secret"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert "private_key" not in body and "password" not in body and "passphrase" not in body
    assert body["has_private_key"] is True
    # the port is closed: the scan failed and says so, classified
    assert body["host_key_status"] == "unknown"
    assert body["last_error"].startswith("unreachable:")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key FROM fleet_node WHERE name = %s", ["gy1-02"])
        stored = cursor.fetchone()[0]
    assert "PRIVATE KEY" not in stored and stored.startswith("gAAAA")
    assert "OPENSSH PRIVATE KEY" in Node.objects.get(name="gy1-02").private_key
    listed = admin_api.get("/api/v1/nodes/").content.decode()
    assert "PRIVATE KEY" not in listed and "hunter2" not in listed


def test_secret_left_blank_on_edit_keeps_the_stored_one(admin_api):
    node = make_node()
    response = admin_api.patch(
        f"/api/v1/nodes/{node.pk}/", {"notes": "rack 3", "private_key": ""}, format="json"
    )
    assert response.status_code == 200, response.json()
    node.refresh_from_db()
    assert node.notes == "rack 3"
    assert node.private_key == private_key()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("name", "Bad Name!", "lowercase letters"),
        ("host", "exa mple;rm", "not a host name"),
        ("port", 70000, "1 to 65535"),
        ("username", "root;id", "valid Linux user name"),
        ("npu_smi_path", "/usr/bin/npu-smi; reboot", "absolute path"),
        ("private_key", "not a key", "cannot be read"),
        ("labels", ["ok", "bad label"], "not allowed"),
        ("jump_host", "root@@x", "user@host:port"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(admin_api, field, value, words):
    response = admin_api.post("/api/v1/nodes/", payload(**{field: value}), format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert field in body, body
    assert words in str(body[field])
    assert Node.objects.count() == 0


def test_duplicate_name_is_a_conflict(admin_api):
    make_node("gy1-02")
    response = admin_api.post("/api/v1/nodes/", payload(), format="json")
    assert response.status_code in (400, 409)
    assert "name" in response.json()
    assert Node.objects.count() == 1


def test_cards_filter_by_node_health_chip_and_use(member_api):
    a = make_node("a")
    make_node("b", cards=2)
    get = lambda q: member_api.get(f"/api/v1/cards/?{q}").json()["count"]  # noqa: E731
    assert get(f"node={a.pk}") == 8
    assert get("health=Warning") == 1
    assert get("chip=910B3") == 10
    assert get("chip=910B4") == 0
    assert get("used=true") == 1
    assert get("used=false") == 9


def test_lists_do_not_grow_queries_with_rows(member_api, django_assert_max_num_queries):
    for index in range(6):
        make_node(f"n{index}")
    with django_assert_max_num_queries(6):
        assert member_api.get("/api/v1/nodes/").status_code == 200
    with django_assert_max_num_queries(6):
        assert member_api.get("/api/v1/cards/").status_code == 200


def test_card_series_and_samples(member_api):
    node = make_node(cards=1)
    card = node.cards.get()
    now = timezone.now()
    for minutes in range(5):
        CardSample.objects.create(
            card=card,
            at=now - timezone.timedelta(minutes=minutes),
            health="OK",
            hbm_used_mb=1000 + minutes,
            aicore_pct=minutes,
        )
    series = member_api.get(f"/api/v1/cards/{card.pk}/series/?range=1h").json()
    assert len(series["points"]) == 5
    assert series["points"][-1]["hbm_used_mb"] == 1000
    day = member_api.get(f"/api/v1/cards/{card.pk}/series/?range=24h").json()
    assert 1 <= len(day["points"]) <= 2
    bad = member_api.get(f"/api/v1/cards/{card.pk}/series/?range=1y")
    assert bad.status_code == 400 and "range" in bad.json()
    samples = member_api.get(f"/api/v1/card-samples/?card={card.pk}").json()
    assert samples["count"] == 5


def test_token_authentication_for_integrations(member_user):
    make_node()
    client = APIClient()
    issued = client.post(
        "/api/v1/auth/token/", {"username": member_user.username, "password": PASSWORD}
    )
    assert issued.status_code == 200, issued.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.json()['token']}")
    assert client.get("/api/v1/nodes/").json()["count"] == 1
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert client.get("/api/v1/nodes/").status_code == 401


def test_preflight_endpoint_returns_the_checklist(member_api):
    node = make_node()
    node.preflight = [{"name": "ip_forward", "status": "fail", "message": "m", "fix": "sed -i"}]
    node.save()
    body = member_api.get(f"/api/v1/nodes/{node.pk}/preflight/").json()
    assert body["checks"][0]["fix"] == "sed -i"


def test_openapi_schema_and_offline_docs(client, member_user):
    client.force_login(member_user)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/nodes/{id}/accept-host-key/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()


def test_accept_host_key_requires_a_scanned_key(admin_api):
    node = make_node()
    response = admin_api.post(
        f"/api/v1/nodes/{node.pk}/accept-host-key/", {"fingerprint": "SHA256:abc"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "fingerprint"
    assert node_services is not None
