"""A migration that ends re-reads its customer, so the pages show the new SKU at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from migrations_app.models import (
    AuditEvent,
    Migration,
    SubscribedSku,
    UserLicense,
)
from migrations_app.services.migrations import migration_cancel
from migrations_app.services.sync import sync_customer_refresh
from migrations_app.tasks.sync import sync_customer
from migrations_app.workflow.enqueue import CustomerRefreshSend
from migrations_app.workflow.pc import partner_center_client
from partner_center.errors import Throttled
from tests.migrations_app.migration_support import (
    CONTOSO,
    NORTHWIND,
    WIDE_WORLD,
    customer,
    drive,
    start,
    task_sends,
)

SYNC_CUSTOMER = "migrations_app.tasks.sync_customer"


@pytest.fixture(autouse=True)
def _fast_polls(settings: Any) -> None:
    settings.PARTNERHUB_PROVISIONING_POLL_SECONDS = 0.1


def _sandbox_seats(tenant: str) -> dict[str, tuple[int, int, int, int, int, str]]:
    """Return the sandbox's subscribedskus of a tenant, read over HTTP, by skuId."""
    with partner_center_client() as client:
        skus = client.list_subscribed_skus(tenant)
    return {
        (s.sku_id or "").lower(): (
            s.active_units or 0,
            s.consumed_units or 0,
            s.available_units or 0,
            s.suspended_units or 0,
            s.total_units or 0,
            s.capability_status or "",
        )
        for s in skus
    }


def _stored_seats(
    migration: Migration,
) -> dict[str, tuple[int, int, int, int, int, str]]:
    return {
        row.sku_id.lower(): (
            row.active_units,
            row.consumed_units,
            row.available_units,
            row.suspended_units,
            row.total_units,
            row.capability_status,
        )
        for row in SubscribedSku.objects.filter(customer_id=migration.customer_id)
    }


def test_a_completed_migration_resyncs_its_customer_so_the_new_sku_shows_its_seats(
    synced: Any,
    sandbox: Any,
    operator: Any,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    [migration] = start(CONTOSO, operator)
    with django_capture_on_commit_callbacks() as callbacks:
        migration = drive(migration)
    assert migration.state == "completed", migration.error_message
    new, old = migration.target_sku_id.lower(), migration.source_sku_id.lower()
    assert new not in _stored_seats(migration), "stale until the refresh runs"
    sends = task_sends(callbacks, SYNC_CUSTOMER)
    assert sends == [((migration.customer_id,), {"migration_id": migration.pk})]
    last_event = AuditEvent.objects.latest("pk").pk

    [(args, kwargs)] = sends
    assert sync_customer(*args, **kwargs) == "synced"

    tenant = str(customer(CONTOSO).tenant_id)
    stored = _stored_seats(migration)
    assert stored == _sandbox_seats(tenant)
    moved = migration.license_moves.filter(status="moved").count()
    assert moved == 12
    active, consumed, *_ = stored[new]
    assert (active, consumed) == (migration.quantity, moved)
    old_active, old_consumed, _, old_suspended, *_ = stored[old]
    assert (old_active, old_consumed) == (0, 0)
    assert old_suspended == migration.source_subscription.quantity
    assert not UserLicense.objects.filter(
        user__customer_id=migration.customer_id, sku_id__iexact=old
    ).exists()
    [event] = AuditEvent.objects.filter(pk__gt=last_event)
    assert event.action == "sync.completed"
    assert event.customer_tenant_id == tenant
    assert event.migration_id == migration.pk
    assert event.details["scope"] == "customer"
    assert event.details["calls_made"] > 1  # the reads, summed up in one event

    client.force_login(operator)
    page = client.get(reverse("customer_detail", args=[tenant])).content.decode()
    seats = page.split("Licences in the tenant")[1].split("</table>")[0]
    assert migration.target_sku_id in seats


def test_a_migration_left_to_the_customer_resyncs_its_customer(
    synced: Any, sandbox: Any, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    [migration] = start(NORTHWIND, operator)
    with django_capture_on_commit_callbacks() as callbacks:
        migration = drive(migration)

    assert migration.state == "needs_customer_action"
    assert task_sends(callbacks, SYNC_CUSTOMER) == [
        ((migration.customer_id,), {"migration_id": migration.pk})
    ]


def test_cancelling_after_the_purchase_resyncs_the_customer(
    synced: Any, sandbox: Any, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    with django_capture_on_commit_callbacks() as driving:
        migration = drive(migration, until=lambda m: m.state == "preflight")
    assert task_sends(driving, SYNC_CUSTOMER) == []

    with django_capture_on_commit_callbacks() as callbacks:
        migration_cancel(migration=migration, actor=operator)

    assert task_sends(callbacks, SYNC_CUSTOMER) == [
        ((migration.customer_id,), {"migration_id": migration.pk})
    ]
    assert sync_customer(migration.customer_id, migration_id=migration.pk) == "synced"
    new = migration.target_sku_id.lower()
    assert _stored_seats(migration)[new][0] == migration.quantity


def test_a_throttled_refresh_is_left_for_later_then_recorded_on_its_last_try(
    synced: Any, sandbox: Any
) -> None:
    sandbox.settings(retry_after_seconds=600)
    contoso = customer(CONTOSO)
    path = f"/customers/{contoso.tenant_id}/subscriptions$"
    sandbox.fault(path=path, action="429", count=2)
    events_before = AuditEvent.objects.count()

    with pytest.raises(Throttled):
        sync_customer_refresh(customer=contoso, final_attempt=False)
    assert AuditEvent.objects.count() == events_before

    result = sync_customer_refresh(customer=contoso, final_attempt=True)
    contoso.refresh_from_db()
    assert not result.ok
    assert "slow down" in contoso.sync_error
    event = AuditEvent.objects.latest("pk")
    assert event.action == "sync.failed"
    assert event.customer_tenant_id == str(contoso.tenant_id)


def test_the_refresh_after_a_migration_keeps_trying_until_it_gets_through(
    synced: Any, sandbox: Any
) -> None:
    """Throttled more often than any fixed number of tries: still re-read in the end."""
    contoso = customer(CONTOSO)
    sandbox.settings(retry_after_seconds=1)
    path = f"/customers/{contoso.tenant_id}/subscriptions$"
    sandbox.fault(path=path, action="429", count=8)

    # Eager, as a worker would run it: every retry runs at once, in order.
    outcome = sync_customer.apply(args=[contoso.pk], kwargs={"migration_id": None})

    assert outcome.get() == "synced"
    contoso.refresh_from_db()
    assert contoso.sync_error == ""
    assert AuditEvent.objects.filter(action="sync.completed").exists()


def test_the_refresh_after_a_completed_migration_reuses_verifys_read_back(
    synced: Any,
    sandbox: Any,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    [migration] = start(CONTOSO, operator)
    with django_capture_on_commit_callbacks() as callbacks:
        migration = drive(migration)
    assert migration.state == "completed", migration.error_message
    [(args, kwargs)] = task_sends(callbacks, SYNC_CUSTOMER)
    tenant = str(customer(CONTOSO).tenant_id)
    since = len(sandbox.state()["requests"])

    assert sync_customer(*args, **kwargs) == "synced"

    paths = [
        r["path"]
        for r in sandbox.state()["requests"][since:]
        if r["path"].startswith("/v1/")
    ]
    assert not [p for p in paths if "/users" in p], paths
    assert _stored_seats(migration) == _sandbox_seats(tenant)
    held = set(
        UserLicense.objects.filter(user__customer_id=migration.customer_id).values_list(
            "user__user_id", "sku_id"
        )
    )
    for user in sandbox.state()["users"]:
        if user["customerId"].lower() == tenant:
            assert {(user["id"], sku) for sku in user["licenses"]} <= held
    # The seat counts read now are the mark: the next sync does not re-read users
    # for the counts the migration changed.
    refreshed = customer(CONTOSO)
    assert refreshed.users_read_skus
    event = AuditEvent.objects.filter(action="sync.completed").latest("pk")
    assert event.details["users_read"] is False


def test_a_batch_of_migrations_of_one_customer_is_refreshed_once(
    synced: Any,
    sandbox: Any,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    wide_world = customer(WIDE_WORLD)
    for user in sandbox.state()["users"]:
        if user["customerId"].lower() == str(wide_world.tenant_id):
            sandbox.patch(
                f"/_sandbox/customers/{wide_world.tenant_id}/users/{user['id']}",
                {"usageLocation": "US"},
            )
    assert sync_customer_refresh(customer=wide_world).ok
    first, second = start(WIDE_WORLD, operator)
    with django_capture_on_commit_callbacks() as callbacks:
        first = drive(first)
    assert first.state == "completed", first.error_message
    [early] = [c for c in callbacks if isinstance(c, CustomerRefreshSend)]
    assert not early.wanted(), "the other migration of the batch is still at work"

    with django_capture_on_commit_callbacks() as callbacks:
        second = drive(second)
    assert second.state == "completed", second.error_message
    [last] = [c for c in callbacks if isinstance(c, CustomerRefreshSend)]
    assert last.wanted()
    assert last.args == (second.customer_id,)
