"""Builds, node images and build templates over the REST API (and their pages)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fleet.errors import Invalid
from fleet.models import Node
from jobs.build_templates import INFERENCE_BASE_IMAGE
from jobs.catalog.services import recipes
from jobs.catalog.services.catalog_edits import ensure_seed_catalog
from jobs.choices import DeploymentStatus, JobKind, JobStatus
from jobs.models import Deployment, Job, NodeImage
from jobs.runners.build import uploaded_files
from jobs.services import images

pytestmark = pytest.mark.django_db

DOCKERFILE = "FROM npufleet/busybox:local\nRUN echo hi\n"
CATALOG = Path(__file__).resolve().parents[2] / "jobs" / "catalog" / "data" / "base_images.json"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def node(db) -> Node:
    return Node.objects.create(name="gy1-01", host="127.0.0.1", facts={"chip_name": "910B3"})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def build_body(node: Node, team, **overrides) -> dict:
    body = {
        "node": node.pk,
        "team": team.pk,
        "tag": "vision/qwen2-vllm:0.6.0",
        "dockerfile": DOCKERFILE,
        "build_args": {"GREETING": "hello"},
        "files": {"hello.txt": b64(b"hi\n")},
    }
    body.update(overrides)
    return body


def deployment_using(image: str, node: Node, team, member_user, status: str) -> Deployment:
    ensure_seed_catalog()  # a transactional test earlier in the session may have flushed it
    recipe = recipes.create_recipe(
        member_user,
        team=team,
        name=f"uses-{status}-{Deployment.objects.count()}",
        values={"model": "llama2-13b", "image": image, "tensor_parallel_size": 2},
    )
    return Deployment.objects.create(
        recipe_version=recipe.current_version,
        node=node,
        team=team,
        cards=[0, 1],
        status=status,
        container_name=f"npufleet-deploy-{status}",
    )


# Builds -----------------------------------------------------------------------------------------


def test_member_queues_a_build_with_files_and_args(member_api, node, team):
    answer = member_api.post("/api/v1/builds/", build_body(node, team), format="json")
    assert answer.status_code == 202, answer.json()
    body = answer.json()
    assert body["kind"] == JobKind.BUILD
    assert body["status"] == JobStatus.PENDING
    assert [s["name"] for s in body["steps"]] == ["context", "build", "record"]
    assert body["team"] == team.pk and body["node"] == node.pk
    job = Job.objects.get(pk=body["id"])
    assert job.params["tag"] == "vision/qwen2-vllm:0.6.0"
    assert job.params["build_args"] == {"GREETING": "hello"}
    assert uploaded_files(job) == {"hello.txt": b"hi\n"}
    assert job.params["files"][0]["size"] == 3
    # the build jobs list shows it
    listed = member_api.get("/api/v1/builds/").json()
    assert [j["id"] for j in listed["results"]] == [job.pk]


def test_folder_build_needs_no_dockerfile_and_a_bare_name_means_latest(member_api, node, team):
    body = build_body(
        node,
        team,
        tag="vision/plain",
        dockerfile="",
        files={},
        context_path="/data/npufleet/workspaces/vision/upload/",
    )
    answer = member_api.post("/api/v1/builds/", body, format="json")
    assert answer.status_code == 202, answer.json()
    params = Job.objects.get().params
    assert (params["mode"], params["context_path"]) == (
        "folder",
        "/data/npufleet/workspaces/vision/upload",
    )
    assert params["tag"] == "vision/plain:latest"


BIG = b64(b"x" * (images.MAX_FILE_BYTES + 1))


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"tag": "Bad Tag!"}, "tag", "not an image name"),
        ({"tag": "UPPER/case:1"}, "tag", "not an image name"),
        ({"tag": "vision/x:bad tag"}, "tag", "not an image name"),
        ({"build_args": {"1X": "v"}}, "build_args", "not an identifier"),
        ({"build_args": {"OK": "two\nlines"}}, "build_args", "one line"),
        ({"files": {"../x": b64(b"x")}}, "files", "not allowed"),
        ({"files": {"sub/x": b64(b"x")}}, "files", "not allowed"),
        ({"files": {"Dockerfile": b64(b"x")}}, "files", "not allowed"),
        ({"files": {"big.bin": BIG}}, "files", "limited to"),
        ({"files": {"x.txt": "not base64!"}}, "files", "not base64"),
        ({"dockerfile": ""}, "dockerfile", "write a Dockerfile"),
        ({"dockerfile": "RUN echo no base\n"}, "dockerfile", "no FROM line"),
        ({"context_path": "/root/../etc", "files": {}}, "context_path", "not a usable folder"),
        ({"context_path": "relative/path", "files": {}}, "context_path", "not a usable folder"),
        ({"context_path": "/root", "files": {}}, "context_path", "two levels deep"),
        ({"context_path": "/root/a b", "files": {}}, "context_path", "not a usable folder"),
        ({"context_path": "/proc/self", "files": {}}, "context_path", "system folder"),
        ({"context_path": "/root/ctx"}, "files", "folder on the node"),
    ],
)
def test_bad_build_input_is_refused_naming_the_field(
    member_api, node, team, overrides, field, words
):
    answer = member_api.post("/api/v1/builds/", build_body(node, team, **overrides), format="json")
    assert answer.status_code == 400, answer.json()
    body = answer.json()
    assert field in body
    assert words in json.dumps(body)
    assert not Job.objects.exists()


def test_files_adding_up_over_the_limit_are_refused(member_user, node, team):
    chunk = b"x" * images.MAX_FILE_BYTES
    count = images.MAX_CONTEXT_BYTES // images.MAX_FILE_BYTES + 1
    with pytest.raises(Invalid, match="add up to") as caught:
        images.start_build(
            member_user,
            node=node,
            team=team,
            tag="vision/big:1",
            dockerfile=DOCKERFILE,
            files={f"part{i}.bin": chunk for i in range(count)},
        )
    assert caught.value.field == "files"
    assert not Job.objects.exists()


def test_request_over_the_body_limit_is_refused_naming_files(member_api, node, team, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    files = {"a.bin": b64(b"x" * 60 * 1024)}
    answer = member_api.post("/api/v1/builds/", build_body(node, team, files=files), format="json")
    assert answer.status_code == 400
    assert answer.json()["field"] == "files"
    assert "folder on the node" in answer.json()["detail"]
    assert not Job.objects.exists()


def test_build_permissions(admin_api, member_api, outsider_api, client, node, team, other_team):
    # outsiders and members of other teams may not build for a team
    assert (
        outsider_api.post("/api/v1/builds/", build_body(node, team), format="json").status_code
        == 403
    )
    refused = member_api.post("/api/v1/builds/", build_body(node, other_team), format="json")
    assert refused.status_code == 403
    assert refused.json()["field"] == "team"
    assert client.post("/api/v1/builds/", build_body(node, team)).status_code in (401, 403)
    assert not Job.objects.exists()
    # site admins build for any team
    assert (
        admin_api.post("/api/v1/builds/", build_body(node, other_team), format="json").status_code
        == 202
    )
    # the outsider does not see the build job
    assert outsider_api.get("/api/v1/builds/").json()["results"] == []


def test_second_build_of_the_same_tag_waits_for_the_first(member_api, node, team):
    assert (
        member_api.post("/api/v1/builds/", build_body(node, team), format="json").status_code == 202
    )
    again = member_api.post("/api/v1/builds/", build_body(node, team), format="json")
    assert again.status_code == 409
    assert "already working on vision/qwen2-vllm:0.6.0" in again.json()["detail"]
    assert Job.objects.count() == 1


# Images -----------------------------------------------------------------------------------------


def test_images_list_shows_used_by_and_filters_by_node(
    member_api, node, team, member_user, django_assert_max_num_queries
):
    other = Node.objects.create(name="gy1-02", host="127.0.0.2")
    used = NodeImage.objects.create(
        node=node, tag="vision/serve:1", image_id="sha256:" + "a" * 64, size_bytes=5
    )
    NodeImage.objects.create(node=node, tag="vision/idle:1", image_id="sha256:" + "b" * 64)
    NodeImage.objects.create(node=other, tag="vision/serve:1", image_id="sha256:" + "c" * 64)
    live = deployment_using("vision/serve:1", node, team, member_user, DeploymentStatus.RUNNING)
    gone = deployment_using("vision/serve:1", node, team, member_user, DeploymentStatus.REMOVED)
    answer = member_api.get(f"/api/v1/images/?node={node.pk}")
    assert answer.status_code == 200
    rows = {r["tag"]: r for r in answer.json()["results"]}
    assert set(rows) == {"vision/serve:1", "vision/idle:1"}
    assert [u["id"] for u in rows["vision/serve:1"]["used_by"]] == [live.pk]
    assert gone.pk not in [u["id"] for u in rows["vision/serve:1"]["used_by"]]
    assert rows["vision/serve:1"]["used_by"][0]["live"] is True
    assert rows["vision/serve:1"]["in_use"] is True
    assert rows["vision/idle:1"]["used_by"] == [] and rows["vision/idle:1"]["in_use"] is False
    # the same tag on another node is not used by this node's deployment
    other_row = member_api.get(f"/api/v1/images/?node={other.pk}").json()["results"][0]
    assert other_row["used_by"] == []
    assert member_api.get(f"/api/v1/images/{used.pk}/").json()["used_by"][0]["id"] == live.pk
    # query count does not grow with the number of images
    for i in range(20):
        NodeImage.objects.create(node=node, tag=f"vision/more:{i}", image_id=f"sha256:{i:064x}")
        deployment_using(f"vision/more:{i}", node, team, member_user, DeploymentStatus.STOPPED)
    with django_assert_max_num_queries(6):
        assert len(member_api.get(f"/api/v1/images/?node={node.pk}").json()["results"]) == 22


def test_recipe_naming_the_image_id_or_bare_name_counts_as_use(node, team, member_user):
    image = NodeImage.objects.create(
        node=node, tag="vision/bare:latest", image_id="sha256:" + "d" * 64
    )
    by_name = deployment_using("vision/bare", node, team, member_user, DeploymentStatus.RUNNING)
    by_id = deployment_using("d" * 12, node, team, member_user, DeploymentStatus.PENDING)
    assert [d.pk for d in images.live_users(image)] == [by_name.pk, by_id.pk]


def test_removing_a_used_image_is_refused_an_unused_one_queued(
    admin_api, member_api, node, team, member_user
):
    used = NodeImage.objects.create(node=node, tag="vision/serve:1", image_id="sha256:" + "a" * 64)
    idle = NodeImage.objects.create(node=node, tag="vision/idle:1", image_id="sha256:" + "b" * 64)
    live = deployment_using("vision/serve:1", node, team, member_user, DeploymentStatus.STARTING)
    refused = admin_api.delete(f"/api/v1/images/{used.pk}/")
    assert refused.status_code == 409
    assert refused.json()["field"] == "image"
    assert refused.json()["deployments"] == [live.pk]
    assert f"used by deployment {live.pk}" in refused.json()["detail"]
    assert not Job.objects.exists()
    # members may not remove images at all
    assert member_api.delete(f"/api/v1/images/{idle.pk}/").status_code == 403
    assert not Job.objects.exists()
    answer = admin_api.delete(f"/api/v1/images/{idle.pk}/")
    assert answer.status_code == 202
    job = Job.objects.get(pk=answer.json()["id"])
    assert job.kind == JobKind.REMOVE_IMAGE
    assert job.params["tag"] == "vision/idle:1"
    assert [s["name"] for s in job.steps] == ["check", "remove"]
    assert NodeImage.objects.filter(pk=idle.pk).exists()  # the job removes the row


def test_image_used_only_by_a_stopped_deployment_may_be_removed(admin_api, node, team, member_user):
    image = NodeImage.objects.create(node=node, tag="vision/old:1", image_id="sha256:" + "e" * 64)
    deployment_using("vision/old:1", node, team, member_user, DeploymentStatus.STOPPED)
    assert admin_api.delete(f"/api/v1/images/{image.pk}/").status_code == 202


def test_refresh_needs_a_node_and_a_team(outsider_api, member_api, node):
    answer = member_api.post("/api/v1/images/refresh/")
    assert answer.status_code == 400 and answer.json()["field"] == "node"
    assert outsider_api.post(f"/api/v1/images/refresh/?node={node.pk}").status_code == 403


# Templates --------------------------------------------------------------------------------------


def test_templates_offer_the_manuals_inference_recipe_with_provenance(member_api):
    answer = member_api.get("/api/v1/build-templates/")
    assert answer.status_code == 200
    found = {t["key"]: t for t in answer.json()}
    manual = found["ascend-vllm-inference"]
    catalog = json.loads(CATALOG.read_text())["images"]
    assert (
        manual["build_args"]
        == {"BASE_IMAGE": catalog[0]["image"]}
        == {"BASE_IMAGE": INFERENCE_BASE_IMAGE}
    )
    assert catalog[0]["source"]["seed"].startswith("000")
    assert manual["provenance"]["seed"].startswith("000")
    assert "Step 4" in manual["provenance"]["section"]
    assert "sh build_image.sh --base-image=${base_image}" in manual["provenance"]["quote"]
    # the unzip chain of the manuals is in the Dockerfile as printed
    for part in (
        "unzip AscendCloud-*.zip -d ./AscendCloud",
        "unzip ./AscendCloud/AscendCloud-OPP-*.zip -d ./AscendCloud/AscendCloud-OPP",
        "unzip ./AscendCloud/AscendCloud-LLM-*.zip -d ./AscendCloud/AscendCloud-LLM",
        "cd ./AscendCloud/AscendCloud-LLM/llm_inference/ascend_vllm/",
    ):
        assert part in manual["dockerfile"]
    assert "FROM ${BASE_IMAGE}" in manual["dockerfile"]
    assert "/home/ma-user" not in manual["context_path_hint"]
    assert found["simulated-fleet"]["dockerfile"].count("FROM npufleet/busybox:local") == 1
    assert (
        member_api.get("/api/v1/build-templates/simulated-fleet/").json()["key"]
        == "simulated-fleet"
    )
    assert member_api.get("/api/v1/build-templates/nope/").status_code == 404


def test_templates_pass_the_build_validation(member_user, node, team):
    from jobs.build_templates import TEMPLATES

    for t in TEMPLATES:
        job = images.start_build(
            member_user,
            node=node,
            team=team,
            tag=t.tag,
            dockerfile=t.dockerfile,
            build_args=t.build_args,
        )
        assert job.params["tag"] == t.tag


# Pages ------------------------------------------------------------------------------------------


def test_build_page_queues_a_build_and_opens_its_job_page(client, member_user, node, team):
    client.force_login(member_user)
    page = client.get("/images/build/?template=simulated-fleet")
    assert page.status_code == 200
    assert b"FROM npufleet/busybox:local" in page.content
    assert b'id="build-templates"' in page.content
    answer = client.post(
        "/images/build/",
        {
            "node": node.pk,
            "team": team.pk,
            "tag": "vision/page:1",
            "dockerfile": "FROM npufleet/busybox:local\nCOPY a.txt /\n",
            "arg_name": ["GREETING", ""],
            "arg_value": ["bonjour", ""],
            "files": [SimpleUploadedFile("a.txt", b"A"), SimpleUploadedFile("b.txt", b"B")],
        },
    )
    job = Job.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"/jobs/{job.pk}/"
    assert job.params["build_args"] == {"GREETING": "bonjour"}
    assert uploaded_files(job) == {"a.txt": b"A", "b.txt": b"B"}


def test_build_page_shows_errors_and_keeps_the_rows(client, member_user, outsider_user, node, team):
    client.force_login(member_user)
    answer = client.post(
        "/images/build/",
        {
            "node": node.pk,
            "team": team.pk,
            "tag": "vision/page:1",
            "dockerfile": DOCKERFILE,
            "arg_name": ["1X"],
            "arg_value": ["v"],
        },
    )
    assert answer.status_code == 400
    assert b"build_args-errors" in answer.content
    assert b'value="1X"' in answer.content
    answer = client.post(
        "/images/build/",
        {"node": node.pk, "team": team.pk, "tag": "Bad Tag!", "dockerfile": DOCKERFILE},
    )
    assert answer.status_code == 400
    assert b"tag-errors" in answer.content
    assert not Job.objects.exists()
    client.force_login(outsider_user)
    assert client.get("/images/build/").status_code == 403


def test_images_page_shows_used_by_and_remove_for_admins_only(
    client, admin_user, member_user, node, team
):
    used = NodeImage.objects.create(node=node, tag="vision/serve:1", image_id="sha256:" + "a" * 64)
    NodeImage.objects.create(node=node, tag="vision/idle:1", image_id="sha256:" + "b" * 64)
    live = deployment_using("vision/serve:1", node, team, member_user, DeploymentStatus.RUNNING)
    client.force_login(member_user)
    page = client.get(f"/images/?node={node.pk}").content.decode()
    assert f"deployment {live.pk}" in page
    assert 'data-action="remove"' not in page
    client.force_login(admin_user)
    page = client.get(f"/images/?node={node.pk}").content.decode()
    assert page.count('data-action="remove"') == 1  # the idle one; the used one is disabled
    refused = client.post(f"/images/{used.pk}/remove/")
    assert refused.status_code == 302 and not Job.objects.exists()
    client.force_login(member_user)
    assert client.post(f"/images/{used.pk}/remove/").status_code == 403
