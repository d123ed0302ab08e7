"""Partner Center secrets and tokens never reach logs, audit events or pages.

A full sync and a full migration run against the sandbox over real HTTP with every
logger at DEBUG (urllib3 and requests included); then every log line, every audit
event and every page a user can open are searched for the client secret, the bearer
tokens the sandbox issued and the Authorization header.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from migrations_app.models import AuditEvent, Migration, SyncRun
from migrations_app.services.sync import sync_run
from tests.migrations_app.migration_support import CONTOSO, customer, drive, start

SANDBOX_SECRET = "sandbox-secret"
SANDBOX_TOKEN = re.compile(r"sbx\.[0-9a-f]{16,}")
FORBIDDEN = [
    (re.compile(re.escape(SANDBOX_SECRET)), "the client secret"),
    (SANDBOX_TOKEN, "a bearer token"),
    (re.compile(r"(?i)bearer\s+\S"), "a bearer token"),
    (re.compile(r"(?i)authorization['\"]?\s*[:=]"), "the Authorization header"),
    (re.compile(r"sbx-refresh\.[0-9a-f]{8,}"), "a refresh token"),
]
NOISY_LOGGERS = ("urllib3", "requests", "msal", "partner_center", "migrations_app")


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture every record at DEBUG, including loggers settings quieten."""
    previous = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        yield
    finally:
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)


def leaks(text: str) -> list[str]:
    """Return a description of every secret-like string in `text`."""
    found = []
    for pattern, what in FORBIDDEN:
        for match in pattern.finditer(text):
            start = max(0, match.start() - 60)
            found.append(f"{what}: …{text[start : match.end() + 20]}…")
    return found


def log_text(caplog: pytest.LogCaptureFixture, capfd: Any) -> str:
    out, err = capfd.readouterr()
    records = []
    for record in caplog.records:
        records.append(record.getMessage())
        if record.exc_text:
            records.append(record.exc_text)
    return "\n".join([*records, caplog.text, out, err])


def audit_text() -> str:
    rows = AuditEvent.objects.order_by("id").values()
    return "\n".join(str(row) for row in rows)


def pages_text(users: dict[str, Any]) -> str:
    """Render every page of the product a signed-in user can open."""
    cust = customer(CONTOSO)
    migration = Migration.objects.order_by("id").first()
    urls = [
        reverse("customer_list"),
        reverse("customer_detail", args=[cust.tenant_id]),
        reverse("migration_plan", args=[cust.tenant_id]),
        reverse("migration_customer_panel", args=[cust.tenant_id]),
        reverse("migration_list"),
        reverse("migration_detail", args=[migration.pk]),
        reverse("sync_status"),
        reverse("sku_mapping_list"),
        reverse("audit_list"),
        reverse("settings_page"),
        reverse("admin:index"),
        reverse("admin:migrations_app_auditevent_changelist"),
    ]
    client = Client()
    client.force_login(users["admin"])
    bodies = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        bodies.append(response.content.decode())
    export = client.get(reverse("audit_export"))
    bodies.append(b"".join(export.streaming_content).decode())
    return "\n".join(bodies)


def test_a_full_sync_and_migration_leave_no_secret_anywhere(
    sandbox: Any,
    everything_logged: None,
    caplog: pytest.LogCaptureFixture,
    capfd: Any,
    operator: Any,
    admin_user: Any,
) -> None:
    run = sync_run(requested_by=operator)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    [migration] = start(CONTOSO, operator)
    migration = drive(migration)
    assert migration.state == "completed", migration.error_message

    logs = log_text(caplog, capfd)
    audit = audit_text()
    pages = pages_text({"admin": admin_user})

    # The capture really saw the HTTP traffic and the writes.
    assert "127.0.0.1" in logs and "/v1/customers" in logs
    assert AuditEvent.objects.filter(action="partner_center.write").count() >= 3
    assert "sync.completed" in audit and "migration.completed" in audit
    assert leaks(logs) == []
    assert leaks(audit) == []
    assert leaks(pages) == []


def test_a_rejected_secret_is_not_echoed_by_the_failure(
    sandbox: Any,
    settings: Any,
    everything_logged: None,
    caplog: pytest.LogCaptureFixture,
    capfd: Any,
    admin_user: Any,
) -> None:
    wrong = "Wr0ng-secret-rotated-last-week"
    settings.PARTNER_CENTER_CLIENT_SECRET = wrong

    run = sync_run()

    assert run.status == SyncRun.Status.FAILED
    logs = log_text(caplog, capfd)
    client = Client()
    client.force_login(admin_user)
    pages = client.get(reverse("customer_list")).content.decode()
    pages += client.get(reverse("audit_list")).content.decode()
    everything = "\n".join([logs, audit_text(), pages, run.error])
    assert wrong not in everything
    assert not SANDBOX_TOKEN.search(everything)


def database_text() -> str:
    """Return every row of every table, as text."""
    from django.apps import apps

    rows = []
    for model in apps.get_models():
        for row in model.objects.all().values():
            rows.append(str(row))
    return "\n".join(rows)


def test_the_stored_refresh_token_is_in_no_log_page_or_database_row(
    sandbox: Any,
    settings: Any,
    everything_logged: None,
    caplog: pytest.LogCaptureFixture,
    capfd: Any,
    operator: Any,
    admin_user: Any,
) -> None:
    from migrations_app.models.secrets import REFRESH_TOKEN_STORE, StoredSecret
    from partner_center.config import clear_shared_clients

    consent = "sbx-refresh.0123456789abcdef0123456789abcdef"
    settings.PARTNER_CENTER_REFRESH_TOKEN = consent
    clear_shared_clients()
    try:
        run = sync_run(requested_by=operator)
        assert run.status == "succeeded", run.error
        [migration] = start(CONTOSO, operator)
        migration = drive(migration)
        assert migration.state == "completed", migration.error_message
    finally:
        clear_shared_clients()
    current = REFRESH_TOKEN_STORE.load()
    assert current and current != consent  # it rotated, and the newest is stored
    assert StoredSecret.objects.count() == 1

    logs = log_text(caplog, capfd)
    pages = pages_text({"admin": admin_user})
    rows = database_text()
    for text in (logs, audit_text(), pages, rows):
        assert leaks(text) == []
        assert consent not in text and current not in text
