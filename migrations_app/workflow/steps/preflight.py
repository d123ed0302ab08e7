"""Check free seats of the new skuId and every pending user's usage location."""

from __future__ import annotations

from migrations_app.models import LicenseMove, Migration, normalise_guid
from migrations_app.models.wording import (
    NO_USAGE_LOCATION,
    count,
    has_usage_location,
    upns,
    usage_location_problem,
)
from migrations_app.workflow.lease import StepContext
from migrations_app.workflow.outcomes import ADVANCE, StepFailed, StepOutcome
from migrations_app.workflow.step import Step

KEY = "preflight"


def run(ctx: StepContext) -> StepOutcome:
    m = ctx.migration
    pending = list(m.license_moves.exclude(status=LicenseMove.Status.MOVED))
    if not pending:
        return ADVANCE
    skus = {
        normalise_guid(s.sku_id): s.available_units or 0
        for s in ctx.client.list_subscribed_skus(ctx.tenant)
    }
    for target in m.targets.order_by("position"):
        available = skus.get(target.sku_id, 0)
        if available < len(pending):
            raise StepFailed(
                f"Not enough free seats: {target.name} has "
                f"{count(available, 'free seat', 'free seats')} but "
                f"{count(len(pending), 'user still needs', 'users still need')} one. "
                f"Add seats to the new subscription {target.new_subscription_id}, "
                "then retry."
            )
    users = {normalise_guid(u.id): u for u in ctx.client.iter_users(ctx.tenant)}
    gone = [mv for mv in pending if mv.user_id not in users]
    if gone:
        raise StepFailed(
            f"{count(len(gone), 'user no longer exists', 'users no longer exist')} "
            f"in the customer's tenant: {upns(gone)}. Resync the customer and start "
            "a new migration."
        )
    missing = [
        mv for mv in pending if not has_usage_location(users[mv.user_id].usage_location)
    ]
    if missing:
        for mv in missing:
            mv.error_message = NO_USAGE_LOCATION
            mv.save(update_fields=["error_message"])
        raise StepFailed(usage_location_problem(missing, bought=True))
    return ADVANCE


def describe(m: Migration, finished: bool) -> str:
    return "Enough free seats; every user has a usage location." if finished else ""


STEP = Step(
    key=KEY,
    label="Checking seats and users",
    title="Check free seats and usage locations",
    done="Seats and usage locations checked",
    verb="check seats and users",
    run=run,
    describe=describe,
)
