"""The container policy against the database and the node: contexts, images, exceptions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

from fleet.booking.choices import AuditAction
from fleet.booking.models import Team
from fleet.booking.services import audit
from fleet.errors import Invalid, NotAllowed
from fleet.models import Node
from fleet.remote import pool
from fleet.services.nodes import target_for
from jobs import policy
from jobs.catalog.models import Recipe
from jobs.models import AllowedImagePrefix, NodeImage, PolicyException

REALPATH_TIMEOUT = 20.0


def context_for(
    node: Node,
    team: Team | None,
    *,
    cards: Sequence[int] = (),
    recipe: Recipe | None = None,
    field: str | None = None,
) -> policy.Context:
    """The policy context of a container for `team` on `node`, with the recipe's exceptions."""
    granted: frozenset[tuple[str, str]] = frozenset()
    if recipe is not None:
        granted = frozenset(
            PolicyException.objects.filter(recipe=recipe).values_list("rule", "value")
        )
    return policy.Context(
        node=node,
        team_slug=team.slug if team is not None else None,
        cards=tuple(cards),
        exceptions=granted,
        field=field,
    )


def image_allowed_on(node: Node) -> Callable[[str], bool]:
    """A predicate: the image is under an allowed prefix, or the dashboard built it on `node`."""
    prefixes = list(AllowedImagePrefix.objects.values_list("prefix", flat=True))
    prefixes += [p for p in settings.JOBS_ALLOWED_IMAGE_PREFIXES if p]
    built = NodeImage.objects.filter(node=node, build_job__isnull=False)
    tags = set(built.values_list("tag", flat=True))
    ids = {i.removeprefix("sha256:") for i in built.values_list("image_id", flat=True) if i}

    def allowed(image: str) -> bool:
        if any(image.startswith(prefix) for prefix in prefixes):
            return True
        if policy.normalized_tag(image) in tags:
            return True
        digest = image.removeprefix("sha256:")
        return len(digest) >= 12 and any(i.startswith(digest) for i in ids)

    return allowed


def node_resolver(node: Node) -> policy.Resolver:
    """Resolves paths on the node itself (`realpath -m`: `..` and symlinks followed)."""

    def resolve(paths: Sequence[str]) -> list[str]:
        if not paths:
            return []
        done = pool.run(
            target_for(node), ["realpath", "-m", "--", *paths], timeout=REALPATH_TIMEOUT
        )
        lines = done.stdout.splitlines()
        if len(lines) != len(paths):
            raise Invalid(
                f"could not resolve {', '.join(paths)} on {node.name} (realpath printed "
                f"{len(lines)} lines for {len(paths)} paths)",
                field="mounts",
            )
        return lines

    return resolve


def check_run(
    argv: Sequence[str],
    *,
    node: Node,
    team: Team | None,
    cards: Sequence[int],
    recipe: Recipe | None = None,
    on_node: bool = True,
    field: str | None = None,
) -> list[str]:
    """The docker run/create argv, checked (and its host paths resolved on the node when asked)."""
    ctx = context_for(node, team, cards=cards, recipe=recipe, field=field)
    return policy.check_run(
        argv,
        ctx,
        image_allowed=image_allowed_on(node),
        resolve=node_resolver(node) if on_node else None,
    )


def check_build(
    *,
    node: Node,
    team: Team | None,
    context_path: str = "",
    dockerfile: str | None = None,
    build_args: dict[str, str] | None = None,
    on_node: bool = True,
) -> str:
    """A build's context folder and base images; returns the folder as resolved on the node."""
    ctx = context_for(node, team, field="context_path" if context_path else "dockerfile")
    return policy.check_build(
        ctx,
        context_path=context_path,
        dockerfile=dockerfile,
        build_args=build_args,
        image_allowed=image_allowed_on(node),
        resolve=node_resolver(node) if on_node else None,
    )


def _require_site_admin(actor: Any, what: str) -> None:
    if not actor.is_superuser:
        raise NotAllowed(f"only site admins may {what}")


@transaction.atomic
def grant_exception(
    actor: Any, recipe: Recipe, *, rule: str, value: str, reason: str
) -> PolicyException:
    """A site admin lets one recipe break one rule for one value, with a recorded reason."""
    _require_site_admin(actor, "grant container policy exceptions")
    if rule not in policy.EXCEPTABLE:
        raise Invalid(
            f"rule {rule!r} cannot be excepted; one of: {', '.join(policy.EXCEPTABLE)}",
            field="rule",
        )
    value = (value or "").strip()
    if not value or len(value) > 500:
        raise Invalid(
            "name the image, host folder or flag the exception covers (as the refusal showed it)",
            field="value",
        )
    if rule == policy.Rule.HOST_PATH and (
        not value.startswith("/") or policy._clean(value) in ("/", *policy.NEVER_UNDER)
    ):
        raise Invalid(
            f"{value!r} cannot be excepted: give an absolute folder that is not / or a system "
            "folder",
            field="value",
        )
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise Invalid("give a reason of at least 10 characters (it is audited)", field="reason")
    exception, _ = PolicyException.objects.update_or_create(
        recipe=recipe, rule=rule, value=value, defaults={"reason": reason, "granted_by": actor}
    )
    audit.record(
        AuditAction.POLICY,
        actor,
        f"Recipe {recipe.name}: exception to rule {rule} for {value}",
        team=recipe.team,
        reason=reason,
        changes={"exception": (None, f"{rule} {value}")},
    )
    return exception


@transaction.atomic
def revoke_exception(actor: Any, exception: PolicyException, *, reason: str = "") -> None:
    """Take an exception back (audited)."""
    _require_site_admin(actor, "revoke container policy exceptions")
    recipe = exception.recipe
    exception.delete()
    audit.record(
        AuditAction.POLICY,
        actor,
        f"Recipe {recipe.name}: exception to rule {exception.rule} for {exception.value} revoked",
        team=recipe.team,
        reason=reason,
        changes={"exception": (f"{exception.rule} {exception.value}", None)},
    )


@transaction.atomic
def allow_registry(actor: Any, prefix: str, *, note: str = "") -> AllowedImagePrefix:
    """A site admin allows images under a registry/repository prefix (audited)."""
    _require_site_admin(actor, "allow image registries")
    prefix = (prefix or "").strip()
    if not prefix or " " in prefix or len(prefix) > 255 or not prefix.endswith(("/", ":")):
        raise Invalid(
            "give a registry or repository prefix ending in / (e.g. "
            "swr.cn-southwest-2.myhuaweicloud.com/my-org/)",
            field="prefix",
        )
    row, _ = AllowedImagePrefix.objects.get_or_create(
        prefix=prefix, defaults={"note": note, "created_by": actor}
    )
    audit.record(
        AuditAction.POLICY,
        actor,
        f"Images under {prefix} allowed",
        changes={"allowed_prefix": (None, prefix)},
    )
    return row


@transaction.atomic
def disallow_registry(actor: Any, row: AllowedImagePrefix) -> None:
    """Stop allowing a prefix (audited); running containers are not touched."""
    _require_site_admin(actor, "change allowed image registries")
    prefix = row.prefix
    row.delete()
    audit.record(
        AuditAction.POLICY,
        actor,
        f"Images under {prefix} no longer allowed",
        changes={"allowed_prefix": (prefix, None)},
    )
