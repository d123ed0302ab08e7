"""The Celery application: workers run every Partner Center call.

A worker must outlive a Redis restart. Celery's consumer reconnects after a lost
broker connection, but with a task in flight (``acks_late``) two things raise an
``AttributeError`` through a transport whose client is already gone, which Celery
does not count as a connection error, so the worker logs "Unrecoverable error"
and exits: closing the broken connection (it tries to put the unacknowledged
message back), and, once the task ends, acknowledging its message on that dead
connection. ``Consumer`` below closes the connection and lets those messages'
acknowledgements fail without either error escaping, so the consumer reconnects
and goes on. Nothing is lost by that: the messages lived in the Redis that went
away (with a persistent Redis the visibility timeout redelivers them), and every
migration's state is in the database, where beat finds due work again.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.worker import state
from celery.worker.consumer import Consumer as CeleryConsumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")

logger = logging.getLogger(__name__)


class Consumer(CeleryConsumer):
    """Celery's consumer, whose reconnect survives the lost connection's close and acks."""

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        """Close the lost connection safely, then do what Celery does."""
        connection = self.connection
        if connection is not None:
            # Celery calls `connection.close` (looked up on the instance).
            quiet = functools.partial(_close_quietly, connection)
            connection.close = connection.release = quiet  # type: ignore[method-assign]
        for request in {*state.reserved_requests, *state.active_requests}:
            message = request.message
            if message is not None and not request.acknowledged:
                # kombu's ack_log_error / reject_log_error call these.
                message.ack = _settle_quietly(message.ack, "acknowledged")
                message.reject = _settle_quietly(message.reject, "rejected")
        super().on_connection_error_after_connected(exc)


def _settle_quietly(settle: Callable[..., Any], what: str) -> Callable[..., Any]:
    """Return `settle` (a message's ack or reject) logging instead of raising.

    Only for messages of a lost connection: there is no broker left to tell.
    """

    def run(*args: Any, **kwargs: Any) -> None:
        try:
            settle(*args, **kwargs)
        except Exception:  # any error escaping here would end the worker
            logger.warning(
                "A message of the lost broker connection could not be %s",
                what,
                exc_info=True,
            )

    return run


def _close_quietly(connection: Any) -> None:
    """Run kombu's own close of `connection`, logging instead of raising."""
    try:
        type(connection).release(connection)
    except Exception:  # any error escaping here would end the worker
        logger.warning(
            "The lost broker connection did not close cleanly; reconnecting anyway",
            exc_info=True,
        )


app = Celery("partnerhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
