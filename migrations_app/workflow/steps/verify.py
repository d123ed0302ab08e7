"""Read back every planned user: all hold the new skuId, none the old one."""

from __future__ import annotations

from django.utils import timezone

from migrations_app.models import LicenseMove, Migration
from migrations_app.models.wording import count, upns
from migrations_app.workflow.lease import StepContext
from migrations_app.workflow.outcomes import ADVANCE, CONTINUE, StepFailed, StepOutcome
from migrations_app.workflow.step import Step
from migrations_app.workflow.steps import moves
from migrations_app.workflow.steps.moves import held_skus, target_skus

KEY = "verify"


def run(ctx: StepContext) -> StepOutcome:
    """Read back the users not yet verified; a pass resumes where it paused.

    Each user read back holding exactly the new licence is stamped `verified_at`,
    so throttling or a hand-over never makes a pass start again from the first
    user. The step ends once every user has been read back.
    """
    m = ctx.migration
    new, old = {sku for sku, _ in target_skus(m)}, m.source_sku_id
    todo = m.license_moves.filter(
        verified_at__isnull=True, status=LicenseMove.Status.MOVED
    )
    for move in todo.order_by("pk"):
        if ctx.out_of_time():
            return CONTINUE
        ctx.renew_lease()
        held = held_skus(ctx, move.user_id)
        ctx.progressed()
        if new <= held and old not in held:
            move.verified_at = timezone.now()
            move.save(update_fields=["verified_at"])
            continue
        move.status = LicenseMove.Status.PENDING
        move.request_id = None
        move.error_message = (
            "Read back: still holds the old licence."
            if old in held
            else "Read back: does not hold the new licence."
        )
        move.save(update_fields=["status", "request_id", "error_message"])
    wrong = list(m.license_moves.exclude(status=LicenseMove.Status.MOVED))
    if wrong:
        raise StepFailed(
            f"{count(len(wrong), 'user does', 'users do')} not hold the new licence "
            f"yet, or still hold the old one: {upns(wrong)}. The old subscription was "
            "left untouched; retry to move them again."
        )
    return ADVANCE


def retry_from(m: Migration) -> str:
    """Return where a retry resumes: users the read-back found wrong move again."""
    if m.license_moves.exclude(status=LicenseMove.Status.MOVED).exists():
        return moves.KEY
    return KEY


def describe(m: Migration, finished: bool) -> str:
    if finished:
        return "Every user holds the new licence and none the old one."
    return ""


STEP = Step(
    key=KEY,
    label="Verifying licences",
    title="Read back every user's licences",
    done="Every user holds the new licence",
    verb="read back licences",
    run=run,
    describe=describe,
    retry_from=retry_from,
)
