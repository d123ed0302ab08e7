"""Hostile Partner Center names in notifications: a CR/LF stops no channel, and
Slack/Teams markup in a name reaches the webhook as text, not as formatting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from migrations_app.models import Migration, MigrationState, Notification
from migrations_app.services.notifications import notification_deliver
from migrations_app.tasks.notifications import notify_migration_endings
from tests.factories import CustomerFactory, SubscriptionFactory
from tests.migrations_app import test_notifications as base
from tests.migrations_app.test_notifications import _deliver_all

pytestmark = pytest.mark.django_db

# The notification tests' fixtures: the mail outbox and a local webhook.
notify = base.notify
webhook = base.webhook


def _ended_for(company: str) -> Migration:
    sub = SubscriptionFactory(
        customer=CustomerFactory(company_name=company), offer_name="CRM Online"
    )
    return Migration.objects.create(
        customer=sub.customer,
        source_subscription=sub,
        source_offer_id=sub.offer_id,
        target_offer_id="TARGET",
        target_offer_name="Dynamics 365 Sales",
        quantity=4,
        state=MigrationState.COMPLETED,
        finished_at=timezone.now() - timedelta(seconds=5),
    )


def test_a_line_break_in_a_company_name_stops_neither_the_email_nor_the_webhook(
    notify: list[Any], webhook: dict[str, Any]
) -> None:
    _ended_for("Contoso\r\nBcc: victim@example.com")

    notify_migration_endings()

    assert _deliver_all() == ["sent"]
    (mail,) = notify
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert mail.subject.startswith("Migration completed: Contoso Bcc: victim@")
    assert mail.bcc == []
    assert len(webhook["posts"]) == 1


def test_a_header_error_is_kept_on_the_row_and_the_webhook_still_posted(
    notify: list[Any], webhook: dict[str, Any]
) -> None:
    _ended_for("Fabrikam")
    notify_migration_endings()
    # An address no mail header can carry, which no subject cleaning fixes.
    Notification.objects.update(recipients=["olga@example.com\nBcc: x@example.com"])
    notification = Notification.objects.get()

    status = notification_deliver(notification_id=notification.pk)

    notification.refresh_from_db()
    assert status == "pending"
    assert notification.status == Notification.Status.PENDING
    assert notification.last_error.startswith("email: BadHeaderError")
    assert notification.email_sent_at is None
    assert notification.webhook_sent_at is not None
    assert len(webhook["posts"]) == 1


def test_slack_and_teams_markup_in_partner_center_names_reaches_the_webhook_as_text(
    notify: list[Any], webhook: dict[str, Any]
) -> None:
    _ended_for(
        "<!channel> <https://evil.example|Click> [Pay](https://evil.example) *x*"
    )

    notify_migration_endings()
    assert _deliver_all() == ["sent"]

    text = webhook["posts"][0]["text"]
    assert "<!channel>" not in text
    assert "<https://evil.example|" not in text
    assert "[Pay](https://evil.example)" not in text
    assert "&lt;!channel&gt;" in text
    # The email keeps the name as Partner Center gave it.
    assert "<!channel>" in notify[0].body
    # The product's own link stays a link.
    assert "https://hub.example/migrations/" in text
