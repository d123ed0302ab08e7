"""Send the engine's Celery messages by task name, once the transaction commits.

The database row is the record of truth: a message that cannot be sent (the
broker is down) is logged in one line and left to beat, which re-sends the work
of every migration that is due.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import current_app
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from migrations_app import task_names
from migrations_app.models import Migration

logger = logging.getLogger(__name__)

ADVANCE_TASK = task_names.MIGRATION_ADVANCE
CUSTOMER_SYNC_TASK = task_names.SYNC_CUSTOMER


@dataclass(frozen=True)
class TaskSend:
    """One message to send: task `name` with its arguments."""

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    countdown: float | None = None

    def __post_init__(self) -> None:
        # A misspelt name would be sent and sit in the queue unhandled forever:
        # refuse it where it is written instead.
        if self.name not in task_names.ALL:
            raise ValueError(f"{self.name!r} is not a task (see task_names)")

    def __call__(self) -> None:
        try:
            current_app.send_task(
                self.name,
                args=list(self.args),
                kwargs=self.kwargs,
                countdown=self.countdown,
            )
        except (BrokerError, ConnectionError, OSError) as exc:
            logger.warning(
                "Could not send %s%s now (%s); beat sends it again when it is due",
                self.name,
                self.args,
                exc.__class__.__name__,
            )


def send_on_commit(
    name: str, *args: Any, countdown: float | None = None, **kwargs: Any
) -> None:
    """Send task `name` once the current transaction commits (at once outside one)."""
    transaction.on_commit(TaskSend(name, args, kwargs, countdown or None))


def send_now(name: str, *args: Any, **kwargs: Any) -> None:
    """Send task `name` at once, whatever transaction is open (commands use it)."""
    TaskSend(name, args, kwargs)()


def enqueue_advance(migration_id: int, countdown: float | None = None) -> None:
    """Send `migration_advance(migration_id)` once the current transaction commits.

    The row notes when the message becomes due, so beat leaves it alone while it
    may still be waiting in the queue.
    """
    due = timezone.now() + timedelta(seconds=countdown or 0)
    try:
        Migration.objects.filter(pk=migration_id).update(enqueued_at=due)
    except DatabaseError as exc:
        # Without the note beat may send it twice, which a claim makes harmless.
        logger.warning(
            "Could not note the message of migration %s: %s", migration_id, exc
        )
    send_on_commit(ADVANCE_TASK, migration_id, countdown=countdown)


def enqueue_customer_sync(migration: Any) -> None:
    """Re-read the migration's customer once the transaction commits.

    Call it when a migration ends having changed the customer in Partner Center:
    the refresh brings its new subscription, seat counts and licences into the
    pages before the next full sync. One refresh serves a whole batch (see
    `CustomerRefreshSend`).
    """
    transaction.on_commit(
        CustomerRefreshSend(
            CUSTOMER_SYNC_TASK,
            (migration.customer_id,),
            {"migration_id": migration.pk},
            batch_id=str(migration.batch_id),
        )
    )


@dataclass(frozen=True)
class CustomerRefreshSend(TaskSend):
    """The refresh of a migration's customer, sent unless its batch is still busy.

    While another migration of the same batch and customer is still at work,
    nothing is sent: the last one to end sends it. The check runs after the
    commit, so of two migrations ending at once at least one sees the other
    ended (both may send; the refresh lock makes the second wait its turn).
    """

    batch_id: str = ""

    def wanted(self) -> bool:
        """Return True unless another migration of the batch is still at work.

        When the database cannot say, the refresh is wanted: one too many is
        better than pages left stale.
        """
        try:
            return not batch_busy(
                batch_id=self.batch_id,
                customer_id=self.args[0],
                migration_id=self.kwargs["migration_id"],
            )
        except DatabaseError:
            return True

    def __call__(self) -> None:
        if self.wanted():
            super().__call__()


# A migration of the batch that waits longer than this (a renewal, a long
# back-off) does not hold back the refresh of those that ended.
BATCH_BUSY_WAIT = timedelta(minutes=10)


def batch_busy(*, batch_id: str, customer_id: int, migration_id: int) -> bool:
    """Return whether another migration of the batch and customer is still at work."""
    soon = timezone.now() + BATCH_BUSY_WAIT
    return (
        Migration.objects.filter(batch_id=batch_id, customer_id=customer_id)
        .exclude(pk=migration_id)
        .running()
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=soon))
        .exists()
    )
