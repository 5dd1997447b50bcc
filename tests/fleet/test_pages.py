"""Fleet overview and node page with Django's test client: what everyone signed in reads."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.html import parse_html
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fleet.choices import HostKeyStatus, NodeStatus
from fleet.models import Card, Node
from tests.conftest import PASSWORD
from tests.frontend.conftest import attr, classes, elements, make_node, public_host_key, walk

pytestmark = pytest.mark.django_db


# Overview ---------------------------------------------------------------------------------


def test_overview_shows_every_node_with_card_squares_coloured_by_health(as_member):
    make_node("node-a", healths=("OK", "OK", "Warning", "OK"))
    make_node("node-b", chip="910B4", healths=("Critical", "Alarm"), labels=["region=gy1"])

    response = as_member.get(reverse("home"))

    assert response.status_code == 200
    tiles = {attr(t, "data-node-id"): t for t in elements(response, "tile")}
    assert len(tiles) == 2
    squares = elements(response, "npu")
    by_node = [(attr(s, "data-device"), classes(s)) for s in squares]
    assert by_node == [
        ("0", {"npu", "h-OK"}),
        ("1", {"npu", "h-OK"}),
        ("2", {"npu", "h-Warning"}),
        ("3", {"npu", "h-OK"}),
        ("0", {"npu", "h-Critical"}),
        ("1", {"npu", "h-Alarm"}),
    ]
    assert attr(squares[2], "title") == (
        "davinci2 · Warning · HBM 32768 / 65536 MB · AICore 20% · 42 °C · 90.5 W"
    )
    bars = elements(response, "hbm")
    assert attr(bars[2], "data-width") == "50"  # app.js sets the width (no inline style)
    tile_b = next(t for t in elements(response, "tile") if "node-b" in str(t))
    assert attr(tile_b, "data-chip") == "910B4"
    assert attr(tile_b, "data-labels") == "region=gy1"


def test_overview_marks_cordoned_cards_and_shows_which_side_failed(as_member):
    node = make_node(
        "node-a",
        healths=("OK", "OK"),
        status=NodeStatus.UNREACHABLE,
        last_error="unreachable: 192.0.2.10:22 did not answer within 15 s",
    )
    Card.objects.filter(node=node, device=1).update(cordoned=True)

    response = as_member.get(reverse("home"))

    squares = elements(response, "npu")
    # the node does not answer: its cards' last "OK" is stale, so they show grey (Unknown)
    assert classes(squares[1]) == {"npu", "h-Unknown", "cordoned"}
    assert attr(squares[1], "title").startswith("davinci1 · Unknown")
    assert "· cordoned ·" in attr(squares[1], "title")
    # and the node's error on hover
    assert attr(squares[1], "title").endswith(
        "· state unknown: node node-a does not answer "
        "(unreachable: 192.0.2.10:22 did not answer within 15 s)"
    )
    error = elements(response, "tile-error")[0]
    assert "unreachable: 192.0.2.10:22 did not answer" in str(error)
    assert [classes(b) for b in elements(response, "badge")] == [{"badge", "unreachable"}]


def test_overview_query_count_does_not_grow_with_nodes(as_member):
    make_node("node-0", healths=("OK",) * 8)
    with CaptureQueriesContext(connection) as one:
        as_member.get(reverse("home"))
    for index in range(1, 6):
        make_node(f"node-{index}", healths=("OK",) * 8)
    with CaptureQueriesContext(connection) as six:
        response = as_member.get(reverse("home"))
    assert len(elements(response, "npu")) == 48
    assert len(six.captured_queries) <= len(one.captured_queries)


def test_overview_preselects_the_filters_of_the_query_string(as_member):
    make_node("node-a", chip="910B4", healths=("OK",), labels=["team=vision"])

    response = as_member.get(reverse("home"), {"status": "degraded", "chip": "910B4"})

    html = response.content.decode()
    assert '<option value="degraded" selected>' in html
    assert '<option value="910B4" selected>' in html
    assert '<option value="team=vision">' in html
    assert "app/fleet.js" in html


def test_overview_offers_onboarding_to_admins_only(client, admin_user, member_user):
    client.force_login(member_user)
    assert reverse("node-create") not in client.get(reverse("home")).content.decode()
    client.force_login(admin_user)
    assert reverse("node-create") in client.get(reverse("home")).content.decode()


def test_pages_send_anonymous_users_to_login(client):
    node = make_node("node-a")
    for url in (reverse("home"), reverse("node-detail", args=[node.pk]), reverse("node-create")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# Node page --------------------------------------------------------------------------------


def test_node_page_shows_facts_preflight_fixes_and_card_table(as_member):
    node = make_node(
        "node-a",
        healths=("OK", "Warning"),
        facts={
            "os": "EulerOS 2.0 (SP10)",
            "arch": "aarch64",
            "kernel": "4.19.90",
            "cpus": 192,
            "mem_total_mb": 1572864,
            "mem_available_mb": 1048576,
            "disk_free_gb": 812.5,
            "disk_mount": "/",
            "docker_installed": True,
            "docker_version": "18.09.0",
            "driver_version": "23.0.6",
            "firmware_version": "7.1.0.5.220",
            "npu_smi_version": "23.0.6",
            "ip_forward": 0,
        },
        probe_ms=842,
        last_probe_at=timezone.now(),
        preflight=[
            {"name": "driver", "status": "pass", "message": "driver 23.0.6", "fix": ""},
            {
                "name": "ip_forward",
                "status": "fail",
                "message": "net.ipv4.ip_forward is 0",
                "fix": "sysctl -w net.ipv4.ip_forward=1",
            },
        ],
    )

    response = as_member.get(reverse("node-detail", args=[node.pk]))

    assert response.status_code == 200
    facts = str(elements(response, "facts")[0])
    for text in ("EulerOS 2.0 (SP10)", "aarch64", "192", "1024 GB free of 1536 GB", "812.5 GB"):
        assert text in facts
    for text in ("18.09.0", "7.1.0.5.220", "842 ms"):
        assert text in facts
    checks = elements(response, "check")
    assert [attr(c, "data-check") for c in checks] == ["driver", "ip_forward"]
    assert "<pre" not in str(checks[0])
    assert "sysctl -w net.ipv4.ip_forward=1" in str(checks[1])
    assert 'data-copy="fix-2"' in str(checks[1])
    health = [b for b in elements(response, "badge") if attr(b, "data-f") == "health"]
    assert [(classes(b), b.children) for b in health] == [
        ({"badge", "OK"}, ["OK"]),
        ({"badge", "Warning"}, ["Warning"]),
    ]
    assert "16384 / 65536 MB (25%)" in response.content.decode()


def test_node_page_shows_processes_with_their_containers(as_member, member_user, team):
    from datetime import timedelta

    from fleet.booking.services.bookings import book_cards

    node = make_node("node-a", healths=("OK", "OK"))
    # The member's team holds the card now, so what runs on it is theirs to see in full.
    now = timezone.now()
    book_cards(
        member_user,
        team=team,
        node=node,
        start=now,
        end=now + timedelta(hours=2),
        purpose="x",
        devices=[0],
    )
    Card.objects.filter(node=node, device=0).update(
        processes=[
            {"pid": 4242, "name": "python3", "memory_mb": 3072, "container": "vllm-qwen"},
            {"pid": 777, "name": "train.py", "memory_mb": 1024, "container": ""},
        ],
        containers=[{"id": "abc123", "name": "vllm-qwen", "managed": True}],
    )

    response = as_member.get(reverse("node-detail", args=[node.pk]))

    procs = [str(p) for p in elements(response, "proc")]
    assert len(procs) == 2
    assert "4242" in procs[0]
    assert "python3" in procs[0]
    assert "vllm-qwen" in procs[0]
    assert "777" in procs[1]
    assert "outside any container" in procs[1]
    assert "outside any container" not in procs[0]


def test_node_page_wires_the_card_charts_to_the_series_api(as_member):
    node = make_node("node-a", healths=("OK", "OK"))
    cards = list(node.cards.order_by("device"))

    response = as_member.get(reverse("node-detail", args=[node.pk]))

    html = response.content.decode()
    for card in cards:
        assert f'data-url="{reverse("card-series", args=[card.pk])}"' in html
    assert [attr(b, "data-range") for b in walk(parse_html(html)) if attr(b, "data-range")] == [
        "1h",
        "24h",
        "7d",
    ]
    for metric in ("hbm_used_mb", "aicore_pct", "temp_c", "power_w"):
        assert f'data-metric="{metric}"' in html
    assert "vendor/chart.umd.js" in html
    assert "vendor/chartjs-adapter-date-fns.bundle.min.js" in html


def test_node_with_changed_key_shows_old_and_new_fingerprints(client, admin_user):
    old, new = public_host_key(), public_host_key()
    node = make_node(
        "node-a",
        status=NodeStatus.HOST_KEY_CHANGED,
        host_key_type=old.key_type,
        host_key=old.base64,
        host_key_fingerprint=old.fingerprint,
        seen_host_key_fingerprint=new.fingerprint,
    )
    Node.objects.filter(pk=node.pk).update(host_key_status=HostKeyStatus.CHANGED)
    client.force_login(admin_user)

    response = client.get(reverse("node-detail", args=[node.pk]))

    banner = str(elements(response, "banner")[0])
    assert "Host key changed" in banner
    assert old.fingerprint in banner
    assert new.fingerprint in banner
    assert reverse("node-host-key", args=[node.pk]) in banner
    review = client.get(reverse("node-host-key", args=[node.pk])).content.decode()
    assert "Scan again" in review
    assert "Accept this key" not in review  # only the fingerprint is known: scan first


def test_members_read_the_node_page_without_admin_actions(as_member):
    node = make_node("node-a", healths=("OK",))
    html = as_member.get(reverse("node-detail", args=[node.pk])).content.decode()
    assert "node-a" in html
    for route in ("node-edit", "node-delete", "node-probe"):
        assert reverse(route, args=[node.pk]) not in html


def test_member_can_log_in_with_password_and_see_the_overview(client, member_user):
    make_node("node-a", healths=("OK",))
    signed_in = client.post(
        reverse("login"), {"username": member_user.username, "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    assert len(elements(client.get(reverse("home")), "tile")) == 1
