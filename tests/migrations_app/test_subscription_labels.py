"""Subscription labels from Partner Center's documented bodies (partner-center-api.md §3.2, §4.5).

Each body is parsed by the client's model, mapped by `Subscription.values_from_pc`
(the one mapper the sync uses) and labelled as the portal would.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.utils import timezone

from migrations_app.models import Subscription
from partner_center import models as pc

LEGACY = json.loads("""
{ "id": "968BA1CF-C146-4ADF-A300-308DCF718EEE",
  "offerId": "2828BE95-46BA-4F91-B2FD-0BEF192ECF60",
  "offerName": "Exchange Online Archiving for Exchange Online",
  "friendlyName": "Some friendly name", "quantity": 2, "unitType": "Licenses",
  "parentSubscriptionId": "1C2B75C1-74A5-472A-A729-7F8CEFC477F9",
  "creationDate": "2017-01-25T23:01:08.693Z", "effectiveStartDate": "2017-01-25T00:00:00Z",
  "commitmentEndDate": "2018-02-10T00:00:00Z", "status": "active", "autoRenewEnabled": true,
  "billingType": "license", "contractType": "subscription",
  "links": { "offer": { "uri": "/offers/2828BE95-…?country=US", "method": "GET", "headers": [] },
             "parentSubscription": { "uri": "/customers/4d3c…/subscriptions/1C2B…", "method": "GET", "headers": [] },
             "self": { "uri": "/customers/4d3c…/subscriptions/968B…", "method": "GET", "headers": [] } },
  "orderId": "CF3B0E37-BE0B-4CDD-B584-D1A97D98A922",
  "attributes": { "etag": "eyJpZCI6Ijk2…", "objectType": "Subscription" } }
""")  # noqa: E501

NCE = json.loads("""
{ "id": "a4c1340d-6911-4758-bba3-0c4c6007d161",
  "offerId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971", "offerName": "Microsoft 365 Business Basic",
  "friendlyName": "Microsoft 365 Business Basic",
  "productType": { "id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE" },
  "quantity": 1, "unitType": "Licenses", "hasPurchasableAddons": false,
  "creationDate": "2021-01-14T16:57:15.0966728Z", "effectiveStartDate": "2021-01-14T16:57:14.498252Z",
  "commitmentEndDate": "2022-01-13T00:00:00Z", "status": "active", "autoRenewEnabled": true,
  "isTrial": false, "billingType": "license", "billingCycle": "monthly", "termDuration": "P1Y",
  "renewalTermDuration": "", "refundOptions": [ { "type": "Full", "expiresAt": "2021-01-15T00:00:00Z" } ],
  "isMicrosoftProduct": true, "partnerId": "", "attentionNeeded": false, "actionTaken": false,
  "contractType": "subscription",
  "links": { "product": { "uri": "/products/CFQ7TTC0LH18?country=US", "method": "GET", "headers": [] },
             "sku": { "uri": "/products/CFQ7TTC0LH18/skus/0001?country=US", "method": "GET", "headers": [] },
             "availability": { "uri": "/products/CFQ7TTC0LH18/skus/0001/availabilities/CFQ7TTC0K971?country=US", "method": "GET", "headers": [] },
             "self": { "uri": "/customers/d820…/subscriptions/a4c1…", "method": "GET", "headers": [] } },
  "publisherName": "Microsoft Corporation", "orderId": "34b37d7340cc",
  "attributes": { "objectType": "Subscription" } }
""")  # noqa: E501

SCHEDULED = json.loads("""
{ "product": { "productId": "DG7GMGF0DVSV", "skuId": "000P", "availabilityId": "DG7GMGF0F3Q9",
               "billingCycle": "Annual", "termDuration": "P3Y" },
  "quantity": 1 }
""")


def row(body: dict[str, Any], **changes: Any) -> Subscription:
    """Return the (unsaved) row the sync would store for `body` with `changes`."""
    item = pc.Subscription.model_validate({**body, **changes})
    names = {"DG7GMGF0DVSV:000P": "Dynamics 365 Sales Premium"}
    return Subscription(
        **Subscription.values_from_pc(
            item, customer_id=1, current=None, sku_names=names
        )
    )


def test_a_legacy_auto_renewing_subscription_shows_its_renewal_without_a_term() -> None:
    sub = row(LEGACY)
    assert not sub.is_nce
    assert sub.label == "Auto renews on Feb 10, 2018"
    assert sub.cancellable_label == ""


def test_an_nce_subscription_shows_its_renewal_and_its_term() -> None:
    sub = row(NCE)
    assert sub.is_nce
    assert (sub.product_type, sub.product_id, sub.sku_id, sub.availability_id) == (
        "OnlineServicesNCE",
        "CFQ7TTC0LH18",
        "0001",
        "CFQ7TTC0K971",
    )
    assert (sub.term_duration, sub.billing_cycle) == ("P1Y", "monthly")
    assert sub.label == "Auto renews on Jan 13, 2022 · 1 year"


def test_a_monthly_term_reads_monthly() -> None:
    assert row(NCE, termDuration="P1M").label == "Auto renews on Jan 13, 2022 · monthly"
    assert row(NCE, termDuration="P3Y").label == "Auto renews on Jan 13, 2022 · 3 years"


def test_auto_renew_off_reads_expires_on_its_end_date() -> None:
    assert row(NCE, autoRenewEnabled=False).label == "Expires on Jan 13, 2022"


def test_a_far_future_end_date_is_no_end_date_never_expires_on_9999() -> None:
    sub = row(LEGACY, commitmentEndDate="9999-12-10T00:00:00Z", autoRenewEnabled=False)
    assert "9999" not in sub.label
    assert sub.label == "Active · no end date"
    assert sub.ends_on is None
    assert row(LEGACY, commitmentEndDate="9999-12-10T00:00:00Z").label == "Auto renews"


def test_a_scheduled_change_of_sku_reads_changes_to_the_new_sku_on_the_renewal() -> (
    None
):
    sub = row(NCE, scheduledNextTermInstructions=SCHEDULED)
    assert (sub.scheduled_product_id, sub.scheduled_sku_id) == ("DG7GMGF0DVSV", "000P")
    assert (sub.scheduled_quantity, sub.scheduled_term_duration) == (1, "P3Y")
    assert sub.scheduled_billing_cycle == "Annual"
    assert sub.label == "Changes to Dynamics 365 Sales Premium on Jan 13, 2022"


def test_a_scheduled_change_to_an_unknown_sku_names_it_by_its_ids() -> None:
    item = pc.Subscription.model_validate(
        {**NCE, "scheduledNextTermInstructions": SCHEDULED}
    )
    sub = Subscription(**Subscription.values_from_pc(item, customer_id=1, current=None))
    assert sub.label == "Changes to DG7GMGF0DVSV:000P on Jan 13, 2022"


def test_a_scheduled_renewal_on_the_same_sku_keeps_the_auto_renew_label() -> None:
    same = {
        "product": {
            "productId": "CFQ7TTC0LH18",
            "skuId": "0001",
            "availabilityId": "CFQ7TTC0K971",
            "termDuration": "P1M",
        },
        "quantity": 5,
    }
    sub = row(NCE, scheduledNextTermInstructions=same)
    assert sub.label == "Auto renews on Jan 13, 2022 · 1 year"


def test_inside_the_cancellation_window_it_says_until_when_it_can_be_cancelled() -> (
    None
):
    until = timezone.now() + timedelta(days=3)
    sub = row(
        NCE,
        cancellationAllowedUntilDate=until.isoformat(),
        refundableQuantity={"totalQuantity": 1, "details": []},
    )
    assert sub.refundable_quantity == 1
    assert sub.cancellable_label == (
        f"Cancellable until {until:%b} {until.day}, {until:%Y}"
    )
    assert sub.label == "Auto renews on Jan 13, 2022 · 1 year"
    past = timezone.now() - timedelta(hours=1)
    assert (
        row(NCE, cancellationAllowedUntilDate=past.isoformat()).cancellable_label == ""
    )
    # A legacy subscription has no such window.
    assert (
        row(LEGACY, cancellationAllowedUntilDate=until.isoformat()).cancellable_label
        == ""
    )


def test_deleted_reads_cancelled() -> None:
    sub = row(NCE, status="deleted")
    assert sub.label == "Cancelled"
    assert sub.label_tone == "muted"


def test_a_suspended_nce_subscription_never_shows_the_legacy_deprovisioning_label() -> (
    None
):
    nce = row(NCE, status="suspended")
    nce.suspended_by_partnerhub_at = timezone.now()
    assert nce.label == "Suspended"
    legacy = row(LEGACY, status="suspended")
    legacy.suspended_by_partnerhub_at = timezone.now()
    assert legacy.label.startswith("Suspended · deprovisioned after ")


def test_unknown_statuses_are_shown_as_sent() -> None:
    assert row(NCE, status="expired").label == "expired"
    assert row(NCE, status="disabled").label == "disabled"


def test_the_catalogue_ids_come_from_the_links_when_the_offer_id_lacks_them() -> None:
    sub = row(NCE, offerId="")
    assert (sub.product_id, sub.sku_id, sub.availability_id) == (
        "CFQ7TTC0LH18",
        "0001",
        "CFQ7TTC0K971",
    )
