"""Onboarding, editing and deleting nodes, and accepting their host keys."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from fleet import validators
from fleet.choices import AuthMethod, HostKeyStatus, NodeStatus
from fleet.errors import Conflict, Invalid, NotAllowed
from fleet.models import Node
from fleet.remote import (
    Endpoint,
    ErrorKind,
    HostKey,
    RemoteError,
    Target,
    fetch_host_key,
    load_private_key,
    pool,
)
from fleet.signals import NodeChange, node_changed

log = logging.getLogger(__name__)

PATH_FIELDS = (
    "device_dir",
    "driver_dir",
    "npu_smi_path",
    "install_info_path",
    "weights_dir",
    "workspace_root",
)
PLAIN_FIELDS = (
    "network_mode",
    "host",
    "port",
    "username",
    "auth_method",
    "jump_host",
    "labels",
    "notes",
    "expected_cards",
    *PATH_FIELDS,
)
SECRET_FIELDS = ("private_key", "passphrase", "password")


def target_for(node: Node) -> Target:
    """How to reach a node over SSH, with its pinned host key(s)."""
    pinned = HostKey(node.host_key_type, node.host_key) if node.host_key else None
    jump = None
    parsed = validators.jump_host(node.jump_host)
    if parsed:
        user, jhost, jport = parsed
        jkey = HostKey.parse(node.jump_host_key) if node.jump_host_key else None
        jump = Endpoint(jhost, jport, user, jkey)
    return Target(
        key=f"node-{node.pk}",
        endpoint=Endpoint(node.host, node.port, node.username, pinned),
        private_key=str(node.private_key) if node.auth_method == AuthMethod.KEY else "",
        passphrase=str(node.passphrase),
        password=str(node.password) if node.auth_method == AuthMethod.PASSWORD else "",
        jump=jump,
        connect_timeout=settings.FLEET_SSH_CONNECT_TIMEOUT,
        name=node.name,
    )


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    """Values as the audit log may show them: a secret only as '(secret)', never its text."""
    return {k: ("(secret)" if k in SECRET_FIELDS else v) for k, v in values.items()}


def _audit(
    action: NodeChange, actor: Any, node: Node, summary: str, values: dict[str, Any]
) -> None:
    """Report a node change (the booking app's audit log records it); `values` are new values
    or (before, after) pairs."""
    changes = {k: v if isinstance(v, tuple) else (None, v) for k, v in values.items()}
    node_changed.send(
        sender=Node, action=action, actor=actor, node=node, summary=summary, changes=changes
    )


def _require_admin(actor: Any) -> None:
    if actor is not None and not actor.is_superuser:
        raise NotAllowed("only site admins may onboard, edit or delete nodes")


def _clean(values: dict[str, Any], node: Node | None) -> dict[str, Any]:
    """Validated field values; secrets left blank keep their stored value."""
    clean: dict[str, Any] = {}
    if "name" in values or node is None:
        clean["name"] = validators.node_name(str(values.get("name", "")))
    for name in PLAIN_FIELDS:
        if name in values and values[name] is not None:
            clean[name] = values[name]
    if "host" in clean or node is None:
        clean["host"] = validators.host(str(clean.get("host", "")))
    if "port" in clean:
        clean["port"] = validators.port(clean["port"])
    if "username" in clean:
        clean["username"] = validators.username(str(clean["username"]))
    if "labels" in clean:
        clean["labels"] = validators.labels(clean["labels"])
    if "jump_host" in clean:
        validators.jump_host(str(clean["jump_host"]))
    if "expected_cards" in clean and not 1 <= int(clean["expected_cards"]) <= 64:
        raise Invalid("expected_cards must be from 1 to 64", field="expected_cards")
    if clean.get("network_mode", "host") not in ("host", "bridge"):
        raise Invalid("network_mode must be 'host' or 'bridge'", field="network_mode")
    for name in PATH_FIELDS:
        if name in clean:
            clean[name] = validators.abs_path(str(clean[name]), name)
    method = clean.get("auth_method", node.auth_method if node else AuthMethod.KEY)
    if method not in AuthMethod.values:
        raise Invalid(
            f"auth_method must be one of {', '.join(AuthMethod.values)}", field="auth_method"
        )
    for name in SECRET_FIELDS:
        if values.get(name):
            clean[name] = str(values[name])
    key = clean.get("private_key", node.private_key if node else "")
    if method == AuthMethod.KEY:
        if not key:
            raise Invalid(
                "private_key is required with key authentication: paste or upload it",
                field="private_key",
            )
        try:
            load_private_key(
                str(key), str(clean.get("passphrase", node.passphrase if node else ""))
            )
        except ValueError as exc:
            field_name = "passphrase" if "passphrase" in str(exc) else "private_key"
            raise Invalid(f"{field_name}: {exc}", field=field_name) from None
    elif not clean.get("password", node.password if node else ""):
        raise Invalid("password is required with password authentication", field="password")
    return clean


def validate_node_values(values: dict[str, Any]) -> dict[str, Any]:
    """Check a new node's values without saving; raises Invalid naming the field."""
    return _clean(values, None)


def register_node(*, actor: Any, values: dict[str, Any], scan: bool = True) -> Node:
    """Create a node (admins only) and read the host key it offers, for an admin to accept."""
    _require_admin(actor)
    clean = _clean(values, None)
    try:
        with transaction.atomic():
            node = Node.objects.create(**clean)
            _audit(NodeChange.ADD, actor, node, f"Node {node.name} registered", _shown(clean))
    except IntegrityError:
        raise Conflict(f"a node named {clean['name']!r} exists already", field="name") from None
    log.info("node %s registered by %s", node.name, actor)
    if scan:
        scan_host_key(node)
    return node


def update_node(node: Node, *, actor: Any, values: dict[str, Any]) -> Node:
    """Change a node's settings; a new address or bastion means its key must be accepted again."""
    _require_admin(actor)
    clean = _clean(values, node)
    moved = any(k in clean and clean[k] != getattr(node, k) for k in ("host", "port", "jump_host"))
    with transaction.atomic():
        locked = Node.objects.select_for_update().get(pk=node.pk)
        changes = {k: (_shown({k: getattr(locked, k)})[k], v) for k, v in _shown(clean).items()}
        changes = {
            k: pair for k, pair in changes.items() if k in SECRET_FIELDS or pair[0] != pair[1]
        }
        for name, value in clean.items():
            setattr(locked, name, value)
        if moved:
            _forget_keys(locked)
        try:
            locked.save()
        except IntegrityError:
            raise Conflict(
                f"a node named {clean.get('name')!r} exists already", field="name"
            ) from None
        _audit(NodeChange.EDIT, actor, locked, f"Node {locked.name} edited", changes)
    pool.close(f"node-{node.pk}")
    if moved:
        scan_host_key(locked)
    return locked


def _forget_keys(node: Node) -> None:
    node.host_key = node.host_key_type = node.host_key_fingerprint = ""
    node.jump_host_key = node.seen_jump_host_key = ""
    node.host_key_status = HostKeyStatus.UNKNOWN
    node.status = NodeStatus.NEW


def delete_node(node: Node, *, actor: Any) -> None:
    """Remove a node and everything recorded about it."""
    _require_admin(actor)
    key = f"node-{node.pk}"
    with transaction.atomic():
        _audit(NodeChange.DELETE, actor, node, f"Node {node.name} ({node.host}) deleted", {})
        node.delete()
    pool.close(key)


def scan_host_key(node: Node) -> Node:
    """Record the key the node offers now (not trusting it); errors land on the node."""
    target = target_for(node)
    jump_target = None
    try:
        if target.jump is not None:
            offered = fetch_host_key(target.jump, settings.FLEET_SSH_CONNECT_TIMEOUT)
            offered_text = f"{offered.key_type} {offered.base64}"
            pinned = node.jump_host_key
            if pinned and HostKey.parse(pinned).base64 != offered.base64:
                raise RemoteError(
                    ErrorKind.HOST_KEY_CHANGED,
                    f"the bastion {node.jump_host} offered {offered.fingerprint}, not the accepted "
                    f"{HostKey.parse(pinned).fingerprint}; connection refused",
                    permanent=True,
                    fingerprint=offered.fingerprint,
                )
            # Until an admin accepts it, the bastion's key is only used to read the node's key.
            node.seen_jump_host_key = "" if pinned else offered_text
            jump_target = Target(
                key=f"node-{node.pk}-jump-scan",
                endpoint=Endpoint(
                    target.jump.host,
                    target.jump.port,
                    target.jump.username,
                    HostKey.parse(pinned or offered_text),
                ),
                private_key=target.private_key,
                passphrase=target.passphrase,
                password=target.password,
                connect_timeout=target.connect_timeout,
            )
        key = fetch_host_key(target.endpoint, settings.FLEET_SSH_CONNECT_TIMEOUT, jump_target)
    except RemoteError as exc:
        Node.objects.filter(pk=node.pk).update(last_error=str(exc), last_error_kind=exc.kind.value)
        node.last_error, node.last_error_kind = str(exc), exc.kind.value
        return node
    finally:
        if jump_target is not None:
            pool.close(jump_target.key)
    updates: dict[str, Any] = {
        "seen_host_key_type": key.key_type,
        "seen_host_key": key.base64,
        "seen_host_key_fingerprint": key.fingerprint,
        "seen_jump_host_key": node.seen_jump_host_key,
    }
    if node.host_key_status != HostKeyStatus.ACCEPTED:
        updates["host_key_status"] = HostKeyStatus.PENDING
        updates["last_error"] = ""
        updates["last_error_kind"] = ""
    Node.objects.filter(pk=node.pk).update(**updates)
    for name, value in updates.items():
        setattr(node, name, value)
    return node


def accept_host_key(
    node: Node, *, actor: Any, fingerprint: str, jump_fingerprint: str = ""
) -> Node:
    """Pin the key(s) the admin reviewed; refuses if a different one is offered now.

    A node behind a bastion whose key is not accepted yet needs both fingerprints.
    """
    _require_admin(actor)
    with transaction.atomic():
        locked = Node.objects.select_for_update().get(pk=node.pk)
        if locked.seen_jump_host_key:
            seen_jump = locked.seen_jump_host_key_fingerprint
            if jump_fingerprint.strip() != seen_jump:
                raise Conflict(
                    f"the bastion {locked.jump_host} offers {seen_jump}, not "
                    f"{jump_fingerprint.strip()!r}: review the bastion's fingerprint and accept "
                    "it together with the node's",
                    field="jump_fingerprint",
                )
            locked.jump_host_key = locked.seen_jump_host_key
            locked.seen_jump_host_key = ""
        if not locked.seen_host_key:
            raise Invalid(
                "no host key has been read from this node yet: scan it first", field="fingerprint"
            )
        seen = HostKey(locked.seen_host_key_type, locked.seen_host_key).fingerprint
        if fingerprint.strip() != seen:
            raise Conflict(
                f"the node offers {seen}, not {fingerprint.strip()!r}: "
                "review the fingerprint shown and accept that one",
                field="fingerprint",
            )
        changes = {"host_key_fingerprint": (locked.host_key_fingerprint or None, seen)}
        _audit(NodeChange.KEY_ACCEPT, actor, locked, f"Host key of {locked.name} accepted", changes)
        locked.host_key_type = locked.seen_host_key_type
        locked.host_key = locked.seen_host_key
        locked.host_key_fingerprint = seen
        locked.host_key_status = HostKeyStatus.ACCEPTED
        if locked.status in (NodeStatus.NEW, NodeStatus.HOST_KEY_CHANGED):
            locked.status = NodeStatus.NEW
            locked.last_error = ""
            locked.last_error_kind = ""
            locked.consecutive_failures = 0
        locked.save()
    pool.close(f"node-{node.pk}")
    log.info(
        "host key %s of node %s accepted by %s", locked.host_key_fingerprint, locked.name, actor
    )
    return locked
