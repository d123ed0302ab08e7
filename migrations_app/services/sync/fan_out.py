"""The customers of a sync run read one after another, or on several threads.

Each customer is read on a client of its own, paced by the shared rate-limit
bucket, and its calls are counted; results are handed back as each one ends.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections

from migrations_app.domain.catalogue import CatalogueIndex
from migrations_app.models import Customer
from migrations_app.services.sync.errors import plain_error
from migrations_app.services.sync.lock import SYNC_MAX_LOCAL_WAIT_SECONDS
from migrations_app.services.sync.snapshot import (
    CustomerSyncResult,
    record_customer_error,
    sync_customer,
)
from migrations_app.services.sync.throttle import ThrottleBudget, with_throttle_retries
from migrations_app.workflow.pc import CallLog, partner_center_client
from partner_center.errors import Throttled

_Done = tuple[Customer, CustomerSyncResult | None]


def sync_fan_out(
    *,
    actor: User | None,
    budget: ThrottleBudget,
    customers: list[Customer],
    deadline: float | None,
    index: CatalogueIndex,
) -> Iterable[_Done]:
    """Return (customer, result) pairs as each customer's sync ends.

    The result is None for a customer not started before the deadline.

    `PARTNERHUB_SYNC_CONCURRENCY` threads read customers at the same time, all
    paced by the shared rate-limit bucket (each call waits for a token, so more
    threads never mean more than the configured rate). Results are counted here,
    in the calling thread. An unexpected error stops the threads from taking
    more customers and is raised once they have finished.
    """
    threads = min(settings.PARTNERHUB_SYNC_CONCURRENCY, len(customers))
    if threads <= 1:
        return _Sequential(actor, budget, customers, deadline, index)
    return _Threaded(actor, budget, customers, deadline, index, threads)


class _Sequential:
    """Sync customers one after another in the calling thread."""

    def __init__(
        self,
        actor: User | None,
        budget: ThrottleBudget,
        customers: list[Customer],
        deadline: float | None,
        index: CatalogueIndex,
    ) -> None:
        self.actor, self.budget, self.customers = actor, budget, customers
        self.deadline, self.index = deadline, index

    def _sync(self, customer: Customer) -> CustomerSyncResult:
        return _sync_one(
            actor=self.actor, budget=self.budget, customer=customer, index=self.index
        )

    def __iter__(self) -> Iterator[_Done]:
        for customer in self.customers:
            if self.deadline is not None and time.monotonic() > self.deadline:
                yield customer, None
                continue
            yield customer, self._sync(customer)


class _Threaded(_Sequential):
    """Sync customers on `threads` threads; yield results as they end."""

    def __init__(
        self,
        actor: User | None,
        budget: ThrottleBudget,
        customers: list[Customer],
        deadline: float | None,
        index: CatalogueIndex,
        threads: int,
    ) -> None:
        super().__init__(actor, budget, customers, deadline, index)
        self.threads = threads

    def __iter__(self) -> Iterator[_Done]:
        todo: queue.Queue[Customer] = queue.Queue()
        for customer in self.customers:
            todo.put(customer)
        done: queue.Queue[_Done | BaseException] = queue.Queue()
        stop = threading.Event()

        def work() -> None:
            try:
                while not stop.is_set():
                    try:
                        customer = todo.get_nowait()
                    except queue.Empty:
                        return
                    if self.deadline is not None and time.monotonic() > self.deadline:
                        done.put((customer, None))
                        continue
                    try:
                        result = self._sync(customer)
                    except BaseException as exc:  # raised again by the caller
                        stop.set()
                        done.put(exc)
                        return
                    done.put((customer, result))
            finally:
                # This thread's database connection ends with it.
                connections.close_all()

        workers = [
            threading.Thread(target=work, name=f"sync-{n}", daemon=True)
            for n in range(self.threads)
        ]
        for worker in workers:
            worker.start()
        failure: BaseException | None = None
        try:
            for _ in range(len(self.customers)):
                item = done.get()
                if isinstance(item, BaseException):
                    failure = failure or item
                    break
                yield item
        finally:
            stop.set()
            for worker in workers:
                worker.join()
        if failure is not None:
            raise failure


def _sync_one(
    *,
    actor: User | None,
    budget: ThrottleBudget,
    customer: Customer,
    index: CatalogueIndex,
) -> CustomerSyncResult:
    """Sync one customer of a run on a client of its own; count its calls."""
    customer_calls = CallLog()
    client = partner_center_client(
        actor=actor,
        customer=customer,
        observer=customer_calls,
        max_local_wait=SYNC_MAX_LOCAL_WAIT_SECONDS,
    )
    with client:
        try:
            result: CustomerSyncResult = with_throttle_retries(
                budget,
                lambda: sync_customer(
                    customer=customer,
                    client=client,
                    # The run stamps its customers in bulk at its end; one read
                    # for the first time is stamped at once, so its page does
                    # not say "Not synced yet" beside the rows it now shows.
                    stamp=customer.synced_at is None,
                    full=False,
                    index=index,
                ),
            )
        except Throttled as exc:
            message = plain_error(exc, f"{customer.company_name}'s data")
            result = CustomerSyncResult(
                rows_written=record_customer_error(customer=customer, message=message),
                error=message,
            )
    result.calls = customer_calls.calls
    return result
