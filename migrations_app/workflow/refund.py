"""Cancel what a stopped migration bought, for a refund, inside the window.

A migration cancelled (or failed) after buying leaves new-commerce subscriptions
active and billed. While they are inside their cancellation window, the operator
can have them cancelled for a prorated refund; this runs in a worker. Each
cancel's MS-RequestId is stored on its target before sending (a conditional
UPDATE, so two workers never both send), and a resend after a lost answer reads
the subscription back first.
"""

from __future__ import annotations

import uuid

from django.utils import timezone

from migrations_app.models import (
    HANDED_OVER_STATES,
    Migration,
    MigrationTarget,
    Outcome,
    Subscription,
)
from migrations_app.workflow.events import audit_migration, settle_by_readback
from migrations_app.workflow.pc import partner_center_client
from partner_center.errors import PermanentError


def refundable_targets(m: Migration) -> list[MigrationTarget]:
    """Return the targets whose new subscription can still be cancelled for a refund.

    Read from the synced rows: new commerce, not cancelled yet, inside its window.
    """
    if m.state not in HANDED_OVER_STATES or not m.bought:
        return []
    targets = [
        t for t in m.targets.all() if t.new_subscription_id and t.refunded_at is None
    ]
    subs = {
        s.subscription_id: s
        for s in Subscription.objects.filter(
            subscription_id__in=[t.new_subscription_id for t in targets]
        )
    }
    now = timezone.now()
    found = []
    for target in targets:
        sub = subs.get(target.new_subscription_id)
        if (
            sub is not None
            and sub.is_nce
            and not sub.is_cancelled
            and sub.cancellation_allowed_until is not None
            and sub.cancellation_allowed_until > now
        ):
            found.append(target)
    return found


def purchase_refund(*, migration_id: int) -> int:
    """Cancel every refundable new subscription of a stopped migration; return how many.

    Partner Center errors other than a refusal propagate (the task retries).
    """
    m = Migration.objects.select_related("customer", "source_subscription").get(
        pk=migration_id
    )
    tenant = str(m.customer.tenant_id)
    done = 0
    with partner_center_client(customer=m.customer, migration_id=m.pk) as client:
        for target in m.targets.filter(refunded_at__isnull=True).exclude(
            new_subscription_id=""
        ):
            if target.refund_request_id is None:
                claimed = MigrationTarget.objects.filter(
                    pk=target.pk, refund_request_id__isnull=True
                ).update(refund_request_id=uuid.uuid4())
                if not claimed:
                    continue
                target.refresh_from_db()
            else:
                current = client.get_subscription(tenant, target.new_subscription_id)
                cancelled = (current.status or "").lower() == Subscription.DELETED
                settle_by_readback(
                    target.refund_request_id,
                    applied=cancelled,
                    what=f"Cancelling {target.name} for a refund",
                )
                if cancelled:
                    _record(m, target, current)
                    done += 1
                    continue
            try:
                updated = client.cancel_subscription(
                    tenant, target.new_subscription_id, str(target.refund_request_id)
                )
            except PermanentError as exc:
                MigrationTarget.objects.filter(pk=target.pk).update(
                    refund_request_id=None
                )
                audit_migration(
                    m,
                    "migration.refund_refused",
                    f"Partner Center refused to cancel {target.name} "
                    f"({target.new_subscription_id}) for a refund: {exc.description or exc}",
                    outcome=Outcome.FAILURE,
                )
                continue
            _record(m, target, updated)
            done += 1
    return done


def _record(m: Migration, target: MigrationTarget, data: object) -> None:
    Subscription.upsert_from_pc(data, customer=m.customer)  # type: ignore[arg-type]
    MigrationTarget.objects.filter(pk=target.pk).update(refunded_at=timezone.now())
    audit_migration(
        m,
        "migration.refunded",
        f"Cancelled {target.name} ({target.new_subscription_id}) for a prorated refund",
    )
