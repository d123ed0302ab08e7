"""Notifications: record each event once, then send it by email and webhook.

How a migration's ending is noticed: beat runs `notifications_queue_migration_endings`
every PARTNERHUB_NOTIFY_EVERY_SECONDS. It looks for migrations that reached
completed, failed or needs-customer-action (state and `finished_at`, both written
by the engine in the same UPDATE) and have no notification for that ending yet,
and writes one row per ending (a unique key: the same ending is never recorded
twice, even by two beats). The engine is not involved at all: it neither waits on
a mail server nor can be failed by one, and a lost Celery message or a restart
only delays a notification until the next scan, because the rows, not the
messages, say what is left to send.

Sending (`notification_deliver`, a worker task per row): a conditional UPDATE
claims the row, each channel (email, webhook) is sent once and stamped when it
went through; a failure is retried by beat with backoff and given up after
MAX_ATTEMPTS. A worker killed between sending and stamping leaves the row
`sending`: it is tried again when its lease runs out, so at worst a channel
gets the message twice, never zero times.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from migrations_app import task_names
from migrations_app.models import Migration, MigrationState, Notification, date_text
from migrations_app.workflow import registry
from migrations_app.workflow.enqueue import send_on_commit

logger = logging.getLogger(__name__)

DELIVER_TASK = task_names.DELIVER_NOTIFICATION
NOTIFY_STATES = (
    MigrationState.COMPLETED,
    MigrationState.FAILED,
    MigrationState.NEEDS_CUSTOMER_ACTION,
)
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)
# A new row whose message was lost is sent again after this long.
LOST_MESSAGE_AFTER = timedelta(minutes=2)
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)
ERROR_LIMIT = 500

_VERBS = {
    MigrationState.COMPLETED: "completed",
    MigrationState.FAILED: "failed",
    MigrationState.NEEDS_CUSTOMER_ACTION: "needs customer action",
}


def _recipients(*extra: str) -> list[str]:
    """Return the configured addresses plus `extra`, each once, in order."""
    found: dict[str, str] = {}
    for address in [*extra, *settings.PARTNERHUB_NOTIFY_EMAILS]:
        address = (address or "").strip()
        if address and "@" in address:
            found.setdefault(address.lower(), address)
    return list(found.values())


def _link(path: str) -> str:
    return f"{settings.PARTNERHUB_BASE_URL}{path}"


def _webhook_configured() -> bool:
    return bool(settings.PARTNERHUB_NOTIFY_WEBHOOK_URL)


# Line breaks (CR, LF and the Unicode ones) and other control characters: a mail
# header cannot hold them, and a Partner Center name may.
_NOT_IN_A_HEADER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Slack treats & < > as control characters (links, mentions such as
# <!channel>) and wants them as HTML entities; Teams renders Markdown, where
# these characters format text or make a link.
# Reference: https://api.slack.com/reference/surfaces/formatting#escaping
_SLACK_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN = re.compile(r"([\\`*_~\[\]|])")


def header_safe(text: str) -> str:
    """Return `text` on one line, control characters replaced by one space."""
    return " ".join(_NOT_IN_A_HEADER.sub(" ", text).split())


def webhook_safe(text: str) -> str:
    """Return `text` with Slack's control characters as entities and Markdown
    escaped, so a name from Partner Center shows as text, never as markup."""
    text = "".join(_SLACK_ENTITIES.get(char, char) for char in text)
    return _MARKDOWN.sub(r"\\\1", text)


def _webhook_text(notification: Notification) -> str:
    """Return the webhook message: every line escaped but the product's own link."""
    own = settings.PARTNERHUB_BASE_URL + "/"
    lines = f"{notification.subject}\n\n{notification.body}".split("\n")
    return "\n".join(
        line if line.startswith(own) and " " not in line else webhook_safe(line)
        for line in lines
    )


def notification_record(
    *,
    key: str,
    kind: str,
    occurred_at: datetime,
    subject: str,
    body: str,
    recipients: Sequence[str],
    migration: Migration | None = None,
) -> Notification | None:
    """Write the notification of one event and send it once the transaction commits.

    Return None, writing nothing, if the event `key` was recorded already. With
    nobody to send it to (no address, no webhook) the row is written as skipped,
    so the event is not looked at again.
    """
    webhook = _webhook_configured()
    status = (
        Notification.Status.PENDING
        if recipients or webhook
        else Notification.Status.SKIPPED
    )
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                key=key,
                kind=kind,
                migration=migration,
                occurred_at=occurred_at,
                subject=header_safe(subject)[:255],
                body=body,
                recipients=list(recipients),
                webhook=webhook,
                status=status,
            )
    except IntegrityError:
        return None
    if status == Notification.Status.PENDING:
        send_on_commit(DELIVER_TASK, notification.pk)
    return notification


def _migration_message(migration: Migration) -> tuple[str, str]:
    """Return the subject and body announcing how `migration` ended."""
    customer = migration.customer
    source = migration.source_name
    verb = _VERBS[MigrationState(migration.state)]
    subject = f"Migration {verb}: {customer.company_name} — {source}"
    lines = [
        f"Customer: {customer.company_name} ({customer.tenant_id})",
        f"Subscription: {source} → {migration.target_offer_name}",
        f"Seats: {migration.quantity}",
        f"State: {registry.state_label(migration.state)}",
    ]
    if migration.state == MigrationState.FAILED and migration.error_message:
        lines.append(f"What went wrong: {migration.error_message}")
        if migration.error_code:
            lines.append(f"Partner Center said: {migration.error_code}")
    if migration.state == MigrationState.NEEDS_CUSTOMER_ACTION:
        lines.append(f"What the customer must do: {migration.customer_action}")
    if migration.created_by is not None:
        lines.append(f"Started by: {migration.created_by.get_username()}")
    lines.append("")
    lines.append(_link(reverse("migration_detail", args=[migration.pk])))
    return subject, "\n".join(lines)


def notifications_queue_migration_endings(
    *, now: datetime | None = None, limit: int = 200
) -> list[int]:
    """Record a notification for every migration that ended (completed, failed,
    needs customer action) within the lookback and has none for that ending;
    return their ids.

    One query when nothing ended. An ending is identified by the migration, its
    state and its `finished_at`, so a retried migration that fails again, or
    then completes, is announced again.
    """
    now = now or timezone.now()
    since = now - timedelta(hours=settings.PARTNERHUB_NOTIFY_LOOKBACK_HOURS)
    recorded = Notification.objects.filter(
        migration=OuterRef("pk"),
        kind=OuterRef("state"),
        occurred_at=OuterRef("finished_at"),
    )
    ended = (
        Migration.objects.filter(
            state__in=NOTIFY_STATES, finished_at__gte=since, finished_at__lte=now
        )
        .exclude(Exists(recorded))
        .select_related("customer", "source_subscription", "created_by")
        .order_by("finished_at", "pk")[:limit]
    )
    created = []
    for migration in ended:
        assert migration.finished_at is not None
        subject, body = _migration_message(migration)
        operator = migration.created_by
        email = operator.email if operator is not None and operator.is_active else ""
        notification = notification_record(
            key=(
                f"migration:{migration.pk}:{migration.state}:"
                f"{migration.finished_at.isoformat()}"
            ),
            kind=migration.state,
            occurred_at=migration.finished_at,
            subject=subject,
            body=body,
            recipients=_recipients(email),
            migration=migration,
        )
        if notification is not None:
            created.append(notification.pk)
    return created


@dataclass(frozen=True)
class DigestLine:
    """One subscription the weekly digest names."""

    customer: str
    subscription: str
    renews: bool
    on: datetime
    quantity: int
    unused: int | None = None


def notification_queue_digest(
    *, lines: Sequence[DigestLine], now: datetime | None = None, days: int = 30
) -> Notification | None:
    """Record this week's digest of what renews or expires in the next `days`
    days, for the configured addresses and webhook; None if it was recorded
    already this (ISO) week."""
    now = now or timezone.now()
    year, week, _ = now.isocalendar()
    renewing = [line for line in lines if line.renews]
    expiring = [line for line in lines if not line.renews]
    subject = (
        f"PartnerHub: {len(renewing)} renewing, {len(expiring)} expiring "
        f"in the next {days} days"
    )
    body = [
        f"Week {week} of {year}: subscriptions whose term ends by "
        f"{date_text(now + timedelta(days=days))}.",
        "",
    ]
    for title, group in (("Renewing", renewing), ("Expiring", expiring)):
        body.append(f"{title} ({len(group)}):")
        for line in group:
            seats = f"{line.quantity} seats"
            if line.unused:
                seats += f", {line.unused} unused"
            body.append(
                f"- {date_text(line.on)}: {line.customer} — {line.subscription} "
                f"({seats})"
            )
        if not group:
            body.append("- none")
        body.append("")
    body.append(_link(reverse("home")))
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return notification_record(
        key=f"digest:{year}-W{week:02d}",
        kind=Notification.Kind.WEEKLY_DIGEST,
        occurred_at=monday,
        subject=subject,
        body="\n".join(body),
        recipients=_recipients(),
    )


def notifications_requeue_due(*, now: datetime | None = None) -> list[int]:
    """Send again the message of every notification whose retry is due, whose
    first message was lost, or whose sender died; return their ids."""
    now = now or timezone.now()
    lost = Q(
        status=Notification.Status.PENDING,
        next_attempt_at__isnull=True,
        created_at__lte=now - LOST_MESSAGE_AFTER,
    )
    retry = Q(status=Notification.Status.PENDING, next_attempt_at__lte=now)
    dead = Q(status=Notification.Status.SENDING, lease_expires_at__lte=now)
    ids = list(
        Notification.objects.filter(lost | retry | dead)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        send_on_commit(DELIVER_TASK, pk)
    return ids


def _claim(notification_id: int, now: datetime) -> bool:
    """Take the row for this worker with a conditional UPDATE; True if taken."""
    claimed = Notification.objects.filter(
        Notification.claimable_q(now), pk=notification_id
    ).update(
        status=Notification.Status.SENDING,
        lease_expires_at=now + LEASE,
        attempts=F("attempts") + 1,
    )
    return claimed == 1


def _send_email(notification: Notification) -> None:
    """Mail the notification; raise the mail server's errors (and BadHeaderError)."""
    send_mail(
        header_safe(notification.subject),
        notification.body,
        settings.DEFAULT_FROM_EMAIL,
        list(notification.recipients),
        fail_silently=False,
    )


def _send_webhook(notification: Notification) -> None:
    """Post the message to the incoming webhook; raise requests' errors.

    Teams and Slack incoming webhooks both take `{"text": ...}`.
    """
    response = requests.post(
        settings.PARTNERHUB_NOTIFY_WEBHOOK_URL,
        json={"text": _webhook_text(notification)},
        timeout=settings.PARTNERHUB_NOTIFY_WEBHOOK_TIMEOUT_SECONDS,
    )
    response.raise_for_status()


def _webhook_error(exc: requests.RequestException) -> str:
    """Return what went wrong without the URL (it carries the webhook's secret)."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"webhook: answered HTTP {exc.response.status_code}"
    return f"webhook: {exc.__class__.__name__}"


def _backoff(attempts: int) -> timedelta:
    wait = BACKOFF_BASE * 2 ** max(attempts - 1, 0)
    return min(wait, BACKOFF_MAX)


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> str:
    """Send one notification on every channel that has not taken it yet.

    Return its status afterwards ("sent", "pending" for a retry, "failed" once
    MAX_ATTEMPTS are spent), or "not claimed" when it is not due or another
    worker holds it. Never raises for a mail server or webhook that fails.
    """
    now = now or timezone.now()
    if not _claim(notification_id, now):
        return "not claimed"
    notification = Notification.objects.get(pk=notification_id)
    errors = []
    if notification.email_due:
        try:
            _send_email(notification)
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            # ValueError: BadHeaderError, or an address the backend refuses; it is
            # kept on the row and the webhook below still goes out.
            errors.append(f"email: {exc.__class__.__name__}: {exc}"[:ERROR_LIMIT])
        else:
            notification.email_sent_at = timezone.now()
    if notification.webhook_due and _webhook_configured():
        try:
            _send_webhook(notification)
        except requests.RequestException as exc:
            errors.append(_webhook_error(exc))
        else:
            notification.webhook_sent_at = timezone.now()
    notification.lease_expires_at = None
    if not errors:
        notification.status = Notification.Status.SENT
        notification.sent_at = timezone.now()
        notification.last_error = ""
        notification.next_attempt_at = None
    else:
        notification.last_error = "; ".join(errors)
        if notification.attempts >= MAX_ATTEMPTS:
            notification.status = Notification.Status.FAILED
            notification.next_attempt_at = None
        else:
            notification.status = Notification.Status.PENDING
            notification.next_attempt_at = timezone.now() + _backoff(
                notification.attempts
            )
        logger.warning(
            "Notification %s not sent (attempt %d): %s",
            notification.pk,
            notification.attempts,
            notification.last_error,
        )
    notification.save(
        update_fields=[
            "status",
            "sent_at",
            "email_sent_at",
            "webhook_sent_at",
            "last_error",
            "next_attempt_at",
            "lease_expires_at",
        ]
    )
    return str(notification.status)
