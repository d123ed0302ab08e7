"""Transition the old subscription to its target: Microsoft converts the seats and
moves the users' licences itself.

The MS-RequestId is stored before the POST and reused on every resend. After an
ambiguous outcome (a lost answer, a 5xx, a timeout) the source's transitions are
read first and the one this migration made is adopted instead of sending again;
that read-back settles the pending write. The transition's operation id is kept
in `order_id` (one live migration per operation, as for an order). Once Partner
Center reports it completed, the target subscription and its skuId are recorded,
the old subscription is read back (a full transition ends it), and every user is
read back: those the transition moved are done, those it left behind are moved
by the `move_licenses` step next.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from migrations_app.models import (
    CustomerUser,
    LicenseMove,
    Migration,
    MigrationTarget,
    Subscription,
    UserLicense,
    normalise_guid,
)
from migrations_app.models.catalog import catalogue_key
from migrations_app.models.catalogue_lookup import entra_sku_id_of
from migrations_app.models.wording import count, upns
from migrations_app.workflow.events import audit_migration, settle_by_readback
from migrations_app.workflow.lease import StepContext
from migrations_app.workflow.outcomes import (
    ADVANCE,
    CONTINUE,
    StepFailed,
    StepOutcome,
    pc_error,
    wait,
)
from migrations_app.workflow.settings import provisioning_poll_seconds
from migrations_app.workflow.step import Step
from migrations_app.workflow.steps.moves import held_skus, target_skus
from partner_center.errors import Conflict, PermanentError
from partner_center.models import Subscription as PcSubscription
from partner_center.models import Transition
from partner_center.models.transitions import TRANSITION_WITH_LICENSE_TRANSFER

KEY = "transition"
CODE_IN_PROGRESS = 800060
# Give up waiting for Partner Center to finish a transition after this long.
TRANSITION_TIMEOUT = timedelta(hours=24)
# Marks a user Partner Center's own change left on the old licence: the
# `move_licenses` step moves them (and clears it).
LEFT_BEHIND = (
    "Partner Center's change left this user on the old licence: PartnerHub moves "
    "it next."
)


# ------------------------------------------------------------ shared by both paths


def single_target(m: Migration) -> MigrationTarget:
    """Return the one target of a transition or scheduled change."""
    targets = list(m.targets.order_by("position"))
    if len(targets) != 1:
        raise StepFailed(
            f"Partner Center changes a subscription to one SKU, but {m.target_offer_name} "
            "is several. Start a new migration that buys them instead."
        )
    return targets[0]


def catalog_item_of(ctx: StepContext, target: MigrationTarget) -> str:
    """Return the target's `product:sku:availability`, read now if not known."""
    if target.catalog_item_id:
        return target.catalog_item_id
    product, sku = target.catalogue_id.split(":", 1)
    for availability in ctx.client.list_availabilities(
        product, sku, customer_id=ctx.tenant
    ):
        if availability.catalog_item_id:
            target.catalog_item_id = availability.catalog_item_id
            target.save(update_fields=["catalog_item_id"])
            return availability.catalog_item_id
    raise StepFailed(
        f"Partner Center sells no {target.name} to this customer. Choose another "
        "target, then start a new migration."
    )


def record_target(
    ctx: StepContext, target: MigrationTarget, data: PcSubscription
) -> None:
    """Record the subscription now holding the target SKU, and the skuId it grants."""
    m = ctx.migration
    Subscription.upsert_from_pc(data, customer=m.customer)
    subscription_id = normalise_guid(data.id)
    sku = target.sku_id
    if not sku:
        known = entra_sku_id_of(
            target.catalogue_id, target.name, country=settings.PARTNER_CENTER_COUNTRY
        )
        sku = known or normalise_guid(ctx.client.entra_sku_for(ctx.tenant, data).sku_id)
    if not sku:
        raise StepFailed(
            f"PartnerHub cannot tell which licence {target.name} grants, so it cannot "
            "check the users. Sync the catalogue, then retry."
        )
    target.new_subscription_id, target.sku_id = subscription_id, sku
    target.save(update_fields=["new_subscription_id", "sku_id"])
    ctx.save(new_subscription_id=subscription_id, target_sku_id=sku)


def _mark_carried(m: Migration, move: LicenseMove) -> None:
    """Record a user Partner Center moved (read back), and mirror it locally."""
    now = timezone.now()
    move.status = LicenseMove.Status.MOVED
    move.moved_at = move.verified_at = now
    move.error_message = move.error_code = move.error_description = ""
    move.save(
        update_fields=[
            "status",
            "moved_at",
            "verified_at",
            "error_message",
            "error_code",
            "error_description",
        ]
    )
    user = CustomerUser.objects.filter(
        customer_id=m.customer_id, user_id=move.user_id
    ).first()
    if user is None:
        return
    UserLicense.objects.filter(user=user, sku_id=m.source_sku_id).delete()
    for sku_id, name in target_skus(m):
        UserLicense.objects.get_or_create(
            user=user, sku_id=sku_id, defaults={"sku_name": name}
        )


def read_back_carried(ctx: StepContext, change: str) -> StepOutcome:
    """Read every user not yet read back: who did Partner Center's `change` move?

    A user holding every target licence and not the old one is moved (and read
    back); any other stays pending for the `move_licenses` step, marked as left
    behind. Resumes where a hand-over paused it.
    """
    m = ctx.migration
    new, old = {sku for sku, _ in target_skus(m)}, m.source_sku_id
    todo = (
        m.license_moves.filter(
            status=LicenseMove.Status.PENDING, verified_at__isnull=True
        )
        .exclude(error_message=LEFT_BEHIND)
        .order_by("pk")
    )
    for move in todo:
        if ctx.out_of_time():
            return CONTINUE
        ctx.renew_lease()
        held = held_skus(ctx, move.user_id)
        ctx.progressed()
        if new <= held and old not in held:
            _mark_carried(m, move)
            continue
        move.error_message = LEFT_BEHIND
        move.save(update_fields=["error_message"])
    left = list(m.license_moves.filter(error_message=LEFT_BEHIND))
    total = m.license_moves.count()
    carried = total - len(left)
    text = f"{change} moved {carried} of {count(total, 'user', 'users')}"
    if left:
        text += f"; {len(left)} left behind are moved next: {upns(left)}"
    audit_migration(m, "migration.users_carried", text, left_behind=len(left))
    return ADVANCE


# ---------------------------------------------------------------- the transition


def _what(m: Migration) -> str:
    return f"Transition of {m.source.display_name} to {m.target_offer_name}"


def _ours(ctx: StepContext, target: MigrationTarget) -> Transition | None:
    """Return the transition this migration made, read from Partner Center.

    By its operation id once known; otherwise (its answer was lost) the one from
    this source to the target that no other migration holds.
    """
    m = ctx.migration
    source = m.source.subscription_id
    found = ctx.client.list_transitions(
        ctx.tenant, source, operation_id=m.order_id or None
    )
    if m.order_id:
        return next(
            (t for t in found if normalise_guid(t.operation_id) == m.order_id), None
        )
    held = set(
        Migration.objects.exclude(pk=m.pk)
        .exclude(order_id="")
        .values_list("order_id", flat=True)
    )
    candidates = [
        t
        for t in found
        if catalogue_key(t.to_catalog_item_id) == target.catalogue_id
        and normalise_guid(t.from_subscription_id) in ("", source)
        and normalise_guid(t.operation_id) not in held
    ]
    candidates.sort(key=lambda t: t.failed)
    return candidates[0] if candidates else None


def _send(ctx: StepContext, target: MigrationTarget) -> Transition | StepOutcome:
    m = ctx.migration
    source = m.source
    body = {
        "fromCatalogItemId": source.offer_id,
        "fromSubscriptionId": source.subscription_id,
        "toCatalogItemId": catalog_item_of(ctx, target),
        "quantity": m.quantity,
        "termDuration": m.term_duration or source.term_duration or None,
        "billingCycle": m.billing_cycle or source.billing_cycle or None,
        "transitionType": TRANSITION_WITH_LICENSE_TRANSFER,
    }
    if m.purchase_request_id is None:
        # Stored before sending, so a retry after any failure reuses it.
        ctx.save(purchase_request_id=uuid.uuid4())
    try:
        return ctx.client.create_transition(
            ctx.tenant,
            source.subscription_id,
            {k: v for k, v in body.items() if v is not None},
            request_id=str(m.purchase_request_id),
        )
    except Conflict as exc:
        if exc.code == CODE_IN_PROGRESS:
            return wait(provisioning_poll_seconds(), "transition in progress")
        ctx.save(purchase_request_id=None)
        raise _refused(m, exc) from exc
    except PermanentError as exc:
        # Refused, so nothing changed; the next try is a new request.
        ctx.save(purchase_request_id=None)
        raise _refused(m, exc) from exc


def _refused(m: Migration, exc: PermanentError) -> StepFailed:
    return StepFailed(
        f"Partner Center refused to transition {m.source.display_name} "
        f"to {m.target_offer_name}. Nothing changed; start a new migration that buys "
        "the new subscription instead.",
        *pc_error(exc),
    )


def _transition(ctx: StepContext, target: MigrationTarget) -> StepOutcome | None:
    """Start the transition once and wait for it; None once it is recorded."""
    m = ctx.migration
    found: Transition | None = None
    if m.order_id:
        # Started: never send again, only look.
        found = _ours(ctx, target)
        if found is None:
            _check_time(m)
            return wait(provisioning_poll_seconds(), "transition not listed yet")
    elif m.purchase_request_id is not None:
        # The answer was never read: this read-back says whether it was made.
        found = _ours(ctx, target)
        settle_by_readback(
            m.purchase_request_id, applied=found is not None, what=_what(m)
        )
        if found is not None:
            audit_migration(
                m,
                "migration.transition_adopted",
                f"Found transition {found.operation_id} made by this migration; "
                "not sending it again",
            )
    if found is None:
        sent = _send(ctx, target)
        if not isinstance(sent, Transition):
            return sent
        found = sent
    operation = normalise_guid(found.operation_id)
    if operation and operation != m.order_id:
        ctx.save(order_id=operation)
    if found.failed:
        errors = "; ".join(e.description or str(e.code) for e in found.event_errors)
        raise StepFailed(
            f"Partner Center reports the transition to {m.target_offer_name} failed"
            + (f": {errors}" if errors else "")
            + ". Check the subscription in Partner Center; start a new migration "
            "that buys the new subscription if it is unchanged."
        )
    into = normalise_guid(found.to_subscription_id)
    if not found.finished or not into:
        _check_time(m)
        return wait(provisioning_poll_seconds(), "transition in progress")
    record_target(ctx, target, ctx.client.get_subscription(ctx.tenant, into))
    # A full transition ends the old subscription: store what it is now.
    old = ctx.client.get_subscription(ctx.tenant, m.source.subscription_id)
    Subscription.upsert_from_pc(old, customer=m.customer)
    return None


def _check_time(m: Migration) -> None:
    if timezone.now() - m.created_at > TRANSITION_TIMEOUT:
        raise StepFailed(
            f"Partner Center has not finished transition {m.order_id} within "
            f"{TRANSITION_TIMEOUT.total_seconds() / 3600:.0f} hours. Check it in "
            "Partner Center, then retry."
        )


def run(ctx: StepContext) -> StepOutcome:
    m = ctx.migration
    target = single_target(m)
    if not (target.new_subscription_id and target.sku_id):
        pending = _transition(ctx, target)
        if pending is not None:
            return pending
    return read_back_carried(ctx, "The transition")


def describe(m: Migration, finished: bool) -> str:
    what = f"{m.source.display_name} to {m.target_offer_name}"
    if finished or m.new_subscription_id:
        return (
            f"Transitioned {what} (new subscription {m.new_subscription_id}); users it "
            "left behind are moved next."
        )
    if m.order_id:
        return f"Partner Center is transitioning {what} (operation {m.order_id})."
    if m.purchase_request_id:
        return f"Transition of {what} sent (MS-RequestId {m.purchase_request_id})."
    return (
        f"Will ask Partner Center to transition {what}, moving the users' licences "
        "with it."
    )


STEP = Step(
    key=KEY,
    label="Transitioning the subscription",
    title="Transition to the new SKU",
    done="Transitioned to the new SKU",
    verb="transition the subscription",
    run=run,
    describe=describe,
)
