"""The node form helps: network mode, an uploaded key kept after an error, and a delete
confirmation that names what still runs on the node."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from fleet.booking.services.bookings import book_cards
from fleet.models import Node
from jobs.choices import DeploymentStatus
from jobs.models import Deployment
from tests.frontend.conftest import (
    attr,
    by_testid,
    form_data,
    make_node,
    openssh_private_key,
    walk,
)
from tests.helpers import tp1_version

pytestmark = pytest.mark.django_db


def field(response, name: str):
    from django.test.html import parse_html

    root = parse_html(response.content.decode())
    return next(el for el in walk(root) if attr(el, "name") == name)


def test_the_node_form_offers_the_network_mode_and_saves_it(as_admin):
    select = field(as_admin.get(reverse("node-create")), "network_mode")
    options = {attr(o, "value"): o for o in walk(select) if o.name == "option"}
    assert set(options) == {"host", "bridge"}
    assert "selected" in dict(options["host"].attributes)

    response = as_admin.post(reverse("node-create"), form_data(network_mode="bridge"))

    assert response.status_code == 302
    node = Node.objects.get(name="gy1-node-01")
    assert node.network_mode == "bridge"
    edit = field(as_admin.get(reverse("node-edit", args=[node.pk])), "network_mode")
    chosen = [attr(o, "value") for o in walk(edit) if "selected" in dict(o.attributes)]
    assert chosen == ["bridge"]


def test_editing_without_a_network_mode_keeps_it(as_admin):
    node = make_node("node-a", network_mode="bridge", private_key=openssh_private_key())
    data = form_data(name="node-a", host="192.0.2.10", port=22, private_key="")

    assert as_admin.post(reverse("node-edit", args=[node.pk]), data).status_code == 302

    node.refresh_from_db()
    assert node.network_mode == "bridge"


def test_a_bad_network_mode_is_named(as_admin):
    response = as_admin.post(reverse("node-create"), form_data(network_mode="overlay"))

    assert response.status_code == 400
    assert "overlay is not one of the available choices" in str(
        by_testid_errors(response, "network_mode")
    )


def by_testid_errors(response, name: str) -> str:
    from django.test.html import parse_html

    root = parse_html(response.content.decode())
    return str(next(el for el in walk(root) if attr(el, "id") == f"{name}-errors"))


def test_an_uploaded_key_is_kept_in_the_form_when_another_field_fails(as_admin):
    key = openssh_private_key()
    data = form_data(private_key="", host="bad host!")
    data["private_key_file"] = SimpleUploadedFile("id_ed25519", key.encode())

    response = as_admin.post(reverse("node-create"), data)

    assert response.status_code == 400
    html = response.content.decode()
    assert all(line in html for line in key.splitlines())
    assert "need not upload it again" in html
    # Submitting the re-rendered form as it is now works without the file.
    fixed = form_data(private_key=key)
    assert as_admin.post(reverse("node-create"), fixed).status_code == 302
    assert str(Node.objects.get(name="gy1-node-01").private_key) == key


def test_delete_confirmation_lists_live_bookings_and_deployments(
    as_admin, member_user, team, other_team
):
    node = make_node("node-a", healths=("OK",) * 8)
    now = timezone.now()
    booking = book_cards(
        member_user, team=team, node=node, start=now, end=now + timedelta(hours=2),
        purpose="serving test", devices=[0, 1],
    )  # fmt: skip
    version = tp1_version(member_user, team)
    running = Deployment.objects.create(
        recipe_version=version, node=node, booking=booking, team=team, cards=[0],
        status=DeploymentStatus.RUNNING, container_name="npufleet-deploy-1",
    )  # fmt: skip
    Deployment.objects.create(
        recipe_version=version, node=node, booking=booking, team=team, cards=[1],
        status=DeploymentStatus.STOPPED, container_name="npufleet-deploy-2",
    )  # fmt: skip

    response = as_admin.get(reverse("node-delete", args=[node.pk]))

    bookings = by_testid(response, "delete-bookings")
    items = [attr(el, "data-booking") for el in walk(bookings) if el.name == "li"]
    assert items == [str(booking.pk)]
    assert "cards 0, 1" in str(bookings) and "Vision" in str(bookings)
    deployments = by_testid(response, "delete-deployments")
    items = [attr(el, "data-deployment") for el in walk(deployments) if el.name == "li"]
    assert items == [str(running.pk)]  # the stopped one is not live
    assert "qwen-tp1" in str(deployments)
    assert 'data-testid="delete-nothing-live"' not in response.content.decode()


def test_delete_confirmation_says_when_nothing_is_live(as_admin):
    node = make_node("node-a", healths=("OK",))

    response = as_admin.get(reverse("node-delete", args=[node.pk]))

    assert by_testid(response, "delete-nothing-live")
    assert 'data-testid="delete-bookings"' not in response.content.decode()
