"""The facts kept on each customer's row stay true after a sync, a finished
migration, and a change of what counts as retired; the list reads them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from migrations_app.domain.catalogue import catalogue_index, catalogue_index_shared
from migrations_app.models import Customer, CustomerUser, SkuMapping, Subscription
from migrations_app.models.customer_facts import customer_facts_refresh
from migrations_app.selectors.customers import customer_list_counts
from migrations_app.services.catalog import sku_mapping_delete
from tests.factories import (
    CustomerFactory,
    CustomerUserFactory,
    SubscriptionFactory,
)
from tests.migrations_app.migration_support import CONTOSO, customer, drive, start

LIST = "/customers/"


def _expected(customer: Customer) -> dict[str, Any]:
    """Return the facts computed from the customer's rows, the slow way."""
    retired = catalogue_index()
    subs = list(Subscription.objects.filter(customer=customer))
    active = [s for s in subs if s.status == "active" and s.commitment_end_date]
    ending = [s for s in active if not s.auto_renew_enabled]
    return {
        "retired_count": sum(1 for s in subs if retired.is_retired(s)),
        "soonest_end": min((s.commitment_end_date for s in active), default=None),
        "expiring_end": min((s.commitment_end_date for s in ending), default=None),
        "user_count": CustomerUser.objects.filter(customer=customer).count(),
    }


def _stored(customer: Customer) -> dict[str, Any]:
    row = Customer.objects.get(pk=customer.pk)
    return {
        "retired_count": row.retired_count,
        "soonest_end": row.soonest_end,
        "expiring_end": row.expiring_end,
        "user_count": row.user_count,
    }


def _assert_true_for_every_customer() -> None:
    customers = list(Customer.objects.all())
    assert customers
    for one in customers:
        assert _stored(one) == _expected(one), one.company_name


def test_a_sync_leaves_every_customers_facts_true(synced: Any) -> None:
    _assert_true_for_every_customer()
    assert Customer.objects.filter(retired_count__gt=0).exists()
    assert Customer.objects.filter(user_count__gt=0).exists()


def test_a_finished_migration_leaves_its_customers_facts_true(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    before = _stored(customer(CONTOSO))
    assert before["retired_count"] > 0
    for migration in start(CONTOSO, operator):
        drive(migration)
    # The refresh the engine queued after the migration re-read the customer.
    after = _stored(customer(CONTOSO))
    assert after == _expected(customer(CONTOSO))
    assert after != before


def test_deleting_a_mapping_recounts_the_retired_subscriptions_of_every_customer(
    synced: Any, admin_user: Any
) -> None:
    mapped = {
        c.pk: c.retired_count for c in Customer.objects.filter(retired_count__gt=0)
    }
    assert mapped
    for mapping in SkuMapping.objects.all():
        sku_mapping_delete(mapping=mapping, actor=admin_user)

    assert not Customer.objects.filter(retired_count__gt=0).exists()
    _assert_true_for_every_customer()


def test_a_new_mapping_makes_the_customers_of_that_sku_retired(db: Any) -> None:
    one = CustomerFactory()
    sub = SubscriptionFactory(customer=one, offer_name="Some Old Plan")
    assert _stored(one)["retired_count"] == 0

    SkuMapping.objects.create(
        product_line="Legacy",
        retired_name="Some Old Plan",
        retired_offer_id=sub.offer_id,
    )

    assert _stored(one)["retired_count"] == 1
    assert _stored(one) == _expected(one)


def test_a_customer_saved_with_a_stale_copy_keeps_its_facts(db: Any) -> None:
    one = CustomerFactory()
    CustomerUserFactory.create_batch(3, customer=one)
    one.sync_error = "broken"
    one.save()

    assert _stored(one)["user_count"] == 3
    assert Customer.objects.get(pk=one.pk).sync_error == "broken"


def test_the_command_recomputes_facts_written_around_the_app(db: Any) -> None:
    one = CustomerFactory()
    SubscriptionFactory(customer=one, auto_renew_enabled=False)
    Customer.objects.filter(pk=one.pk).update(
        soonest_end=None, expiring_end=None, user_count=7
    )
    assert _stored(one) != _expected(one)

    call_command("customer_facts", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert _stored(one) == _expected(one)


def test_the_facts_ignore_ended_and_renewing_subscriptions_as_the_list_does(
    db: Any,
) -> None:
    now = timezone.now()
    one = CustomerFactory()
    SubscriptionFactory(
        customer=one, status="suspended", commitment_end_date=now + timedelta(days=1)
    )
    renewing = SubscriptionFactory(
        customer=one, auto_renew_enabled=True, commitment_end_date=now + timedelta(5)
    )
    ending = SubscriptionFactory(
        customer=one, auto_renew_enabled=False, commitment_end_date=now + timedelta(9)
    )
    customer_facts_refresh(retired=catalogue_index().retired_q())

    stored = _stored(one)
    assert stored["soonest_end"] == renewing.commitment_end_date
    assert stored["expiring_end"] == ending.commitment_end_date


def test_the_counts_come_from_the_facts(db: Any) -> None:
    now = timezone.now()
    for n in range(3):
        one = CustomerFactory(sync_error="broken" if n == 0 else "")
        SubscriptionFactory(
            customer=one,
            auto_renew_enabled=False,
            commitment_end_date=now + timedelta(days=10 + 100 * n),
        )
    Customer.objects.filter(company_name__isnull=False).update(retired_count=0)
    Customer.objects.filter(pk=one.pk).update(retired_count=2)

    assert customer_list_counts() == {
        "total": 3,
        "retired": 1,
        "expiring": 1,
        "sync_errors": 1,
    }


@pytest.mark.parametrize(
    "query",
    [{}, {"sort": "expiry"}, {"retired": "1"}, {"expires_within": "30"}],
    ids=["name", "expiry", "retired", "expiring"],
)
def test_the_list_takes_as_many_queries_for_the_last_page_as_for_the_first(
    client: Client,
    viewer: Any,
    django_assert_max_num_queries: Any,
    query: dict[str, str],
) -> None:
    now = timezone.now()
    for n in range(120):
        one = CustomerFactory(company_name=f"Customer {n:03d}")
        SubscriptionFactory(
            customer=one,
            auto_renew_enabled=False,
            commitment_end_date=now + timedelta(days=n % 20),
        )
    Customer.objects.update(retired_count=1)
    client.force_login(viewer)
    client.get(LIST, query)  # the session and the shared catalogue are loaded once
    with CaptureQueriesContext(connection) as first:
        assert client.get(LIST, query).status_code == 200
    with django_assert_max_num_queries(len(first.captured_queries)):
        page = client.get(LIST, {**query, "page": "3"})
    assert page.status_code == 200
    assert "Customers 101–120 of 120" in page.content.decode()


def test_the_status_filter_lists_statuses_seen_since_the_last_refresh(
    client: Client, viewer: Any
) -> None:
    one = CustomerFactory()
    SubscriptionFactory(customer=one, status="active")
    client.force_login(viewer)
    assert "Disabled" not in client.get(reverse("customer_list")).content.decode()

    SubscriptionFactory(customer=one, status="disabled")

    assert ">Disabled</option>" in client.get(reverse("customer_list")).content.decode()


def test_the_shared_catalogue_is_read_once_until_a_mapping_changes(
    db: Any, django_assert_num_queries: Any
) -> None:
    first = catalogue_index_shared()
    with django_assert_num_queries(0):
        assert catalogue_index_shared() is first

    mapping = SkuMapping.objects.order_by("position").first()
    assert mapping is not None
    mapping.retired_offer_id = "NEW-OFFER-ID"
    mapping.save()

    fresh = catalogue_index_shared()
    assert fresh is not first
    assert fresh.mapping_for("NEW-OFFER-ID", "") is not None


def test_the_list_tags_a_subscription_retired_as_soon_as_its_mapping_says_so(
    client: Client, viewer: Any
) -> None:
    one = CustomerFactory()
    sub = SubscriptionFactory(customer=one, offer_name="Some Old Plan")
    client.force_login(viewer)
    assert "tag-retired" not in client.get(LIST).content.decode()

    SkuMapping.objects.create(
        product_line="Legacy",
        retired_name="Some Old Plan",
        retired_offer_id=sub.offer_id,
    )

    page = client.get(LIST, {"retired": "1"}).content.decode()
    assert 'class="tag-retired"' in page
    assert one.company_name in page
