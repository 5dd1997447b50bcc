"""Fleet pages: overview, node page, onboarding with host-key review, edit, delete, probe."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from fleet.choices import HostKeyStatus, NodeStatus
from fleet.dispatch import PROBE_NODE, enqueue
from fleet.errors import DomainError, NotAllowed
from fleet.holders import label_cards, redact_cards
from fleet.models import Node
from fleet.pages.forms import AcceptHostKeyForm, NodeForm
from fleet.pages.panels import delete_panels
from fleet.remote import HostKey
from fleet.services import nodes, probing, samples
from fleet.streams import node_summary

View = Callable[..., HttpResponse]


def admin_required(view: View) -> View:
    """Signed-in site admins only; everyone else gets 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_superuser:
            raise PermissionDenied("only site admins may change nodes")
        try:
            return view(request, *args, **kwargs)
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None

    return wrapper


def _nodes(request: HttpRequest) -> QuerySet[Node]:
    return Node.objects.visible_to(request.user).prefetch_related("cards")


def _dash(value: object, unit: str = "") -> str:
    return "—" if value in (None, "") else f"{value}{unit}"


def hbm_pct(used: int | None, total: int | None) -> int:
    """HBM use in percent (0 to 100), 0 when unknown."""
    return min(100, round(100 * used / total)) if used is not None and total else 0


def card_title(card: dict[str, Any]) -> str:
    """The tooltip of a card square."""
    parts = [
        f"davinci{card['device']}",
        card["health"],
        f"HBM {_dash(card['hbm_used_mb'])} / {_dash(card['hbm_total_mb'])} MB",
        f"AICore {_dash(card['aicore_pct'], '%')}",
        _dash(card["temp_c"], " °C"),
        _dash(card["power_w"], " W"),
    ]
    if card["used"]:
        parts.append("in use")
    if card["cordoned"]:
        parts.append("cordoned")
    return " · ".join(parts)


def tile(node: Node) -> dict[str, Any]:
    """What a tile shows: the websocket's node summary plus the bits derived for display."""
    summary = node_summary(node, list(node.cards.all()))
    summary["last_error_kind"] = node.last_error_kind
    for card in summary["cards"]:
        card["hbm_pct"] = hbm_pct(card["hbm_used_mb"], card["hbm_total_mb"])
        card["title"] = card_title(card)
    return summary


def fact_rows(node: Node) -> list[tuple[str, str]]:
    """The node's facts from its last full probe, as label/value pairs."""
    f = node.facts
    mem_total, mem_free = f.get("mem_total_mb"), f.get("mem_available_mb")
    memory = (
        f"{(mem_free or 0) / 1024:.0f} GB free of {mem_total / 1024:.0f} GB" if mem_total else ""
    )
    disk = f.get("disk_free_gb")
    docker = f.get("docker_version") or ("installed" if f.get("docker_installed") else "")
    if "docker_installed" in f and not f["docker_installed"]:
        docker = "not installed"
    model = f" ({f['cpu_model']})" if f.get("cpu_model") else ""
    cpus = f"{f['cpus']}{model}" if f.get("cpus") else ""
    rows = [
        ("OS", f.get("os")),
        ("Architecture", f.get("arch")),
        ("Kernel", f.get("kernel")),
        ("CPUs", cpus),
        ("Memory", memory),
        ("Disk free", f"{disk} GB on {f.get('disk_mount', '?')}" if disk is not None else ""),
        ("Docker", docker),
        ("Driver", f.get("driver_version") or f.get("npu_driver_version")),
        ("Firmware", f.get("firmware_version")),
        ("npu-smi", f.get("npu_smi_version")),
        ("ip_forward", f.get("ip_forward")),
    ]
    return [(label, _dash(value)) for label, value in rows]


def _tiles(request: HttpRequest, nodes: list[Node]) -> list[dict[str, Any]]:
    """The tiles of these nodes as the requesting user may see who holds each card."""
    tiles = [tile(node) for node in nodes]
    label_cards(request.user, nodes, tiles, [c for n in nodes for c in n.cards.all()])
    return tiles


MAX_LIVE_TILES = 500


@login_required
def node_tiles(request: HttpRequest) -> HttpResponse:
    """The tiles of the nodes named by `id` (repeatable) that the user may see, rendered with
    the overview's own template; the overview's websocket pushes them, rendered by this view for
    its user (fleet.fragments), when probes of those nodes land."""
    ids = {int(v) for v in request.GET.getlist("id") if v.isdigit()}
    if not ids or len(ids) > MAX_LIVE_TILES:
        return HttpResponse(f"id: name 1 to {MAX_LIVE_TILES} node ids, e.g. ?id=1&id=2", status=400)
    nodes = list(_nodes(request).filter(pk__in=ids).order_by("name"))
    return render(request, "fleet/_tiles.html", {"tiles": _tiles(request, nodes)})


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Every node as a tile with its card grid; fleet.js filters and keeps them live."""
    tiles = _tiles(request, list(_nodes(request)))
    context = {
        "tiles": tiles,
        "statuses": NodeStatus.choices,
        "chips": sorted({t["chip_name"] for t in tiles if t["chip_name"]}),
        "labels": sorted({label for t in tiles for label in t["labels"]}),
        "selected": {k: request.GET.get(k, "") for k in ("status", "chip", "label")},
    }
    return render(request, "frontend/home.html", context)


def _node_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    """What the node page and its live fragments show, as the requesting user may see it."""
    node = get_object_or_404(_nodes(request), pk=pk)
    summary = tile(node)
    cards = redact_cards(request.user, node.cards.all())  # other teams' holders: only "busy"
    label_cards(request.user, [node], [summary], cards)  # booking team, dashboard or foreign
    for card, live in zip(cards, summary["cards"], strict=True):
        card.hbm_pct = live["hbm_pct"]
    return {
        "node": node,
        "tile": summary,
        "cards": cards,
        "facts": fact_rows(node),
        "ranges": list(samples.RANGES),
        "key_changed": _key_changed(node),
    }


@login_required
def node_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Facts, preflight, cards with processes and containers, and card charts."""
    return render(request, "fleet/node_detail.html", _node_context(request, pk))


@login_required
def node_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The node page's live parts (status, banners, facts, cards, preflight, card table),
    rendered with the page's own templates for the requesting user: their teams' holders in
    full, others' as busy, times in their zone. The node page's websocket pushes it, rendered by
    this view for its user (fleet.fragments), when a probe lands."""
    return render(request, "fleet/_node_live.html", _node_context(request, pk))


def _form_error(form: NodeForm, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@admin_required
def node_create(request: HttpRequest) -> HttpResponse:
    """Step 1 of onboarding: connection settings; the node's host key is read on save."""
    form = NodeForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            node = nodes.register_node(actor=request.user, values=form.values())
        except DomainError as exc:
            _form_error(form, exc)
        else:
            return redirect("node-host-key", pk=node.pk)
    return _form_page(request, form, None)


def _form_page(request: HttpRequest, form: NodeForm, node: Node | None) -> HttpResponse:
    """The node form; after a failed submit it holds the admin's own secrets: never cached."""
    if form.is_bound:
        form.keep_uploaded_key()
    status = 400 if form.is_bound else 200
    response = render(request, "fleet/node_form.html", {"form": form, "node": node}, status=status)
    if form.is_bound:
        add_never_cache_headers(response)
    return response


@admin_required
def node_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a node; secrets left blank are kept; a new address needs its key accepted again."""
    node = get_object_or_404(Node, pk=pk)
    form = NodeForm(request.POST or None, request.FILES or None, node=node)
    if request.method == "POST" and form.is_valid():
        try:
            node = nodes.update_node(node, actor=request.user, values=form.values())
        except DomainError as exc:
            _form_error(form, exc)
        else:
            if node.host_key_status != HostKeyStatus.ACCEPTED:
                return redirect("node-host-key", pk=node.pk)
            messages.success(request, f"{node.name} saved.")
            return redirect("node-detail", pk=node.pk)
    return _form_page(request, form, node)


@admin_required
def node_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then remove the node and everything recorded about it."""
    node = get_object_or_404(Node, pk=pk)
    if request.method == "POST":
        nodes.delete_node(node, actor=request.user)
        messages.success(request, f"{node.name} deleted.")
        return redirect("home")
    # What is live on the node (bookings, deployments): panels of the apps that own them.
    context = {"node": node, "panels": delete_panels(request, node)}
    return render(request, "fleet/node_confirm_delete.html", context)


def _key_changed(node: Node) -> bool:
    return (
        node.host_key_status == HostKeyStatus.CHANGED or node.status == NodeStatus.HOST_KEY_CHANGED
    )


def _offered_key_complete(node: Node) -> bool:
    """The last offered key was read in full (a key change seen by a probe records only its
    fingerprint, so the node must be scanned before that key can be accepted)."""
    if not node.seen_host_key or not node.seen_host_key_fingerprint:
        return False
    key = HostKey(node.seen_host_key_type, node.seen_host_key)
    return key.fingerprint == node.seen_host_key_fingerprint


def _host_key_page(
    request: HttpRequest, node: Node, form: AcceptHostKeyForm | None = None
) -> HttpResponse:
    context = {
        "node": node,
        "key_changed": _key_changed(node),
        "awaiting": node.host_key_status != HostKeyStatus.ACCEPTED and _offered_key_complete(node),
        "form": form or AcceptHostKeyForm(),
    }
    return render(request, "fleet/host_key.html", context, status=400 if form else 200)


@admin_required
def node_host_key(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 2 of onboarding (and the review of a changed key): the offered key to accept."""
    return _host_key_page(request, get_object_or_404(Node, pk=pk))


@require_POST
@admin_required
def node_accept_key(request: HttpRequest, pk: int) -> HttpResponse:
    """Pin the reviewed key, then probe at once so the node page opens populated."""
    node = get_object_or_404(Node, pk=pk)
    form = AcceptHostKeyForm(request.POST)
    if form.is_valid():
        try:
            node = nodes.accept_host_key(
                node,
                actor=request.user,
                fingerprint=form.cleaned_data["fingerprint"],
                jump_fingerprint=form.cleaned_data["jump_fingerprint"],
            )
        except DomainError as exc:
            form.add_error("fingerprint", exc.message)
        else:
            probing.probe_node(node.pk, full=True)
            messages.success(request, f"Host key of {node.name} accepted; node probed.")
            return redirect("node-detail", pk=node.pk)
    return _host_key_page(request, node, form)


@require_POST
@admin_required
def node_scan_key(request: HttpRequest, pk: int) -> HttpResponse:
    """Read the key the node offers now again (nothing is trusted)."""
    nodes.scan_host_key(get_object_or_404(Node, pk=pk))
    return redirect("node-host-key", pk=pk)


@require_POST
@admin_required
def node_probe(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a full probe; the page updates over the websocket when it lands.

    The node page posts it with `X-Live-Submit` and stays (202 with the text to show);
    without JavaScript the form lands back on the page with the same message.
    """
    node = get_object_or_404(Node, pk=pk)
    enqueue(PROBE_NODE, node.pk, True)
    text = f"Probe of {node.name} queued; the page updates when it lands."
    if request.headers.get("X-Live-Submit"):
        return HttpResponse(text, status=202, content_type="text/plain; charset=utf-8")
    messages.info(request, text)
    return redirect("node-detail", pk=node.pk)
