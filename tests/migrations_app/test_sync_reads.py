"""What a sync reads: users and licences only where they matter, customers at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Q

from migrations_app.domain.catalogue import catalogue_index
from migrations_app.models import (
    AuditEvent,
    Customer,
    CustomerUser,
    Migration,
    Subscription,
    SyncRun,
    UserLicense,
)
from migrations_app.services.sync import sync_customer_refresh, sync_run


def _api_requests(sandbox: Any, since: int = 0) -> list[dict[str, Any]]:
    return [
        r for r in sandbox.state()["requests"][since:] if r["path"].startswith("/v1/")
    ]


def _requests_so_far(sandbox: Any) -> int:
    return len(sandbox.state()["requests"])


def _user_reads(requests: list[dict[str, Any]], customer: Customer) -> list[str]:
    prefix = f"/v1/customers/{customer.tenant_id}/users"
    return [r["path"] for r in requests if r["path"].lower().startswith(prefix)]


def _quiet_customers() -> list[Customer]:
    """Return customers with nothing on a retired SKU, expiring or migrating."""
    retired = catalogue_index().retired_q()
    busy = Subscription.objects.filter(retired | Q(auto_renew_enabled=False)).values(
        "customer"
    )
    return list(Customer.objects.exclude(pk__in=busy).order_by("pk"))


def _quiet_customer_with_licences() -> Customer:
    customer = next(
        c for c in _quiet_customers() if UserLicense.objects.filter(user__customer=c)
    )
    return customer


def _retired_customer() -> Customer:
    retired = catalogue_index().retired_q() & Q(status=Subscription.ACTIVE)
    customer = Customer.objects.filter(
        pk__in=Subscription.objects.filter(retired).values("customer")
    ).first()
    assert customer is not None
    return customer


def test_the_first_run_reads_every_customers_users(sandbox: Any, db: Any) -> None:
    run = sync_run()

    assert run.users_read == run.customers_seen == Customer.objects.count()
    assert all(c.users_read_at is not None for c in Customer.objects.all())
    assert all(c.users_read_skus for c in Customer.objects.all())


def test_a_second_run_skips_the_users_of_customers_that_do_not_need_them(
    sandbox: Any, db: Any
) -> None:
    first = sync_run()
    quiet = _quiet_customers()
    assert quiet, "the seed should have customers with nothing to migrate"
    retired = _retired_customer()
    since = _requests_so_far(sandbox)

    second = sync_run()

    requests = _api_requests(sandbox, since)
    for customer in quiet:
        assert _user_reads(requests, customer) == [], customer
    assert _user_reads(requests, retired)
    assert second.users_read < first.users_read
    assert second.calls_made < first.calls_made
    assert second.rows_written == 0


def test_changed_subscribed_sku_counts_make_the_next_run_read_the_users(
    sandbox: Any, db: Any
) -> None:
    sync_run()
    customer = _quiet_customer_with_licences()
    sku = UserLicense.objects.filter(user__customer=customer).first()
    assert sku is not None
    sandbox.post(
        f"/_sandbox/customers/{customer.tenant_id}/users",
        {"count": 1, "licenses": [sku.sku_id]},
    )
    since = _requests_so_far(sandbox)

    sync_run()

    assert _user_reads(_api_requests(sandbox, since), customer)
    assert CustomerUser.objects.filter(customer=customer).count() == (
        len(
            [
                u
                for u in sandbox.state()["users"]
                if u["customerId"].lower() == str(customer.tenant_id)
            ]
        )
    )


def test_an_open_migration_makes_the_run_read_the_users(sandbox: Any, db: Any) -> None:
    sync_run()
    customer = _quiet_customer_with_licences()
    subscription = Subscription.objects.filter(customer=customer).first()
    assert subscription is not None
    Migration.objects.create(
        customer=customer,
        source_subscription=subscription,
        source_offer_id=subscription.offer_id,
        target_offer_id="X",
        target_offer_name="X",
        quantity=1,
    )
    since = _requests_so_far(sandbox)

    sync_run()

    assert _user_reads(_api_requests(sandbox, since), customer)


def test_the_customer_refresh_reads_everything(sandbox: Any, db: Any) -> None:
    sync_run()
    customer = _quiet_customer_with_licences()
    user = CustomerUser.objects.filter(customer=customer).first()
    assert user is not None
    sandbox.patch(
        f"/_sandbox/customers/{customer.tenant_id}/users/{user.user_id}",
        {"usageLocation": "NZ"},
    )
    sync_run()
    user.refresh_from_db()
    assert user.usage_location != "NZ"

    result = sync_customer_refresh(customer=customer)

    assert result.ok and result.users_read
    user.refresh_from_db()
    assert user.usage_location == "NZ"


def test_each_customer_keeps_the_calls_its_sync_made(sandbox: Any, db: Any) -> None:
    since = _requests_so_far(sandbox)
    run = sync_run()

    requests = _api_requests(sandbox, since)
    for customer in Customer.objects.all():
        own = [
            r
            for r in requests
            if r["path"].lower().startswith(f"/v1/customers/{customer.tenant_id}/")
        ]
        assert customer.sync_calls == len(own), customer
    assert sum(c.sync_calls for c in Customer.objects.all()) < run.calls_made
    event = AuditEvent.objects.get(action="sync.completed")
    assert event.details["users_read"] == run.users_read
    assert event.details["calls_per_customer"] == round(
        sum(c.sync_calls for c in Customer.objects.all()) / run.customers_seen, 1
    )


@pytest.mark.django_db(transaction=True)
def test_customers_are_read_on_several_threads_with_the_same_result(
    sandbox: Any, settings: Any
) -> None:
    settings.PARTNERHUB_SYNC_CONCURRENCY = 4
    dump = sandbox.state()

    run = sync_run()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.customers_seen == len(dump["customers"])
    listed = {c["id"].lower() for c in dump["customers"]}
    assert set(CustomerUser.objects.values_list("user_id", flat=True)) == {
        u["id"] for u in dump["users"] if u["customerId"].lower() in listed
    }
    assert Subscription.objects.count() == len(
        [s for s in dump["subscriptions"] if s["customerId"].lower() in listed]
    )
    logged = _api_requests(sandbox)
    assert run.calls_made == len(logged)
    again = sync_run()
    assert again.rows_written == 0


def test_a_customer_read_for_the_first_time_is_stamped_before_the_run_ends(
    sandbox: Any, db: Any
) -> None:
    from migrations_app.services.sync.fan_out import sync_fan_out
    from migrations_app.services.sync.throttle import ThrottleBudget

    assert sync_run().status == "succeeded"
    known = Customer.objects.order_by("pk").first()
    assert known is not None and known.synced_at is not None
    new = Customer.objects.order_by("pk").last()
    assert new is not None and new.pk != known.pk
    Customer.objects.filter(pk=new.pk).update(synced_at=None)
    new.refresh_from_db()

    done = list(
        sync_fan_out(
            actor=None,
            budget=ThrottleBudget(),
            customers=[known, new],
            deadline=None,
            index=catalogue_index(),
        )
    )

    assert [result is not None and not result.error for _, result in done] == [
        True,
        True,
    ]
    # The run itself has not stamped anyone yet: only the new customer is.
    assert Customer.objects.get(pk=new.pk).synced_at is not None
    assert Customer.objects.get(pk=known.pk).synced_at == known.synced_at
