"""Who has this card: tiles and the card table show the booking team (or "busy"), tell the
dashboard's containers from processes outside it, explain both in a legend, and show a silent
node's error on hover."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from fleet.choices import NodeStatus
from fleet.models import Node
from tests.api import test_team_leaks as leaks

held_node = leaks.held_node  # 0-1 booked by Vision, 2-3 by Speech, 5 held by a squatter
speech_member = leaks.speech_member

pytestmark = pytest.mark.django_db


def squares(page: str) -> dict[int, str]:
    """Each card square of the page by device (the tile or the node page's grid)."""
    found = re.findall(r'(<div class="npu [^"]*" data-device="(\d+)".*?</div>)', page)
    return {int(device): html.unescape(square) for square, device in found}


def rows(page: str) -> dict[int, str]:
    found = re.findall(r'(<tr data-device="(\d+)".*?</tr>)', page, re.S)
    return {int(device): html.unescape(row) for row, device in found}


def test_tiles_show_the_booking_team_and_tell_dashboard_containers_from_foreign_processes(
    client, held_node, member_user
):
    client.force_login(member_user)
    page = client.get(reverse("home")).content.decode()
    cards = squares(page)
    assert 'data-testid="npu-team">Vision<' in cards[0] and " mine" in cards[0]
    assert 'data-testid="npu-team">Speech<' in cards[2] and " mine" not in cards[2]
    assert "npu-team" not in cards[5] and "npu-team" not in cards[4]  # nobody booked them
    assert 'data-testid="dashboard-mark"' in cards[0] and "foreign-mark" not in cards[0]
    assert 'data-testid="foreign-mark"' in cards[5] and " foreign" in cards[5]
    assert 'data-testid="foreign-mark"' in cards[3]  # a bare process on Speech's card
    assert "dashboard-mark" not in cards[4] and "foreign-mark" not in cards[4]
    assert "booked by team Vision · dashboard container" in cards[0]
    assert "process outside the dashboard" in cards[5]
    legend = page.split('data-testid="legend-holders"')[1].split("</span>\n")[0]
    assert "the team that booked it" in legend and "busy" in legend
    assert "◆" in legend and "outside the dashboard" in legend


def test_someone_in_no_team_sees_booked_cards_only_as_busy(client, held_node, outsider_user):
    client.force_login(outsider_user)
    page = client.get(reverse("home")).content.decode()
    cards = squares(page)
    assert 'data-testid="npu-team">busy<' in cards[0]
    assert 'data-testid="npu-team">busy<' in cards[2]
    assert "booked by another team" in cards[2]
    assert "Vision" not in page and "Speech" not in page
    table = rows(client.get(reverse("node-detail", args=[held_node.pk])).content.decode())
    assert 'data-testid="holder-team">busy<' in table[2]


def test_the_card_table_shows_who_booked_each_card_with_a_legend(client, held_node, speech_member):
    client.force_login(speech_member)
    page = client.get(reverse("node-detail", args=[held_node.pk])).content.decode()
    table = rows(page)
    assert 'data-testid="holder-team">Speech<' in table[2]
    assert 'class="mine"' in table[2] and 'class="mine"' not in table[0]
    assert 'data-testid="holder-team">Vision<' in table[0]
    assert "holder-team" not in table[5].split('data-f="holder">')[1].split("</td>")[0]
    assert "foreign-mark" in table[5] and "◆" not in table[5].split('data-f="holder"')[1][:200]
    assert "◆" in table[2].split('data-f="holder"')[1].split("</td>")[0]
    assert 'data-testid="card-table-legend"' in page
    # another team's holders stay busy, but say whether the dashboard started them
    assert 'busy · team Vision · 3000 MB <span class="muted">(dashboard)</span>' in table[0]
    assert "4242" not in table[0]
    # the node page's grid labels squares too
    assert 'data-testid="npu-team">Speech<' in squares(page)[2]


def test_a_silent_nodes_cards_show_its_error_on_hover(client, held_node, member_user):
    Node.objects.filter(pk=held_node.pk).update(
        status=NodeStatus.UNREACHABLE, last_error="unreachable: [Errno 111] Connection refused"
    )
    client.force_login(member_user)
    overview = client.get(reverse("home")).content.decode()
    badge = 'data-f="status" title="unreachable: [Errno 111] Connection refused">Unreachable<'
    assert badge in overview  # the tile's status says why on hover too
    tile = squares(overview)[4]
    assert "npu h-Unknown" in tile
    assert "node node-a does not answer (unreachable: [Errno 111] Connection refused)" in tile
    page = client.get(reverse("node-detail", args=[held_node.pk])).content.decode()
    assert "Connection refused" in squares(page)[4]
    health = rows(page)[4].split('data-f="health"')[1].split(">")[0]
    assert "the node does not answer: unreachable: [Errno 111] Connection refused" in health
