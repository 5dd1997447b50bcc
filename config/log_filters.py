"""Logging filters: a refused request is one line, not a traceback."""

from __future__ import annotations

import logging


class ClientErrorOneLine(logging.Filter):
    """Django logs PermissionDenied (403) and bad requests (400) with the exception's traceback.

    A client error is an expected outcome, not a bug: keep the record, drop the traceback and
    append the exception's own message (e.g. "only site admins may change nodes") and the user.
    Server errors (5xx) keep their traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if not isinstance(status, int) or not 400 <= status < 500 or not record.exc_info:
            return True
        exc = record.exc_info[1] if isinstance(record.exc_info, tuple) else record.exc_info
        message = record.getMessage()
        reason = " ".join(str(exc).split()) if exc is not None else ""
        if reason:
            message = f"{message} ({reason})"
        try:
            user = record.request.user  # type: ignore[attr-defined]
            if user.is_authenticated:
                message = f"{message} user={user.get_username()}"
        except Exception:  # noqa: S110 - no request or user to name; the line stands without
            pass
        record.msg, record.args = message, None
        record.exc_info = None
        record.exc_text = None
        return True
