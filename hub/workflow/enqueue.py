"""Send the engine's Celery messages by task name, once the transaction commits.

The database row is the record of truth: a message that cannot be sent (the
broker is down) is logged in one line and left to beat, which re-sends the work
of every migration that is due.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)

ADVANCE_TASK = "hub.tasks.migration_advance"
CUSTOMER_SYNC_TASK = "hub.tasks.sync_customer"


@dataclass(frozen=True)
class TaskSend:
    """One message to send: task `name` with its arguments."""

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    countdown: float | None = None

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
    """Send `migration_advance(migration_id)` once the current transaction commits."""
    send_on_commit(ADVANCE_TASK, migration_id, countdown=countdown)


def enqueue_customer_sync(migration: Any) -> None:
    """Re-read the migration's customer once the transaction commits.

    Call it when a migration ends having changed the customer in Partner Center:
    the refresh brings its new subscription, seat counts and licences into the
    pages before the next full sync.
    """
    send_on_commit(CUSTOMER_SYNC_TASK, migration.customer_id, migration_id=migration.pk)
