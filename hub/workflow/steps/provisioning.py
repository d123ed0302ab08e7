"""Wait until the new subscription exists, is active and its skuId is known."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from hub.models import Migration, Offer, Subscription, normalise_guid
from hub.workflow.lease import StepContext
from hub.workflow.outcomes import ADVANCE, StepFailed, StepOutcome, wait
from hub.workflow.settings import provisioning_poll_seconds
from hub.workflow.step import Step

KEY = "await_provisioning"
# Give up waiting for a bought subscription to become active after this long.
PROVISIONING_TIMEOUT = timedelta(hours=24)


def run(ctx: StepContext) -> StepOutcome:
    m = ctx.migration
    if timezone.now() - m.created_at > PROVISIONING_TIMEOUT:
        raise StepFailed(
            f"The new {m.target_offer_name} subscription was not provisioned within "
            f"{PROVISIONING_TIMEOUT.total_seconds() / 3600:.0f} hours of the order "
            f"({m.order_id}). Check the order in Partner Center, then retry."
        )
    if not m.new_subscription_id:
        if not m.order_id:
            raise StepFailed(
                "No order is recorded for this migration. Retry from the purchase step."
            )
        order = ctx.client.get_order(ctx.tenant, m.order_id)
        found = next(
            (i.subscription_id for i in order.line_items if i.subscription_id), ""
        )
        if not found:
            return wait(provisioning_poll_seconds(), "order not provisioned yet")
        ctx.save(new_subscription_id=normalise_guid(found))
    data = ctx.client.get_subscription(ctx.tenant, m.new_subscription_id)
    Subscription.upsert_from_pc(data, customer=m.customer)
    if (data.status or "").strip().lower() != Subscription.ACTIVE:
        return wait(provisioning_poll_seconds(), f"subscription is {data.status}")
    sku = m.target_sku_id
    if not sku:
        offer = Offer.objects.filter(offer_id=m.target_offer_id).first()
        sku = offer.product_id if offer and offer.product_id else ""
    if not sku:
        status = ctx.client.get_subscription_provisioning_status(
            ctx.tenant, m.new_subscription_id
        )
        sku = normalise_guid(status.sku_id)
    if not sku:
        return wait(provisioning_poll_seconds(), "skuId not known yet")
    if sku != m.target_sku_id:
        ctx.save(target_sku_id=sku)
    return ADVANCE


def describe(m: Migration, finished: bool) -> str:
    if not m.new_subscription_id:
        return ""
    return f"New subscription {m.new_subscription_id}" + (
        " is active." if finished else "."
    )


STEP = Step(
    key=KEY,
    label="Waiting for provisioning",
    title="Wait until it is provisioned",
    done="The new subscription is active",
    verb="check the new subscription",
    run=run,
    describe=describe,
)
