"""Team webhooks reach only public addresses, checked after DNS at save and again at send."""

from __future__ import annotations

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from config.env import Settings
from config.settings import _networks
from fleet.booking.choices import NotificationKind
from fleet.booking.models import Membership, Notification
from fleet.booking.services import webhooks
from fleet.booking.services.notify import notify_team, send_webhook

PUBLIC = "93.184.215.14"


@pytest.fixture
def team_admin_api(member_api, member_user):
    Membership.objects.filter(user=member_user).update(role="admin")
    return member_api


@pytest.fixture
def dns(monkeypatch):
    """A resolver the test controls: name -> addresses (unknown names do not resolve)."""
    names: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise OSError(f"[Errno -2] Name or service not known: {host}")
        return list(names[host])

    monkeypatch.setattr(webhooks, "resolve", resolve)
    return names


def save(api, team, url: str):
    return api.patch(f"/api/v1/teams/{team.pk}/", {"webhook_url": url}, format="json")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://localhost/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://10.1.2.3/", "private"),
        ("http://192.168.1.10:8080/hook", "private"),
        ("http://169.254.10.1/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://100.64.0.1/", "not a public address"),
    ],
)
def test_saving_a_webhook_to_a_forbidden_address_is_refused(team_admin_api, team, url, why):
    answer = save(team_admin_api, team, url)
    assert answer.status_code == 400, answer.json()
    body = answer.json()
    assert body["field"] == "webhook_url"
    assert why in body["detail"]
    assert "FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS" in body["detail"]
    team.refresh_from_db()
    assert team.webhook_url == ""


def test_a_name_resolving_to_loopback_is_refused_at_save(team_admin_api, team, dns):
    dns["hooks.evil.test"] = ["127.0.0.1"]
    answer = save(team_admin_api, team, "https://hooks.evil.test/h")
    assert answer.status_code == 400
    assert "hooks.evil.test resolves to 127.0.0.1" in answer.json()["detail"]
    # every address must be public: one private address among public ones is enough to refuse
    dns["mixed.example.test"] = [PUBLIC, "10.0.0.7"]
    answer = save(team_admin_api, team, "https://mixed.example.test/h")
    assert answer.status_code == 400
    assert "10.0.0.7" in answer.json()["detail"]
    team.refresh_from_db()
    assert team.webhook_url == ""


def test_a_name_that_does_not_resolve_is_refused_naming_it(team_admin_api, team, dns):
    answer = save(team_admin_api, team, "https://typo.example.test/h")
    assert answer.status_code == 400
    assert answer.json()["field"] == "webhook_url"
    assert "typo.example.test does not resolve" in answer.json()["detail"]


def test_a_public_name_is_saved(team_admin_api, team, dns):
    dns["chat.example.test"] = [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    answer = save(team_admin_api, team, "https://chat.example.test/hook/abc")
    assert answer.status_code == 200, answer.json()
    team.refresh_from_db()
    assert team.webhook_url == "https://chat.example.test/hook/abc"


def test_an_allowed_private_network_is_accepted_but_metadata_never(team_admin_api, team, settings):
    settings.FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS = [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("169.254.0.0/16"),
    ]
    assert save(team_admin_api, team, "http://10.1.2.3/hook").status_code == 200
    team.refresh_from_db()
    assert team.webhook_url == "http://10.1.2.3/hook"
    assert save(team_admin_api, team, "http://192.168.1.10/").status_code == 400
    refused = save(team_admin_api, team, "http://169.254.169.254/")
    assert refused.status_code == 400
    assert "metadata" in refused.json()["detail"]


def test_the_allowed_networks_setting_is_parsed_and_bad_values_fail_loudly(monkeypatch):
    env = Settings(None)
    monkeypatch.setenv("FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.0/8, fd00:1::/64")
    nets = env.parsed("FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS", ",", _networks, "networks")
    assert nets == [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00:1::/64")]
    monkeypatch.setenv("FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS", "")
    assert env.parsed("FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS", ",", _networks, "x") == []
    monkeypatch.setenv("FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.1/8")
    with pytest.raises(ImproperlyConfigured, match="FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS"):
        env.parsed("FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS", ",", _networks, "networks")


# At send -----------------------------------------------------------------------------------------


class Recorder(BaseHTTPRequestHandler):
    """Records each request; answers with the status (and Location) the test set."""

    seen: list[dict] = []
    status = 204
    location = ""

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        Recorder.seen.append(
            {"path": self.path, "host": self.headers["Host"], "body": self.rfile.read(length)}
        )
        self.send_response(Recorder.status)
        if Recorder.location:
            self.send_header("Location", Recorder.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    Recorder.seen, Recorder.status, Recorder.location = [], 204, ""
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def test_at_send_a_name_that_now_resolves_to_loopback_is_not_called(
    team, dns, local_server, monkeypatch
):
    dns["hooks.example.test"] = [PUBLIC]
    team.webhook_url = f"http://hooks.example.test:{local_server}/h"
    team.save()  # as saved while the name was public
    dns["hooks.example.test"] = ["127.0.0.1"]  # the name was repointed since
    note = notify_team(team, NotificationKind.WARNING, "ends soon")
    outcome = send_webhook(note.pk)
    assert outcome.startswith("refused:")
    assert "resolves to 127.0.0.1" in outcome
    assert Recorder.seen == []
    note.refresh_from_db()
    assert note.webhook_status.startswith("refused:")


def test_at_send_an_allowed_hook_is_posted_to_the_address_that_was_checked(
    team, dns, local_server, settings
):
    settings.FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    # The name exists only in the resolver the check used: the request can only have reached
    # the server by connecting to the checked address while naming the host.
    dns["hooks.internal.test"] = ["127.0.0.1"]
    team.webhook_url = f"http://hooks.internal.test:{local_server}/hook?k=1"
    team.save()
    note = notify_team(team, NotificationKind.WARNING, "ends soon")
    assert send_webhook(note.pk) == "HTTP 204"
    assert len(Recorder.seen) == 1
    assert Recorder.seen[0]["path"] == "/hook?k=1"
    assert Recorder.seen[0]["host"] == f"hooks.internal.test:{local_server}"
    assert b"ends soon" in Recorder.seen[0]["body"]


def test_redirects_are_not_followed(team, local_server, settings):
    settings.FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    Recorder.status = 302
    Recorder.location = "http://169.254.169.254/latest/meta-data/"
    team.webhook_url = f"http://127.0.0.1:{local_server}/h"
    team.save()
    note = notify_team(team, NotificationKind.WARNING, "ends soon")
    assert send_webhook(note.pk) == "HTTP 302 (redirects are not followed)"
    assert len(Recorder.seen) == 1
    assert Notification.objects.get(pk=note.pk).webhook_status.startswith("HTTP 302")


def test_a_hook_on_loopback_is_refused_at_send_without_the_setting(team, local_server):
    team.webhook_url = f"http://127.0.0.1:{local_server}/h"
    team.save()
    note = notify_team(team, NotificationKind.WARNING, "ends soon")
    assert send_webhook(note.pk).startswith("refused:")
    assert Recorder.seen == []


def test_the_team_settings_page_refuses_a_private_webhook_with_the_reason(
    client, member_user, team
):
    Membership.objects.filter(user=member_user).update(role="admin")
    client.force_login(member_user)
    url = reverse("booking-team-settings", args=[team.pk])
    page = client.post(url, {"webhook_url": "http://169.254.169.254/latest/"}, follow=True)
    assert "cloud metadata address" in page.content.decode()
    team.refresh_from_db()
    assert team.webhook_url == ""
