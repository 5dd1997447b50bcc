"""Serve a model: the plan's sizing, cards and explanation; refusals; book + deploy in one go."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fleet.booking.errors import NoCapacity, QuotaExceeded
from fleet.booking.models import Booking
from fleet.booking.services.bookings import book_cards
from fleet.booking.services.notify import when
from fleet.choices import NodeStatus
from fleet.errors import DomainError, Invalid
from fleet.models import Card, Node
from jobs.catalog.models import Recipe
from jobs.choices import JobKind, JobStatus
from jobs.models import Deployment, Job
from jobs.services.serve import catalog_models, plan_serving, serve_model

pytestmark = pytest.mark.django_db
IMAGE = "npufleet/vllm-sim:local"


def make_node(name: str, chip: str = "910B3", cards: int = 8, **fields) -> Node:
    """An answering node with healthy cards of one chip, written directly."""
    gb = 64 if chip == "910B3" else 32
    node = Node.objects.create(
        name=name,
        host="192.0.2.10",
        status=fields.pop("status", NodeStatus.ONLINE),
        facts={"chip_name": chip},
        **fields,
    )
    Card.objects.bulk_create(
        Card(
            node=node,
            npu_id=d,
            device=d,
            chip_name=chip,
            health="OK",
            hbm_total_mb=gb * 1024,
        )
        for d in range(cards)
    )
    return node


def hold(user, team, node, devices, hours=2.0):
    now = timezone.now()
    return book_cards(
        user,
        team=team,
        node=node,
        start=now,
        end=now + timedelta(hours=hours),
        purpose="other work",
        devices=devices,
    )


def test_plan_sizes_qwen2_72b_from_the_card_table_on_64_gb_cards(member_user, team):
    make_node("node-a", "910B3")
    make_node("node-b", "910B4")
    plan = plan_serving(member_user, team=team, model="qwen2-72b", hours=2, image=IMAGE)
    # seed 000, vLLM 0.6.0: qwen2-72b needs 4 x 64 GB cards (64K) or 8 x 32 GB cards (32K)
    assert (plan.sizing.card_gb, plan.tensor_parallel_size) == (64, 4)
    assert plan.sizing.max_model_len == 64 * 1024
    assert plan.node.name == "node-a"
    assert plan.devices == (0, 1, 2, 3)
    text = " ".join(plan.explanation)
    assert "qwen2-72b needs 4 x 64 GB cards at vLLM 0.6.0 (seed 000" in text
    assert "tensor-parallel-size 4" in text and "max-model-len 64K" in text
    assert "On 32 GB cards it would need 8 (max-model-len 32K); the 64 GB plan takes fewer" in text
    assert "node-a cards 0-3 (one HCCS half)" in text
    assert "passes its node-wide preflight" in text
    assert f"Image {IMAGE}: given in the request." in text
    # the manuals require the PFA high-precision mode for qwen2-72b
    assert plan.env == {"USE_PFA_HIGH_PRECISION_MODE": "1"}
    assert plan.values()["weights_path"] == "/data/models/qwen2-72b"
    assert not any(m.level == "error" for m in plan.warnings)


def test_plan_uses_32_gb_cards_when_only_those_are_free(member_user, team, other_team):
    from fleet.booking.models import Membership

    a = make_node("node-a", "910B3")
    make_node("node-b", "910B4")
    Membership.objects.create(team=other_team, user=member_user)
    hold(member_user, other_team, a, [0, 1, 4, 5])
    busy = hold(member_user, other_team, a, [2, 6])  # node-a: 2 free cards now
    plan = plan_serving(member_user, team=team, model="qwen2-72b", hours=2, image=IMAGE)
    assert (plan.node.name, plan.sizing.card_gb, plan.tensor_parallel_size) == ("node-b", 32, 8)
    assert plan.sizing.max_model_len == 32 * 1024
    text = " ".join(plan.explanation)
    assert f"the earliest 64 GB ones are free only from {when(busy.end)}" in text
    assert plan.not_offered["node-a"] == (
        f"its 4 x 64 GB cards are free only from {when(busy.end)}"
    )
    assert "Not offered: node-a: its 4 x 64 GB cards are free only from" in " ".join(
        plan.explanation
    )


def test_plan_prefers_the_partly_used_half(member_user, team, other_team):
    from fleet.booking.models import Membership

    a = make_node("node-a", "910B3")
    Membership.objects.create(team=other_team, user=member_user)
    hold(member_user, other_team, a, [4])
    plan = plan_serving(member_user, team=team, model="qwen2-7b", hours=1, image=IMAGE)
    assert plan.devices == (5,)
    assert "half 4-7 already has 1 card(s) taken" in " ".join(plan.explanation)


def test_plan_takes_the_image_and_weights_of_the_teams_recipe(member_user, team):
    from jobs.catalog.services.recipes import create_recipe

    make_node("node-a")
    create_recipe(
        member_user,
        team=team,
        name="qwen2-7b-tp1",
        values={"model": "Qwen2-7B", "image": IMAGE, "weights_path": "/data/models/Qwen2-7B"},
    )
    plan = plan_serving(member_user, team=team, model="qwen2-7b", hours=1)
    assert plan.image == IMAGE and plan.weights_path == "/data/models/Qwen2-7B"
    assert f"Image {IMAGE}: taken from the team's recipe qwen2-7b-tp1 for this model" in " ".join(
        plan.explanation
    )


def test_refused_without_a_catalog_entry(member_user, team):
    make_node("node-a")
    with pytest.raises(Invalid) as caught:
        plan_serving(member_user, team=team, model="qwen2-7c", hours=1, image=IMAGE)
    assert caught.value.field == "model"
    assert "No catalog entry sizes qwen2-7c at vLLM 0.6.0" in caught.value.message
    assert "did you mean qwen2-7b" in caught.value.message


def test_refused_when_no_node_has_the_cards(member_user, team):
    make_node("node-a", "910B4", cards=4)  # 4 x 32 GB: qwen2-72b needs 8 of them
    with pytest.raises(NoCapacity) as caught:
        plan_serving(member_user, team=team, model="qwen2-72b", hours=1, image=IMAGE)
    message = caught.value.message
    assert "8 x 32 GB cards" in message and "node-a" in message
    assert caught.value.details["not_offered"]["node-a"]


def test_refused_on_24_gb_cards_naming_the_card_table_columns(member_user, team):
    make_node("node-p", "310P3")
    with pytest.raises(NoCapacity, match="columns for 32 and 64 GB only"):
        plan_serving(member_user, team=team, model="qwen2-7b", hours=1, image=IMAGE)


def test_refused_with_the_earliest_start_when_nothing_is_free_now(member_user, team, other_team):
    from fleet.booking.models import Membership

    a = make_node("node-a", "910B3")
    Membership.objects.create(team=other_team, user=member_user)
    busy = hold(member_user, other_team, a, list(range(8)), hours=3)
    with pytest.raises(NoCapacity) as caught:
        plan_serving(member_user, team=team, model="qwen2-7b", hours=1, image=IMAGE)
    assert caught.value.field == "hours"
    assert caught.value.details["earliest_start"] == busy.end
    assert "Nothing fits 1 x 64 GB card for 1 h now: the earliest is node-a" in (
        caught.value.message
    )


def test_refused_over_quota(member_user, team):
    make_node("node-a")
    team.max_cards = 2
    team.save()
    with pytest.raises(QuotaExceeded, match="Over quota for team Vision"):
        plan_serving(member_user, team=team, model="qwen2-72b", hours=1, image=IMAGE)


def test_refused_without_an_image(member_user, team, settings):
    settings.JOBS_SERVE_IMAGE = ""
    make_node("node-a")
    with pytest.raises(Invalid, match=r"No serving image for vLLM 0\.6\.0") as caught:
        plan_serving(member_user, team=team, model="qwen2-7b", hours=1)
    assert caught.value.field == "image"


def test_refused_when_the_policy_forbids_the_image(member_user, team, settings):
    settings.JOBS_ALLOWED_IMAGE_PREFIXES = []
    make_node("node-a")
    with pytest.raises(DomainError, match="rule image") as caught:
        plan_serving(member_user, team=team, model="qwen2-7b", hours=1, image=IMAGE)
    assert caught.value.field == "image"


def test_refused_for_a_team_the_user_is_not_in(outsider_user, team):
    make_node("node-a")
    with pytest.raises(DomainError, match="not a member of team Vision"):
        plan_serving(outsider_user, team=team, model="qwen2-7b", hours=1, image=IMAGE)


def test_unhealthy_and_unreachable_nodes_are_not_offered(member_user, team):
    make_node("node-a", status=NodeStatus.UNREACHABLE, last_error="ssh: timed out")
    b = make_node("node-b")
    Card.objects.filter(node=b, device__in=[0, 1, 2, 3]).update(health="Critical")
    plan = plan_serving(member_user, team=team, model="qwen2-72b", hours=1, image=IMAGE)
    assert plan.node == b and plan.devices == (4, 5, 6, 7)
    assert "unreachable" in plan.not_offered["node-a"]


def test_plan_prefers_a_fully_healthy_node_free_at_the_same_time(member_user, team):
    make_node("node-a", "910B3")  # first by name, but one of its cards warns
    Card.objects.filter(node__name="node-a", device=6).update(health="Warning")
    make_node("node-b", "910B3")
    plan = plan_serving(member_user, team=team, model="qwen2-72b", hours=2, image=IMAGE)
    assert plan.node.name == "node-b"


def test_serve_books_writes_the_recipe_and_deploys_in_one_go(member_user, team):
    make_node("node-a")
    served = serve_model(member_user, team=team, model="qwen2-7b", hours=2, image=IMAGE)
    booking = Booking.objects.get()
    assert served.booking == booking and booking.team == team
    assert booking.devices == [0]
    assert booking.end - booking.start == timedelta(hours=2)
    version = served.recipe_version
    assert version.recipe.name == "serve-qwen2-7b"
    assert (version.tensor_parallel_size, version.max_model_len) == (1, 32 * 1024)
    assert version.image == IMAGE and version.env == {"USE_PFA_HIGH_PRECISION_MODE": "1"}
    deployment = Deployment.objects.get()
    assert served.deployment == deployment and deployment.cards == [0]
    job = Job.objects.get()
    assert served.job == job and job.kind == JobKind.DEPLOY and job.status == JobStatus.PENDING
    # a second serve of the same model reuses the recipe (a new version: another port)
    again = serve_model(member_user, team=team, model="qwen2-7b", hours=1, image=IMAGE)
    assert again.recipe_version.number == 2
    assert again.booking.devices == [1]
    assert Recipe.objects.count() == 1
    # under host networking the second server takes the next port the first does not hold
    assert again.recipe_version.port == 8081 and again.recipe_version.recipe == version.recipe
    assert "8080 is held by deployment" in " ".join(again.plan.explanation)


def test_refused_serve_leaves_nothing_behind(member_user, team, settings):
    make_node("node-a")
    settings.JOBS_ALLOWED_IMAGE_PREFIXES = []
    with pytest.raises(DomainError):
        serve_model(member_user, team=team, model="qwen2-7b", hours=2, image=IMAGE)
    assert not Booking.objects.exists()
    assert not Recipe.objects.exists()
    assert not Deployment.objects.exists() and not Job.objects.exists()


def test_failure_after_booking_rolls_the_booking_back(member_user, team, monkeypatch):
    from jobs.services import serve

    make_node("node-a")

    def refuse(**kwargs):
        raise DomainError("deploy refused", field="booking")

    monkeypatch.setattr(serve, "deploy", refuse)
    with pytest.raises(DomainError, match="deploy refused"):
        serve_model(member_user, team=team, model="qwen2-7b", hours=2, image=IMAGE)
    assert not Booking.objects.exists() and not Recipe.objects.exists()


def test_catalog_models_lists_the_card_table_once_per_model():
    models = dict(catalog_models())
    assert models["qwen2-72b"] == "qwen2-72b (8 x 32 GB, 4 x 64 GB)"
    assert list(models).count("mixtral-8x7b") == 1


def test_serving_the_same_model_again_reuses_the_recipe_version(member_user, team):
    make_node("node-a", network_mode="bridge")  # published ports: the recipe's port stays 8080
    first = serve_model(member_user, team=team, model="qwen2-7b", hours=1, image=IMAGE)
    again = serve_model(member_user, team=team, model="qwen2-7b", hours=1, image=IMAGE)
    assert again.recipe_version == first.recipe_version
    assert again.booking.devices == [1] and again.deployment.cards == [1]
    assert "inside the container" in " ".join(again.plan.explanation)
