"""No input gives a 500: out-of-range numbers and dates, odd ids, and nodes that fail mid-request.

Every /api/ error is JSON with a `detail` (and `field` when an input is at fault).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from fleet import validators
from fleet.errors import Invalid
from fleet.models import Card, Node
from fleet.remote import ErrorKind, RemoteError
from jobs.choices import JobKind, JobStatus
from jobs.models import Job, LogChunk

pytestmark = pytest.mark.django_db

CLOSED_PORT = 1  # nothing listens on 127.0.0.1:1: a connection is refused at once
FAR_DATES = [
    "0001-01-01T00:00:00+08:00",  # before year 1 in UTC
    "0001-01-01T00:00:00Z",
    "0001-01-01T05:00:00-12:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T20:00:00-08:00",  # after 9999 in UTC
    "1999-12-31T23:59:59Z",  # before the accepted range
    "2100-01-01T00:00:00Z",  # its end is excluded
]
BAD_DATES = ["2025-02-30T09:00:00Z", "2025-06-01T25:00:00Z", "tomorrow", "2025-06-01T09:00+25:00"]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def node(db) -> Node:
    node = Node.objects.create(
        name="gy1-01", host="127.0.0.1", port=CLOSED_PORT, facts={"chip_name": "910B3"}
    )
    Card.objects.bulk_create(
        Card(node=node, npu_id=d, device=d, chip_name="910B3", health="OK") for d in range(8)
    )
    return node


@pytest.fixture
def job(node, team) -> Job:
    job = Job.objects.create(
        kind=JobKind.BUILD, status=JobStatus.SUCCEEDED, node=node, team=team, log_seq=3
    )
    LogChunk.objects.bulk_create(LogChunk(job=job, seq=n, text=f"line {n}\n") for n in (1, 2, 3))
    return job


def refused(response, field: str) -> dict:
    """The body of a 400 that names `field`."""
    assert response.status_code == 400, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["field"] == field, body
    assert isinstance(body["detail"], str) and body["detail"], body
    return body


# Job log paging -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-1", "0", "1001", str(10**30), "abc", "1.5", "²", "9" * 5000])
def test_log_limit_out_of_range_is_a_400_naming_it_and_its_range(member_api, job, value):
    body = refused(member_api.get(f"/api/v1/jobs/{job.pk}/log/", {"limit": value}), "limit")
    assert "from 1 to 1000" in body["detail"]


@pytest.mark.parametrize("value", ["-1", str(2**31), str(10**30), "x", "²"])
def test_log_after_seq_out_of_range_is_a_400_naming_it_and_its_range(member_api, job, value):
    body = refused(member_api.get(f"/api/v1/jobs/{job.pk}/log/", {"after_seq": value}), "after_seq")
    assert f"from 0 to {2**31 - 1}" in body["detail"]


def test_log_pages_at_the_edges_of_the_ranges(member_api, job):
    first = member_api.get(f"/api/v1/jobs/{job.pk}/log/", {"limit": 1}).json()
    assert [c["seq"] for c in first["chunks"]] == [1] and first["more"] is True
    last = member_api.get(f"/api/v1/jobs/{job.pk}/log/", {"after_seq": 2**31 - 1, "limit": 1000})
    assert last.status_code == 200 and last.json()["chunks"] == []


# Dates near year 1 and 9999, on the API -------------------------------------------------------


@pytest.mark.parametrize("moment", FAR_DATES + BAD_DATES)
def test_availability_refuses_far_or_impossible_dates(member_api, node, moment):
    answer = member_api.get("/api/v1/availability/", {"count": 1, "hours": 2, "earliest": moment})
    refused(answer, "earliest")


@pytest.mark.parametrize(
    ("name", "value"),
    [("count", 10**30), ("count", 0), ("hours", 1e308), ("hours", "nan"), ("hours", "inf")],
)
def test_availability_refuses_numbers_out_of_range(member_api, node, name, value):
    query = {"count": 1, "hours": 2, name: value}
    refused(member_api.get("/api/v1/availability/", query), name)


def test_availability_answers_at_the_ends_of_the_range(member_api, node):
    for earliest in ("2000-01-01T00:00:00Z", "2099-12-31T23:00:00Z"):
        query = {"count": 1, "hours": 2, "earliest": earliest}
        answer = member_api.get("/api/v1/availability/", query)
        assert answer.status_code == 200, answer.content
        body = answer.json()
        assert body["options"] or node.name in body["unavailable"], body
    huge = member_api.get("/api/v1/availability/", {"count": 1, "hours": 24 * 366})
    refused(huge, "hours")  # the booking horizon, said by the service


@pytest.mark.parametrize("moment", FAR_DATES + BAD_DATES)
def test_timeline_refuses_far_or_impossible_dates(member_api, node, moment):
    refused(member_api.get(f"/api/v1/timeline/{node.pk}/", {"start": moment}), "start")


def test_timeline_refuses_hours_out_of_range(member_api, node):
    body = refused(member_api.get(f"/api/v1/timeline/{node.pk}/", {"hours": 10**30}), "hours")
    assert "from 1 to 744" in body["detail"]


@pytest.mark.parametrize("moment", ["9999-12-31T23:00:00Z", "0001-01-01T00:00:00+01:00"])
def test_booking_refuses_far_dates(member_api, node, team, moment):
    body = {"team": team.pk, "node": node.pk, "cards": [0], "purpose": "x"}
    now = timezone.now()
    start = {"start": moment, "end": (now + timedelta(hours=1)).isoformat()}
    refused(member_api.post("/api/v1/bookings/", {**body, **start}, format="json"), "start")
    end = {"start": now.isoformat(), "end": moment}
    refused(member_api.post("/api/v1/bookings/", {**body, **end}, format="json"), "end")


def test_booking_refuses_device_numbers_out_of_range(member_api, node, team):
    now = timezone.now()
    body = {
        "team": team.pk,
        "node": node.pk,
        "cards": [10**30],
        "purpose": "x",
        "start": now.isoformat(),
        "end": (now + timedelta(hours=1)).isoformat(),
    }
    refused(member_api.post("/api/v1/bookings/", body, format="json"), "cards")


# Dates near year 1 and 9999, on the pages ------------------------------------------------------


@pytest.fixture
def member_page(client, member_user):
    client.force_login(member_user)
    return client


@pytest.mark.parametrize("moment", ["0001-01-01T00:00", "9999-12-31T23:59", "2025-02-30T09:00"])
def test_find_page_shows_a_form_error_for_far_or_impossible_dates(member_page, node, moment):
    page = member_page.get("/bookings/find/", {"count": 2, "hours": 2, "earliest": moment})
    assert page.status_code == 200
    assert page.context["form"].errors["earliest"], page.context["form"].errors
    assert page.context["answer"] is None


@pytest.mark.parametrize("moment", ["0001-01-01T00:00", "9999-12-31T23:00", "2025-13-01T00:00"])
def test_timeline_page_says_the_start_is_out_of_range_and_shows_now(member_page, node, moment):
    page = member_page.get(f"/bookings/timeline/{node.pk}/", {"start": moment})
    assert page.status_code == 200
    shown = [str(m) for m in page.context["messages"]]
    assert any(m.startswith("start=") for m in shown), shown
    assert abs(page.context["start"] - timezone.now()) < timedelta(hours=1)


def test_timeline_page_ignores_an_enormous_span(member_page, node):
    page = member_page.get(f"/bookings/timeline/{node.pk}/", {"hours": "9" * 5000})
    assert page.status_code == 200 and page.context["span"] == 24


@pytest.mark.parametrize("moment", ["0001-01-01T00:00", "9999-12-31T23:00"])
def test_booking_form_refuses_far_dates(member_page, node, team, moment):
    form = {"team": team.pk, "cards": [0], "start": moment, "hours": 2, "purpose": "x"}
    page = member_page.post(f"/bookings/timeline/{node.pk}/", form)
    assert page.status_code == 400
    assert "2000-01-01" in " ".join(page.context["form"].errors["start"])


# Ids that are not plain numbers -----------------------------------------------------------------


@pytest.mark.parametrize("ref", ["²", "٣", str(10**30), "9" * 5000])
def test_odd_ids_are_refused_not_crashed_on(admin_api, node, ref):
    refused(admin_api.post(f"/api/v1/images/refresh/?{urlencode({'node': ref})}"), "node")
    answer = admin_api.get("/api/v1/availability/", {"count": 1, "hours": 1, "nodes": ref})
    refused(answer, "nodes")


# A node failing during a request ------------------------------------------------------------


def test_a_node_that_cannot_be_reached_is_a_503_naming_it(admin_api, node, settings):
    settings.FLEET_SSH_CONNECT_TIMEOUT = 2.0
    answer = admin_api.post(f"/api/v1/images/refresh/?node={node.pk}")
    assert answer.status_code == 503, answer.content
    assert answer["Retry-After"]
    body = answer.json()
    assert body["node"] == node.name and body["kind"] == "unreachable"
    assert node.name in body["detail"] and "could not be reached" in body["detail"]


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (ErrorKind.TIMEOUT, 504),
        (ErrorKind.COMMAND_FAILED, 502),
        (ErrorKind.AUTH_FAILED, 502),
        (ErrorKind.HOST_KEY_CHANGED, 502),
        (ErrorKind.HOST_KEY_UNKNOWN, 502),
    ],
)
def test_each_remote_failure_maps_to_its_gateway_status(admin_api, node, monkeypatch, kind, status):
    def fail(node, timeout=60.0):
        raise RemoteError(kind, "as the node said", node=node.name)

    monkeypatch.setattr("jobs.docker_api.client_for", fail)
    answer = admin_api.post(f"/api/v1/images/refresh/?node={node.pk}")
    assert answer.status_code == status, answer.content
    assert answer.json() == {
        "detail": answer.json()["detail"],
        "node": node.name,
        "kind": kind.value,
    }
    assert "as the node said" in answer.json()["detail"]


def test_a_node_failing_during_a_page_shows_a_page_not_a_500(client, admin_user, node, monkeypatch):
    def fail(node):
        raise RemoteError(ErrorKind.TIMEOUT, "no answer in 15 s", node=node.name)

    monkeypatch.setattr("fleet.services.nodes.scan_host_key", fail)
    client.force_login(admin_user)
    page = client.post(f"/nodes/{node.pk}/host-key/scan/", HTTP_REFERER="http://testserver/")
    assert page.status_code == 504
    text = page.content.decode()
    assert node.name in text and "did not answer in time" in text and "no answer in 15 s" in text


# Every /api/ error is JSON ----------------------------------------------------------------------


@pytest.fixture
def production(settings):
    settings.DEBUG = False


def test_unknown_api_url_is_a_json_404(production, member_api):
    answer = member_api.get("/api/v1/no-such-thing/")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert "/api/v1/no-such-thing/" in answer.json()["detail"]


def test_unknown_page_url_is_still_a_page(production, client, member_user):
    client.force_login(member_user)
    answer = client.get("/no-such-page/")
    assert answer.status_code == 404 and answer["Content-Type"].startswith("text/html")


def test_a_crash_under_api_is_a_json_500(production, admin_user, monkeypatch):
    def crash(self, request, *args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("fleet.booking.api.views.NotificationViewSet.list", crash)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(admin_user)
    answer = client.get("/api/v1/notifications/")
    assert answer.status_code == 500
    assert answer["Content-Type"] == "application/json"
    assert "boom" not in answer.content.decode() and answer.json()["detail"]


def test_a_body_over_the_size_limit_is_a_json_400(production, settings, member_api, team):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"team": team.pk, "name": "big", "model": "llama2-13b", "served_model_name": "x" * 5000}
    answer = member_api.post("/api/v1/recipes/", body, format="json")
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/json" and answer.json()["detail"]


def test_method_media_type_and_parse_errors_are_json(member_api, node):
    wrong_method = member_api.put("/api/v1/bookings/", {}, format="json")
    assert wrong_method.status_code == 405 and wrong_method.json()["detail"]
    wrong_type = member_api.post("/api/v1/bookings/", "x", content_type="text/plain")
    assert wrong_type.status_code == 415 and wrong_type.json()["detail"]
    broken = member_api.post("/api/v1/bookings/", "{", content_type="application/json")
    assert broken.status_code == 400 and "JSON" in broken.json()["detail"]
    anonymous = APIClient().get("/api/v1/nodes/")
    assert anonymous.status_code == 401 and anonymous.json()["detail"]


def test_errors_are_json_even_when_a_browser_asks_for_html(member_api, node):
    missing = member_api.get("/api/v1/nodes/999999/", HTTP_ACCEPT="text/html")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/json" and missing.json()["detail"]
    invalid = member_api.get("/api/v1/availability/", {"count": 0}, HTTP_ACCEPT="text/html")
    assert invalid.status_code == 400 and invalid.json()["field"] == "count"


def test_validation_errors_keep_their_fields_and_gain_a_detail(member_api, node):
    answer = member_api.get("/api/v1/availability/", {"hours": 2})
    body = refused(answer, "count")
    assert body["count"] == [body["detail"].removeprefix("count: ")]


# Validators match the whole value -----------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (validators.node_name, "gy1-01\n"),
        (validators.host, "10.0.0.1\n"),
        (validators.username, "root\n"),
        (lambda v: validators.abs_path(v, "weights_dir"), "/data/models\n"),
        (validators.labels, ["region=gy1\n"]),
        (validators.jump_host, "root@10.0.0.2:22\n"),
    ],
)
def test_validators_refuse_a_trailing_newline(check, value):
    with pytest.raises(Invalid):
        check(value)
    check(value.rstrip("\n") if isinstance(value, str) else [value[0].rstrip("\n")])


# Deleting what is still used -----------------------------------------------------------------


@pytest.fixture
def node_with_a_deployment(node, team, member_user):
    from jobs.catalog.services import recipes
    from jobs.models import Deployment

    recipe = recipes.create_recipe(
        member_user,
        team=team,
        name="llama2-13b-tp2",
        values={
            "model": "llama2-13b",
            "image": "npufleet/vllm-sim:local",
            "tensor_parallel_size": 2,
        },
    )
    Deployment.objects.create(
        recipe_version=recipe.current_version,
        node=node,
        team=team,
        cards=[0, 1],
        container_name="npufleet-deploy-7",
    )
    return node


def test_deleting_a_node_still_used_is_a_409_saying_by_what(admin_api, node_with_a_deployment):
    node = node_with_a_deployment
    answer = admin_api.delete(f"/api/v1/nodes/{node.pk}/")
    assert answer.status_code == 409, answer.content
    assert "1 deployment (npufleet-deploy-7)" in answer.json()["detail"]
    assert Node.objects.filter(pk=node.pk).exists()


def test_deleting_a_node_still_used_on_its_page_says_so(client, admin_user, node_with_a_deployment):
    node = node_with_a_deployment
    client.force_login(admin_user)
    page = client.post(f"/nodes/{node.pk}/delete/")
    assert page.status_code == 409
    assert "npufleet-deploy-7" in page.content.decode()
    assert Node.objects.filter(pk=node.pk).exists()


# Odd ids on the pages ------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["²", "٣", "9" * 5000])
def test_pages_take_odd_ids_without_crashing(member_page, node, team, member_user, ref):
    from jobs.catalog.services import recipes

    recipe = recipes.create_recipe(
        member_user,
        team=team,
        name="llama2-13b-tp2",
        values={
            "model": "llama2-13b",
            "image": "npufleet/vllm-sim:local",
            "tensor_parallel_size": 2,
        },
    )
    assert member_page.get("/recipes/", {"team": ref}).status_code == 200
    assert member_page.get(f"/recipes/{recipe.pk}/", {"node": ref}).status_code == 200
    assert member_page.get("/catalog/", {"cards": ref}).status_code == 200


@pytest.mark.parametrize("ref", ["²", "9" * 5000])
def test_deploy_page_takes_odd_ids_without_crashing(member_page, node, ref):
    page = member_page.get("/deploy/", {"booking": ref, "recipe_version": ref})
    assert page.status_code == 200
    preview = member_page.post("/deploy/preview/", {"booking": ref, "recipe_version": ref})
    assert preview.status_code < 500


def test_releasing_an_odd_card_number_says_so_and_releases_nothing(client, admin_user, node):
    from fleet.booking.services import cordon

    cordon.cordon(admin_user, node, devices=None, reason="maintenance")
    client.force_login(admin_user)
    page = client.post(f"/bookings/cordons/{node.pk}/release/", {"device": "²"}, follow=True)
    assert page.status_code == 200
    assert any("not a card number" in str(m) for m in page.context["messages"])
    node.refresh_from_db()
    assert node.cordoned
