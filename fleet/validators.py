"""Strict patterns for what reaches a remote shell or a container: names, hosts, paths, labels.

Every check is a `fullmatch`: `$` alone would let a trailing newline through.
"""

from __future__ import annotations

import re

from fleet.errors import Invalid

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
HOST_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9a-fA-F:]+\]?$"
)
USER_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
PATH_RE = re.compile(r"^/[A-Za-z0-9._/+-]*$")
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:=-]{0,62}$")
JUMP_RE = re.compile(
    r"^(?:(?P<user>[a-z_][a-z0-9_.-]{0,31})@)?(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?$"
)


def as_id(text: object) -> int | None:
    """The database id a query or form value spells ('12'), else None (a name, '²', 10**30)."""
    value = str(text).strip()
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def node_name(value: str) -> str:
    if not NAME_RE.fullmatch(value or ""):
        raise Invalid(
            f"name {value!r} is not allowed: use lowercase letters, digits and '-', up to 63 "
            "characters, starting and ending with a letter or digit (e.g. 'gy1-devserver-01')",
            field="name",
        )
    return value


def host(value: str, field: str = "host") -> str:
    if not HOST_RE.fullmatch(value or ""):
        raise Invalid(
            f"{field} {value!r} is not a host name or IP address (e.g. 192.168.0.10)", field=field
        )
    return value.strip("[]")


def port(value: int, field: str = "port") -> int:
    if not isinstance(value, int) or not 1 <= value <= 65535:
        raise Invalid(f"{field} {value!r} must be a whole number from 1 to 65535", field=field)
    return value


def username(value: str) -> str:
    if not USER_RE.fullmatch(value or ""):
        raise Invalid(
            f"username {value!r} is not a valid Linux user name (e.g. root)", field="username"
        )
    return value


def abs_path(value: str, field: str) -> str:
    if not PATH_RE.fullmatch(value or "") or "/../" in value + "/" or value.endswith("/.."):
        raise Invalid(
            f"{field} {value!r} must be an absolute path of letters, digits and ._/+- only "
            "(no spaces, quotes or '..')",
            field=field,
        )
    return value.rstrip("/") or "/"


def labels(values: object) -> list[str]:
    if isinstance(values, str):
        values = [v.strip() for v in values.split(",") if v.strip()]
    if not isinstance(values, list):
        raise Invalid("labels must be a list of words like 'region=gy1'", field="labels")
    for value in values:
        if not isinstance(value, str) or not LABEL_RE.fullmatch(value):
            raise Invalid(
                f"label {value!r} is not allowed: letters, digits and _.:=- only, up to 63 "
                "characters (e.g. 'region=gy1')",
                field="labels",
            )
    return sorted(set(values))


def jump_host(value: str) -> tuple[str, str, int] | None:
    """(user, host, port) of 'user@host:port', or None when blank."""
    if not value:
        return None
    match = JUMP_RE.fullmatch(value)
    if not match:
        raise Invalid(
            f"jump_host {value!r} must look like user@host:port (e.g. root@10.0.0.2:22)",
            field="jump_host",
        )
    jump_port = int(match.group("port") or 22)
    port(jump_port, "jump_host")
    return match.group("user") or "root", host(match.group("host"), "jump_host"), jump_port
