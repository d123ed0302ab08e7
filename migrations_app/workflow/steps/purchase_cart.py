"""Buy new-commerce targets: one cart, made once, checked out once.

The cart is the purchase's identity: once a checkout was sent its id is never
forgotten, and before any resend the cart is read. `Ordered` proves the seats
were bought (then only its orders are looked for); `Active` proves the checkout
was not applied. A checkout answered 800065 (already submitted) means bought,
800064 (being processed) means wait — never a refusal.
"""

from __future__ import annotations

import uuid

from django.utils import timezone

from migrations_app.models import Migration, MigrationTarget, Outcome
from migrations_app.models.writes import PendingWrite, pending_write_settle
from migrations_app.workflow.lease import StepContext
from migrations_app.workflow.outcomes import ADVANCE, StepFailed, StepOutcome, wait
from migrations_app.workflow.settings import provisioning_poll_seconds
from migrations_app.workflow.steps.purchase_records import (
    adopt,
    all_lines,
    friendly_name,
    listing_wait_left,
    orders_of_new_subscriptions,
    own_lines,
    record_lines,
    same_contents,
    send_request_id,
    settle_earlier_sends,
    unsent_on,
)
from partner_center.errors import (
    Conflict,
    NotFound,
    PermanentError,
    Throttled,
    TransientError,
)
from partner_center.models import Cart, CartLineItem
from partner_center.records import Operation

# Reference: https://learn.microsoft.com/en-us/partner-center/developer/error-codes
CODE_ORDER_IN_PROGRESS = 800060
CODE_CHECKOUT_IN_PROGRESS = 800064
CODE_ALREADY_SUBMITTED = 800065
IN_PROGRESS = (CODE_ORDER_IN_PROGRESS, CODE_CHECKOUT_IN_PROGRESS)


def run_checkout(
    ctx: StepContext, targets: list[MigrationTarget], reseller: str | None
) -> StepOutcome:
    """Put every target in one cart (made once) and check it out once.

    Raise the typed refusal (AgreementNotAccepted, GdapAccessDenied, another
    PermanentError) only once the cart was read and shown not ordered.
    """
    m = ctx.migration
    if m.cart_id and m.purchase_sent_at is not None:
        cart = _read_cart(ctx)
        if cart.ordered:
            return adopt_ordered_cart(ctx, cart)
        # Active: no checkout sent so far was applied; send a new one.
        ctx.save(purchase_attempt=m.purchase_attempt + 1, purchase_sent_at=None)
    if not m.cart_id:
        _make_cart(ctx, targets, reseller)
    ctx.save(purchase_sent_at=timezone.now())
    try:
        result = ctx.client.checkout_cart(
            ctx.tenant, m.cart_id, request_id=str(send_request_id(m))
        )
    except Conflict as exc:
        if exc.code in IN_PROGRESS:
            return wait(provisioning_poll_seconds(), "checkout in progress")
        return _after_refusal(ctx, exc)
    except PermanentError as exc:
        if exc.code == CODE_ALREADY_SUBMITTED:
            return adopt_ordered_cart(ctx, _read_cart(ctx))
        return _after_refusal(ctx, exc)
    except (Throttled, TransientError) as exc:
        unsent_on(ctx, exc)
        raise
    if m.purchase_attempt:
        settle_earlier_sends(m, applied=False)
    bought = all_lines(result.orders)
    if bought:
        record_lines(ctx, bought)
    for problem in result.order_errors:
        if bought:
            raise StepFailed(
                f"Partner Center placed order {bought[0][0]} but refused part of the "
                f"cart: {problem.description}. Check the order in Partner Center."
            )
        raise problem.as_error()
    return ADVANCE


def _after_refusal(ctx: StepContext, exc: PermanentError) -> StepOutcome:
    """Read the cart before taking a refusal as final; adopt it if it is ordered.

    Raise `exc` when the cart is still Active (nothing was bought).
    """
    cart = _read_cart(ctx)
    if cart.ordered:
        return adopt_ordered_cart(ctx, cart)
    m = ctx.migration
    settle_earlier_sends(m, applied=False)
    # Proven not bought: the next send is a new one, as a retry would find.
    ctx.save(purchase_attempt=m.purchase_attempt + 1, purchase_sent_at=None)
    raise exc


def _read_cart(ctx: StepContext) -> Cart:
    """Return the migration's cart; raise StepFailed if Partner Center lost it."""
    m = ctx.migration
    try:
        return ctx.client.get_cart(ctx.tenant, m.cart_id)
    except NotFound as exc:
        raise StepFailed(
            f"Partner Center no longer knows cart {m.cart_id}, which this migration "
            "checked out (carts expire 7 days after they are made). Check the "
            f"customer's orders in Partner Center for {m.quantity} seats of "
            f"{m.target_offer_name}: if they were bought, nothing more needs "
            "buying; if not, start a new migration."
        ) from exc


def adopt_ordered_cart(ctx: StepContext, cart: Cart) -> StepOutcome:
    """Adopt the orders of a cart proven checked out; never check it out again.

    By its order ids when the cart lists them, else by the reference on the
    lines, else by contents (the cart is ours and ordered, so this only locates
    the order). Wait while the order may not be listed yet; then stop.
    """
    m = ctx.migration
    if cart.order_ids:
        orders = [ctx.client.get_order(ctx.tenant, oid) for oid in cart.order_ids]
        adopt(ctx, all_lines(orders), "the orders its cart lists")
        return ADVANCE
    seen = ctx.client.list_orders(ctx.tenant) + orders_of_new_subscriptions(ctx)
    lines = own_lines(m, seen)
    if lines:
        adopt(ctx, lines, "by the reference its lines carry")
        return ADVANCE
    unique = {order.id: order for order in same_contents(m, seen)}
    if len(unique) == 1:
        adopt(ctx, all_lines(list(unique.values())), "by its cart's contents")
        return ADVANCE
    left = listing_wait_left(m)
    if left > 0:
        return wait(min(left, 60.0), "the order of the cart is not listed yet")
    listed = ", ".join(sorted(unique)) or "none yet"
    raise StepFailed(
        f"Cart {m.cart_id} was checked out (Partner Center shows it Ordered), so "
        f"{m.quantity} seats of {m.target_offer_name} were bought, but its order "
        f"cannot be told apart (orders with the same contents: {listed}). Nothing "
        "more will be bought. In Partner Center, open the customer's orders, find "
        f"the order placed for cart {m.cart_id}, then sync the customer and start "
        "a new migration, which uses the new subscription."
    )


def _make_cart(
    ctx: StepContext, targets: list[MigrationTarget], reseller: str | None
) -> None:
    """Make the cart and store its id; a cart lost earlier is settled first.

    Making a cart buys nothing and there is no way to list carts: a cart whose
    answer was lost is audited as such (harmless; it expires unused in 7 days).
    """
    m = ctx.migration
    _settle_lost_carts(m)
    lines = [
        CartLineItem(
            catalog_item_id=_catalog_item(ctx, t),
            quantity=m.quantity,
            term_duration=m.term_duration or "P1Y",
            billing_cycle=m.billing_cycle or "monthly",
            friendly_name=friendly_name(m, t.name),
        )
        for t in targets
    ]
    cart = ctx.client.create_cart(
        ctx.tenant, lines, request_id=uuid.uuid4(), partner_id_on_record=reseller
    )
    for _, error in cart.line_errors:
        raise error.as_error()
    ctx.save(cart_id=cart.id or "")


def _settle_lost_carts(m: Migration) -> None:
    """Give each earlier cart creation whose answer was lost its one audit event."""
    for request_id in PendingWrite.objects.filter(
        migration_id=m.pk, operation=Operation.CART_CREATE
    ).values_list("request_id", flat=True):
        pending_write_settle(
            request_id,
            outcome=Outcome.UNKNOWN,
            message="Creating a cart: its answer was lost, and carts cannot be "
            "listed, so whether it was made is unknown. A cart buys nothing and "
            "expires unused after 7 days; a new cart was made.",
        )


def _catalog_item(ctx: StepContext, target: MigrationTarget) -> str:
    """Return the `product:sku:availability` to buy, read now if not known."""
    if target.catalog_item_id:
        return target.catalog_item_id
    product, sku = target.catalogue_id.split(":", 1)
    term = ctx.migration.term_duration or "P1Y"
    found = ctx.client.list_availabilities(product, sku, customer_id=ctx.tenant)
    for availability in found:
        terms = {t.duration for t in availability.terms}
        if availability.catalog_item_id and (not terms or term in terms):
            target.catalog_item_id = availability.catalog_item_id
            target.save(update_fields=["catalog_item_id"])
            return availability.catalog_item_id
    raise StepFailed(
        f"Partner Center sells no {term} term of {target.name} to this customer. "
        "Choose another term or target, then start a new migration."
    )
