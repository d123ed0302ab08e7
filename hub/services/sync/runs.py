"""Full runs over every customer: throttling, progress, locks, one audit event."""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone

from hub.models import Customer, Outcome, SyncRun
from hub.services.audit import audit_record
from hub.services.invitations import invitations_match_after_sync
from hub.services.sync.customers import sync_customers
from hub.services.sync.errors import STEP_ERRORS, SyncAlreadyRunning, plain_error
from hub.services.sync.lock import SYNC_MAX_LOCAL_WAIT_SECONDS, sync_lock
from hub.services.sync.offers import sync_bind_mappings, sync_offers, sync_products
from hub.services.sync.snapshot import (
    CustomerSyncResult,
    record_customer_error,
    sync_customer,
)
from hub.services.sync.upsert import BATCH_SIZE
from hub.workflow.catalogue import CatalogueIndex, catalogue_index
from hub.workflow.customer_facts import customer_facts_catalogue_changed
from hub.workflow.enqueue import send_now, send_on_commit
from hub.workflow.pc import CallLog, partner_center_client
from partner_center.errors import PartnerCenterError, Throttled

logger = logging.getLogger(__name__)


SYNC_TASK = "hub.tasks.sync_partner_center"


def sync_enqueue(*, requested_by: Any = None, now: bool = False) -> None:
    """Ask a worker for a full sync once the current transaction commits.

    With `now`, send the message at once (a command has no request to finish).
    """
    requested_by_id = getattr(requested_by, "pk", None)
    if now:
        send_now(SYNC_TASK, requested_by_id=requested_by_id)
    else:
        send_on_commit(SYNC_TASK, requested_by_id=requested_by_id)


# A 429 is honoured by sleeping its Retry-After, within these bounds per run.
THROTTLE_SLEEP_BUDGET_SECONDS = 120.0
THROTTLE_MAX_SINGLE_WAIT_SECONDS = 60.0
THROTTLE_MAX_ATTEMPTS = 3
# How often a running SyncRun row shows its progress to the customer list.
PROGRESS_EVERY_SECONDS = 3.0
FAILED_DETAILS_LIMIT = 20


@dataclass
class _ThrottleBudget:
    """Seconds a run may spend sleeping on Retry-After before giving up."""

    remaining: float = THROTTLE_SLEEP_BUDGET_SECONDS
    slept: float = 0.0
    deadline: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, retry_after: float) -> bool:
        """Sleep `retry_after` and return True, or return False if over budget.

        Threads of one run share the budget: each wait is taken from it before
        sleeping.
        """
        wait = max(0.0, retry_after)
        with self.lock:
            if wait > THROTTLE_MAX_SINGLE_WAIT_SECONDS or wait > self.remaining:
                return False
            if self.deadline is not None and time.monotonic() + wait > self.deadline:
                return False
            self.remaining -= wait
            self.slept += wait
        time.sleep(wait)
        return True


@dataclass
class _RunState:
    run: SyncRun
    budget: _ThrottleBudget
    stage: str = "the customer list"
    notes: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    last_progress: float = 0.0
    # Calls made for the customers themselves (the list and catalogue aside).
    customer_calls: int = 0


def _progress(state: _RunState, calls: CallLog, *, force: bool = False) -> None:
    now = time.monotonic()
    if not force and now - state.last_progress < PROGRESS_EVERY_SECONDS:
        return
    state.last_progress = now
    run = state.run
    run.calls_made = calls.calls
    run.save(
        update_fields=[
            "customers_seen",
            "customers_changed",
            "customers_failed",
            "rows_written",
            "calls_made",
        ]
    )


def _with_throttle_retries(state: _RunState, action: Callable[[], Any]) -> Any:
    """Return action(), sleeping out 429s within the run's budget.

    Raise the last Throttled when the budget or the attempts run out.
    """
    attempt = 0
    while True:
        try:
            return action()
        except Throttled as exc:
            attempt += 1
            if attempt >= THROTTLE_MAX_ATTEMPTS or not state.budget.wait(
                exc.retry_after
            ):
                raise


def _stamp(calls: dict[int, int], now: datetime) -> None:
    """Stamp synced customers fresh, with the calls each one's sync made.

    One UPDATE per batch of customers, whatever their call counts.
    """
    pks = list(calls)
    for start in range(0, len(pks), BATCH_SIZE):
        batch = pks[start : start + BATCH_SIZE]
        by_count: dict[int, list[int]] = {}
        for pk in batch:
            by_count.setdefault(calls[pk], []).append(pk)
        Customer.objects.filter(pk__in=batch).update(
            synced_at=now,
            sync_error="",
            sync_calls=Case(
                *(When(pk__in=group, then=Value(n)) for n, group in by_count.items()),
                default=F("sync_calls"),
                output_field=IntegerField(),
            ),
        )


def sync_run(
    *,
    requested_by: User | None = None,
    time_budget: float | None = None,
) -> SyncRun:
    """Run one full sync and return its finished SyncRun.

    Customers are visited stalest first. With a `time_budget` (seconds), customers
    left when it runs out wait for the next run (they keep their data and their
    older `synced_at`). A 429 is honoured by sleeping its Retry-After while the
    run's sleep budget lasts; past it, that customer is recorded as failed for
    this run and retried by the next one, so a throttled run still finishes.
    """
    started = time.monotonic()
    deadline = started + time_budget if time_budget is not None else None
    run = SyncRun.objects.create(requested_by=requested_by)
    calls = CallLog()
    state = _RunState(run=run, budget=_ThrottleBudget(deadline=deadline))
    try:
        _sync_run_body(state=state, calls=calls, deadline=deadline)
    except Exception as exc:
        logger.exception("Sync run %s failed", run.pk)
        run.status = SyncRun.Status.FAILED
        if isinstance(exc, PartnerCenterError):
            reason = plain_error(exc, state.stage)
        else:
            reason = (
                f"The sync stopped while working on {state.stage} "
                f"({type(exc).__name__}: {exc})."
            )
        run.error = "\n".join([*state.notes, reason])
    else:
        failed = run.customers_failed > 0 or bool(state.notes)
        run.status = SyncRun.Status.PARTIAL if failed else SyncRun.Status.SUCCEEDED
        run.error = "\n".join(state.notes)
    run.calls_made = calls.calls
    run.finished_at = timezone.now()
    run.save()
    _audit_run(run=run, state=state, seconds=time.monotonic() - started)
    invitations_match_after_sync()
    return run


def _sync_run_body(*, state: _RunState, calls: CallLog, deadline: float | None) -> None:
    run = state.run
    client = partner_center_client(
        actor=run.requested_by,
        observer=calls,
        max_local_wait=SYNC_MAX_LOCAL_WAIT_SECONDS,
    )
    with client:
        items = _with_throttle_retries(state, lambda: list(client.iter_customers()))
        written, changed, problems = sync_customers(items=items)
        run.rows_written += written
        run.customers_failed += len(problems)
        state.notes.extend(f"Customer skipped: {p}" for p in problems)

        country = settings.PARTNER_CENTER_COUNTRY
        before_catalogue = run.rows_written
        state.stage = "the offer catalogue"
        try:
            run.rows_written += _with_throttle_retries(
                state, lambda: sync_offers(client=client, country=country)
            )
        except STEP_ERRORS as exc:
            logger.warning("Offer catalogue sync failed: %s", exc)
            state.notes.append(plain_error(exc, "the offer catalogue"))
        state.stage = "the modern catalogue"
        try:
            run.rows_written += _with_throttle_retries(
                state, lambda: sync_products(client=client, country=country)
            )
        except STEP_ERRORS as exc:
            logger.warning("Modern catalogue sync failed: %s", exc)
            state.notes.append(plain_error(exc, "the modern catalogue"))
        state.stage = "the SKU mappings"
        run.rows_written += sync_bind_mappings(country=country)
        if run.rows_written > before_catalogue:
            customer_facts_catalogue_changed()

        if client.user_tokens is None:
            state.notes.append(
                "Users, their licences and seat counts were not loaded: Partner "
                "Center serves them only to App+User credentials, and no "
                "PARTNER_CENTER_REFRESH_TOKEN is configured."
            )

        listed = [uuid.UUID(str(i.id)) for i in items if _is_uuid(i.id)]
        customers = list(
            Customer.objects.filter(tenant_id__in=listed).order_by(
                F("synced_at").asc(nulls_first=True), "company_name", "pk"
            )
        )
        run.customers_seen = len(customers) + len(problems)
        _progress(state, calls, force=True)
        index = catalogue_index()
        ok: dict[int, int] = {}
        left = 0
        for customer, result in _fan_out(
            state=state, customers=customers, deadline=deadline, index=index
        ):
            if result is None:
                left += 1
                continue
            calls.calls += result.calls
            state.customer_calls += result.calls
            run.rows_written += result.rows_written
            run.users_read += int(result.users_read)
            if result.ok:
                ok[customer.pk] = result.calls
            else:
                run.customers_failed += 1
                if len(state.failed) < FAILED_DETAILS_LIMIT:
                    state.failed.append(
                        {"tenant_id": str(customer.tenant_id), "error": result.error}
                    )
            if result.customer_changed or customer.pk in changed:
                run.customers_changed += 1
            _progress(state, calls)
        state.stage = "the final bookkeeping"
        _stamp(ok, timezone.now())
        if left:
            state.notes.append(
                f"Stopped at the time limit; {left} customers wait for the next sync."
            )


_Done = tuple[Customer, CustomerSyncResult | None]


def _fan_out(
    *,
    state: _RunState,
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
        return _Sequential(state, customers, deadline, index)
    return _Threaded(state, customers, deadline, index, threads)


class _Sequential:
    """Sync customers one after another in the calling thread."""

    def __init__(
        self,
        state: _RunState,
        customers: list[Customer],
        deadline: float | None,
        index: CatalogueIndex,
    ) -> None:
        self.state, self.customers = state, customers
        self.deadline, self.index = deadline, index

    def __iter__(self) -> Iterator[_Done]:
        for customer in self.customers:
            if self.deadline is not None and time.monotonic() > self.deadline:
                yield customer, None
                continue
            yield (
                customer,
                _sync_one(state=self.state, customer=customer, index=self.index),
            )


class _Threaded(_Sequential):
    """Sync customers on `threads` threads; yield results as they end."""

    def __init__(
        self,
        state: _RunState,
        customers: list[Customer],
        deadline: float | None,
        index: CatalogueIndex,
        threads: int,
    ) -> None:
        super().__init__(state, customers, deadline, index)
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
                        result = _sync_one(
                            state=self.state, customer=customer, index=self.index
                        )
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
    *, state: _RunState, customer: Customer, index: CatalogueIndex
) -> CustomerSyncResult:
    """Sync one customer of a run on a client of its own; count its calls."""
    customer_calls = CallLog()
    client = partner_center_client(
        actor=state.run.requested_by,
        customer=customer,
        observer=customer_calls,
        max_local_wait=SYNC_MAX_LOCAL_WAIT_SECONDS,
    )
    with client:
        try:
            result: CustomerSyncResult = _with_throttle_retries(
                state,
                lambda: sync_customer(
                    customer=customer,
                    client=client,
                    stamp=False,
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


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _audit_run(*, run: SyncRun, state: _RunState, seconds: float) -> None:
    counts = {
        "sync_run_id": run.pk,
        "status": run.status,
        "customers_seen": run.customers_seen,
        "customers_changed": run.customers_changed,
        "customers_failed": run.customers_failed,
        "rows_written": run.rows_written,
        "calls_made": run.calls_made,
        "users_read": run.users_read,
        "calls_per_customer": round(state.customer_calls / run.customers_seen, 1)
        if run.customers_seen
        else 0.0,
        "seconds": round(seconds, 1),
        "throttle_sleep_seconds": round(state.budget.slept, 1),
    }
    if state.failed:
        counts["failed_customers"] = state.failed
    if run.status == SyncRun.Status.FAILED:
        action, outcome = "sync.failed", Outcome.FAILURE
        message = f"Sync failed: {run.error}"
    else:
        action, outcome = "sync.completed", Outcome.SUCCESS
        message = (
            f"Synced {run.customers_seen} customers: {run.customers_changed} changed, "
            f"{run.customers_failed} failed, {run.rows_written} rows written, "
            f"{run.calls_made} Partner Center calls; users and licences read for "
            f"{run.users_read}."
        )
    audit_record(
        action=action,
        actor=run.requested_by,
        outcome=outcome,
        message=message,
        details=counts,
    )


def sync_close_interrupted_runs() -> int:
    """Mark runs left `running` by a killed worker as failed; return how many.

    Call it only while holding the sync lock, when no run can be in progress.
    """
    return SyncRun.objects.filter(status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
        error="Interrupted: the process running this sync stopped before it finished.",
    )


def sync_run_exclusive(
    *,
    requested_by: User | None = None,
    time_budget: float | None = None,
    lock_seconds: int = 2 * 3600,
) -> SyncRun:
    """Run `sync_run` unless another sync holds the lock; return the run.

    Raise SyncAlreadyRunning if one does.
    """
    with sync_lock(lock_seconds) as acquired:
        if not acquired:
            raise SyncAlreadyRunning("Another sync is already running.")
        sync_close_interrupted_runs()
        return sync_run(requested_by=requested_by, time_budget=time_budget)
