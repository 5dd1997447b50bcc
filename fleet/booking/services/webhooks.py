"""Team webhooks reach only public addresses: checked after DNS, at save and again at send.

A webhook URL is a request the dashboard makes on a team admin's behalf, from inside the
operator's network; so its host must resolve only to public addresses (never loopback,
link-local, private, multicast, reserved, unspecified or a cloud metadata address). DNS may
change between save and send, so the send resolves again, checks every address and connects to
an address it checked; it follows no redirect. A site admin may allow private networks on
purpose with FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS; metadata addresses stay refused.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from fleet.booking.errors import BookingInvalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services hand out cloud credentials: never a webhook, whatever is allowed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
ALLOW_HINT = (
    "webhooks go only to public addresses; a site admin may allow a private network with "
    "FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS"
)


class WebhookRefused(BookingInvalid):
    """The webhook URL points somewhere the dashboard must not send requests (400)."""


@dataclass(frozen=True)
class Target:
    """A checked webhook: where to connect (every address allowed) and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to now (the seam tests replace)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
    if ip in NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def refusal(ip: IPAddress) -> str | None:
    """Why a webhook may not go to this address, or None when it may."""
    candidates = [*_embedded(ip), ip]  # what an IPv6 address carries says most
    if any(a in METADATA_ADDRESSES for a in candidates):
        return "a cloud metadata address"
    allowed = settings.FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS
    if any(a.version == net.version and a in net for a in candidates for net in allowed):
        return None
    for a in candidates:
        for flag, label in (
            ("is_unspecified", "unspecified"),
            ("is_loopback", "loopback"),
            ("is_link_local", "link-local"),
            ("is_multicast", "multicast"),
            ("is_reserved", "reserved"),
            ("is_private", "private"),
        ):
            if getattr(a, flag):
                return f"a {label} address"
        if not a.is_global:
            return "not a public address"
    return None


def check_url(url: str, *, field: str = "webhook_url") -> Target:
    """Resolve the URL's host and refuse it unless every address it resolves to is allowed."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host:
        raise WebhookRefused(
            "The webhook must be an http(s) URL, e.g. https://chat.example.com/hook/abc.",
            field=field,
        )
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise WebhookRefused(
            f"The webhook's port in {url!r} is not a number.", field=field
        ) from None
    literal = None
    try:
        literal = ipaddress.ip_address(host)
        addresses = [str(literal)]
    except ValueError:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise WebhookRefused(
                f"The webhook's host {host} does not resolve ({exc}); check the name.",
                field=field,
            ) from None
    if not addresses:
        raise WebhookRefused(f"The webhook's host {host} has no address.", field=field)
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        why = refusal(ip)
        if why is not None:
            named = host if literal is not None else f"{host} resolves to {ip}, which"
            raise WebhookRefused(f"The webhook's host {named} is {why}: {ALLOW_HINT}.", field=field)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme, host, port, path, tuple(addresses))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address that was checked, while naming the host in the request."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.pinned_address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection, _PinnedHTTPConnection):
    """The same over TLS; the certificate is checked against the host name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        http.client.HTTPSConnection.__init__(
            self, host, port, timeout=timeout, context=ssl.create_default_context()
        )
        self.pinned_address = address


def post_json(url: str, body: bytes, *, timeout: float) -> str:
    """POST `body` to a webhook checked just now; the outcome as a short line, never raised."""
    try:
        target = check_url(url)
    except WebhookRefused as exc:
        return f"refused: {exc.message}"
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    headers = {"Content-Type": "application/json", "User-Agent": "npu-fleet"}
    last = ""
    for address in target.addresses:
        connection = kind(target.host, target.port, address=address, timeout=timeout)
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(64 * 1024)
        except (OSError, http.client.HTTPException) as exc:
            last = f"failed: {exc}"
            continue
        finally:
            connection.close()
        if 300 <= response.status < 400:
            return f"HTTP {response.status} (redirects are not followed)"
        return f"HTTP {response.status}"
    return last
