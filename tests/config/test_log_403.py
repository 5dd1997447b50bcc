"""A refused request is logged as one line naming the path, the reason and the user; a server
error keeps its traceback."""

from __future__ import annotations

import logging
import sys

import pytest
from django.urls import reverse

from config.log_filters import ClientErrorOneLine

pytestmark = pytest.mark.django_db


def request_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "django.request"]


def test_a_page_refusing_with_403_logs_one_line_without_traceback(client, outsider_user, caplog):
    client.force_login(outsider_user)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("booking-audit"))
    assert response.status_code == 403
    records = request_records(caplog)
    assert len(records) == 1
    record = records[0]
    assert record.exc_info is None
    line = record.getMessage()
    assert "\n" not in line
    assert "Forbidden (Permission denied): /bookings/audit/" in line
    assert "Only site admins and team admins may read the audit log." in line
    assert "user=olga-outsider" in line
    assert "Traceback" not in caplog.text


def test_an_api_403_logs_one_line(outsider_api, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = outsider_api.post("/api/v1/nodes/", {"name": "x"}, format="json")
    assert response.status_code == 403
    records = request_records(caplog)
    assert len(records) == 1
    assert records[0].exc_info is None
    assert "\n" not in records[0].getMessage()
    assert "/api/v1/nodes/" in records[0].getMessage()
    assert "Traceback" not in caplog.text


def _record(status: int) -> logging.LogRecord:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Failed: %s", ("/x/",), exc_info
    )
    record.status_code = status
    return record


def test_a_server_error_keeps_its_traceback():
    record = _record(500)
    assert ClientErrorOneLine().filter(record) is True
    assert record.exc_info is not None
    assert record.getMessage() == "Failed: /x/"


def test_the_filter_drops_a_client_errors_traceback_and_keeps_its_reason():
    record = _record(403)
    assert ClientErrorOneLine().filter(record) is True
    assert record.exc_info is None
    assert record.getMessage() == "Failed: /x/ (boom)"
