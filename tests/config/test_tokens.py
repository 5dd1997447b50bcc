"""API tokens: issued by username and password, stored hashed, expiring, listed and revoked by
their owner over the API and on the tokens page."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
TOKENS_URL = "/api/v1/auth/tokens/"


def issue(user, password=PASSWORD, **kwargs):
    return APIClient().post(TOKEN_URL, {"username": user.username, "password": password}, **kwargs)


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_token_endpoint_takes_form_fields_and_answers_token_and_expiry(member_user, settings):
    response = issue(member_user)
    assert response.status_code == 200
    body = response.json()
    assert len(body["token"]) == 64
    expiry = parse_datetime(body["expiry"])
    expected = timezone.now() + settings.REST_KNOX["TOKEN_TTL"]
    assert abs((expiry - expected).total_seconds()) < 60
    assert body["prefix"] == body["token"][:8]


def test_token_endpoint_takes_json_too(member_user):
    response = issue(member_user, format="json")
    assert response.status_code == 200
    assert with_token(response.json()["token"]).get(TOKENS_URL).status_code == 200


def test_token_endpoint_refuses_a_wrong_password_naming_the_field(member_user):
    response = issue(member_user, password="nope")
    assert response.status_code == 400
    assert response.json()["field"] == "password"
    assert AuthToken.objects.count() == 0


def test_token_endpoint_names_missing_fields():
    response = APIClient().post(TOKEN_URL, {"username": "x"})
    assert response.status_code == 400
    assert "password" in response.json()


def test_only_a_hash_of_the_key_is_stored(member_user):
    key = issue(member_user).json()["token"]
    row = AuthToken.objects.get(user=member_user)
    assert row.digest == hashlib.sha512(key.encode()).hexdigest()
    stored = " ".join(str(v) for v in AuthToken.objects.filter(pk=row.pk).values_list()[0])
    assert key not in stored


def test_the_token_header_authenticates_and_a_wrong_key_is_refused(member_user):
    key = issue(member_user).json()["token"]
    me = with_token(key).get("/api/v1/nodes/")
    assert me.status_code == 200
    assert with_token("0" * 64).get("/api/v1/nodes/").status_code == 401
    assert (
        with_token(key[:-1] + ("0" if key[-1] != "0" else "1")).get("/api/v1/nodes/").status_code
        == 401
    )


def test_an_expired_token_no_longer_works(member_user):
    key = issue(member_user).json()["token"]
    AuthToken.objects.filter(user=member_user).update(expiry=timezone.now() - timedelta(seconds=1))
    assert with_token(key).get("/api/v1/nodes/").status_code == 401
    assert not AuthToken.objects.filter(user=member_user).exists()  # and is deleted


def test_list_shows_own_tokens_without_keys(member_user, outsider_user):
    first = issue(member_user).json()
    second = issue(member_user).json()
    issue(outsider_user)
    response = with_token(second["token"]).get(TOKENS_URL)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {r["id"] for r in rows} == {first["id"], second["id"]}
    assert {r["prefix"] for r in rows} == {first["token"][:8], second["token"][:8]}
    assert [r["current"] for r in rows] == [True, False]  # newest first: the caller's own
    text = response.content.decode()
    assert first["token"] not in text and second["token"] not in text
    assert set(rows[0]) == {"id", "prefix", "created", "expiry", "current"}


def test_revoking_a_token_stops_it_at_once(member_user):
    keep = issue(member_user).json()
    drop = issue(member_user).json()
    api = with_token(keep["token"])
    assert api.delete(f"{TOKENS_URL}{drop['id']}/").status_code == 204
    assert with_token(drop["token"]).get("/api/v1/nodes/").status_code == 401
    assert api.get("/api/v1/nodes/").status_code == 200
    assert [r["id"] for r in api.get(TOKENS_URL).json()["results"]] == [keep["id"]]


def test_nobody_revokes_another_users_token(member_user, outsider_user):
    theirs = issue(member_user).json()
    mine = issue(outsider_user).json()
    response = with_token(mine["token"]).delete(f"{TOKENS_URL}{theirs['id']}/")
    assert response.status_code == 404
    assert "detail" in response.json()
    assert with_token(theirs["token"]).get("/api/v1/nodes/").status_code == 200


def test_revoke_refuses_a_malformed_id(member_user):
    key = issue(member_user).json()["token"]
    assert with_token(key).delete(f"{TOKENS_URL}zz/").status_code == 404


def test_token_list_needs_a_signed_in_user():
    assert APIClient().get(TOKENS_URL).status_code in (401, 403)


def test_a_user_holds_at_most_the_token_limit(member_user, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 2}
    assert issue(member_user).status_code == 200
    assert issue(member_user).status_code == 200
    refused = issue(member_user)
    assert refused.status_code == 409
    assert "revoke one" in refused.json()["detail"]


# The page.


def test_tokens_page_is_linked_from_every_page(client, member_user):
    client.force_login(member_user)
    assert reverse("api-tokens-page").encode() in client.get(reverse("home")).content


def test_tokens_page_makes_a_token_shown_once(client, member_user):
    client.force_login(member_user)
    made = client.post(reverse("api-tokens-page"))
    assert made.status_code == 201
    key = made.context["new_key"]
    assert key.encode() in made.content
    assert with_token(key).get("/api/v1/nodes/").status_code == 200

    later = client.get(reverse("api-tokens-page"))
    assert key.encode() not in later.content
    assert f"{key[:8]}…".encode() in later.content


def test_tokens_page_lists_only_own_tokens_and_revokes(client, member_user, outsider_user):
    mine = issue(member_user).json()
    theirs = issue(outsider_user).json()
    client.force_login(member_user)
    page = client.get(reverse("api-tokens-page")).content.decode()
    assert mine["prefix"] in page and theirs["prefix"] not in page
    assert mine["token"] not in page

    foreign = client.post(reverse("api-token-revoke-page", args=[theirs["id"]]), follow=True)
    assert "no such token" in foreign.content.decode()
    assert with_token(theirs["token"]).get("/api/v1/nodes/").status_code == 200

    revoked = client.post(reverse("api-token-revoke-page", args=[mine["id"]]), follow=True)
    assert "Token revoked" in revoked.content.decode()
    assert with_token(mine["token"]).get("/api/v1/nodes/").status_code == 401
    assert mine["prefix"] not in revoked.content.decode().split("<table", 1)[1]


def test_tokens_page_says_when_the_limit_is_reached(client, member_user, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 1}
    client.force_login(member_user)
    assert client.post(reverse("api-tokens-page")).status_code == 201
    refused = client.post(reverse("api-tokens-page"))
    assert refused.status_code == 409
    assert b"revoke one" in refused.content


def test_tokens_page_needs_sign_in(client, db):
    response = client.get(reverse("api-tokens-page"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
