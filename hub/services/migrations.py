"""Start, retry, resume and cancel migrations; re-queue the ones that are due.

None of these call Partner Center: they change rows and enqueue the worker's task
once the transaction has committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, When
from django.utils import timezone

from hub.models import (
    Customer,
    LicenseMove,
    Migration,
    MigrationState,
    MigrationTarget,
    RetireMode,
)
from hub.models.audit import audit_record
from hub.workflow import registry
from hub.workflow.enqueue import enqueue_advance, enqueue_customer_sync, send_on_commit
from hub.workflow.plan import PlanItem, TargetChoice, gdap_problem
from hub.workflow.refund import refundable_targets
from hub.workflow.wording import cancellation_summary

# A queued or running row nobody touched for this long lost its message: re-send.
STALE_AFTER = timedelta(seconds=30)


class MigrationAlreadyRunning(Exception):
    """Raised when a subscription in the plan already has an open migration."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        super().__init__(f"A migration is already running for {', '.join(self.names)}.")


class MigrationNotAllowed(Exception):
    """Raised when an action does not fit the migration's current state."""


@dataclass
class StartItem:
    """One subscription the operator chose to migrate, as validated by the plan."""

    plan: PlanItem
    target: TargetChoice
    quantity: int
    retire_mode: str
    # The path it walks (`hub.workflow.registry.PATHS`): buy unless chosen.
    path: str = Migration.BUY


def _audit(
    migration: Migration,
    action: str,
    actor: Any,
    ip: str | None,
    message: str,
    **details: Any,
) -> None:
    audit_record(
        action=action,
        actor=actor,
        ip_address=ip,
        customer_tenant_id=str(migration.customer.tenant_id),
        customer_name=migration.customer.company_name,
        subscription_id=migration.source_subscription.subscription_id,
        migration_id=migration.pk,
        message=message,
        details=details,
    )


def migration_start(
    *,
    customer: Customer,
    items: Sequence[StartItem],
    actor: Any,
    ip_address: str | None = None,
) -> list[Migration]:
    """Create one migration per item (one batch), with their licence moves.

    All or nothing, in one transaction. Raise MigrationAlreadyRunning if any source
    subscription already has an open migration (the database constraint decides).
    """
    if not items:
        raise MigrationNotAllowed("Choose at least one subscription to migrate.")
    if customer.gdap_missing:
        # Refused before anything is bought: no licence could be moved.
        raise MigrationNotAllowed(gdap_problem(customer))
    batch_id = uuid.uuid4()
    names = [item.plan.subscription.display_name for item in items]
    try:
        with transaction.atomic():
            created = [
                _create(
                    item,
                    customer=customer,
                    batch_id=batch_id,
                    actor=actor,
                    ip=ip_address,
                )
                for item in items
            ]
            for migration in created:
                enqueue_advance(migration.pk)
    except IntegrityError as exc:
        open_names = [
            m.source_subscription.display_name
            for m in Migration.objects.select_related("source_subscription")
            .filter(source_subscription__in=[i.plan.subscription for i in items])
            .open()
        ]
        raise MigrationAlreadyRunning(open_names or names) from exc
    return created


def _create(
    item: StartItem,
    *,
    customer: Customer,
    batch_id: uuid.UUID,
    actor: Any,
    ip: str | None,
) -> Migration:
    """Create one migration with its targets and licence moves, and audit it."""
    sub = item.plan.subscription
    choice = item.target
    offer = choice.offer
    assert offer is not None  # the plan form refuses unbound targets
    items = [i for i in choice.items if i is not None]
    term, cycle = choice.term_for(item.plan.default_term)
    path = item.path
    problem = item.plan.path_problem(choice, path)
    if problem:
        raise MigrationNotAllowed(problem)
    moving = path != Migration.BUY
    # Microsoft's own paths buy nothing, so there is no purchase to take over.
    earlier = None if moving else item.plan.reusable(offer.offer_id)
    # A transition converts every seat of the old subscription.
    quantity = sub.quantity if path == registry.TRANSITION else item.quantity
    reuse: dict[str, Any] = {}
    if earlier is not None:
        # Its purchase is (or may be) active and billed: take it over, buy nothing.
        reuse = {
            "quantity": earlier.quantity,
            "order_id": earlier.order_id,
            "new_subscription_id": earlier.new_subscription_id,
            "purchase_request_id": earlier.purchase_request_id,
            "cart_id": earlier.cart_id,
            "term_duration": earlier.term_duration,
            "billing_cycle": earlier.billing_cycle,
        }
    migration = Migration.objects.create(
        batch_id=batch_id,
        customer=customer,
        source_subscription=sub,
        source_offer_id=sub.offer_id,
        source_sku_id=item.plan.source_sku_id,
        target_offer_id=offer.offer_id,
        target_offer_name=choice.name,
        target_sku_id=offer.entra_sku_id,
        retire_mode=item.retire_mode,
        path=path,
        # Shown once it completes: licences of this SKU bought elsewhere remain.
        customer_action=item.plan.customer_instruction,
        created_by=actor if getattr(actor, "pk", None) else None,
        **(
            {
                "quantity": quantity,
                "term_duration": term if choice.is_modern else "",
                "billing_cycle": cycle,
            }
            | reuse
        ),
    )
    bought = {t.catalogue_id: t for t in earlier.targets.all()} if earlier else {}
    MigrationTarget.objects.bulk_create(
        MigrationTarget(
            migration=migration,
            position=position,
            catalogue_id=target.key,
            # Microsoft's paths use the catalogue item Partner Center named.
            catalog_item_id=(item.plan.eligible_item(choice, path) if moving else "")
            or target.catalog_item_id,
            name=target.name,
            sku_id=target.entra_sku_id or getattr(bought.get(target.key), "sku_id", ""),
            new_subscription_id=getattr(
                bought.get(target.key), "new_subscription_id", ""
            ),
        )
        for position, target in enumerate(items)
    )
    LicenseMove.objects.bulk_create(
        LicenseMove(
            migration=migration,
            user_id=user.user_id,
            user_principal_name=user.user_principal_name,
            display_name=user.display_name,
        )
        for user in item.plan.users
    )
    retire = {
        RetireMode.SUSPEND: "suspend it now",
        RetireMode.CANCEL: "cancel it for a refund",
    }.get(RetireMode(item.retire_mode), "let it expire at its end date")
    if moving:
        retire = {
            registry.TRANSITION: "by transition, nothing bought",
            registry.SCHEDULED: "changes at renewal, nothing bought",
        }.get(path, path)
    reused = ""
    if earlier is not None:
        reused = (
            f"; reuses the subscription bought by migration #{earlier.pk}"
            if earlier.bought
            else f"; takes over the unconfirmed order of migration #{earlier.pk}"
        )
    _audit(
        migration,
        "migration.started",
        actor,
        ip,
        f"Started moving {sub.display_name} to {choice.name} "
        f"({migration.quantity} seats, {len(item.plan.users)} users; "
        f"{retire}{reused})",
        batch_id=str(batch_id),
        target_offer_id=offer.offer_id,
        targets=[t.key for t in items],
        quantity=migration.quantity,
        retire_mode=item.retire_mode,
        path=path,
        users=len(item.plan.users),
        reused_from=earlier.pk if earlier is not None else None,
    )
    return migration


def migration_retry(
    *, migration: Migration, actor: Any, ip_address: str | None = None
) -> Migration:
    """Run a failed migration's failed step again (moves that failed go again too).

    Raise MigrationNotAllowed unless the migration is failed.
    """
    step = registry.retry_step(migration).key
    try:
        return _retry(migration, step, actor, ip_address)
    except IntegrityError as exc:
        raise MigrationNotAllowed(
            "A newer migration of the same subscription took over this one's "
            "purchase: open that one instead. Nothing was changed."
        ) from exc


def _retry(
    migration: Migration, step: str, actor: Any, ip_address: str | None
) -> Migration:
    with transaction.atomic():
        updated = Migration.objects.filter(
            pk=migration.pk, state=MigrationState.FAILED
        ).update(
            state=step,
            stopped_step="",
            attempts=0,
            next_attempt_at=None,
            finished_at=None,
            error_message="",
            error_code="",
            error_description="",
            lease_owner="",
            lease_expires_at=None,
            updated_at=timezone.now(),
        )
        if updated != 1:
            raise MigrationNotAllowed("Only a failed migration can be retried.")
        migration.license_moves.filter(status=LicenseMove.Status.FAILED).update(
            status=LicenseMove.Status.PENDING, request_id=None
        )
        # A new read-back pass checks every user again.
        migration.license_moves.update(verified_at=None)
        migration.refresh_from_db()
        _audit(
            migration,
            "migration.retried",
            actor,
            ip_address,
            f"Retried from: {registry.step(step).label.lower()}",
            step=step,
        )
        enqueue_advance(migration.pk)
    return migration


def migration_resume(
    *, migration: Migration, actor: Any, ip_address: str | None = None
) -> Migration:
    """Run a waiting migration's next step now instead of at its next attempt time.

    Raise MigrationNotAllowed if it is finished or a worker is on it right now.
    """
    now = timezone.now()
    with transaction.atomic():
        updated = (
            Migration.objects.filter(pk=migration.pk)
            .running()
            .unleased(now)
            .update(
                next_attempt_at=None,
                lease_owner="",
                lease_expires_at=None,
                updated_at=now,
            )
        )
        if updated != 1:
            raise MigrationNotAllowed(
                "This migration is finished, or a step is running right now."
            )
        migration.refresh_from_db()
        _audit(migration, "migration.resumed", actor, ip_address, "Resumed now")
        enqueue_advance(migration.pk)
    return migration


def migration_cancel(
    *, migration: Migration, actor: Any, ip_address: str | None = None
) -> Migration:
    """Stop a migration for good; nothing is undone, the old subscription untouched.

    If it may have bought something, the customer is re-read from Partner Center
    afterwards. Raise MigrationNotAllowed if it is closed already or a step is
    running now.
    """
    now = timezone.now()
    with transaction.atomic():
        updated = (
            Migration.objects.filter(pk=migration.pk)
            .open()
            .unleased(now)
            .update(
                # Where it stopped, so its page shows the steps that were done.
                stopped_step=Case(
                    When(state=MigrationState.FAILED, then=F("stopped_step")),
                    default=F("state"),
                ),
                state=MigrationState.CANCELLED,
                next_attempt_at=None,
                lease_owner="",
                lease_expires_at=None,
                finished_at=now,
                updated_at=now,
            )
        )
        if updated != 1:
            raise MigrationNotAllowed(
                "This migration has finished already, or a step is running right "
                "now: try again in a few seconds."
            )
        migration.refresh_from_db()
        summary = cancellation_summary(migration, list(migration.license_moves.all()))
        _audit(
            migration,
            "migration.cancelled",
            actor,
            ip_address,
            f"Cancelled. {summary}",
            order_id=migration.order_id,
            new_subscription_id=migration.new_subscription_id,
        )
        # A purchase request stored but not refused may have been applied.
        if migration.bought or migration.purchase_request_id is not None:
            enqueue_customer_sync(migration)
    return migration


REFUND_TASK = "hub.tasks.refund_purchase"


def migration_refund(
    *, migration: Migration, actor: Any, ip_address: str | None = None
) -> Migration:
    """Have a worker cancel a stopped migration's purchase for a refund.

    Raise MigrationNotAllowed unless the migration was cancelled or failed after
    buying new-commerce subscriptions that are still inside their window.
    """
    targets = refundable_targets(migration)
    if not targets:
        raise MigrationNotAllowed(
            "Nothing this migration bought can be cancelled for a refund now: it "
            "is still running, bought nothing, or the cancellation window has closed."
        )
    with transaction.atomic():
        _audit(
            migration,
            "migration.refund_requested",
            actor,
            ip_address,
            "Asked to cancel the purchase for a refund: "
            + ", ".join(f"{t.name} ({t.new_subscription_id})" for t in targets),
        )
        send_on_commit(REFUND_TASK, migration.pk)
    return migration


def migrations_requeue_due(*, limit: int = 500) -> list[int]:
    """Re-send the worker's message for every migration that has work due.

    Due means: not terminal, and either its lease expired (a worker died), its next
    attempt time has passed, or nobody touched it for a while although it has no
    lease (the message was lost, e.g. a Redis restart). Return the ids re-sent.
    """
    now = timezone.now()
    rows = (
        Migration.objects.due(now, STALE_AFTER)
        .order_by("next_attempt_at", "updated_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent: list[int] = []
    for pk in list(rows):
        # Touch the row so the next beat tick does not send it again at once.
        touched = (
            Migration.objects.filter(pk=pk)
            .running()
            .unleased(now)
            .update(
                lease_owner="",
                lease_expires_at=None,
                next_attempt_at=None,
                updated_at=now,
            )
        )
        if touched:
            enqueue_advance(pk)
            sent.append(pk)
    return sent
