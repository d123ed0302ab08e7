"""Full runs over every customer: progress, locks, one audit event.

The customers themselves are read by `fan_out`; 429s are slept out by `throttle`.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone

from migrations_app import task_names
from migrations_app.domain.catalogue import catalogue_index
from migrations_app.domain.customer_facts import customer_facts_catalogue_changed
from migrations_app.models import Customer, Outcome, SyncRun
from migrations_app.services.audit import audit_record
from migrations_app.services.invitations import invitations_match_after_sync
from migrations_app.services.sync.customers import sync_customers
from migrations_app.services.sync.errors import (
    STEP_ERRORS,
    SyncAlreadyRunning,
    plain_error,
)
from migrations_app.services.sync.fan_out import sync_fan_out
from migrations_app.services.sync.lock import SYNC_MAX_LOCAL_WAIT_SECONDS, sync_lock
from migrations_app.services.sync.offers import (
    sync_bind_mappings,
    sync_offers,
    sync_products,
)
from migrations_app.services.sync.throttle import ThrottleBudget, with_throttle_retries
from migrations_app.services.sync.upsert import BATCH_SIZE
from migrations_app.workflow.enqueue import send_now, send_on_commit
from migrations_app.workflow.pc import CallLog, partner_center_client
from partner_center.client import PartnerCenterClient
from partner_center.errors import PartnerCenterError

logger = logging.getLogger(__name__)


SYNC_TASK = task_names.SYNC_PARTNER_CENTER


def sync_enqueue(*, requested_by: Any = None, now: bool = False) -> None:
    """Ask a worker for a full sync once the current transaction commits.

    With `now`, send the message at once (a command has no request to finish).
    """
    requested_by_id = getattr(requested_by, "pk", None)
    if now:
        send_now(SYNC_TASK, requested_by_id=requested_by_id)
    else:
        send_on_commit(SYNC_TASK, requested_by_id=requested_by_id)


# How often a running SyncRun row shows its progress to the customer list.
PROGRESS_EVERY_SECONDS = 3.0
FAILED_DETAILS_LIMIT = 20


@dataclass
class _RunState:
    run: SyncRun
    budget: ThrottleBudget
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
    state = _RunState(run=run, budget=ThrottleBudget(deadline=deadline))
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
        items = with_throttle_retries(
            state.budget, lambda: list(client.iter_customers())
        )
        written, changed, problems = sync_customers(items=items)
        run.rows_written += written
        run.customers_failed += len(problems)
        state.notes.extend(f"Customer skipped: {p}" for p in problems)

        _sync_catalogue(state, client)

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
        for customer, result in sync_fan_out(
            actor=run.requested_by,
            budget=state.budget,
            customers=customers,
            deadline=deadline,
            index=index,
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


def _sync_catalogue(state: _RunState, client: PartnerCenterClient) -> None:
    """Read the offer and modern catalogues and bind the SKU mappings.

    A catalogue that cannot be read leaves a note on the run; the customers are
    synced all the same.
    """
    run = state.run
    country = settings.PARTNER_CENTER_COUNTRY
    before_catalogue = run.rows_written
    state.stage = "the offer catalogue"
    try:
        run.rows_written += with_throttle_retries(
            state.budget, lambda: sync_offers(client=client, country=country)
        )
    except STEP_ERRORS as exc:
        logger.warning("Offer catalogue sync failed: %s", exc)
        state.notes.append(plain_error(exc, "the offer catalogue"))
    state.stage = "the modern catalogue"
    try:
        run.rows_written += with_throttle_retries(
            state.budget, lambda: sync_products(client=client, country=country)
        )
    except STEP_ERRORS as exc:
        logger.warning("Modern catalogue sync failed: %s", exc)
        state.notes.append(plain_error(exc, "the modern catalogue"))
    state.stage = "the SKU mappings"
    run.rows_written += sync_bind_mappings(country=country)
    if run.rows_written > before_catalogue:
        customer_facts_catalogue_changed()


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
