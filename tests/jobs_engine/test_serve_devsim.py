"""Serve a model end to end: one API call on a simulated node, then the deploy job runs to the
endpoint with its latencies recorded (real sshd, real Docker, the stand-in vLLM server)."""

from __future__ import annotations

import pytest

from jobs.choices import LATENCY_KEYS, DeploymentStatus, JobStatus
from jobs.models import Deployment, Job
from jobs.tasks import run_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.devsim]


def test_one_call_serves_a_model_up_to_its_endpoint(
    engine_node, catalog, serving_image, member_api, member_user, team
):
    body = {"model": "qwen2-7b", "team": team.slug, "hours": 1, "image": serving_image}
    dry = member_api.post("/api/v1/serve/", {**body, "dry_run": True}, format="json")
    assert dry.status_code == 200, dry.json()
    assert dry.json()["plan"]["node_name"] == engine_node.name
    assert not Job.objects.exists()

    response = member_api.post("/api/v1/serve/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    plan = data["plan"]
    # 910B3 is a 64 GB card: one card, TP 1, max-model-len 32K (seed 000, vLLM 0.6.0)
    assert (plan["card_gb"], plan["tensor_parallel_size"], plan["max_model_len"]) == (
        64,
        1,
        32768,
    )
    assert run_job(data["job"]) == JobStatus.SUCCEEDED, Job.objects.get(pk=data["job"]).error
    deployment = Deployment.objects.get(pk=data["deployment"])
    assert deployment.status == DeploymentStatus.RUNNING
    assert deployment.cards == plan["devices"]
    assert deployment.endpoint_url.endswith("/v1")
    assert set(deployment.latencies) == set(LATENCY_KEYS)
    assert all(float(v) >= 0 for v in deployment.latencies.values())
    # the launch carries the planned sizing
    launch = " ".join(deployment.launch)
    assert "--tensor-parallel-size=1" in launch or "--tensor-parallel-size 1" in launch
    assert "32768" in launch
    shown = member_api.get(f"/api/v1/deployments/{deployment.pk}/").json()
    assert shown["endpoint_live"] is True and shown["latencies"] == deployment.latencies
