"""Transition the old subscription to its target: Microsoft converts the seats and
moves the users' licences itself.

Only a transition that can carry every user is sent: the source's seats, read
just before, must cover every holder of the licence. The MS-RequestId is stored
before the POST and reused on every resend. The documented answer carries no
operation id, so the transition is identified by reading `GET …/transitions`; its
operation id is then kept in `order_id` (one live migration per operation, as for
an order). After an ambiguous outcome (a lost answer, a 5xx, a timeout) the
listing and the source are read before anything is sent again; that read-back
settles the pending write, and an adoption is audited once. A POST Partner Center
accepted is never sent again.

It is finished by the documented signals: a full transition converts the
subscription in place (same id, the target's offer, seen by re-reading it), and
its events are a log that reaches Completed. An answer naming a different
`to_subscription_id` is followed there once finished. Every user is then read
back: those the transition moved are done, those it left behind are moved by the
`move_licenses` step next.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from migrations_app.models import (
    AuditEvent,
    CustomerUser,
    LicenseMove,
    Migration,
    MigrationTarget,
    Outcome,
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

    By its operation id once known; otherwise (its answer was lost, or carried
    no operation id, as documented) the one from this source to the target that
    no other migration holds.
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


def _identify(ctx: StepContext, target: MigrationTarget) -> Transition | None:
    """Return this migration's transition as listed now, or None if not listed.

    The first time it is found its operation id is stored (so it is identified
    once), and a write whose answer was lost is settled by this read-back and
    its adoption audited, once: a later poll finds nothing pending.
    """
    m = ctx.migration
    if not m.order_id and m.purchase_request_id is None:
        return None  # never sent
    found = _ours(ctx, target)
    if found is None or m.order_id:
        return found
    if settle_by_readback(m.purchase_request_id, applied=True, what=_what(m)):
        audit_migration(
            m,
            "migration.transition_adopted",
            f"Found transition {found.operation_id or ''} made by this migration; "
            "not sending it again",
        )
    operation = normalise_guid(found.operation_id)
    if operation:
        ctx.save(order_id=operation)
    return found


def _converted(ctx: StepContext, target: MigrationTarget) -> PcSubscription | None:
    """Return the source, read now, if it already carries the target's offer.

    A full transition converts the subscription in place (same id, new offer):
    this read is the documented proof that Microsoft carried it out.
    """
    m = ctx.migration
    data = ctx.client.get_subscription(ctx.tenant, m.source.subscription_id)
    return data if catalogue_key(data.offer_id) == target.catalogue_id else None


def _accepted(m: Migration) -> bool:
    """Return True if Partner Center answered this migration's POST with success."""
    return AuditEvent.objects.filter(
        action="partner_center.write",
        pc_request_id=str(m.purchase_request_id),
        outcome=Outcome.SUCCESS,
    ).exists()


def _check_capacity(ctx: StepContext) -> PcSubscription:
    """Return the source read now; raise StepFailed if it cannot carry every user.

    A transition converts only this subscription's seats: every user holding
    the licence (those licensed through another channel too) needs one, or the
    ones left over lose their licence with nowhere to go.
    """
    m = ctx.migration
    data = ctx.client.get_subscription(ctx.tenant, m.source.subscription_id)
    seats = int(data.quantity or 0)
    holders = max(
        m.license_moves.count(),
        UserLicense.objects.filter(
            user__customer_id=m.customer_id, sku_id=m.source_sku_id
        ).count(),
    )
    if seats < holders:
        raise StepFailed(
            f"A transition of {m.source.display_name} cannot carry every user: "
            f"{holders} users hold the licence but the subscription now has "
            f"{seats} seats, and a transition converts only those. Nothing was "
            "changed. Start a new migration that buys the new subscription for "
            "every user instead."
        )
    return data


def _send(ctx: StepContext, target: MigrationTarget) -> Transition | StepOutcome:
    """Send the transition of every seat of the source (after the capacity check)."""
    m = ctx.migration
    source = m.source
    now = _check_capacity(ctx)
    request = Transition(
        from_catalog_item_id=now.offer_id or source.offer_id,
        from_subscription_id=source.subscription_id,
        to_catalog_item_id=catalog_item_of(ctx, target),
        # A full transition: seats left on the source would stay billed, and
        # this path never retires it.
        quantity=int(now.quantity or m.quantity),
        term_duration=m.term_duration or source.term_duration or None,
        billing_cycle=m.billing_cycle or source.billing_cycle or None,
        transition_type=TRANSITION_WITH_LICENSE_TRANSFER,
    )
    if m.purchase_request_id is None:
        # Stored before sending, so a retry after any failure reuses it.
        ctx.save(purchase_request_id=uuid.uuid4())
    try:
        return ctx.client.create_transition(
            ctx.tenant,
            source.subscription_id,
            request,
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


def _start(ctx: StepContext, target: MigrationTarget) -> Transition | StepOutcome:
    """Send the transition unless a read proves it was made; return it or a wait.

    Called only when the listing shows no transition of this migration. If
    Partner Center accepted the POST, it is only looked for again, never resent;
    a POST whose answer was lost is settled as not applied before it is resent
    with the same MS-RequestId.
    """
    m = ctx.migration
    if m.purchase_request_id is not None:
        if _accepted(m):
            _check_time(m)
            return wait(provisioning_poll_seconds(), "transition not listed yet")
        settle_by_readback(m.purchase_request_id, applied=False, what=_what(m))
    sent = _send(ctx, target)
    if not isinstance(sent, Transition):
        return sent
    operation = normalise_guid(sent.operation_id)
    if operation:
        ctx.save(order_id=operation)
        return sent
    # The documented answer carries no operation id: find it in the listing.
    return _identify(ctx, target) or sent


def _transition(ctx: StepContext, target: MigrationTarget) -> StepOutcome | None:
    """Start the transition once and wait for it; None once it is recorded."""
    m = ctx.migration
    found = _identify(ctx, target)
    if found is None:
        sent = m.order_id or m.purchase_request_id is not None
        converted = _converted(ctx, target) if sent else None
        if converted is not None:
            record_target(ctx, target, converted)
            return None
        if m.order_id:
            # Identified before: never send again, only look.
            _check_time(m)
            return wait(provisioning_poll_seconds(), "transition not listed yet")
        started = _start(ctx, target)
        if not isinstance(started, Transition):
            return started
        found = started
    return _finish(ctx, target, found)


def _finish(
    ctx: StepContext, target: MigrationTarget, found: Transition
) -> StepOutcome | None:
    """Record the target once Partner Center carried the transition out.

    Converted in place (the source re-read shows the target's offer), or, where
    the answer names one, into `to_subscription_id` once finished. Return None
    when recorded, a wait while it runs; raise StepFailed if it failed.
    """
    m = ctx.migration
    converted = _converted(ctx, target)
    if converted is not None:
        record_target(ctx, target, converted)
        return None
    if found.failed:
        errors = "; ".join(e.description or str(e.code) for e in found.event_errors)
        raise StepFailed(
            f"Partner Center reports the transition to {m.target_offer_name} failed"
            + (f": {errors}" if errors else "")
            + ". Check the subscription in Partner Center; start a new migration "
            "that buys the new subscription if it is unchanged."
        )
    into = normalise_guid(found.to_subscription_id)
    if found.finished and into and into != m.source.subscription_id:
        record_target(ctx, target, ctx.client.get_subscription(ctx.tenant, into))
        # A transition into another subscription ends the old one: store it.
        old = ctx.client.get_subscription(ctx.tenant, m.source.subscription_id)
        Subscription.upsert_from_pc(old, customer=m.customer)
        return None
    _check_time(m)
    return wait(provisioning_poll_seconds(), "transition in progress")


def _check_time(m: Migration) -> None:
    """Raise StepFailed once Partner Center has had a day (checked after a re-read)."""
    if timezone.now() - m.created_at > TRANSITION_TIMEOUT:
        raise StepFailed(
            f"Partner Center has not finished transition {m.order_id or ''} within "
            f"{TRANSITION_TIMEOUT.total_seconds() / 3600:.0f} hours, and the "
            "subscription still shows its old offer. Check it in Partner Center, "
            "then retry."
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
    if m.new_subscription_id and m.new_subscription_id == m.source.subscription_id:
        return (
            f"Transitioned {what}: Partner Center converted the subscription in "
            "place; users it left behind are moved next."
        )
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
