"""The engine keeps its promises for large tenants, sibling purchases and lost answers."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from django.utils import timezone

from migrations_app.domain.plan import migration_plan
from migrations_app.models import AuditEvent, LicenseMove, Migration, PendingWrite
from migrations_app.services.migrations import migration_cancel
from migrations_app.workflow.steps.purchase import purchase_reference
from tests.migrations_app.migration_support import (
    CONTOSO,
    catalogue,  # noqa: F401
    customer,
    drive,
    orders_for_offer,
    requests,
    sandbox_customer,
    scale_listing_delay,
    start,
    step_once,
)


def _write_events(request_id: Any) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action="partner_center.write", pc_request_id=str(request_id)
        )
    )


def test_isolated_transient_failures_on_ten_users_do_not_fail_the_migration(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration, until=lambda m: m.state == "move_licenses")
    # The first licence update of ten different users fails with 503 (not applied).
    sandbox.fault(
        method="POST", path=r"/licenseupdates$", action="503", per_path=True, count=10
    )

    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    failed_first = [
        r
        for r in requests(sandbox.state(), "POST", "/licenseupdates")
        if r["status"] == 503
    ]
    assert len(failed_first) == 10


def test_verify_of_a_thousand_users_finishes_under_throttling_reading_each_about_once(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration, until=lambda m: m.state == "verify")
    tenant = sandbox_customer(sandbox.state(), CONTOSO)["id"]
    added = sandbox.post(
        f"/_sandbox/customers/{tenant}/users",
        {"count": 1000, "licenses": [migration.target_sku_id]},
    )["ids"]
    LicenseMove.objects.bulk_create(
        LicenseMove(
            migration=migration,
            user_id=user_id,
            user_principal_name=f"user{n}@example.com",
            status=LicenseMove.Status.MOVED,
            moved_at=timezone.now(),
        )
        for n, user_id in enumerate(added)
    )
    before = len(requests(sandbox.state(), "GET", "/licenses"))
    sandbox.fault(
        method="GET",
        path=r"/users/[^/]+/licenses$",
        action="429",
        probability=0.1,
        count=None,
        retry_after=1,
    )

    migration = drive(migration, until=lambda m: m.state != "verify", max_claims=3000)

    assert migration.state in ("retire_old", "completed"), migration.error_message
    reads = requests(sandbox.state(), "GET", "/licenses")[before:]
    users = LicenseMove.objects.filter(migration=migration).count()
    per_user = Counter(r["path"] for r in reads)
    assert len(per_user) == users
    average = len(reads) / users
    print(f"verify: {users} users, {len(reads)} reads, {average:.2f} per user")
    assert average <= 2.0


def test_a_lost_licence_move_answer_gets_its_one_audit_event_from_the_read_back(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration, until=lambda m: m.state == "move_licenses")
    # The 3rd licence update is applied, but its answer never arrives.
    sandbox.fault(
        method="POST", path=r"/licenseupdates$", action="drop_response", nth=3
    )

    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    writes = [
        w for w in sandbox.state()["writes"] if w["path"].endswith("/licenseupdates")
    ]
    assert len(writes) == 12
    for write in writes:
        [event] = _write_events(write["ms_request_id"])
        assert event.outcome == "success"
    assert not PendingWrite.objects.exists()


def test_a_purchase_is_adopted_only_by_its_own_reference(
    synced: Any, sandbox: Any, operator: Any, settings: Any
) -> None:
    """Another order of the same offer and quantity is never taken for this one's."""
    sandbox.fidelity(friendly_name_copy="copied")
    scale_listing_delay(sandbox, settings)
    [first] = start(CONTOSO, operator)
    first = drive(first, until=lambda m: m.state == "preflight")
    migration_cancel(migration=first, actor=operator)
    [second] = start(CONTOSO, operator)
    # A purchase of its own was sent (a fresh request) and its answer lost.
    Migration.objects.filter(pk=second.pk).update(
        order_id="", new_subscription_id="", purchase_request_id=uuid.uuid4()
    )

    second = drive(second, until=lambda m: m.state == "preflight")

    assert second.order_id and second.order_id != first.order_id
    dump = sandbox.state()
    orders = orders_for_offer(dump, CONTOSO, first.target_offer_id)
    assert len(orders) == 2
    [own] = [o for o in orders if o["id"] == second.order_id]
    assert (
        purchase_reference(second.purchase_request_id)
        in (own["lineItems"][0]["friendlyName"])
    )


def test_a_new_migration_takes_over_an_unconfirmed_order_by_its_reference(
    synced: Any, sandbox: Any, operator: Any, settings: Any
) -> None:
    sandbox.fidelity(friendly_name_copy="copied")
    scale_listing_delay(sandbox, settings)
    [first] = start(CONTOSO, operator)
    sandbox.fault(method="POST", path=r"/orders$", action="drop_response")
    step_once(first)
    first.refresh_from_db()
    assert first.purchase_request_id is not None and not first.bought
    migration_cancel(migration=first, actor=operator)

    [item] = migration_plan(customer=customer(CONTOSO)).items
    assert "never saw confirmed" in item.reuse_notes[0]
    [second] = start(CONTOSO, operator)
    assert second.purchase_request_id == first.purchase_request_id

    second = drive(second, until=lambda m: m.state == "preflight")

    [order] = orders_for_offer(sandbox.state(), CONTOSO, first.target_offer_id)
    assert second.order_id == order["id"]
    [event] = _write_events(first.purchase_request_id)
    assert event.outcome == "success" and "applied" in event.message


def _forget_connections(app: Any) -> None:
    """Make the Celery app connect afresh (its pools keep the last broker)."""
    app._pool = None
    app.amqp._producer_pool = None


def test_a_saved_step_survives_the_broker_being_down_and_beat_sends_it_later(
    synced: Any,
    sandbox: Any,
    operator: Any,
    caplog: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from celery import current_app

    from migrations_app.tasks.migration import migration_advance, requeue_due_migrations

    [migration] = start(CONTOSO, operator)
    # An earlier test may have re-run the logging configuration, which disables
    # loggers that already existed; this test reads what this one says.
    logging.getLogger("migrations_app.workflow.enqueue").disabled = False
    caplog.set_level(logging.WARNING, logger="migrations_app.workflow.enqueue")
    broker = current_app.conf.broker_url
    current_app.conf.broker_url = "redis://127.0.0.1:1/0"
    _forget_connections(current_app)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            state = migration_advance(migration.pk)  # the purchase, then a send
    finally:
        current_app.conf.broker_url = broker
        _forget_connections(current_app)

    migration.refresh_from_db()
    assert state == migration.state == "await_provisioning"
    assert "beat sends it again" in caplog.text
    assert "Traceback" not in caplog.text
    # The row, not the lost message, says what is due: beat sends it.
    Migration.objects.filter(pk=migration.pk).update(
        updated_at=timezone.now() - timedelta(minutes=5),
        enqueued_at=timezone.now() - timedelta(minutes=5),
    )
    assert requeue_due_migrations() == 1


def test_each_write_event_names_its_operation_as_the_call_site_recorded_it(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration)
    assert migration.state == "completed", migration.error_message

    operations = Counter(
        e.details.get("operation")
        for e in AuditEvent.objects.filter(
            action="partner_center.write", migration_id=migration.pk
        )
    )

    assert operations == Counter(
        {"order": 1, "licence_update": 12, "subscription_suspend": 1}
    )


def test_a_503_is_retried_after_its_retry_after_not_the_grown_backoff(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration, until=lambda m: m.state == "move_licenses")
    sandbox.fault(method="POST", path=r"/licenseupdates$", action="503", retry_after=1)

    before = timezone.now()
    step_once(migration)

    migration.refresh_from_db()
    assert migration.state == "move_licenses" and migration.next_attempt_at
    waited = (migration.next_attempt_at - before).total_seconds()
    assert 0.5 < waited < 3.0, waited
