"""Domain errors raised by services; one API handler maps them to HTTP codes."""

from __future__ import annotations


class DomainError(Exception):
    """A failure a person can act on; `field` names the input at fault when there is one."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class Invalid(DomainError):
    """The request is well formed but its values cannot be accepted."""

    status_code = 400


class Conflict(DomainError):
    """The request collides with the current state (a booking, a running job, a card)."""

    status_code = 409


class NotAllowed(DomainError):
    """The caller may not do this."""

    status_code = 403
