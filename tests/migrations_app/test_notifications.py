"""Notifications: each migration ending and each weekly digest is recorded once
and sent by a worker; a mail server or webhook that fails never touches the
migration and is tried again later."""

from __future__ import annotations

import json
import logging
import smtplib
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from migrations_app.models import Migration, MigrationState, Notification
from migrations_app.services.notifications import (
    MAX_ATTEMPTS,
    notification_deliver,
    notifications_queue_migration_endings,
    notifications_requeue_due,
)
from migrations_app.tasks.notifications import (
    deliver_notification,
    notify_migration_endings,
    send_weekly_digest,
)
from tests.factories import CustomerFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

TEAM = "renewals@reseller.example"


class BrokenMailServer(BaseEmailBackend):
    """An email backend whose server refuses every connection."""

    def send_messages(self, email_messages: Any) -> int:
        raise smtplib.SMTPConnectError(421, b"Service not available")


@pytest.fixture
def notify(settings: Any, mailoutbox: list[Any]) -> list[Any]:
    settings.PARTNERHUB_NOTIFY_EMAILS = [TEAM]
    settings.PARTNERHUB_NOTIFY_WEBHOOK_URL = ""
    settings.PARTNERHUB_BASE_URL = "https://hub.example"
    return mailoutbox


@pytest.fixture
def webhook(settings: Any) -> Iterator[dict[str, Any]]:
    """A local incoming-webhook endpoint; answers with `seen["status"]`."""
    seen: dict[str, Any] = {"posts": [], "status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            seen["posts"].append(json.loads(self.rfile.read(length)))
            self.send_response(seen["status"])
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PARTNERHUB_NOTIFY_WEBHOOK_URL = (
        f"http://127.0.0.1:{server.server_port}/webhookb2/secret-token"
    )
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()


def _ended(state: str, *, operator: Any = None, **extra: Any) -> Migration:
    sub = SubscriptionFactory(
        customer=CustomerFactory(company_name="Fabrikam"), offer_name="CRM Online"
    )
    return Migration.objects.create(
        customer=sub.customer,
        source_subscription=sub,
        source_offer_id=sub.offer_id,
        target_offer_id="TARGET",
        target_offer_name="Dynamics 365 Sales",
        quantity=4,
        state=state,
        finished_at=timezone.now() - timedelta(seconds=5),
        created_by=operator,
        **extra,
    )


def _deliver_all() -> list[str]:
    return [
        deliver_notification(pk)
        for pk in Notification.objects.order_by("pk").values_list("pk", flat=True)
    ]


def test_a_failed_migration_is_announced_once_to_its_operator_and_the_team(
    notify: list[Any], django_assert_max_num_queries: Any
) -> None:
    operator = UserFactory(username="olga", email="olga@reseller.example")
    migration = _ended(
        MigrationState.FAILED,
        operator=operator,
        error_message="The customer has not accepted the Microsoft Customer Agreement.",
        error_code="800002",
    )

    assert notify_migration_endings() == 1
    # Seen already: one query finds nothing new, one finds nothing due.
    with django_assert_max_num_queries(2):
        assert notify_migration_endings() == 0
    assert _deliver_all() == ["sent"]
    assert _deliver_all() == ["not claimed"]

    assert len(notify) == 1
    mail = notify[0]
    assert mail.to == ["olga@reseller.example", TEAM]
    assert mail.subject == "Migration failed: Fabrikam — CRM Online"
    assert "Microsoft Customer Agreement" in mail.body
    assert f"https://hub.example/migrations/{migration.pk}/" in mail.body
    notification = Notification.objects.get()
    assert notification.migration == migration
    assert notification.email_sent_at is not None


def test_completed_and_customer_action_endings_are_announced_but_cancelled_are_not(
    notify: list[Any],
) -> None:
    _ended(MigrationState.COMPLETED)
    _ended(
        MigrationState.NEEDS_CUSTOMER_ACTION,
        customer_action="Cancel the Open licence through its reseller.",
    )
    _ended(MigrationState.CANCELLED)
    _ended(MigrationState.QUEUED)

    notify_migration_endings()
    _deliver_all()

    subjects = sorted(mail.subject.split(":")[0] for mail in notify)
    assert subjects == ["Migration completed", "Migration needs customer action"]
    assert any("Cancel the Open licence" in mail.body for mail in notify)


def test_a_migration_that_fails_again_after_a_retry_is_announced_again(
    notify: list[Any],
) -> None:
    migration = _ended(MigrationState.FAILED)
    notify_migration_endings()
    Migration.objects.filter(pk=migration.pk).update(
        state=MigrationState.COMPLETED, finished_at=timezone.now()
    )

    notify_migration_endings()
    _deliver_all()

    assert [m.subject.split(":")[0] for m in notify] == [
        "Migration failed",
        "Migration completed",
    ]


def test_endings_from_before_the_lookback_are_not_announced(
    notify: list[Any], settings: Any
) -> None:
    settings.PARTNERHUB_NOTIFY_LOOKBACK_HOURS = 24
    old = _ended(MigrationState.COMPLETED)
    Migration.objects.filter(pk=old.pk).update(
        finished_at=timezone.now() - timedelta(hours=25)
    )

    assert notifications_queue_migration_endings() == []


def test_a_failing_mail_server_never_touches_the_migration_and_is_retried_later(
    notify: list[Any], settings: Any
) -> None:
    migration = _ended(MigrationState.COMPLETED)
    settings.EMAIL_BACKEND = "tests.migrations_app.test_notifications.BrokenMailServer"

    notify_migration_endings()
    assert _deliver_all() == ["pending"]

    migration.refresh_from_db()
    assert migration.state == MigrationState.COMPLETED
    notification = Notification.objects.get()
    assert notification.attempts == 1
    assert "SMTPConnectError" in notification.last_error
    assert notification.next_attempt_at is not None
    # Not due yet: neither beat nor a stray message sends it early.
    assert notifications_requeue_due() == []
    assert deliver_notification(notification.pk) == "not claimed"

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = notification.next_attempt_at + timedelta(seconds=1)
    assert notifications_requeue_due(now=later) == [notification.pk]
    assert notification_deliver(notification_id=notification.pk, now=later) == "sent"
    assert len(notify) == 1


def test_a_mail_server_that_never_recovers_is_given_up_after_the_last_attempt(
    notify: list[Any], settings: Any
) -> None:
    _ended(MigrationState.FAILED)
    settings.EMAIL_BACKEND = "tests.migrations_app.test_notifications.BrokenMailServer"
    notify_migration_endings()
    notification = Notification.objects.get()

    results = []
    moment = timezone.now()
    for _ in range(MAX_ATTEMPTS):
        results.append(
            notification_deliver(notification_id=notification.pk, now=moment)
        )
        moment += timedelta(days=1)

    assert results == ["pending"] * (MAX_ATTEMPTS - 1) + ["failed"]
    assert notifications_requeue_due(now=moment) == []


def test_the_webhook_gets_the_message_and_a_failing_one_is_retried_alone(
    notify: list[Any], webhook: dict[str, Any]
) -> None:
    _ended(MigrationState.COMPLETED)
    webhook["status"] = 500

    notify_migration_endings()
    assert _deliver_all() == ["pending"]

    notification = Notification.objects.get()
    assert notification.email_sent_at is not None
    assert notification.webhook_sent_at is None
    assert notification.last_error == "webhook: answered HTTP 500"
    assert "secret-token" not in notification.last_error
    webhook["status"] = 200
    later = notification.next_attempt_at + timedelta(seconds=1)
    assert notification_deliver(notification_id=notification.pk, now=later) == "sent"
    assert len(notify) == 1
    assert len(webhook["posts"]) == 2
    assert webhook["posts"][-1]["text"].startswith("Migration completed: Fabrikam")


def test_with_nobody_to_tell_the_ending_is_recorded_as_skipped(
    notify: list[Any], settings: Any
) -> None:
    settings.PARTNERHUB_NOTIFY_EMAILS = []
    _ended(MigrationState.FAILED, operator=UserFactory(username="noemail", email=""))

    notify_migration_endings()

    assert Notification.objects.get().status == Notification.Status.SKIPPED
    assert notify_migration_endings() == 0
    assert _deliver_all() == ["not claimed"]
    assert notify == []


def test_the_weekly_digest_lists_what_renews_or_expires_in_30_days_once_a_week(
    notify: list[Any],
) -> None:
    now = timezone.now()
    customer = CustomerFactory(company_name="Northwind")
    SubscriptionFactory(
        customer=customer,
        friendly_name="Microsoft 365 E3",
        term_duration="P1Y",
        commitment_end_date=now + timedelta(days=9),
    )
    SubscriptionFactory(
        customer=customer,
        friendly_name="Project Plan 3",
        term_duration="P1M",
        auto_renew_enabled=False,
        commitment_end_date=now + timedelta(days=20),
    )
    SubscriptionFactory(
        customer=customer,
        friendly_name="Monthly roll-over",
        term_duration="P1M",
        commitment_end_date=now + timedelta(days=3),
    )
    SubscriptionFactory(
        customer=customer,
        friendly_name="Next quarter",
        term_duration="P1Y",
        commitment_end_date=now + timedelta(days=60),
    )

    first = send_weekly_digest()
    again = send_weekly_digest()
    _deliver_all()

    assert first is not None and again is None
    assert len(notify) == 1
    body = notify[0].body
    assert notify[0].subject == "PartnerHub: 1 renewing, 1 expiring in the next 30 days"
    assert "Northwind — Microsoft 365 E3" in body
    assert "Northwind — Project Plan 3" in body
    assert "Monthly roll-over" not in body and "Next quarter" not in body
    assert notify[0].to == [TEAM]


def test_the_scan_every_30_seconds_stays_out_of_the_info_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from celery import beat

    with caplog.at_level(logging.INFO):
        beat.logger.info(
            "Scheduler: Sending due task %s (%s)",
            "notify-migration-endings",
            "migrations_app.tasks.notify_migration_endings",
        )
        beat.logger.info(
            "Scheduler: Sending due task %s (%s)",
            "weekly-renewal-digest",
            "migrations_app.tasks.send_weekly_digest",
        )

    assert [r.getMessage() for r in caplog.records] == [
        "Scheduler: Sending due task weekly-renewal-digest "
        "(migrations_app.tasks.send_weekly_digest)"
    ]
