"""The sync stores what new commerce says about a subscription, and reads the modern catalogue."""

from __future__ import annotations

from typing import Any

from migrations_app.domain.catalogue import catalogue_index
from migrations_app.models import Customer, Subscription
from migrations_app.models.catalog import ProductSku
from migrations_app.selectors.migrations import customer_migration_summaries
from migrations_app.services.sync import sync_run
from sandbox import products as sandbox_products

PROSEWARE = "Proseware Inc"
MARGIES_TRAVEL = "Margie's Travel"


def only_subscription(name: str) -> Subscription:
    [sub] = Subscription.objects.filter(customer__company_name=name, quantity=20)
    return sub


def test_the_sync_stores_the_nce_fields_and_labels_the_term(
    sandbox: Any, db: Any
) -> None:
    sync_run()

    sub = only_subscription(PROSEWARE)
    assert sub.is_nce
    assert sub.product_type == "OnlineServicesNCE"
    assert f"{sub.product_id}:{sub.sku_id}" == sandbox_products.M365_E3
    assert (
        sub.availability_id
        == sandbox_products.sku(sandbox_products.M365_E3).availability_id
    )
    assert (sub.term_duration, sub.billing_cycle) == ("P1Y", "monthly")
    assert sub.cancellation_allowed_until is not None
    assert sub.label.startswith("Auto renews on ") and sub.label.endswith(" · 1 year")
    legacy = Subscription.objects.filter(customer__company_name="Contoso Ltd").first()
    assert legacy is not None and not legacy.is_nce and legacy.product_id == ""


def test_the_sync_reads_the_modern_catalogue_with_end_of_sale_and_successors(
    sandbox: Any, db: Any
) -> None:
    sync_run()

    rows = {s.key: s for s in ProductSku.objects.all()}
    assert set(rows) == {s.key for s in sandbox_products.SKUS}
    e3 = rows[sandbox_products.M365_E3]
    assert e3.title == "Microsoft 365 E3"
    assert e3.is_end_of_sale and not e3.is_purchasable
    assert e3.entra_sku_id == "05e9a617-0261-4cee-bb44-138d3ef5d965"
    assert sandbox_products.M365_E3_NO_TEAMS in e3.successor_ids
    teams = rows[sandbox_products.TEAMS_ENTERPRISE]
    assert teams.is_purchasable and not teams.is_end_of_sale
    assert (
        teams.catalog_item_id
        == sandbox_products.sku(sandbox_products.TEAMS_ENTERPRISE).catalog_item_id
    )
    assert ["P1Y", "annual"] in teams.terms
    assert sync_run().rows_written == 0


def test_a_scheduled_change_reads_changes_to_the_new_sku_on_the_renewal(
    sandbox: Any, db: Any
) -> None:
    sync_run()
    sub = only_subscription(PROSEWARE)
    target = sandbox_products.sku(sandbox_products.M365_E3_NO_TEAMS)
    sandbox.patch(
        f"/_sandbox/customers/{sub.customer.tenant_id}/subscriptions/{sub.subscription_id}",
        {
            "scheduledNextTermInstructions": {
                "product": {
                    "productId": target.product_id,
                    "skuId": target.sku_id,
                    "availabilityId": target.availability_id,
                    "billingCycle": "monthly",
                    "termDuration": "P1Y",
                },
                "quantity": 20,
            }
        },
    )

    run = sync_run()

    sub.refresh_from_db()
    assert run.rows_written == 1
    end = sub.commitment_end_date
    assert end is not None
    assert sub.scheduled_sku_name == "Microsoft 365 E3 (no Teams)"
    assert sub.scheduled_quantity == 20
    assert sub.label == (
        f"Changes to Microsoft 365 E3 (no Teams) on {end:%b} {end.day}, {end:%Y}"
    )


def test_the_seeded_teams_and_dynamics_mappings_make_nce_subscriptions_retired(
    sandbox: Any, db: Any
) -> None:
    sync_run()
    index = catalogue_index()
    proseware = Customer.objects.get(company_name=PROSEWARE)
    margies = Customer.objects.get(company_name=MARGIES_TRAVEL)
    summaries = customer_migration_summaries(customer_ids=[proseware.pk, margies.pk])

    assert summaries[proseware.pk].retired_count == 1
    assert summaries[margies.pk].retired_count == 1
    e3 = only_subscription(PROSEWARE)
    mapping = index.mapping_for(e3.offer_id, e3.offer_name)
    assert mapping is not None and mapping.retired_name == "Microsoft 365 E3"
    [bundle] = mapping.alternatives()
    assert [t.target_name for t in bundle] == [
        "Microsoft 365 E3 (no Teams)",
        "Microsoft Teams Enterprise",
    ]
    assert all(index.target_problem(t) == "" for t in bundle)
    assert "05e9a617-0261-4cee-bb44-138d3ef5d965" in index.retired_sku_ids()
