"""One meaning of "retired": the list's filter, tag and count agree with the plan."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from migrations_app.domain.plan import migration_plan
from migrations_app.models import Customer, Offer, SkuMapping, Subscription
from migrations_app.selectors.migrations import customer_migration_summaries
from migrations_app.services.sync import sync_run
from tests.factories import CustomerFactory, SubscriptionFactory
from tests.migrations_app.migration_support import catalogue  # noqa: F401

DEMO_CUSTOMERS = 200
DEMO_SEED = 1
LIST = "/customers/"


def _listed_names(client: Client, **query: str) -> list[str]:
    """Return every customer name the list shows for `query`, over all pages."""
    names: list[str] = []
    page = 1
    while True:
        response = client.get(LIST, {**query, "page": str(page)})
        names += [c.company_name for c in response.context["customers"]]
        if page >= response.context["paginator"].num_pages:
            return names
        page += 1


def _retired_count(client: Client) -> int:
    """Return the "with retired SKUs" figure the list shows."""
    response = client.get(LIST)
    count = response.context["counts"]["retired"]
    assert f"<b>{count}</b><span>with retired SKUs</span>" in response.content.decode()
    return int(count)


@pytest.mark.slow
@pytest.mark.usefixtures("catalogue")
def test_over_the_whole_demo_seed_migrate_the_retired_filter_and_the_count_agree(
    sandbox: Any, operator: Any, client: Client
) -> None:
    sandbox.reset(DEMO_CUSTOMERS, DEMO_SEED)
    run = sync_run()
    assert run.customers_failed == 0, run.error
    customers = list(Customer.objects.order_by("pk"))
    summaries = customer_migration_summaries(customer_ids=[c.pk for c in customers])
    offers_migrate = {c.pk for c in customers if summaries[c.pk].migratable_count}
    plan_has_items = {c.pk for c in customers if migration_plan(customer=c).items}
    retired = {c.pk for c in customers if summaries[c.pk].retired_count}
    client.force_login(operator)
    listed = set(
        Customer.objects.filter(
            company_name__in=_listed_names(client, retired="1")
        ).values_list("pk", flat=True)
    )

    assert offers_migrate, "the demo seed has customers on retired SKUs"
    assert offers_migrate == plan_has_items
    assert listed == retired
    assert offers_migrate <= listed
    assert _retired_count(client) == len(listed)
    # Customers under the filter that cannot start say why on their plan.
    for pk in listed - offers_migrate:
        plan = migration_plan(customer=Customer.objects.get(pk=pk))
        assert plan.skipped and all(s.reason for s in plan.skipped)


def test_a_subscription_matched_by_name_alone_is_retired_everywhere(
    db: Any, operator: Any, client: Client
) -> None:
    """A mapping not yet bound to an offer id still names its retired SKU."""
    mapping = SkuMapping.objects.create(
        product_line="Dynamics CRM", retired_name="Dynamics CRM Online Legacy"
    )
    assert mapping.retired_offer_id == ""
    assert not Offer.objects.filter(name=mapping.retired_name).exists()
    customer = CustomerFactory(company_name="Named Only Ltd")
    SubscriptionFactory(customer=customer, offer_name=mapping.retired_name)
    SubscriptionFactory(customer=CustomerFactory(company_name="Elsewhere Inc"))
    client.force_login(operator)

    summary = customer_migration_summaries(customer_ids=[customer.pk])[customer.pk]
    assert summary.retired_count == 1
    assert [
        i.subscription.offer_name for i in migration_plan(customer=customer).items
    ] == [mapping.retired_name]
    assert _listed_names(client, retired="1") == ["Named Only Ltd"]
    assert _retired_count(client) == 1
    listed = client.get(LIST, {"retired": "1"}).context["customers"]
    assert [s.is_retired for s in listed[0].subscription_rows] == [True]
    assert Subscription.objects.filter(offer_name=mapping.retired_name).count() == 1
