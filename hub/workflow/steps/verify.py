"""Read back every planned user: all hold the new skuId, none the old one."""

from __future__ import annotations

from hub.models import LicenseMove, Migration
from hub.workflow.lease import StepContext
from hub.workflow.outcomes import ADVANCE, StepFailed, StepOutcome
from hub.workflow.step import Step
from hub.workflow.steps import moves
from hub.workflow.steps.moves import held_skus
from hub.workflow.wording import count, upns

KEY = "verify"


def run(ctx: StepContext) -> StepOutcome:
    m = ctx.migration
    new, old = m.target_sku_id, m.source_sku_id
    wrong: list[LicenseMove] = []
    for move in m.license_moves.order_by("pk"):
        ctx.renew_lease()
        held = held_skus(ctx, move.user_id)
        ctx.progressed()
        if new in held and old not in held:
            continue
        move.status = LicenseMove.Status.PENDING
        move.request_id = None
        move.error_message = (
            "Read back: still holds the old licence."
            if old in held
            else "Read back: does not hold the new licence."
        )
        move.save(update_fields=["status", "request_id", "error_message"])
        wrong.append(move)
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
