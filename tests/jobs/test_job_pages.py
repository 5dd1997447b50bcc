"""Job, deploy and deployment pages with Django's test client (no node is contacted)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fleet.booking.models import Membership
from fleet.booking.services.bookings import book_cards
from jobs.catalog.services.recipes import create_recipe
from jobs.choices import DeploymentStatus, JobKind, JobStatus
from jobs.models import Deployment, Job
from jobs.services.deployments import DEPLOY_STEPS
from jobs.services.jobs import create_job
from tests.frontend.conftest import attr, by_testid, elements, make_node, walk

pytestmark = pytest.mark.django_db
IMAGE = "npufleet/vllm-sim:local"


@pytest.fixture
def node(db):
    return make_node("node-a", healths=("OK",) * 8)


def book(user, team, node, devices: list[int]):
    now = timezone.now()
    return book_cards(
        user,
        team=team,
        node=node,
        start=now,
        end=now + timedelta(hours=2),
        purpose="serving test",
        devices=devices,
    )


def recipe(user, team, name: str, tp: int):
    values = {
        "model": "qwen2-7b" if tp == 1 else "llama2-13b",
        "image": IMAGE,
        "weights_path": "/data/models/w",
        "tensor_parallel_size": tp,
        "max_model_len": 4096,
        "max_num_batched_tokens": 4096,
    }
    return create_recipe(user, team=team, name=name, values=values).current_version


def job_for(team, user, *, done: int = 0, status: str = JobStatus.RUNNING, **fields) -> Job:
    job = create_job(kind=JobKind.DEPLOY, actor=user, steps=DEPLOY_STEPS, team=team, **fields)
    for step in job.steps[:done]:
        step["status"] = "done"
    Job.objects.filter(pk=job.pk).update(status=status, steps=job.steps)
    return Job.objects.get(pk=job.pk)


def texts(response, testid: str) -> str:
    """Text of the <pre> with this data-testid."""
    return response.content.decode().split(f'data-testid="{testid}"', 1)[1].split("</pre>", 1)[0]


class Wrapped:
    """An HTMX partial wrapped in one element, so the page helpers find its top elements too."""

    def __init__(self, response) -> None:
        self.content = b"<div>" + response.content + b"</div>"


# Jobs ----------------------------------------------------------------------------------------


def test_job_page_shows_steps_progress_actions_and_the_log_viewer(as_member, member_user, team):
    job = job_for(team, member_user, done=2)

    response = as_member.get(reverse("job-page", args=[job.pk]))

    assert response.status_code == 200
    steps = by_testid(response, "job-steps")
    items = [el for el in walk(steps) if el.name == "li"]
    assert [attr(li, "data-status") for li in items] == ["done", "done"] + ["pending"] * 3
    assert [attr(li, "data-step") for li in items] == [name for name, _ in DEPLOY_STEPS]
    assert attr(by_testid(response, "job-progress"), "aria-valuenow") == "40"
    viewer = by_testid(response, "log-viewer")
    assert attr(viewer, "data-log-url") == f"/api/v1/jobs/{job.pk}/log/"
    assert attr(viewer, "data-ws-path") == f"/ws/jobs/{job.pk}/"
    assert attr(by_testid(response, "download-log"), "href") == f"/api/v1/jobs/{job.pk}/log.txt/"
    cancel = by_testid(response, "cancel-job")
    assert cancel is not None
    html = response.content.decode()
    assert "app/joblog.js" in html and "vendor/xterm.js" in html
    assert 'data-if-status="failed cancelled" hidden' in html  # retry hidden while running


def test_job_pages_are_hidden_from_outsiders(client, outsider_user, member_user, team):
    job = job_for(team, member_user)
    client.force_login(outsider_user)

    assert client.get(reverse("job-page", args=[job.pk])).status_code == 404
    assert client.post(reverse("job-page-cancel", args=[job.pk])).status_code == 404
    listing = client.get(reverse("jobs"))
    assert listing.status_code == 200
    assert elements(listing, "badge") == []
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING


def test_job_list_filters_by_status_and_kind_with_a_fixed_number_of_queries(
    as_member, member_user, team, django_assert_max_num_queries
):
    for _ in range(3):
        job_for(team, member_user, done=5, status=JobStatus.SUCCEEDED)
    failed = job_for(team, member_user, done=3, status=JobStatus.FAILED)

    with django_assert_max_num_queries(8):
        response = as_member.get(reverse("jobs"))
    rows = by_testid(response, "job-table")
    assert len([el for el in walk(rows) if el.name == "tr" and attr(el, "data-job")]) == 4

    response = as_member.get(reverse("jobs"), {"status": "failed", "kind": "deploy"})
    ids = [attr(el, "data-job") for el in walk(by_testid(response, "job-table")) if el.name == "tr"]
    assert [i for i in ids if i] == [str(failed.pk)]
    assert "60%" in response.content.decode()
    assert as_member.get(reverse("jobs"), {"kind": "stop"}).context["page"].object_list.count() == 0


def test_member_cancels_a_running_job_from_its_page(as_member, member_user, team):
    job = job_for(team, member_user)

    response = as_member.post(reverse("job-page-cancel", args=[job.pk]))

    assert response.status_code == 302
    assert response.url == reverse("job-page", args=[job.pk])
    assert Job.objects.get(pk=job.pk).cancel_requested is True


def test_member_retries_a_failed_job_and_lands_on_the_new_one(as_member, member_user, team):
    job = job_for(team, member_user, done=3, status=JobStatus.FAILED)

    response = as_member.post(reverse("job-page-retry", args=[job.pk]))

    retry = Job.objects.get(retry_of=job)
    assert response.url == reverse("job-page", args=[retry.pk])
    assert retry.status == JobStatus.PENDING
    page = as_member.get(response.url)
    assert by_testid(page, "retry-job") is not None
    assert 'data-unless-status="succeeded failed cancelled">' in page.content.decode()


# Deploy form ---------------------------------------------------------------------------------


def test_deploy_preview_shows_errors_for_a_tp2_recipe_on_a_one_card_booking(
    as_member, member_user, team, node
):
    version = recipe(member_user, team, "llama-tp2", tp=2)
    booking = book(member_user, team, node, [3])

    response = as_member.post(
        reverse("deploy-preview"),
        {"recipe_version": version.pk, "booking": booking.pk, "cards_for": booking.pk},
    )

    assert response.status_code == 200
    partial = Wrapped(response)
    assert attr(by_testid(partial, "preview"), "data-errors")
    errors = [el for el in elements(partial, "finding") if attr(el, "data-level") == "error"]
    assert any(attr(el, "data-field") == "tensor_parallel_size" for el in errors)
    assert "differs from the 1 cards booked" in response.content.decode()
    assert "Fix:" in response.content.decode()
    assert by_testid(partial, "preview-node").children == ["node-a"]


def test_deploy_form_renders_the_docker_run_for_a_valid_choice(as_member, member_user, team, node):
    version = recipe(member_user, team, "qwen-tp2", tp=2)
    booking = book(member_user, team, node, [4, 5])

    response = as_member.get(
        reverse("deploy"), {"recipe_version": version.pk, "booking": booking.pk}
    )

    assert response.status_code == 200
    assert not attr(by_testid(response, "preview"), "data-errors")
    command = texts(response, "cmd-docker-run")
    assert "docker run -itd" in command
    assert "--device=/dev/davinci4 --device=/dev/davinci5 " in command
    assert "--device=/dev/davinci0" not in command
    assert "--label npufleet.booking=" in command
    assert "--name npufleet-deploy-new npufleet/vllm-sim:local" in command
    assert "--tensor-parallel-size" in texts(response, "cmd-launch")
    boxes = [
        attr(el, "value") for el in walk(by_testid(response, "card-boxes")) if el.name == "input"
    ]
    assert boxes == ["4", "5"]


def test_changing_the_booking_swaps_the_card_boxes_and_drops_old_ticks(
    as_member, member_user, team, node
):
    version = recipe(member_user, team, "qwen-tp1", tp=1)
    first = book(member_user, team, node, [0])
    second = book(member_user, team, node, [6])

    response = as_member.post(
        reverse("deploy-preview"),
        {"recipe_version": version.pk, "booking": second.pk, "cards_for": first.pk, "cards": "0"},
    )

    html = response.content.decode()
    assert 'hx-swap-oob="true"' in html
    assert (
        'value="6"' in html and 'value="0"' not in html.split("card-boxes", 1)[1].split("</div>")[0]
    )
    assert by_testid(Wrapped(response), "preview-cards").children == ["6"]
    assert "--device=/dev/davinci6 " in texts(response, "cmd-docker-run")
    same = as_member.post(
        reverse("deploy-preview"),
        {"recipe_version": version.pk, "booking": second.pk, "cards_for": second.pk},
    )
    assert 'hx-swap-oob="true"' not in same.content.decode()


def test_deploying_redirects_to_the_job_page(as_member, member_user, team, node):
    version = recipe(member_user, team, "qwen-tp1", tp=1)
    booking = book(member_user, team, node, [2, 3])

    response = as_member.post(
        reverse("deploy"),
        {
            "recipe_version": version.pk,
            "booking": booking.pk,
            "cards_for": booking.pk,
            "cards": "3",
        },
    )

    deployment = Deployment.objects.get()
    job = deployment.jobs.get()
    assert response.status_code == 302
    assert response.url == reverse("job-page", args=[job.pk])
    assert deployment.cards == [3]
    assert job.status == JobStatus.PENDING


def test_deploy_with_another_teams_booking_is_refused_and_creates_nothing(
    client, member_user, admin_user, team, other_team, node
):
    stranger = admin_user.__class__.objects.create_user("sam-speech", "sam@example.com", "pw")
    Membership.objects.create(team=other_team, user=stranger)
    theirs = book(stranger, other_team, node, [0, 1])
    version = recipe(member_user, team, "qwen-tp1", tp=1)
    client.force_login(member_user)

    response = client.post(
        reverse("deploy"),
        {"recipe_version": version.pk, "booking": theirs.pk, "cards_for": theirs.pk},
    )

    assert response.status_code == 400
    assert "not an active booking of your team" in response.content.decode()
    assert not Deployment.objects.exists()
    assert not Job.objects.exists()


def test_deploy_refused_by_the_service_shows_its_message_and_creates_nothing(
    as_member, member_user, team, node
):
    version = recipe(member_user, team, "llama-tp2", tp=2)
    booking = book(member_user, team, node, [0])

    response = as_member.post(
        reverse("deploy"),
        {"recipe_version": version.pk, "booking": booking.pk, "cards_for": booking.pk},
    )

    assert response.status_code == 400
    assert "tensor-parallel-size 2 cards but 1 were given" in response.content.decode()
    assert not Deployment.objects.exists()
    assert not Job.objects.exists()


def test_cards_ticked_for_another_booking_are_refused(as_member, member_user, team, node):
    version = recipe(member_user, team, "qwen-tp1", tp=1)
    first = book(member_user, team, node, [0])
    second = book(member_user, team, node, [1])

    response = as_member.post(
        reverse("deploy"),
        {"recipe_version": version.pk, "booking": second.pk, "cards_for": first.pk, "cards": "1"},
    )

    assert response.status_code == 400
    assert f"tick cards of booking #{second.pk} again" in response.content.decode()
    assert not Deployment.objects.exists()


# Deployments ---------------------------------------------------------------------------------


@pytest.fixture
def deployment(member_user, team, node):
    version = recipe(member_user, team, "qwen-tp1", tp=1)
    booking = book(member_user, team, node, [0])
    return Deployment.objects.create(
        recipe_version=version,
        node=node,
        booking=booking,
        team=team,
        cards=[0],
        status=DeploymentStatus.EXITED,
        container_name="npufleet-deploy-1",
        endpoint_url="http://192.0.2.10:8080/v1",
        latencies={"request_latency": 399.0, "prefill_latency": 14.5, "time_in_queue": 0.1},
        exit_code=137,
        last_log_lines="INFO: worker killed\nKilled",
    )


def test_deployment_list_shows_endpoint_latencies_and_why_it_exited(as_member, deployment):
    job = job_for(deployment.team, None, deployment=deployment, status=JobStatus.SUCCEEDED)
    Deployment.objects.filter(pk=deployment.pk).update(log_job=job)

    response = as_member.get(reverse("deployments"))

    assert response.status_code == 200
    assert "http://192.0.2.10:8080/v1" in str(by_testid(response, "endpoint-not-live"))
    assert 'data-testid="endpoint"' not in response.content.decode()
    rows = [el for el in walk(by_testid(response, "latencies")) if el.name == "tr"]
    keys = [next(c for c in walk(r) if c.name == "th").children[0] for r in rows]
    assert keys == ["prefill_latency", "time_in_queue", "request_latency"]
    assert by_testid(response, "exit-code").children == ["137"]
    assert "Killed" in texts(response, "last-lines")
    assert attr(by_testid(response, "log-link"), "href") == reverse("job-page", args=[job.pk])
    actions = [attr(el, "data-action") for el in walk(by_testid(response, "deployment-table"))]
    assert [a for a in actions if a] == ["restart", "remove"]


def test_deployment_actions_are_for_its_team_only(client, outsider_user, member_user, deployment):
    url = reverse("deployment-page-action", args=[deployment.pk, "remove"])
    client.force_login(outsider_user)
    assert client.post(url).status_code == 404
    assert not Job.objects.exists()
    assert client.get(reverse("deployments")).context["page"].object_list.count() == 0

    client.force_login(member_user)
    response = client.post(url)

    job = Job.objects.get()
    assert job.kind == JobKind.REMOVE and job.deployment == deployment
    assert response.url == reverse("job-page", args=[job.pk])
    again = client.post(url, follow=True)  # a job is in progress: a message, no second job
    assert "has a job in progress" in again.content.decode()
    assert Job.objects.count() == 1
    assert (
        client.post(reverse("deployment-page-action", args=[deployment.pk, "explode"])).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("status", "live"),
    [
        (DeploymentStatus.RUNNING, True),
        (DeploymentStatus.STARTING, False),
        (DeploymentStatus.STOPPED, False),
        (DeploymentStatus.FAILED, False),
        (DeploymentStatus.REMOVED, False),
    ],
)
def test_only_a_running_deployment_shows_its_endpoint_as_live(as_member, deployment, status, live):
    Deployment.objects.filter(pk=deployment.pk).update(status=status)

    response = as_member.get(reverse("deployments"))
    api = as_member.get(f"/api/v1/deployments/{deployment.pk}/").json()

    html = response.content.decode()
    assert ('data-testid="endpoint"' in html) is live
    assert ('data-testid="endpoint-not-live"' in html) is not live
    assert api["endpoint_url"] == "http://192.0.2.10:8080/v1"
    assert api["endpoint_live"] is live


def test_stopping_or_removing_a_deployment_asks_for_confirmation(as_member, deployment):
    Deployment.objects.filter(pk=deployment.pk).update(status=DeploymentStatus.RUNNING)

    response = as_member.get(reverse("deployments"))

    forms = {
        attr(el, "action"): el
        for el in walk(by_testid(response, "deployment-table"))
        if el.name == "form"
    }
    stop = forms[reverse("deployment-page-action", args=[deployment.pk, "stop"])]
    remove = forms[reverse("deployment-page-action", args=[deployment.pk, "remove"])]
    restart = forms[reverse("deployment-page-action", args=[deployment.pk, "restart"])]
    assert attr(stop, "data-confirm").startswith(f"Stop deployment {deployment.pk} (qwen-tp1")
    assert "node-a" in attr(stop, "data-confirm")
    assert attr(remove, "data-confirm").startswith(f"Remove deployment {deployment.pk}")
    assert "data-confirm" not in dict(restart.attributes)
    assert "onclick" not in response.content.decode()
