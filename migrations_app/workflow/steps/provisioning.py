"""Wait until every new subscription exists, is active and its skuId is known."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from migrations_app.models import (
    Migration,
    MigrationTarget,
    Subscription,
    normalise_guid,
)
from migrations_app.models.catalogue_lookup import entra_sku_id_of
from migrations_app.workflow.events import settle_by_readback
from migrations_app.workflow.lease import StepContext
from migrations_app.workflow.outcomes import ADVANCE, StepFailed, StepOutcome, wait
from migrations_app.workflow.settings import provisioning_poll_seconds
from migrations_app.workflow.step import Step
from migrations_app.workflow.steps.purchase_records import (
    own_lines,
    purchase_reference,
    record_lines,
    targets_of,
)
from partner_center.errors import NotFound
from partner_center.models import Order
from partner_center.models import Subscription as PcSubscription

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
    targets = targets_of(m)
    if not m.order_id and not m.new_subscription_id:
        raise StepFailed(
            "No order is recorded for this migration. Retry from the purchase step."
        )
    if any(not t.new_subscription_id for t in targets):
        _find_subscriptions(ctx)
        targets = targets_of(m)
        if any(not t.new_subscription_id for t in targets):
            return wait(provisioning_poll_seconds(), "order not provisioned yet")
    for target in targets:
        data = ctx.client.get_subscription(ctx.tenant, target.new_subscription_id)
        Subscription.upsert_from_pc(data, customer=m.customer)
        if (data.status or "").strip().lower() != Subscription.ACTIVE:
            return wait(provisioning_poll_seconds(), f"subscription is {data.status}")
        data = _drop_reference(ctx, data)
        Subscription.upsert_from_pc(data, customer=m.customer)
        if not target.sku_id:
            sku = _known_sku(target) or normalise_guid(
                ctx.client.entra_sku_for(ctx.tenant, data).sku_id
            )
            if not sku:
                return wait(provisioning_poll_seconds(), "skuId not known yet")
            target.sku_id = sku
            target.save(update_fields=["sku_id"])
    first = targets[0]
    if (
        first.sku_id != m.target_sku_id
        or first.new_subscription_id != m.new_subscription_id
    ):
        ctx.save(
            target_sku_id=first.sku_id, new_subscription_id=first.new_subscription_id
        )
    return ADVANCE


def _find_subscriptions(ctx: StepContext) -> None:
    """Read the order again: its lines name the subscriptions once provisioned.

    A checkout can split into several orders; lines of the others are found by
    the migration's reference.
    """
    m = ctx.migration
    lines = []
    if m.order_id:
        order = _read_order(ctx)
        lines = [(order.id, line) for line in order.line_items]
    missing = len([line for _, line in lines if line.subscription_id]) < len(
        targets_of(m)
    )
    if missing and m.purchase_request_id is not None:
        lines += own_lines(m, ctx.client.list_orders(ctx.tenant))
    if lines:
        record_lines(ctx, lines)


def _drop_reference(ctx: StepContext, data: PcSubscription) -> PcSubscription:
    """Return the subscription with the purchase reference gone from its name.

    The reference identified the purchase until it was recorded; the customer
    should not see it. Renaming is a write (audited by the client) whose loss is
    harmless: the next poll reads the name again, settles a lost rename by that
    read, and renames again if needed, with the same request id.
    """
    m = ctx.migration
    if m.purchase_request_id is None:
        return data
    reference = f" ({purchase_reference(m.purchase_request_id)})"
    request_id = uuid.uuid5(m.purchase_request_id, f"rename-{data.id}")
    name = data.friendly_name or ""
    if reference not in name:
        settle_by_readback(request_id, applied=True, what="Renaming the subscription")
        return data
    return ctx.client.update_subscription(
        ctx.tenant,
        str(data.id),
        {"friendlyName": name.replace(reference, "")},
        request_id=str(request_id),
    )


def _read_order(ctx: StepContext) -> Order:
    """Return the migration's order, read by its id as stored.

    An id stored lower-cased (before ids were kept as given) may not be found
    where Partner Center matches case: the order is then looked for in the
    customer's order list, ignoring case, and its id stored as given.
    """
    m = ctx.migration
    try:
        return ctx.client.get_order(ctx.tenant, m.order_id)
    except NotFound:
        for order in ctx.client.list_orders(ctx.tenant):
            if order.id != m.order_id and order.id.lower() == m.order_id.lower():
                ctx.save(order_id=order.id)
                return order
        raise


def _known_sku(target: MigrationTarget) -> str:
    """Return the skuId the synced catalogue says the target's licences carry."""
    return entra_sku_id_of(
        target.catalogue_id, target.name, country=settings.PARTNER_CENTER_COUNTRY
    )


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
