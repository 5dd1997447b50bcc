"""Refusals and warnings about held cards name another team's containers and pids only to those
who may see that team's work: deploy's "cards are held" 409, booking's "card is held" 409 and
the booking page's "not started by the dashboard" line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fleet.booking.errors import CardsUnavailable
from fleet.booking.models import Booking
from fleet.booking.services.bookings import book_cards
from fleet.errors import Conflict
from jobs.services import deployments
from tests.api import test_team_leaks as leaks

held_node = leaks.held_node  # fixtures shared with the permission matrix
speech_member = leaks.speech_member
make_deployment = leaks.make_deployment

pytestmark = pytest.mark.django_db


def refusal(fn) -> str:
    with pytest.raises((Conflict, CardsUnavailable)) as err:
        fn()
    return err.value.message


def test_deploy_names_another_teams_container_only_to_who_may_see_it(
    held_node, member_user, admin_user
):
    # card 1 is vision's, but speech's container was left on it
    member = refusal(lambda: deployments._check_free(held_node, [1], member_user))
    assert "held by another team's deployment" in member
    assert "left-behind" not in member and "9999" not in member
    admin = refusal(lambda: deployments._check_free(held_node, [1], admin_user))
    assert "left-behind" in admin
    # a container nobody's booking started: a process outside the dashboard
    member = refusal(lambda: deployments._check_free(held_node, [5], member_user))
    assert "held by a process outside the dashboard" in member
    assert "squatter-x" not in member and "7171" not in member
    # the member's own container is named to them
    own = refusal(lambda: deployments._check_free(held_node, [0], member_user))
    assert "npufleet-deploy-ours" in own


def test_deploy_names_another_teams_deployment_only_to_who_may_see_it(
    held_node, member_user, speech_member, other_team
):
    theirs = make_deployment(other_team, held_node, "sp-serve-x", cards=(6,))
    member = refusal(lambda: deployments._check_free(held_node, [6], member_user))
    assert "held by another team's deployment" in member
    assert "sp-serve-x" not in member and f"deployment {theirs.pk}" not in member
    speech = refusal(lambda: deployments._check_free(held_node, [6], speech_member))
    assert f"deployment {theirs.pk} (sp-serve-x" in speech


def test_booking_a_held_card_does_not_name_another_teams_pid(
    held_node, member_user, admin_user, team, speech_member, other_team
):
    Booking.objects.all().delete()  # only the holders stay: who may book is not the question
    now = timezone.now()

    def book(user, team, devices):
        return lambda: book_cards(
            user,
            team=team,
            node=held_node,
            start=now,
            end=now + timedelta(hours=1),
            purpose="x",
            devices=devices,
        )

    member = refusal(book(member_user, team, [5]))
    assert "card 5 is held by a process outside the dashboard" in member
    assert "squatter-x" not in member and "7171" not in member
    admin = refusal(book(admin_user, team, [5]))
    assert "pid 7171" in admin and "container squatter-x" in admin
    member = refusal(book(member_user, team, [3]))
    assert "card 3 is held by a process outside the dashboard" in member
    assert "6161" not in member


def test_booking_page_names_another_teams_container_on_our_card_only_to_admins(
    client, held_node, member_user, admin_user
):
    card = held_node.cards.get(device=0)  # a process outside the dashboard on vision's card
    card.processes = [*card.processes, {"pid": 3131, "name": "top", "managed": False}]
    card.save()
    client.force_login(member_user)
    page = client.get(reverse("booking-mine")).content.decode()
    assert 'data-testid="strangers"' in page
    assert "pid 3131 on davinci0" in page  # on the team's own card now: named
    assert "another team&#x27;s dashboard container on davinci1" in page
    assert "left-behind" not in page and "9999" not in page
    client.force_login(admin_user)
    page = client.get(reverse("booking-mine")).content.decode()
    assert "container left-behind on davinci1" in page
