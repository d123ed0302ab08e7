"""Move each pending user's licence: assign the new skuId, remove the old one."""

from __future__ import annotations

import uuid

from django.utils import timezone

from migrations_app.models import (
    CustomerUser,
    LicenseMove,
    Migration,
    UserLicense,
    normalise_guid,
)
from migrations_app.models.wording import count, upns
from migrations_app.workflow.events import settle_by_readback
from migrations_app.workflow.lease import StepContext
from migrations_app.workflow.outcomes import (
    ADVANCE,
    CONTINUE,
    StepFailed,
    StepOutcome,
    pc_error,
)
from migrations_app.workflow.step import Step
from partner_center.errors import PermanentError

KEY = "move_licenses"
# One claim moves at most this many users, then hands over to a new message.
MOVES_PER_CLAIM = 50
CODE_OUT_OF_LICENSES = 60012
CODE_LICENSE_MIGRATION_FAILED = 60000


def held_skus(ctx: StepContext, user_id: str) -> set[str]:
    """Return the skuIds the user holds now, read from Partner Center."""
    return {
        normalise_guid(lic.sku_id)
        for lic in ctx.client.get_user_licenses(ctx.tenant, user_id)
    }


def target_skus(m: Migration) -> list[tuple[str, str]]:
    """Return (skuId, name) of every licence each user must hold afterwards."""
    return [(t.sku_id, t.name) for t in m.targets.order_by("position")]


def _record_local_move(migration: Migration, move: LicenseMove) -> None:
    """Mirror a finished licence move in the synced licences, so pages agree now."""
    user = CustomerUser.objects.filter(
        customer_id=migration.customer_id, user_id=move.user_id
    ).first()
    if user is None:
        return
    UserLicense.objects.filter(user=user, sku_id=migration.source_sku_id).delete()
    for sku_id, name in target_skus(migration):
        UserLicense.objects.get_or_create(
            user=user, sku_id=sku_id, defaults={"sku_name": name}
        )


def _mark_moved(ctx: StepContext, move: LicenseMove) -> None:
    move.status = LicenseMove.Status.MOVED
    move.moved_at = timezone.now()
    move.error_message = move.error_code = move.error_description = ""
    move.save(
        update_fields=[
            "status",
            "moved_at",
            "error_message",
            "error_code",
            "error_description",
            "request_id",
            "attempts",
        ]
    )
    _record_local_move(ctx.migration, move)


def mark_failed(
    move: LicenseMove, message: str, code: str = "", description: str = ""
) -> None:
    """Record that this user's move failed, and why; the next try is a new request."""
    move.status = LicenseMove.Status.FAILED
    move.error_message = message
    move.error_code, move.error_description = code, description
    move.request_id = None
    move.save(
        update_fields=[
            "status",
            "error_message",
            "error_code",
            "error_description",
            "request_id",
            "attempts",
        ]
    )


def _move_one(ctx: StepContext, move: LicenseMove) -> None:
    """Move one user's licence; leave the move moved, failed or pending.

    Raise StepFailed when the new subscription has run out of seats.
    """
    m = ctx.migration
    new = [sku for sku, _ in target_skus(m)]
    old = m.source_sku_id
    assign, remove = list(new), [old]
    if move.request_id is None:
        move.request_id = uuid.uuid4()
        move.save(update_fields=["request_id"])
    else:
        # An earlier attempt was sent and may have been applied: look first.
        held = held_skus(ctx, move.user_id)
        assign = [sku for sku in new if sku not in held]
        remove = [old] if old in held else []
        what = f"Licence move for {move.user_principal_name or move.user_id}"
        if not assign and not remove:
            settle_by_readback(move.request_id, applied=True, what=what)
            _mark_moved(ctx, move)
            return
        settle_by_readback(move.request_id, applied=False, what=what)
    move.attempts += 1
    try:
        ctx.client.update_user_licenses(
            ctx.tenant, move.user_id, assign, remove, request_id=str(move.request_id)
        )
    except PermanentError as exc:
        if exc.code == CODE_OUT_OF_LICENSES:
            mark_failed(
                move,
                "No free seat left on the new subscription for this user.",
                *pc_error(exc),
            )
            done = m.license_moves.filter(status=LicenseMove.Status.MOVED).count()
            total = m.license_moves.count()
            raise StepFailed(
                f"Not enough licences: the new {m.target_offer_name} subscription ran "
                f"out of free seats ({done} of {total} users moved). Add seats to "
                f"subscription {m.new_subscription_id}, then retry: users already "
                "moved keep their new licence.",
                *pc_error(exc),
            ) from exc
        text = " ".join(str(d) for d in exc.data) + " " + exc.description
        if (
            exc.code == CODE_LICENSE_MIGRATION_FAILED
            and "usage location" in text.lower()
        ):
            mark_failed(move, "This user has no usage location.", *pc_error(exc))
            return
        if exc.code == CODE_LICENSE_MIGRATION_FAILED and "not have a license" in text:
            # The user's licences differ from the last sync: read them, send
            # exactly what is missing as a new request.
            move.request_id = uuid.uuid4()
            move.save(update_fields=["request_id", "attempts"])
            held = held_skus(ctx, move.user_id)
            assign = [sku for sku in new if sku not in held]
            remove = [old] if old in held else []
            if assign or remove:
                try:
                    ctx.client.update_user_licenses(
                        ctx.tenant,
                        move.user_id,
                        assign,
                        remove,
                        request_id=str(move.request_id),
                    )
                except PermanentError as again:
                    mark_failed(move, _refused_text(again), *pc_error(again))
                    return
            _mark_moved(ctx, move)
            return
        mark_failed(move, _refused_text(exc), *pc_error(exc))
        return
    _mark_moved(ctx, move)


def _refused_text(exc: PermanentError) -> str:
    if exc.status == 404:
        return "Partner Center cannot find this user any more."
    return "Partner Center refused to change this user's licences."


def run(ctx: StepContext) -> StepOutcome:
    """Move pending users one call each; hand over after a batch or a time budget."""
    m = ctx.migration
    pending = list(
        m.license_moves.filter(status=LicenseMove.Status.PENDING).order_by("pk")
    )
    for number, move in enumerate(pending):
        if number >= MOVES_PER_CLAIM or ctx.out_of_time():
            return CONTINUE
        ctx.renew_lease()
        ctx.current_move = move
        _move_one(ctx, move)
        ctx.current_move = None
        ctx.progressed()
    failed = list(m.license_moves.filter(status=LicenseMove.Status.FAILED))
    if failed:
        total = m.license_moves.count()
        first = failed[0]
        raise StepFailed(
            f"{len(failed)} of {count(total, 'user', 'users')} could not be moved: "
            f"{upns(failed)}. See each user below; fix them, then retry. Users "
            "already moved keep their new licence.",
            first.error_code,
            first.error_description,
        )
    return ADVANCE


def describe(m: Migration, finished: bool) -> str:
    total = getattr(m, "users_total", None)
    moved = getattr(m, "users_moved", None)
    if total is None:
        return ""
    return f"{moved} of {count(total, 'user', 'users')} moved."


STEP = Step(
    key=KEY,
    label="Moving licences",
    title="Move every user's licence",
    done="Every licence moved",
    verb="move licences",
    run=run,
    describe=describe,
)
