"""Provisioning's last step: the seats bought count under the licence users hold.

Provisioning buys, in CSP, the SKU a customer holds through another channel. The
Entra skuId is the same, so no user's licence changes; this step reads that back
instead of assuming it: the new subscription grants the skuId the tenant already
holds, and the tenant's subscribed SKUs count at least the seats bought.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from migrations_app.models import Migration, normalise_guid
from migrations_app.workflow.lease import StepContext
from migrations_app.workflow.outcomes import ADVANCE, StepFailed, StepOutcome, wait
from migrations_app.workflow.settings import provisioning_poll_seconds
from migrations_app.workflow.step import Step
from migrations_app.workflow.steps.purchase import targets_of

KEY = "confirm_licences"
# Give up waiting for the tenant to count the new seats after this long.
COUNT_TIMEOUT = timedelta(hours=24)


def run(ctx: StepContext) -> StepOutcome:
    """Check the new seats grant the held skuId and the tenant counts them."""
    m = ctx.migration
    wanted = normalise_guid(m.source_sku_id)
    for target in targets_of(m):
        if target.sku_id and normalise_guid(target.sku_id) != wanted:
            raise StepFailed(
                f"The new {target.name} subscription grants licence "
                f"{target.sku_id}, not {wanted} that the customer's users hold: "
                "their licences would have to be reassigned. Cancel the new "
                "subscription inside its cancellation window if it is not wanted."
            )
    counts = {
        normalise_guid(row.sku_id): row
        for row in ctx.client.list_subscribed_skus(ctx.tenant)
        if row.sku_id
    }
    row = counts.get(wanted)
    active = (row.active_units or 0) if row is not None else 0
    if active >= m.quantity:
        return ADVANCE
    if timezone.now() - m.created_at > COUNT_TIMEOUT:
        raise StepFailed(
            f"The tenant still counts {active} active units of {m.target_offer_name} "
            f"{COUNT_TIMEOUT.total_seconds() / 3600:.0f} hours after the purchase of "
            f"{m.quantity}. Check the subscription in Partner Center, then retry."
        )
    return wait(provisioning_poll_seconds(), "tenant does not count the seats yet")


def describe(m: Migration, finished: bool) -> str:
    if finished:
        return (
            f"The tenant counts the {m.quantity} new seats under the licence its "
            "users already hold: no licence was moved."
        )
    return "Same SKU as the licences bought elsewhere, so no licence is reassigned."


STEP = Step(
    key=KEY,
    label="Checking the tenant's licences",
    title="Check the tenant counts the new seats",
    done="The tenant counts the new seats under the same licence",
    verb="read the tenant's licence counts",
    run=run,
    describe=describe,
)
