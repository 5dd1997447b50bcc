"""The REST side of job logs (pages by seq, log.txt) and who may read or act on jobs."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from jobs.choices import JobKind, JobStatus
from jobs.models import Deployment, Job
from tests.ws.conftest import write_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_for():
    """An API client signed in as any user."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def log_page(api, job: Job, **params) -> dict:
    response = api.get(reverse("job-log", args=[job.pk]), params)
    assert response.status_code == 200, response.content
    return response.json()


def test_log_pages_by_seq_until_more_is_false(member_api, job):
    write_lines(job.pk, *(f"line {n}" for n in range(1, 8)))

    first = log_page(member_api, job, after_seq=0, limit=3)
    assert [c["seq"] for c in first["chunks"]] == [1, 2, 3]
    assert (first["last_seq"], first["more"]) == (7, True)
    second = log_page(member_api, job, after_seq=3, limit=3)
    assert [c["seq"] for c in second["chunks"]] == [4, 5, 6]
    assert second["more"] is True
    last = log_page(member_api, job, after_seq=6, limit=3)
    assert last["chunks"] == [{"seq": 7, "text": "line 7\n"}]
    assert last["more"] is False
    assert log_page(member_api, job, after_seq=7) == {
        "job": job.pk,
        "status": "running",
        "chunks": [],
        "last_seq": 7,
        "more": False,
    }


def test_log_page_refuses_a_non_numeric_after_seq(member_api, job):
    response = member_api.get(reverse("job-log", args=[job.pk]), {"after_seq": "x"})
    assert response.status_code == 400


def test_log_txt_is_the_whole_log_as_an_attachment(member_api, job):
    write_lines(job.pk, "\x1b[32mgreen\x1b[0m", "INFO: Application startup complete.")

    response = member_api.get(reverse("job-log-text", args=[job.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"] == f'attachment; filename="job-{job.pk}.log"'
    assert response.content.decode() == (
        "\x1b[32mgreen\x1b[0m\nINFO: Application startup complete.\n"
    )


def test_outsiders_cannot_read_a_jobs_log(outsider_api, stranger, api_for, job):
    write_lines(job.pk, "secret")
    for api in (outsider_api, api_for(stranger)):
        assert api.get(reverse("job-log", args=[job.pk])).status_code == 404
        assert api.get(reverse("job-log-text", args=[job.pk])).status_code == 404


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


# Jobs ----------------------------------------------------------------------------------------


def test_job_list_is_filtered_by_team(admin_api, member_api, outsider_api, job, their_job):
    assert ids(admin_api.get(reverse("job-list"))) == sorted([job.pk, their_job.pk])
    assert ids(member_api.get(reverse("job-list"))) == [job.pk]
    assert ids(outsider_api.get(reverse("job-list"))) == []


def test_job_detail_is_404_outside_the_team(member_api, outsider_api, job, their_job):
    assert member_api.get(reverse("job-detail", args=[job.pk])).status_code == 200
    assert member_api.get(reverse("job-detail", args=[their_job.pk])).status_code == 404
    assert outsider_api.get(reverse("job-detail", args=[job.pk])).status_code == 404


def test_member_cannot_cancel_or_retry_another_teams_job(member_api, their_job):
    assert member_api.post(reverse("job-cancel", args=[their_job.pk])).status_code == 404
    Job.objects.filter(pk=their_job.pk).update(status=JobStatus.FAILED)
    assert member_api.post(reverse("job-retry", args=[their_job.pk])).status_code == 404
    their_job.refresh_from_db()
    assert their_job.cancel_requested is False
    assert Job.objects.count() == 1


def test_member_cancels_a_job_of_the_team_and_admin_any(member_api, admin_api, job, their_job):
    response = member_api.post(reverse("job-cancel", args=[job.pk]))
    assert response.status_code == 200
    assert response.json()["cancel_requested"] is True
    response = admin_api.post(reverse("job-cancel", args=[their_job.pk]))
    assert response.json()["status"] == JobStatus.CANCELLED


# Deployments ---------------------------------------------------------------------------------


def test_deployment_list_is_filtered_by_team(
    admin_api, member_api, outsider_api, deployment, their_deployment
):
    assert ids(admin_api.get(reverse("deployment-list"))) == sorted(
        [deployment.pk, their_deployment.pk]
    )
    assert ids(member_api.get(reverse("deployment-list"))) == [deployment.pk]
    assert ids(outsider_api.get(reverse("deployment-list"))) == []


def test_outsiders_get_404_on_deployments_and_cannot_stop_them(
    member_api, outsider_api, deployment, their_deployment
):
    assert outsider_api.get(reverse("deployment-detail", args=[deployment.pk])).status_code == 404
    assert outsider_api.post(reverse("deployment-stop", args=[deployment.pk])).status_code == 404
    assert (
        member_api.post(reverse("deployment-stop", args=[their_deployment.pk])).status_code == 404
    )
    assert not Job.objects.exists()


def test_member_stops_a_deployment_of_the_team(member_api, deployment):
    response = member_api.post(reverse("deployment-stop", args=[deployment.pk]))

    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.kind, job.deployment_id, response.json()["id"]) == (
        JobKind.STOP,
        deployment.pk,
        job.pk,
    )
    again = member_api.post(reverse("deployment-stop", args=[deployment.pk]))
    assert again.status_code == 409
    assert Job.objects.count() == 1


def test_deploying_on_another_teams_booking_is_refused(member_api, their_deployment):
    from fleet.booking.models import Booking

    booking = Booking.objects.create(
        team=their_deployment.team,
        node=their_deployment.node,
        start=their_deployment.created_at,
        end=their_deployment.created_at.replace(year=2100),
        purpose="theirs",
        status="active",
    )
    response = member_api.post(
        reverse("deployment-list"),
        {"recipe_version": their_deployment.recipe_version_id, "booking": booking.pk},
        format="json",
    )

    assert response.status_code == 400
    assert "not one of your team's" in response.content.decode()
    assert Deployment.objects.count() == 1
    assert not Job.objects.exists()
