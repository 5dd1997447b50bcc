"""Probing a node: run the probe over SSH, then record cards, samples, facts, status, preflight."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fleet import preflight, probes
from fleet.choices import CheckStatus, Health, HostKeyStatus, NodeStatus
from fleet.models import Card, CardSample, Node
from fleet.reachability import reachable
from fleet.remote import ErrorKind, RemoteError, pool
from fleet.remote_shell import shells
from fleet.services.nodes import target_for
from fleet.signals import NodeChange, node_changed, probe_recorded
from fleet.streams import batched, broadcast_node

log = logging.getLogger(__name__)


def probe_many(node_ids: list[int], *, workers: int = 32) -> dict[int, str]:
    """Probe several nodes at once on threads; a slow or failing node never holds up the rest."""
    import queue
    import threading

    from django.db import connections

    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for node_id in node_ids:
        todo.put(node_id)
    results: dict[int, str] = {}

    def worker() -> None:
        try:
            while True:
                try:
                    node_id = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    node = probe_node(node_id)
                    results[node_id] = node.status if node else "deleted"
                except Exception as exc:  # one node's bug must not stop the fleet's probe
                    log.exception("probe of node %s failed", node_id)
                    results[node_id] = f"error: {exc}"
        finally:
            connections.close_all()  # this thread's connections only

    threads = [
        threading.Thread(target=worker, daemon=True)
        for _ in range(max(1, min(workers, len(node_ids))))
    ]
    with batched():  # one round of websocket updates for the whole fleet
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return results


def probe_node(node_id: int, *, full: bool | None = None) -> Node | None:
    """Probe one node and record the result; returns None if the node was deleted meanwhile."""
    node = Node.objects.filter(pk=node_id).first()
    if node is None:
        return None
    if node.host_key_status != HostKeyStatus.ACCEPTED:
        return _record_failure(
            node_id,
            RemoteError(
                ErrorKind.HOST_KEY_UNKNOWN,
                "an admin must accept the host key first",
                permanent=True,
            ),
        )
    if full is None:
        count = node.facts.get("probe_count", 0)
        full = not node.facts.get("os") or count % probes.FULL_EVERY == 0
    paths = probes.ProbePaths(node.npu_smi_path, node.driver_dir, node.weights_dir)
    target = target_for(node)
    started = time.monotonic()
    try:
        result = shells.run(
            target,
            probes.build_script(paths, full=full, board_npu=node.facts.get("first_npu_id", 0)),
            timeout=settings.FLEET_SSH_COMMAND_TIMEOUT,
        )
        report = probes.parse_report(
            result.stdout, full=full, device_map=node.facts.get("device_map")
        )
        pids = [p["pid"] for c in report.cards for p in c.processes]
        holders: dict[int, list[dict[str, Any]]] | None = None
        if pids or full:
            extra = pool.run(
                target,
                probes.holders_script(pids),
                timeout=settings.FLEET_SSH_COMMAND_TIMEOUT,
                check=False,
            )
            containers, owners = probes.parse_holders(extra.stdout)
            holders = probes.attribute(report.cards, containers, owners, node.device_dir)
    except RemoteError as exc:
        return _record_failure(node_id, exc)
    elapsed_ms = int((time.monotonic() - started) * 1000)
    return _record_success(node_id, report, holders, elapsed_ms)


def _status_for(checks: list[preflight.Check], cards: list[probes.CardReading], error: str) -> str:
    if error or any(c.health != Health.OK for c in cards):
        return NodeStatus.DEGRADED
    if any(check.status == CheckStatus.FAIL for check in checks):
        return NodeStatus.DEGRADED
    return NodeStatus.ONLINE


@transaction.atomic
def _record_success(
    node_id: int,
    report: probes.ProbeReport,
    holders: dict[int, list[dict[str, Any]]] | None,
    ms: int,
) -> Node | None:
    node = Node.objects.select_for_update().filter(pk=node_id).first()
    if node is None:  # deleted while the probe ran: nothing to record
        return None
    now = timezone.now()
    facts = {**node.facts, **report.facts, "probe_count": node.facts.get("probe_count", 0) + 1}
    was_answering = reachable(node)
    health_before = dict(node.cards.values_list("pk", "health"))
    cards = _save_cards(node, report, holders, now)
    card_dicts = [
        {"device": c.device, "health": c.health, "processes": c.processes} for c in report.cards
    ]
    checks = preflight.run_checks(
        facts,
        card_dicts,
        npu_smi_error=report.npu_smi_error,
        expected_cards=node.expected_cards,
        min_driver=settings.FLEET_MIN_DRIVER_VERSION,
        min_free_disk_gb=settings.FLEET_MIN_FREE_DISK_GB,
    )
    node.facts = facts
    node.preflight = [c.as_dict() for c in checks]
    node.preflight_at = now
    node.status = _status_for(checks, report.cards, report.npu_smi_error)
    node.consecutive_failures = 0
    node.last_error = f"npu-smi: {report.npu_smi_error}" if report.npu_smi_error else ""
    node.last_error_kind = ErrorKind.COMMAND_FAILED.value if report.npu_smi_error else ""
    node.last_probe_at = node.last_seen_at = now
    node.probe_ms = ms
    node.save()
    _tell_teams(node, was_answering, health_before, cards)
    transaction.on_commit(lambda: broadcast_node(node, cards))
    return node


LIVE_FIELDS = (
    "npu_id",
    "chip_id",
    "chip_name",
    "bus_id",
    "health",
    "hbm_used_mb",
    "hbm_total_mb",
    "aicore_pct",
    "temp_c",
    "power_w",
    "processes",
)


def _save_cards(
    node: Node, report: probes.ProbeReport, holders: dict[int, list] | None, now: datetime
) -> list[Card]:
    """Write what changed on each card (one small UPDATE per card) and one sample per card."""
    existing = {c.device: c for c in node.cards.all()}
    seen: set[int] = set()
    for reading in report.cards:
        card = existing.get(reading.device)
        values = {name: getattr(reading, name) for name in LIVE_FIELDS}
        values["present"] = True
        if holders is not None:
            values["containers"] = holders.get(reading.device, [])
        if card is None:
            card = Card.objects.create(node=node, device=reading.device, **values)
            existing[card.device] = card
        else:
            _update(card, values)
        seen.add(reading.device)
    if not report.npu_smi_error:
        for device, card in existing.items():
            if device not in seen and card.present:
                _update(card, {"present": False, "health": Health.UNKNOWN})
    CardSample.objects.bulk_create(
        [
            CardSample(
                card=existing[r.device],
                at=now,
                health=r.health,
                hbm_used_mb=r.hbm_used_mb,
                aicore_pct=r.aicore_pct,
                temp_c=r.temp_c,
                power_w=r.power_w,
            )
            for r in report.cards
        ]
    )
    return sorted(existing.values(), key=lambda c: c.device)


def _update(card: Card, values: dict[str, Any]) -> None:
    changed = {k: v for k, v in values.items() if getattr(card, k) != v}
    if changed:
        for name, value in changed.items():
            setattr(card, name, value)
        Card.objects.filter(pk=card.pk).update(**changed, updated_at=timezone.now())


@transaction.atomic
def _record_failure(node_id: int, exc: RemoteError) -> Node | None:
    node = Node.objects.select_for_update().filter(pk=node_id).first()
    if node is None:
        return None
    was_answering = reachable(node)
    node.consecutive_failures += 1
    node.last_error = str(exc)
    node.last_error_kind = exc.kind.value
    node.last_probe_at = timezone.now()
    if exc.kind == ErrorKind.HOST_KEY_CHANGED:
        if node.status != NodeStatus.HOST_KEY_CHANGED:
            _tell_admins(node, exc)
            _audit_refused(node, exc)
        node.status = NodeStatus.HOST_KEY_CHANGED
        node.host_key_status = HostKeyStatus.CHANGED
        # Only the fingerprint is known here: an admin must scan to review the full key.
        node.seen_host_key_fingerprint = exc.fingerprint
        node.seen_host_key = node.seen_host_key_type = ""
    elif exc.kind == ErrorKind.HOST_KEY_UNKNOWN:
        node.status = NodeStatus.NEW
    elif node.consecutive_failures >= settings.FLEET_UNREACHABLE_AFTER:
        node.status = NodeStatus.UNREACHABLE
    node.save()
    cards = list(node.cards.all())
    _tell_teams(node, was_answering, {}, cards, answered=False)
    transaction.on_commit(lambda: broadcast_node(node, cards))
    return node


def _tell_teams(
    node: Node,
    was_answering: bool,
    health_before: dict[int, str],
    cards: list[Card],
    *,
    answered: bool = True,
) -> None:
    """Report the probe's outcome (the booking app tells the teams of active bookings of a
    health transition); a failing receiver never fails the probe."""
    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the probe's record
            probe_recorded.send(
                sender=Node,
                node=node,
                was_answering=was_answering,
                health_before=health_before,
                cards=cards,
                answered=answered,
            )
    except Exception:
        log.exception("could not notify the teams of node %s", node.name)


def _audit_refused(node: Node, exc: RemoteError) -> None:
    """The connection was refused on a changed host key: an automatic audit entry."""
    changes = {"host_key_fingerprint": (node.host_key_fingerprint, exc.fingerprint)}
    summary = f"Host key of {node.name} changed; connection refused"
    node_changed.send(
        sender=Node,
        action=NodeChange.KEY_REFUSE,
        actor=None,
        node=node,
        summary=summary,
        changes=changes,
    )


def _tell_admins(node: Node, exc: RemoteError) -> None:
    from django.core.mail import mail_admins

    log.error("node %s: %s", node.name, exc)
    mail_admins(f"NPU Fleet: host key of {node.name} changed", str(exc), fail_silently=True)
