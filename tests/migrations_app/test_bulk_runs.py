"""Bulk runs over HTTP to the sandbox: many customers started at once, each with a
result of its own, and one purchase per migration target."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from django.db.models import Q
from django.utils import timezone

from migrations_app.domain.catalogue import catalogue_index
from migrations_app.models import (
    TERMINAL_STATES,
    AuditEvent,
    BulkCustomerOutcome,
    BulkRunCustomer,
    Customer,
    Migration,
    MigrationPath,
    MigrationState,
)
from migrations_app.selectors.bulk import bulk_run_page
from migrations_app.selectors.customers import CustomerFilters, customer_search
from migrations_app.services.bulk import BulkOptions, bulk_run_create, bulk_run_expand
from migrations_app.services.sync import sync_run
from migrations_app.tasks.migration import migration_advance
from tests.migrations_app.migration_support import catalogue, requests  # noqa: F401

BULK_CUSTOMERS = 90


@pytest.fixture(autouse=True)
def _quick_polls(settings: Any) -> None:
    settings.PARTNERHUB_PROVISIONING_POLL_SECONDS = 0.05


def _with_retired() -> Any:
    return customer_search(
        filters=CustomerFilters(retired=True), retired=catalogue_index()
    )


def _run_every_migration(limit_seconds: float = 240.0) -> None:
    """Play the worker: run every due step of every migration until all are
    terminal or wait for a renewal (as beat and the workers would)."""
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        now = timezone.now()
        running = Migration.objects.exclude(state__in=TERMINAL_STATES)
        waiting_long = running.filter(
            next_attempt_at__gt=now + timezone.timedelta(minutes=10)
        )
        due = list(
            running.filter(
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
            ).values_list("pk", flat=True)
        )
        if not due and running.count() == waiting_long.count():
            return
        for pk in due:
            migration_advance(pk)
        if not due:
            time.sleep(0.05)
    raise AssertionError("Migrations did not settle in time")


@pytest.fixture
def many(catalogue: None, sandbox: Any, db: Any) -> Any:  # noqa: F811
    """A sandbox of 90 customers, synced."""
    sandbox.reset(BULK_CUSTOMERS, 7)
    run = sync_run()
    assert run.status == "succeeded", run.error
    return sandbox


def test_a_bulk_run_over_fifty_customers_gives_each_a_result_and_buys_once_per_target(
    many: Any, operator: Any
) -> None:
    chosen = _with_retired()
    assert chosen.count() >= 50

    run = bulk_run_create(
        customers=chosen, options=BulkOptions(), actor=operator, all_matching=True
    )
    handled = bulk_run_expand(bulk_run_id=run.pk)
    _run_every_migration()

    rows = list(BulkRunCustomer.objects.filter(bulk_run=run))
    assert handled == len(rows) == run.customers_total >= 50
    assert not [r for r in rows if r.outcome == BulkCustomerOutcome.PENDING]
    # Customers that cannot start say why; they never stopped the others.
    refused = [r for r in rows if r.outcome == BulkCustomerOutcome.NOT_STARTED]
    started = [r for r in rows if r.outcome == BulkCustomerOutcome.STARTED]
    assert refused and all(r.reason for r in refused)
    assert len(started) >= 30
    migrations = list(Migration.objects.filter(bulk_run=run))
    assert sum(r.migrations_started for r in started) == len(migrations)
    assert {m.customer_id for m in migrations} == {r.customer_id for r in started}
    # Every started customer reached a result; the live page counts them all.
    waiting = [
        m
        for m in migrations
        if m.state not in TERMINAL_STATES and m.path == MigrationPath.SCHEDULED
    ]
    page = bulk_run_page(bulk_run_id=run.pk)
    assert page is not None
    counts = page.counts
    assert counts["waiting"] == 0
    assert counts["not_started"] == len(refused)
    assert counts["running"] == len({m.customer_id for m in waiting})
    assert sum(counts.values()) == len(rows)
    assert counts["done"] >= 25

    # One purchase per migration target: every order or checkout Partner Center
    # accepted belongs to exactly one bought migration, none twice.
    dump = many.state()
    bought = [
        r
        for r in requests(dump, "POST")
        if r["status"] < 300
        and (r["path"].endswith("/orders") or r["path"].endswith("/checkout"))
    ]
    buyers = [
        m
        for m in migrations
        if m.path not in (MigrationPath.TRANSITION, MigrationPath.SCHEDULED)
        and m.order_id
    ]
    assert len(buyers) >= 25
    assert len(bought) == len(buyers)
    per_customer = Counter(r["path"].split("/")[3].lower() for r in bought)
    assert per_customer == Counter(str(m.customer.tenant_id) for m in buyers)
    orders = [m.order_id for m in buyers]
    assert len(set(orders)) == len(orders)
    # The ones that bought nothing were refused before any order was accepted:
    # failed, or waiting for the customer (no customer agreement recorded).
    for m in migrations:
        if m.path == MigrationPath.BUY and not m.order_id:
            assert m.state in (
                MigrationState.FAILED,
                MigrationState.NEEDS_CUSTOMER_ACTION,
            ), (m.state, m.error_message)
    assert AuditEvent.objects.filter(action="bulk.started").count() == 1


def test_a_customer_that_cannot_start_says_why_and_the_others_still_start(
    many: Any, operator: Any
) -> None:
    chosen = list(_with_retired().order_by("company_name")[:6])
    locked = chosen[2]
    Customer.objects.filter(pk=locked.pk).update(
        gdap_missing="License Administrator or User Administrator"
    )

    run = bulk_run_create(
        customers=Customer.objects.filter(pk__in=[c.pk for c in chosen]),
        options=BulkOptions(),
        actor=operator,
    )
    bulk_run_expand(bulk_run_id=run.pk)

    row = BulkRunCustomer.objects.get(bulk_run=run, customer=locked)
    assert row.outcome == BulkCustomerOutcome.NOT_STARTED
    assert "GDAP" in row.reason and "License Administrator" in row.reason
    assert not Migration.objects.filter(customer=locked).exists()
    others = BulkRunCustomer.objects.filter(bulk_run=run).exclude(customer=locked)
    assert others.filter(outcome=BulkCustomerOutcome.STARTED).exists()
    assert not others.filter(outcome=BulkCustomerOutcome.PENDING).exists()


def test_expanding_a_run_twice_never_starts_a_customer_twice(
    many: Any, operator: Any
) -> None:
    chosen = _with_retired().order_by("company_name")[:8]
    run = bulk_run_create(
        customers=Customer.objects.filter(pk__in=[c.pk for c in chosen]),
        options=BulkOptions(),
        actor=operator,
    )

    first = bulk_run_expand(bulk_run_id=run.pk)
    count = Migration.objects.filter(bulk_run=run).count()
    # A duplicate message (or a second worker) finds nothing left to claim.
    second = bulk_run_expand(bulk_run_id=run.pk)

    assert first == 8 and second == 0
    assert Migration.objects.filter(bulk_run=run).count() == count > 0
    assert (
        Migration.objects.filter(state=MigrationState.QUEUED).count()
        == Migration.objects.count()
    )


def test_a_run_whose_customer_started_elsewhere_meanwhile_says_so(
    many: Any, operator: Any
) -> None:
    chosen = _with_retired().order_by("company_name")[:3]
    ids = [c.pk for c in chosen]
    first = bulk_run_create(
        customers=Customer.objects.filter(pk__in=ids),
        options=BulkOptions(),
        actor=operator,
    )
    second = bulk_run_create(
        customers=Customer.objects.filter(pk__in=ids),
        options=BulkOptions(),
        actor=operator,
    )
    bulk_run_expand(bulk_run_id=first.pk)
    bulk_run_expand(bulk_run_id=second.pk)

    again = BulkRunCustomer.objects.filter(bulk_run=second)
    assert not again.filter(outcome=BulkCustomerOutcome.STARTED).exists()
    assert all(r.outcome == BulkCustomerOutcome.NOT_STARTED for r in again)
    assert all(r.reason for r in again)
    assert any("Already migrating" in r.reason for r in again)
    assert not Migration.objects.filter(bulk_run=second).exists()
