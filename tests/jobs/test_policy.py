"""The container policy on its own: each rule refuses with its name, allowed runs pass unchanged."""

from __future__ import annotations

import pytest

from fleet.models import Node
from jobs import policy
from jobs.catalog.render import render_docker_run
from jobs.services.policy import image_allowed_on

MANUALS = "swr.cn-southwest-2.myhuaweicloud.com/atelier/"
IMAGE = MANUALS + "pytorch_2_1_ascend:20240606"


def node(**values) -> Node:
    """An unsaved node with the default folders (weights /data/models)."""
    return Node(name="n1", host="10.0.0.1", **values)


def ctx(target: Node | None = None, **values) -> policy.Context:
    values.setdefault("team_slug", "vision")
    values.setdefault("cards", (0, 1))
    return policy.Context(node=target or node(), **values)


def allow_manuals(image: str) -> bool:
    return image.startswith(MANUALS)


def run(*extra: str, image: str = IMAGE, cards=(0, 1), mounts=()) -> list[str]:
    """A rendered docker run for cards 0-1 with extra flags spliced in before the image."""
    argv = list(
        render_docker_run(
            image=image, container_name="npufleet-deploy-1", card_ids=cards, mounts=mounts
        ).argv
    )
    at = argv.index("--name")
    return [*argv[:at], *extra, *argv[at:]]


def refused(argv, context=None, resolve=None) -> policy.PolicyRefused:
    with pytest.raises(policy.PolicyRefused) as caught:
        policy.check_run(argv, context or ctx(), image_allowed=allow_manuals, resolve=resolve)
    return caught.value


def test_the_rendered_manual_run_passes_unchanged():
    argv = run("-v", "/data/models/qwen:/data/models/qwen:ro")
    assert policy.check_run(argv, ctx(), image_allowed=allow_manuals) == argv


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("/", "system folder"),
        ("/etc", "system folder"),
        ("/etc/ssh", "system folder"),
        ("/root/.ssh", "system folder"),
        ("/home", "system folder"),
        ("/var/run/docker.sock", "system folder"),
        ("/run/docker.sock", "system folder"),
        ("/data/models/../../etc", "system folder"),
        ("/home/speech-user", "outside the allowed folders"),
        ("/data/npufleet/workspaces/speech", "outside the allowed folders"),
        ("/data/npufleet/workspaces/vision2", "outside the allowed folders"),
        ("/data/models-other", "outside the allowed folders"),
    ],
)
def test_host_paths_outside_the_roots_are_refused(host, words):
    error = refused(run("-v", f"{host}:/host"))
    assert error.rule == "host-path"
    assert words in error.message
    assert "rule host-path" in error.message


def test_the_team_workspace_and_weights_folder_are_allowed():
    argv = run(
        "-v",
        "/data/npufleet/workspaces/vision/job1:/work",
        "-v",
        "/data/models:/models:ro",
    )
    assert policy.check_run(argv, ctx(), image_allowed=allow_manuals) == argv


def test_a_symlink_out_of_the_workspace_is_refused_after_resolving_on_the_node():
    links = {"/data/npufleet/workspaces/vision/escape": "/etc/ssh"}
    error = refused(
        run("-v", "/data/npufleet/workspaces/vision/escape:/x"),
        resolve=lambda paths: [links.get(p, p) for p in paths],
    )
    assert error.rule == "host-path"
    assert "resolves to /etc/ssh on the node" in error.message


def test_resolved_paths_reach_docker_not_the_typed_ones():
    links = {"/data/models/latest": "/data/models/qwen2-7b-v3"}
    argv = policy.check_run(
        run("-v", "/data/models/latest:/w:ro"),
        ctx(),
        image_allowed=allow_manuals,
        resolve=lambda paths: [links.get(p, p) for p in paths],
    )
    assert "/data/models/qwen2-7b-v3:/w:ro" in argv
    assert "/data/models/latest:/w:ro" not in argv


def test_a_node_whose_weights_folder_is_the_root_allows_nothing_through_it():
    error = refused(run("-v", "/srv/anything:/x"), ctx(node(weights_dir="/")))
    assert error.rule == "host-path"
    assert "weights folder" not in error.message.split("(")[-1]


def test_named_volumes_and_propagation_options_are_refused():
    assert refused(run("-v", "secrets:/x")).rule == "host-path"
    assert refused(run("-v", "/data/models:/x:rshared")).rule == "host-path"


def test_the_ascend_mounts_must_stay_read_only():
    argv = run()
    at = argv.index("/usr/local/sbin/npu-smi:/usr/local/sbin/npu-smi:ro")
    argv[at] = "/usr/local/sbin/npu-smi:/usr/local/sbin/npu-smi"
    error = refused(argv)
    assert error.rule == "host-path" and "read-only" in error.message


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        (["--privileged"], "privileged"),
        (["--security-opt", "seccomp=unconfined"], "privileged"),
        (["--cap-add=SYS_ADMIN"], "capabilities"),
        (["--cap-add", "ALL"], "capabilities"),
        (["--pid=host"], "host-namespace"),
        (["--ipc", "host"], "host-namespace"),
        (["--userns=host"], "host-namespace"),
        (["--uts=host"], "host-namespace"),
        (["--mount", "type=bind,src=/,dst=/host"], "host-path"),
        (["--volumes-from", "other"], "host-path"),
        (["--env-file", "/root/.env"], "host-path"),
        (["--device-cgroup-rule", "a *:* rwm"], "devices"),
        (["--network=container:npufleet-deploy-9"], "network"),
        (["--storage-opt", "size=1G"], "docker-flags"),
        (["--some-future-flag"], "docker-flags"),
    ],
)
def test_dangerous_flags_are_refused_naming_the_rule(extra, rule):
    assert refused(run(*extra)).rule == rule


def test_host_networking_only_where_the_node_uses_it():
    argv = run()  # the seed's --net=host
    assert policy.check_run(argv, ctx(node(network_mode="host")), image_allowed=allow_manuals)
    error = refused(argv, ctx(node(network_mode="bridge")))
    assert error.rule == "network" and "bridge" in error.message


def test_devices_only_the_booked_cards_and_the_management_devices():
    assert refused(run(cards=(0, 1, 5))).rule == "devices"
    assert refused(run("--device=/dev/sda")).rule == "devices"
    assert refused(run("--device=/dev/davinci0:/dev/davinci7")).rule == "devices"
    # the same run passes when card 5 is booked
    argv = run(cards=(0, 1, 5))
    assert policy.check_run(argv, ctx(cards=(0, 1, 5)), image_allowed=allow_manuals) == argv


def test_images_only_from_allowed_prefixes():
    error = refused(run(image="docker.io/library/ubuntu:22.04"))
    assert error.rule == "image" and "docker.io/library/ubuntu:22.04" in error.message
    assert error.value == "docker.io/library/ubuntu:22.04"


def test_an_exception_lifts_one_rule_for_one_value_only():
    excepted = ctx(exceptions=frozenset({("image", "myorg/vllm:1"), ("host-path", "/srv/data")}))
    argv = run("-v", "/srv/data/set1:/d", image="myorg/vllm:1")
    assert policy.check_run(argv, excepted, image_allowed=allow_manuals) == argv
    assert refused(run(image="myorg/vllm:2"), excepted).rule == "image"
    assert refused(run("-v", "/srv/database:/d"), excepted).rule == "host-path"
    # devices can never be excepted
    devices = ctx(exceptions=frozenset({("devices", "/dev/davinci5")}))
    assert refused(run(cards=(0, 1, 5)), devices).rule == "devices"


def test_build_context_and_base_images():
    context = ctx()
    with pytest.raises(policy.PolicyRefused) as caught:
        policy.check_build(context, context_path="/etc/ssh", image_allowed=allow_manuals)
    assert caught.value.rule == "host-path"
    folder = policy.check_build(
        context,
        context_path="/data/npufleet/workspaces/vision/ctx",
        dockerfile=f"ARG BASE={IMAGE}\nFROM ${{BASE}} AS build\nFROM build\nRUN true\n",
        image_allowed=allow_manuals,
    )
    assert folder == "/data/npufleet/workspaces/vision/ctx"
    for text, args in [
        ("FROM ubuntu:22.04\n", {}),
        ("ARG BASE\nFROM ${BASE}\n", {"BASE": "evil/img:1"}),
        (f"FROM {IMAGE}\nFROM --platform=linux/arm64 alpine AS x\n", {}),
    ]:
        with pytest.raises(policy.PolicyRefused) as caught:
            policy.check_build(
                context, dockerfile=text, build_args=args, image_allowed=allow_manuals
            )
        assert caught.value.rule == "image"
    with pytest.raises(policy.PolicyRefused, match="no value"):
        policy.check_build(context, dockerfile="ARG B\nFROM $B\n", image_allowed=allow_manuals)


@pytest.mark.django_db
def test_dashboard_built_images_are_allowed_on_their_node_only(admin_user, settings):
    from fleet.models import Node as SavedNode
    from jobs.choices import JobKind
    from jobs.models import Job, NodeImage

    settings.JOBS_ALLOWED_IMAGE_PREFIXES = []
    here = SavedNode.objects.create(name="here", host="10.0.0.1")
    there = SavedNode.objects.create(name="there", host="10.0.0.2")
    job = Job.objects.create(kind=JobKind.BUILD, node=here, requested_by=admin_user)
    NodeImage.objects.create(node=here, tag="vision/vllm:1", image_id="sha256:" + "ab" * 32)
    NodeImage.objects.create(node=here, tag="found/there:1", image_id="sha256:" + "cd" * 32)
    NodeImage.objects.filter(tag="vision/vllm:1").update(build_job=job)
    allowed = image_allowed_on(here)
    assert allowed("vision/vllm:1") and allowed("abababababab")
    assert not allowed("found/there:1")  # on the node, but not built by the dashboard
    assert not image_allowed_on(there)("vision/vllm:1")
    assert image_allowed_on(there)(IMAGE)  # the manuals' registry is allowed by migration
