"""The sync against the Partner Center sandbox, over real HTTP."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from migrations_app.domain.catalogue import catalogue_index
from migrations_app.models import (
    AuditEvent,
    Customer,
    CustomerUser,
    Migration,
    Offer,
    SkuMapping,
    SkuMappingTarget,
    SubscribedSku,
    Subscription,
    SyncRun,
    UserLicense,
)
from migrations_app.services.sync import (
    SYNC_LOCK_KEY,
    SyncAlreadyRunning,
    sync_customer,
    sync_run,
    sync_run_exclusive,
)
from migrations_app.tasks.sync import sync_partner_center
from partner_center.auth import SandboxTokenProvider
from partner_center.client import PartnerCenterClient
from tests.factories import CustomerFactory, SubscriptionFactory

DATA_TABLES = [
    model._meta.db_table
    for model in (
        Subscription,
        SubscribedSku,
        CustomerUser,
        UserLicense,
        Offer,
        SkuMapping,
        SkuMappingTarget,
    )
]


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _writes(queries: list[dict[str, Any]]) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if re.match(r"\s*(INSERT|UPDATE|DELETE)\b", q["sql"], re.IGNORECASE)
    ]


def _touches(sql: str, table: str) -> bool:
    return re.search(rf'\b(INTO|UPDATE|FROM)\s+"?{table}"?', sql, re.I) is not None


def _listed(dump: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """Return the dump's records of `kind` that belong to listed customers.

    Tenants with a pending invitation are not customers yet: Partner Center does
    not list them.
    """
    listed = {c["id"] for c in dump["customers"]}
    return [r for r in dump[kind] if r["customerId"] in listed]


def test_a_full_sync_loads_every_customer_subscription_user_and_licence(
    sandbox: Any, db: Any
) -> None:
    dump = sandbox.state()
    assert dump["invitations"], "the seed should include pending invitations"
    run = sync_run()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.customers_seen == len(dump["customers"]) == 12
    assert run.customers_failed == 0
    assert run.finished_at is not None
    customers = {str(c.tenant_id): c for c in Customer.objects.all()}
    assert set(customers) == {c["id"].lower() for c in dump["customers"]}
    for record in dump["customers"]:
        row = customers[record["id"].lower()]
        assert row.company_name == record["companyName"]
        assert row.domain == record["domain"]
        assert row.relationship_to_partner == record["relationshipToPartner"]
        assert row.sync_error == ""
        assert row.synced_at is not None

    subs = {
        s.subscription_id: s for s in Subscription.objects.select_related("customer")
    }
    assert set(subs) == {s["id"] for s in _listed(dump, "subscriptions")}
    for record in _listed(dump, "subscriptions"):
        row = subs[record["id"]]
        assert str(row.customer.tenant_id) == record["customerId"].lower()
        assert row.offer_id == record["offerId"]
        assert row.offer_name == record["offerName"]
        assert row.quantity == record["quantity"]
        assert row.status == record["status"]
        assert row.auto_renew_enabled == record["autoRenewEnabled"]
        assert row.commitment_end_date == _when(record["commitmentEndDate"])
        assert row.partner_id == record["partnerId"]

    users = {u.user_id: u for u in CustomerUser.objects.select_related("customer")}
    assert set(users) == {u["id"] for u in _listed(dump, "users")}
    for record in _listed(dump, "users"):
        row = users[record["id"]]
        assert row.user_principal_name == record["userPrincipalName"]
        assert row.usage_location == (record["usageLocation"] or "")
        held = set(row.licenses.values_list("sku_id", flat=True))
        assert held == set(record["licenses"])

    consumed: Counter[tuple[str, str]] = Counter()
    for record in _listed(dump, "users"):
        for sku in record["licenses"]:
            consumed[(record["customerId"].lower(), sku)] += 1
    for sku_row in SubscribedSku.objects.select_related("customer"):
        key = (str(sku_row.customer.tenant_id), sku_row.sku_id)
        assert sku_row.consumed_units == consumed[key]
    offers = {o.offer_id: o for o in Offer.objects.all()}
    assert set(offers) == {o["id"] for o in dump["offers"]}
    assert all(offers[o["id"]].product_id == o["skuId"] for o in dump["offers"])


def test_the_sync_binds_sku_mappings_to_offers_by_name(sandbox: Any, db: Any) -> None:
    dump = sandbox.state()
    by_name = {o["name"].lower(): o["id"] for o in dump["offers"]}

    run = sync_run()

    ax = SkuMapping.objects.get(retired_name__iexact="Dynamics AX Enterprise")
    assert ax.retired_offer_id == by_name["dynamics ax enterprise"]
    for target in SkuMappingTarget.objects.filter(mapping=ax):
        assert target.target_offer_id == by_name[target.target_name.lower()]
    assert run.rows_written > 0


def test_an_admins_choice_of_offer_for_a_mapping_is_kept(sandbox: Any, db: Any) -> None:
    mapping = SkuMapping.objects.get(retired_name__iexact="Dynamics AX Enterprise")
    mapping.retired_offer_id = "CHOSEN-BY-AN-ADMIN"
    mapping.save()

    sync_run()

    mapping.refresh_from_db()
    assert mapping.retired_offer_id == "CHOSEN-BY-AN-ADMIN"


def test_a_second_run_writes_no_partner_center_data(sandbox: Any, db: Any) -> None:
    first = sync_run()
    assert first.rows_written > 100

    with CaptureQueriesContext(connection) as captured:
        second = sync_run()

    assert second.status == SyncRun.Status.SUCCEEDED
    assert second.rows_written == 0
    assert second.customers_changed == 0
    writes = _writes(captured.captured_queries)
    for table in DATA_TABLES:
        assert not [sql for sql in writes if _touches(sql, table)], table
    # The only customer write is the one bulk freshness stamp.
    customer_writes = [sql for sql in writes if _touches(sql, Customer._meta.db_table)]
    assert len(customer_writes) == 1
    assert re.search(r"SET\s+\"?synced_at\"?", customer_writes[0], re.I)


def test_the_second_runs_query_count_does_not_depend_on_unchanged_rows(
    sandbox: Any, db: Any, django_assert_max_num_queries: Any
) -> None:
    sync_run()
    customers = Customer.objects.count()
    # Reads per customer (subscriptions, SKUs, users, licences, migrations
    # lookups) and no writes: a small constant per customer.
    with django_assert_max_num_queries(8 * customers + 40):
        run = sync_run()
    assert run.rows_written == 0


def test_a_change_in_partner_center_is_picked_up(sandbox: Any, db: Any) -> None:
    sync_run()
    sub = (
        Subscription.objects.filter(status="active").select_related("customer").first()
    )
    assert sub is not None
    sandbox.patch(
        f"/_sandbox/customers/{sub.customer.tenant_id}/subscriptions/{sub.subscription_id}",
        {"status": "suspended"},
    )

    run = sync_run()

    sub.refresh_from_db()
    assert sub.status == "suspended"
    assert sub.label == "Suspended"
    assert run.customers_changed >= 1
    assert run.rows_written >= 1


def test_the_partnerhub_suspension_date_is_kept_only_while_suspended(
    sandbox: Any, db: Any
) -> None:
    sync_run()
    # A legacy one: the 120-day deprovisioning label is legacy-only.
    sub = (
        Subscription.objects.filter(status="active", product_type="", product_id="")
        .select_related("customer")
        .first()
    )
    assert sub is not None
    path = f"/_sandbox/customers/{sub.customer.tenant_id}/subscriptions/{sub.subscription_id}"
    sandbox.patch(path, {"status": "suspended"})
    sync_run()
    suspended_at = timezone.now() - timedelta(days=3)
    Subscription.objects.filter(pk=sub.pk).update(
        suspended_by_partnerhub_at=suspended_at
    )

    again = sync_run()
    sub.refresh_from_db()
    assert sub.suspended_by_partnerhub_at == suspended_at
    assert sub.label.startswith("Suspended · deprovisioned after")
    assert again.rows_written == 0

    sandbox.patch(path, {"status": "active"})
    sync_run()
    sub.refresh_from_db()
    assert sub.suspended_by_partnerhub_at is None


def test_an_unknown_status_is_stored_as_sent(sandbox: Any, db: Any) -> None:
    sync_run()
    sub = Subscription.objects.select_related("customer").first()
    assert sub is not None
    sandbox.patch(
        f"/_sandbox/customers/{sub.customer.tenant_id}/subscriptions/{sub.subscription_id}",
        {"status": "quarantined"},
    )

    run = sync_run()

    assert run.status == SyncRun.Status.SUCCEEDED
    sub.refresh_from_db()
    assert sub.status == "quarantined"
    assert sub.label == "quarantined"
    assert sub.label_tone == "bad"


def test_a_malformed_answer_for_one_customer_records_its_error_and_the_rest_sync(
    sandbox: Any, db: Any
) -> None:
    dump = sandbox.state()
    broken = dump["customers"][0]
    sandbox.fault(
        path=f"/customers/{broken['id']}/subscriptions$",
        action="malformed_json",
        count=None,
    )

    run = sync_run()

    assert run.status == SyncRun.Status.PARTIAL
    assert run.customers_failed == 1
    assert run.customers_seen == len(dump["customers"])
    customer = Customer.objects.get(tenant_id=broken["id"])
    assert "unreadable answer" in customer.sync_error
    assert customer.synced_at is None
    assert not customer.subscriptions.exists()
    others = Customer.objects.exclude(pk=customer.pk)
    assert others.count() == len(dump["customers"]) - 1
    assert not others.exclude(sync_error="").exists()
    assert not others.filter(synced_at__isnull=True).exists()
    expected = sum(
        1 for s in _listed(dump, "subscriptions") if s["customerId"] != broken["id"]
    )
    assert Subscription.objects.count() == expected

    sandbox.clear_faults()
    healed = sync_run()
    customer.refresh_from_db()
    assert healed.status == SyncRun.Status.SUCCEEDED
    assert customer.sync_error == ""
    assert customer.subscriptions.count() == sum(
        1 for s in dump["subscriptions"] if s["customerId"] == broken["id"]
    )


def _with_retired_subscription() -> Customer:
    """Return a customer active on a retired SKU: every sync reads its users."""
    retired = catalogue_index().retired_q() & Q(status=Subscription.ACTIVE)
    customer = (
        Customer.objects.filter(
            pk__in=Subscription.objects.filter(retired).values("customer")
        )
        .order_by("company_name")
        .first()
    )
    assert customer is not None
    return customer


def test_a_failing_customer_keeps_its_last_good_data(sandbox: Any, db: Any) -> None:
    sync_run()
    customer = _with_retired_subscription()
    before = set(customer.users.values_list("user_id", flat=True))
    sandbox.fault(
        path=f"/customers/{customer.tenant_id}/users/[^/]+/licenses$",
        action="malformed_json",
        count=None,
    )

    run = sync_run()

    customer.refresh_from_db()
    assert run.customers_failed == 1
    assert customer.sync_error
    assert set(customer.users.values_list("user_id", flat=True)) == before
    assert customer.synced_at is not None


def test_each_run_leaves_exactly_one_audit_event(sandbox: Any, db: Any) -> None:
    run = sync_run()

    events = list(AuditEvent.objects.all())
    assert [e.action for e in events] == ["sync.completed"]
    event = events[0]
    assert event.details["sync_run_id"] == run.pk
    assert event.details["customers_seen"] == run.customers_seen
    assert event.details["rows_written"] == run.rows_written
    assert event.details["calls_made"] == run.calls_made


def test_the_calls_made_match_the_sandboxs_request_log(sandbox: Any, db: Any) -> None:
    run = sync_run()

    logged = [r for r in sandbox.state()["requests"] if r["path"].startswith("/v1/")]
    assert run.calls_made == len(logged)
    assert all(r["method"] == "GET" for r in logged)


def test_an_unreadable_customer_list_fails_the_run_with_one_event(
    sandbox: Any, db: Any
) -> None:
    existing = CustomerFactory()
    sandbox.fault(path=r"^/v1/customers$", action="500", count=None)

    run = sync_run()

    assert run.status == SyncRun.Status.FAILED
    assert "did not answer" in run.error
    assert [e.action for e in AuditEvent.objects.all()] == ["sync.failed"]
    assert Customer.objects.filter(pk=existing.pk).exists()


def test_customers_no_longer_listed_are_removed_unless_they_have_migrations(
    sandbox: Any, db: Any
) -> None:
    gone = CustomerFactory(company_name="Gone Ltd")
    SubscriptionFactory(customer=gone)
    kept = CustomerFactory(company_name="Kept Ltd")
    kept_sub = SubscriptionFactory(customer=kept)
    Migration.objects.create(
        customer=kept,
        source_subscription=kept_sub,
        source_offer_id=kept_sub.offer_id,
        target_offer_id="X",
        target_offer_name="X",
        quantity=1,
    )

    sync_run()

    assert not Customer.objects.filter(pk=gone.pk).exists()
    kept.refresh_from_db()
    assert "no longer lists" in kept.sync_error


def test_subscriptions_no_longer_returned_are_removed_unless_a_migration_uses_them(
    sandbox: Any, db: Any
) -> None:
    sync_run()
    customer = Customer.objects.order_by("company_name").first()
    assert customer is not None
    stale = SubscriptionFactory(customer=customer)
    referenced = SubscriptionFactory(customer=customer)
    Migration.objects.create(
        customer=customer,
        source_subscription=referenced,
        source_offer_id=referenced.offer_id,
        target_offer_id="X",
        target_offer_name="X",
        quantity=1,
    )

    run = sync_run()

    assert not Subscription.objects.filter(pk=stale.pk).exists()
    assert Subscription.objects.filter(pk=referenced.pk).exists()
    assert run.rows_written == 1


def test_a_short_429_is_waited_out_and_the_customer_still_syncs(
    sandbox: Any, db: Any
) -> None:
    sandbox.settings(retry_after_seconds=1)
    customer = sandbox.state()["customers"][1]
    sandbox.fault(path=f"/customers/{customer['id']}/users$", action="429", count=1)

    run = sync_run()

    assert run.status == SyncRun.Status.SUCCEEDED
    assert Customer.objects.get(tenant_id=customer["id"]).sync_error == ""
    event = AuditEvent.objects.get(action="sync.completed")
    assert event.details["throttle_sleep_seconds"] >= 1


def test_a_long_retry_after_fails_that_customer_for_this_run_only(
    sandbox: Any, db: Any
) -> None:
    sandbox.settings(retry_after_seconds=600)
    customer = sandbox.state()["customers"][2]
    sandbox.fault(path=f"/customers/{customer['id']}/users$", action="429", count=1)

    run = sync_run()

    assert run.status == SyncRun.Status.PARTIAL
    assert run.customers_failed == 1
    row = Customer.objects.get(tenant_id=customer["id"])
    assert "slow down" in row.sync_error
    assert "600" in row.sync_error

    healed = sync_run()
    row.refresh_from_db()
    assert healed.status == SyncRun.Status.SUCCEEDED
    assert row.sync_error == ""


def test_a_run_that_reaches_its_time_budget_leaves_the_rest_for_the_next(
    sandbox: Any, db: Any
) -> None:
    run = sync_run(time_budget=0)

    assert run.status == SyncRun.Status.PARTIAL
    assert "wait for the next sync" in run.error
    assert not Customer.objects.filter(synced_at__isnull=False).exists()
    assert sync_run().status == SyncRun.Status.SUCCEEDED


def test_the_task_does_not_start_while_another_sync_holds_the_lock(
    sandbox: Any, db: Any
) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    lock = client.lock(SYNC_LOCK_KEY, timeout=60)
    assert lock.acquire(blocking=False)
    try:
        assert sync_partner_center() is None
        with pytest.raises(SyncAlreadyRunning):
            sync_run_exclusive()
    finally:
        lock.release()
    assert not SyncRun.objects.exists()


def test_the_task_closes_runs_a_killed_worker_left_running(
    sandbox: Any, db: Any, operator: Any
) -> None:
    orphan = SyncRun.objects.create(status=SyncRun.Status.RUNNING)

    run_id = sync_partner_center(requested_by_id=operator.pk)

    orphan.refresh_from_db()
    assert orphan.status == SyncRun.Status.FAILED
    assert "Interrupted" in orphan.error
    run = SyncRun.objects.get(pk=run_id)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.requested_by == operator
    assert AuditEvent.objects.get(action="sync.completed").actor == "operator"


def test_the_command_runs_the_sync_and_prints_its_counts(
    sandbox: Any, db: Any, capsys: Any
) -> None:
    call_command("sync_partner_center")

    out = capsys.readouterr().out
    run = SyncRun.objects.get()
    assert f"{run.customers_seen} customers seen" in out
    assert f"{run.rows_written} rows written" in out
    assert f"{run.calls_made} Partner Center calls" in out


def test_the_command_fails_loudly_when_the_sync_fails(sandbox: Any, db: Any) -> None:
    sandbox.fault(path=r"^/v1/customers$", action="500", count=None)

    with pytest.raises(CommandError):
        call_command("sync_partner_center")


def test_the_command_can_queue_the_sync_for_a_worker(db: Any, capsys: Any) -> None:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)

    call_command("sync_partner_center", "--enqueue")

    assert "queued" in capsys.readouterr().out
    assert broker.llen("celery") == 1
    assert not SyncRun.objects.exists()


def test_without_app_user_credentials_users_and_licences_are_left_as_they_were(
    sandbox: Any, db: Any
) -> None:
    sync_run()
    customer = Customer.objects.get(company_name="Contoso Ltd")
    users_before = set(customer.users.values_list("user_id", flat=True))
    licences_before = UserLicense.objects.filter(user__customer=customer).count()
    app_only = PartnerCenterClient(
        api_base_url=settings.PARTNER_CENTER_API_URL,
        app_tokens=SandboxTokenProvider(
            token_url=settings.PARTNER_CENTER_TOKEN_URL,
            client_id=settings.PARTNER_CENTER_CLIENT_ID,
            client_secret=settings.PARTNER_CENTER_CLIENT_SECRET,
        ),
    )

    result = sync_customer(customer=customer, client=app_only)

    assert result.ok, result.error
    assert result.rows_written == 0
    assert set(customer.users.values_list("user_id", flat=True)) == users_before
    assert UserLicense.objects.filter(user__customer=customer).count() == (
        licences_before
    )
    assert licences_before > 0


def test_a_users_new_usage_location_is_picked_up(sandbox: Any, db: Any) -> None:
    sync_run()
    user = CustomerUser.objects.select_related("customer").first()
    assert user is not None
    sandbox.patch(
        f"/_sandbox/customers/{user.customer.tenant_id}/users/{user.user_id}",
        {"usageLocation": "NZ"},
    )

    run = sync_run()

    user.refresh_from_db()
    assert user.usage_location == "NZ"
    assert run.rows_written == 1
    assert run.customers_changed == 1
