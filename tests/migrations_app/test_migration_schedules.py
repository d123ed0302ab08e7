"""Scheduled migrations: stored in the database, started by beat's task once the
clock passes their time, claimed once, movable and cancellable until then."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from migrations_app.domain.bulk import AT_RENEWAL_LEAD, when_text
from migrations_app.models import (
    AuditEvent,
    BulkCustomerOutcome,
    BulkRunCustomer,
    Customer,
    Migration,
    MigrationPath,
    MigrationSchedule,
    ScheduleState,
    SkuMapping,
    SkuMappingTarget,
    StartWhen,
)
from migrations_app.models.pc_values import date_text
from migrations_app.services.bulk import (
    BulkNotAllowed,
    BulkOptions,
    bulk_run_create,
    bulk_run_expand,
    schedule_cancel,
    schedule_reschedule,
    schedules_start_due,
)
from migrations_app.services.sync import sync_run
from migrations_app.tasks.bulk import start_due_schedules
from tests.migrations_app.migration_support import (
    CONTOSO,
    FABRIKAM,
    catalogue,  # noqa: F401
    customer,
    drive,
    requests,
)

GRAPHIC_DESIGN = "Graphic Design Institute"
BUSINESS_BASIC = "CFQ7TTC0LH18:0001"
BUSINESS_STANDARD = ("Microsoft 365 Business Standard", "CFQ7TTC0LDPB:0001")


@pytest.fixture(autouse=True)
def _quick_polls(settings: Any) -> None:
    settings.PARTNERHUB_PROVISIONING_POLL_SECONDS = 0.05


@pytest.fixture
def synced(catalogue: None, sandbox: Any, db: Any) -> Any:  # noqa: F811
    run = sync_run()
    assert run.status == "succeeded", run.error
    return sandbox


def _business_basic_retired(sandbox: Any) -> None:
    """Seed every scenario customer and retire Business Basic for Standard."""
    sandbox.reset(20, 7)
    mapping = SkuMapping.objects.create(
        product_line="Microsoft 365",
        retired_name="Microsoft 365 Business Basic",
        retired_offer_id=BUSINESS_BASIC,
    )
    SkuMappingTarget.objects.create(
        mapping=mapping,
        target_name=BUSINESS_STANDARD[0],
        target_offer_id=BUSINESS_STANDARD[1],
    )
    assert sync_run().status in ("succeeded", "partial")


def _schedule(names: list[str], operator: Any, **options: Any) -> MigrationSchedule:
    run = bulk_run_create(
        customers=Customer.objects.filter(company_name__in=names),
        options=BulkOptions(**options),
        actor=operator,
    )
    bulk_run_expand(bulk_run_id=run.pk)
    return MigrationSchedule.objects.filter(bulk_run=run).order_by("pk").first()


def test_a_migration_scheduled_for_a_date_starts_once_the_clock_passes_it(
    synced: Any, operator: Any
) -> None:
    on = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    schedule = _schedule([CONTOSO], operator, when=StartWhen.ON_DATE, start_on=on)
    assert schedule is not None and schedule.start_at == on
    row = BulkRunCustomer.objects.get(bulk_run=schedule.bulk_run)
    assert row.outcome == BulkCustomerOutcome.SCHEDULED

    # Beat looks every minute; before the date nothing starts.
    assert start_due_schedules() == 0
    assert schedules_start_due(now=on - timedelta(seconds=1)) == []
    assert not Migration.objects.exists()

    assert schedules_start_due(now=on + timedelta(seconds=30)) == [schedule.pk]
    # A second beat (or a duplicate run of the task) finds it claimed.
    assert schedules_start_due(now=on + timedelta(seconds=31)) == []

    schedule.refresh_from_db()
    [migration] = Migration.objects.all()
    assert schedule.state == ScheduleState.STARTED
    assert schedule.batch_id == migration.batch_id
    assert migration.bulk_run_id == schedule.bulk_run_id
    assert migration.customer == customer(CONTOSO)
    row.refresh_from_db()
    assert row.outcome == BulkCustomerOutcome.STARTED and row.migrations_started == 1
    assert AuditEvent.objects.filter(action="schedule.started").count() == 1
    # It runs like any migration started from the plan page.
    migration = drive(migration)
    assert migration.state == "completed", migration.error_message


def test_the_task_starts_a_schedule_whose_time_has_passed(
    synced: Any, operator: Any
) -> None:
    on = timezone.now() + timedelta(hours=1)
    schedule = _schedule([FABRIKAM], operator, when=StartWhen.ON_DATE, start_on=on)
    assert start_due_schedules() == 0
    # The clock passes the start: as beat would find it a minute later.
    MigrationSchedule.objects.filter(pk=schedule.pk).update(
        start_at=timezone.now() - timedelta(seconds=5)
    )

    assert start_due_schedules() == 1

    assert Migration.objects.filter(customer=customer(FABRIKAM)).count() >= 1


def test_days_before_the_end_date_counts_back_from_the_soonest_end(
    synced: Any, operator: Any
) -> None:
    schedule = _schedule([CONTOSO], operator, when=StartWhen.BEFORE_END, days_before=10)
    ends = [
        s.ends_on
        for s in customer(CONTOSO).subscriptions.all()
        if s.ends_on and s.offer_name == "Dynamics AX Enterprise"
    ]
    assert ends
    expected = max(min(ends) - timedelta(days=10), schedule.created_at)
    assert abs((schedule.start_at - expected).total_seconds()) < 5


def test_a_cancelled_schedule_never_starts_and_cannot_be_moved(
    synced: Any, operator: Any
) -> None:
    on = timezone.now() + timedelta(days=2)
    schedule = _schedule([CONTOSO], operator, when=StartWhen.ON_DATE, start_on=on)

    schedule_cancel(schedule=schedule, actor=operator)

    assert schedules_start_due(now=on + timedelta(days=1)) == []
    assert not Migration.objects.exists()
    with pytest.raises(BulkNotAllowed):
        schedule_reschedule(
            schedule=schedule, start_at=on + timedelta(days=3), actor=operator
        )
    with pytest.raises(BulkNotAllowed):
        schedule_cancel(schedule=schedule, actor=operator)
    row = BulkRunCustomer.objects.get(bulk_run=schedule.bulk_run)
    assert row.outcome == BulkCustomerOutcome.NOT_STARTED
    assert "cancelled" in row.reason


def test_a_moved_schedule_starts_at_its_new_time_only(
    synced: Any, operator: Any
) -> None:
    on = timezone.now() + timedelta(days=2)
    schedule = _schedule([CONTOSO], operator, when=StartWhen.ON_DATE, start_on=on)
    later = on + timedelta(days=5)

    schedule_reschedule(schedule=schedule, start_at=later, actor=operator)

    assert schedules_start_due(now=on + timedelta(hours=1)) == []
    assert schedules_start_due(now=later) == [schedule.pk]
    with pytest.raises(BulkNotAllowed, match="future"):
        schedule_reschedule(
            schedule=schedule,
            start_at=timezone.now() - timedelta(days=1),
            actor=operator,
        )


def test_a_moved_schedule_says_what_it_now_does(synced: Any, operator: Any) -> None:
    counted = _schedule([CONTOSO], operator, when=StartWhen.BEFORE_END, days_before=10)
    later = counted.start_at + timedelta(days=3)

    schedule_reschedule(schedule=counted, start_at=later, actor=operator)

    counted.refresh_from_db()
    assert (counted.when, counted.days_before) == (StartWhen.ON_DATE, None)
    said = when_text(counted.when, counted.start_on, counted.days_before)
    assert said == f"on {date_text(later)} at {later:%H:%M} UTC"
    assert "before the end date" not in said


def test_a_moved_schedule_at_renewal_stays_at_renewal_and_names_its_date(
    catalogue: None,  # noqa: F811
    sandbox: Any,
    operator: Any,
) -> None:
    _business_basic_retired(sandbox)
    renewal = _schedule([GRAPHIC_DESIGN], operator, when=StartWhen.AT_RENEWAL)
    later = timezone.now() + timedelta(days=1)

    schedule_reschedule(schedule=renewal, start_at=later, actor=operator)

    renewal.refresh_from_db()
    assert renewal.when == StartWhen.AT_RENEWAL
    said = when_text(renewal.when, renewal.start_on, renewal.days_before)
    assert said == (
        f"at renewal (the change is sent on {date_text(later)} at {later:%H:%M} UTC)"
    )


def test_a_schedule_that_can_no_longer_start_says_why(
    synced: Any, operator: Any
) -> None:
    on = timezone.now() + timedelta(days=1)
    schedule = _schedule([CONTOSO], operator, when=StartWhen.ON_DATE, start_on=on)
    # Meanwhile someone migrated the customer from its plan page.
    other = bulk_run_create(
        customers=Customer.objects.filter(company_name=CONTOSO),
        options=BulkOptions(),
        actor=operator,
    )
    bulk_run_expand(bulk_run_id=other.pk)

    assert schedules_start_due(now=on + timedelta(minutes=1)) == []

    schedule.refresh_from_db()
    assert schedule.state == ScheduleState.NOT_STARTED
    assert "Already migrating" in schedule.reason
    assert AuditEvent.objects.filter(action="schedule.not_started").count() == 1


def test_a_second_waiting_schedule_of_one_customer_is_refused(
    synced: Any, operator: Any
) -> None:
    on = timezone.now() + timedelta(days=1)
    first = _schedule([CONTOSO], operator, when=StartWhen.ON_DATE, start_on=on)
    second = _schedule(
        [CONTOSO, FABRIKAM], operator, when=StartWhen.ON_DATE, start_on=on
    )

    assert first is not None and second is not None
    assert second.customer == customer(FABRIKAM)
    row = BulkRunCustomer.objects.get(
        bulk_run=second.bulk_run, customer=customer(CONTOSO)
    )
    assert row.outcome == BulkCustomerOutcome.NOT_STARTED
    assert "already scheduled" in row.reason


def test_at_renewal_sends_the_change_a_week_before_and_completes_after_the_renewal(
    catalogue: None,  # noqa: F811
    sandbox: Any,
    operator: Any,
) -> None:
    _business_basic_retired(sandbox)
    schedule = _schedule([GRAPHIC_DESIGN], operator, when=StartWhen.AT_RENEWAL)
    assert schedule is not None
    sub = customer(GRAPHIC_DESIGN).subscriptions.get(
        product_id=BUSINESS_BASIC.split(":")[0], sku_id="0001", status="active"
    )
    assert sub.ends_on is not None
    assert schedule.start_at == max(sub.ends_on - AT_RENEWAL_LEAD, schedule.start_at)

    started = schedules_start_due(now=schedule.start_at + timedelta(seconds=1))

    assert started == [schedule.pk]
    [migration] = Migration.objects.filter(customer=customer(GRAPHIC_DESIGN))
    assert migration.path == MigrationPath.SCHEDULED
    migration = drive(
        migration,
        until=lambda m: (
            m.state == "await_renewal"
            and m.next_attempt_at is not None
            and m.next_attempt_at > timezone.now() + timedelta(days=1)
        ),
    )
    # The sandbox's clock passes the renewal; the migration then completes.
    days = (sub.ends_on - timezone.now()).days + 2
    sandbox.post("/_sandbox/clock", {"days": days})
    migration = drive(migration)
    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    assert not requests(dump, "POST", "/carts")
    assert not requests(dump, "POST", "/orders")
