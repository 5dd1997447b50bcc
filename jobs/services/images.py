"""Images on nodes: starting builds, recording and syncing images, usage, and removal."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from fleet.booking import permissions
from fleet.booking.choices import AuditAction, AuditObject
from fleet.booking.models import Team
from fleet.booking.permissions import Viewer
from fleet.booking.services import audit
from fleet.errors import Conflict, Invalid, NotAllowed
from fleet.models import Node
from jobs.choices import LIVE_DEPLOYMENT_STATUSES, DeploymentStatus, JobKind, JobStatus
from jobs.models import Deployment, Job, NodeImage
from jobs.policy import normalized_tag
from jobs.services import policy
from jobs.services.jobs import create_job
from jobs.streams import broadcast_status

BUILD_STEPS = [
    ("context", "Upload the build context"),
    ("build", "Build the image"),
    ("record", "Record the image"),
]
REMOVE_IMAGE_STEPS = [
    ("check", "Check that no live deployment uses the image"),
    ("remove", "Remove the image"),
]

MAX_DOCKERFILE_BYTES = 64 * 1024
MAX_FILE_BYTES = 1024 * 1024
MAX_CONTEXT_BYTES = 4 * 1024 * 1024
MAX_FILES = 32
MAX_BUILD_ARGS = 64
MAX_BUILD_ARG_VALUE = 4096
MAX_TAG_LENGTH = 255

# The docker reference grammar (distribution/reference), without digests: a build names a tag.
_DOMAIN_PART = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
DOMAIN_RE = re.compile(rf"^{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?$")
PATH_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
TAG_PART_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
BUILD_ARG_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
FILE_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
CONTEXT_PATH_RE = re.compile(r"^(?:/[A-Za-z0-9_@+][A-Za-z0-9._@+-]{0,254}){2,32}/?$")
FROM_RE = re.compile(r"^\s*FROM\s+\S+", re.IGNORECASE | re.MULTILINE)
FORBIDDEN_CONTEXT_ROOTS = ("/proc", "/sys", "/dev", "/run")


def is_valid_tag(tag: str) -> bool:
    """Whether `tag` is `[registry[:port]/]path[:tag]` as docker accepts it for a build."""
    if not tag or len(tag) > MAX_TAG_LENGTH:
        return False
    name, _, version = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "")
    if version and not TAG_PART_RE.fullmatch(version):
        return False
    parts = name.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        if not DOMAIN_RE.fullmatch(first):
            return False
        parts = parts[1:]
    return all(PATH_COMPONENT_RE.fullmatch(p) for p in parts)


def _check_tag(tag: str) -> str:
    if not is_valid_tag(tag):
        raise Invalid(
            f"{tag!r} is not an image name docker accepts: use lowercase letters, digits and "
            "separators (. _ -), optionally a registry/ prefix and a :tag, e.g. "
            "my-team/qwen2-vllm:0.6.0",
            field="tag",
        )
    return normalized_tag(tag)


def _check_build_args(build_args: Mapping[str, Any]) -> dict[str, str]:
    if len(build_args) > MAX_BUILD_ARGS:
        raise Invalid(f"at most {MAX_BUILD_ARGS} build arguments", field="build_args")
    clean: dict[str, str] = {}
    for name, value in build_args.items():
        if not isinstance(name, str) or not BUILD_ARG_RE.fullmatch(name):
            raise Invalid(
                f"build argument {name!r} is not an identifier: start with a letter or _, then "
                "letters, digits or _ (e.g. BASE_IMAGE)",
                field="build_args",
            )
        text = "" if value is None else str(value)
        if len(text) > MAX_BUILD_ARG_VALUE or "\x00" in text or "\n" in text:
            raise Invalid(
                f"build argument {name} must be one line of at most {MAX_BUILD_ARG_VALUE} "
                "characters",
                field="build_args",
            )
        clean[name] = text
    return clean


def _check_files(files: Mapping[str, bytes]) -> dict[str, bytes]:
    if len(files) > MAX_FILES:
        raise Invalid(
            f"at most {MAX_FILES} files per build; use a folder on the node", field="files"
        )
    total = 0
    for name, data in files.items():
        if not FILE_NAME_RE.fullmatch(name) or name == "Dockerfile":
            raise Invalid(
                f"file name {name!r} is not allowed: a plain name of letters, digits, . _ - "
                "(no folders, no leading dot, not 'Dockerfile')",
                field="files",
            )
        if len(data) > MAX_FILE_BYTES:
            raise Invalid(
                f"{name} is {len(data)} bytes; files are limited to {MAX_FILE_BYTES} bytes: put "
                "large files in a folder on the node and build from it",
                field="files",
            )
        total += len(data)
    if total > MAX_CONTEXT_BYTES:
        raise Invalid(
            f"the files add up to {total} bytes, over {MAX_CONTEXT_BYTES}: build from a folder "
            "on the node instead",
            field="files",
        )
    return dict(files)


def _check_dockerfile(dockerfile: str, required: bool) -> str:
    if not dockerfile.strip():
        if required:
            raise Invalid(
                "write a Dockerfile (or pick a template), or give a folder on the node",
                field="dockerfile",
            )
        return ""
    if len(dockerfile.encode()) > MAX_DOCKERFILE_BYTES:
        raise Invalid(f"the Dockerfile is over {MAX_DOCKERFILE_BYTES} bytes", field="dockerfile")
    if not FROM_RE.search(dockerfile):
        raise Invalid("the Dockerfile has no FROM line: name a base image", field="dockerfile")
    return dockerfile


def check_context_path(path: str) -> str:
    """An absolute folder path of plain names, at least two levels deep, outside /proc etc."""
    bad_part = any(p in (".", "..") for p in path.split("/"))
    if not CONTEXT_PATH_RE.fullmatch(path) or bad_part or "//" in path:
        raise Invalid(
            f"{path!r} is not a usable folder: give an absolute path at least two levels deep "
            "made of letters, digits and . _ - @ + (no .., no spaces), e.g. /root/AscendCloud",
            field="context_path",
        )
    clean = path.rstrip("/")
    if any(clean == root or clean.startswith(root + "/") for root in FORBIDDEN_CONTEXT_ROOTS):
        raise Invalid(
            f"{clean} is a system folder; build from your own folder", field="context_path"
        )
    return clean


def _require_member(actor: Any, team: Team) -> None:
    if not permissions.is_member(actor, team):
        raise NotAllowed(
            f"only members of {team.name} and site admins may build images for it; pick one of "
            "your teams",
            field="team",
        )


def _refuse_if_busy(node: Node, tag: str, field: str) -> None:
    """Conflict while a build or removal of this tag on this node is pending or running."""
    running = (
        Job.objects.filter(node=node, kind__in=(JobKind.BUILD, JobKind.REMOVE_IMAGE))
        .filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING), params__tag=tag)
        .first()
    )
    if running is not None:
        raise Conflict(
            f"job {running.pk} ({running.get_kind_display()}) is already working on {tag} on "
            f"{node.name}; wait for it or cancel it",
            field=field,
        )


def start_build(
    actor: Any,
    *,
    node: Node,
    team: Team,
    tag: str,
    dockerfile: str = "",
    files: Mapping[str, bytes] | None = None,
    build_args: Mapping[str, Any] | None = None,
    context_path: str = "",
) -> Job:
    """Validate a build and queue its job: a Dockerfile (+ files) sent from here, or a folder."""
    _require_member(actor, team)
    tag = _check_tag(tag.strip())
    args = _check_build_args(build_args or {})
    files = _check_files(files or {})
    folder = check_context_path(context_path.strip()) if context_path.strip() else ""
    if folder and files:
        raise Invalid(
            "uploaded files go with a Dockerfile written here; for a folder on the node, put "
            "them in that folder",
            field="files",
        )
    dockerfile = _check_dockerfile(dockerfile, required=not folder)
    # The policy's first look (the runner looks again on the node, symlinks resolved there).
    policy.check_build(
        node=node,
        team=team,
        context_path=folder,
        dockerfile=dockerfile or None,
        build_args=args,
        on_node=False,
    )
    params: dict[str, Any] = {
        "tag": tag,
        "mode": "folder" if folder else "upload",
        "context_path": folder,
        "dockerfile": dockerfile,
        "build_args": args,
        "files": [
            {"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
            for n, d in sorted(files.items())
        ],
        "file_data": {n: base64.b64encode(d).decode() for n, d in sorted(files.items())},
    }
    with transaction.atomic():
        Node.objects.select_for_update().get(pk=node.pk)
        _refuse_if_busy(node, tag, "tag")
        job = create_job(
            kind=JobKind.BUILD, actor=actor, steps=BUILD_STEPS, node=node, team=team, params=params
        )
        # Build-arg values may hold credentials: only their names are recorded.
        what = {"mode": params["mode"], "context_path": folder, "build_args": sorted(args)}
        _audit(AuditAction.BUILD, actor, node, tag, job, {k: (None, v) for k, v in what.items()})
        return job


def _audit(action: AuditAction, actor: Any, node: Node, tag: str, job: Job, changes: dict) -> None:
    """One audit entry about an image on a node (team set for a team's build)."""
    label = f"{tag} on {node.name}"
    summary = f"Image {label}: {AuditAction(action).label.lower()} (job {job.pk})"
    about = (AuditObject.IMAGE, f"{node.pk}/{tag}", label)
    audit.record(action, actor, summary, team=job.team, node=node, changes=changes, about=about)


def drop_build_files(job: Job) -> None:
    """After a successful build keep only names, sizes and digests of its uploaded files."""
    job.params.pop("file_data", None)
    Job.objects.filter(pk=job.pk).update(params=job.params)


def save_progress(job: Job) -> None:
    """Persist a running job's result and steps (e.g. `Step 3/5`) and tell its listeners."""
    Job.objects.filter(pk=job.pk).update(
        result=job.result, steps=job.steps, heartbeat_at=timezone.now()
    )
    broadcast_status(job)


def parse_created(value: Any) -> datetime | None:
    """Docker's `Created`: unix seconds (image lists) or RFC 3339 with nanoseconds (inspect)."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str) or not value:
        return None
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", value)
    if not match:
        return None
    base, fraction, zone = match.groups()
    text = f"{base}.{(fraction or '0')[:6].ljust(6, '0')}{'+00:00' if zone == 'Z' else zone}"
    return datetime.fromisoformat(text)


def record_image(
    node: Node,
    *,
    tag: str,
    image_id: str,
    size_bytes: int,
    created: datetime | None,
    build_job: Job | None = None,
) -> NodeImage:
    """Create or update the row of one tagged image on a node."""
    with transaction.atomic():
        defaults: dict[str, Any] = {
            "image_id": image_id,
            "size_bytes": size_bytes,
            "created": created,
        }
        if build_job is not None:
            defaults["build_job"] = build_job
        image, _ = NodeImage.objects.update_or_create(node=node, tag=tag, defaults=defaults)
    return image


def _require_team_member(actor: Any) -> None:
    if not permissions.in_any_team(actor):
        raise NotAllowed("only site admins and team members may refresh a node's images")


def refresh_images(node: Node, *, actor: Any = None) -> list[NodeImage]:
    """Sync the node's NodeImage rows with `docker images` there (rows of gone tags go)."""
    from jobs.docker_api import docker_on

    if actor is not None:
        _require_team_member(actor)
    with docker_on(node) as client:
        listed = client.api.images()
    found: dict[str, dict[str, Any]] = {}
    for item in listed:
        for tag in item.get("RepoTags") or []:
            if tag and tag != "<none>:<none>":
                found[tag] = item
    with transaction.atomic():
        Node.objects.select_for_update().get(pk=node.pk)
        NodeImage.objects.filter(node=node).exclude(tag__in=list(found)).delete()
        for tag, item in found.items():
            NodeImage.objects.update_or_create(
                node=node,
                tag=tag,
                defaults={
                    "image_id": item.get("Id", ""),
                    "size_bytes": int(item.get("Size") or 0),
                    "created": parse_created(item.get("Created")),
                },
            )
    return images_with_usage(node)


def _refs(image: NodeImage) -> set[str]:
    """How a recipe may name this image: its tag, the tag without :latest, or its id."""
    refs = {image.tag}
    if image.tag.endswith(":latest"):
        refs.add(image.tag.removesuffix(":latest"))
    if image.image_id:
        digest = image.image_id.removeprefix("sha256:")
        refs |= {image.image_id, digest, digest[:12], f"sha256:{digest[:12]}"}
    return refs


def attach_usage(images: Iterable[NodeImage]) -> list[NodeImage]:
    """Set `used_by` (deployments, not removed, whose recipe names the image); two queries."""
    rows = list(images)
    if not rows:
        return rows
    wanted = {ref for image in rows for ref in _refs(image)}
    users = list(
        Deployment.objects.filter(
            node_id__in={image.node_id for image in rows}, recipe_version__image__in=wanted
        )
        .exclude(status=DeploymentStatus.REMOVED)
        .select_related("recipe_version__recipe", "team")
        .order_by("pk")
    )
    for image in rows:
        refs = _refs(image)
        image.used_by = [
            d for d in users if d.node_id == image.node_id and d.recipe_version.image in refs
        ]
    return rows


def usage_for(user: Any, images: Iterable[NodeImage]) -> list[NodeImage]:
    """`used_by` as `user` may see it: `shown_users`, the deployments of the user's teams (all
    for a site admin), and `other_teams`, how many other teams' deployments use the image."""
    rows = list(images)
    attach_usage([image for image in rows if not hasattr(image, "used_by")])
    viewer = Viewer.of(user)
    for image in rows:
        image.shown_users = [d for d in image.used_by if viewer.owns(d.team_id)]
        image.other_teams = len(image.used_by) - len(image.shown_users)
    return rows


def images_with_usage(node: Node) -> list[NodeImage]:
    """The node's images, each with `used_by`."""
    return attach_usage(NodeImage.objects.filter(node=node).select_related("node", "build_job"))


def live_users(image: NodeImage) -> list[Deployment]:
    """Deployments holding cards (pending, starting, running) whose recipe uses the image."""
    (image,) = attach_usage([image])
    return [d for d in image.used_by if d.status in LIVE_DEPLOYMENT_STATUSES]


def describe_users(deployments: Iterable[Deployment]) -> str:
    """'deployment 4 (npufleet-deploy-4, running)' for each."""
    return ", ".join(f"deployment {d.pk} ({d.container_name}, {d.status})" for d in deployments)


def remove_image(actor: Any, image: NodeImage) -> Job:
    """Queue removal of an image nothing live uses (site admins only)."""
    if not actor.is_superuser:
        raise NotAllowed("only site admins may remove images from a node", field="image")
    with transaction.atomic():
        node = Node.objects.select_for_update().get(pk=image.node_id)
        live = live_users(image)
        if live:
            raise Conflict(
                f"{image.tag} on {node.name} is used by {describe_users(live)}; stop and remove "
                "those deployments first",
                field="image",
                deployments=[d.pk for d in live],
            )
        _refuse_if_busy(node, image.tag, "image")
        job = create_job(
            kind=JobKind.REMOVE_IMAGE,
            actor=actor,
            steps=REMOVE_IMAGE_STEPS,
            node=node,
            params={"image": image.pk, "tag": image.tag, "image_id": image.image_id},
        )
        _audit(
            AuditAction.REMOVE, actor, node, image.tag, job, {"image_id": (image.image_id, None)}
        )
        return job


def forget_image(node: Node, tag: str) -> None:
    """Delete the row of an image removed from the node."""
    with transaction.atomic():
        NodeImage.objects.filter(node=node, tag=tag).delete()
