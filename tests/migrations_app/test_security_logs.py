"""What a refused request leaves in the log."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _handlers_below_root(name: str) -> list[logging.Handler]:
    """Return the handlers a record logged on `name` reaches before the root's."""
    logger: logging.Logger | None = logging.getLogger(name)
    found: list[logging.Handler] = []
    while logger is not None and logger is not logging.getLogger():
        found += logger.handlers
        if not logger.propagate:
            break
        logger = logger.parent
    return found


def test_a_refused_request_is_one_warning_line_without_a_traceback(
    client: Client, viewer: Any, caplog: Any
) -> None:
    client.force_login(viewer)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post("/sync/")

    assert response.status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in records] == [
        "Forbidden (Permission denied): /sync/"
    ]
    assert records[0].exc_info is None and not records[0].exc_text


def test_django_request_lines_are_printed_once_by_the_root_console() -> None:
    """Django's own console handler would print each line a second time."""
    assert _handlers_below_root("django.request") == []
    assert logging.getLogger("django.request").propagate


def test_a_server_error_still_logs_its_traceback(caplog: Any) -> None:
    logger = logging.getLogger("django.request")
    try:
        raise ValueError("boom")
    except ValueError:
        with caplog.at_level(logging.ERROR, logger="django.request"):
            logger.error("Internal Server Error: /x/", exc_info=True)

    assert (
        caplog.records[-1].exc_text
        and "ValueError: boom" in caplog.records[-1].exc_text
    )
