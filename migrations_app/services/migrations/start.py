"""Start migrations: one batch of validated plan rows, created all or nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from migrations_app.domain.plan import PlanItem, TargetChoice, gdap_problem
from migrations_app.models import (
    BulkRun,
    Customer,
    LicenseMove,
    Migration,
    MigrationPath,
    MigrationTarget,
    RetireMode,
)
from migrations_app.services.migrations.errors import (
    MigrationAlreadyRunning,
    MigrationNotAllowed,
)
from migrations_app.services.migrations.events import migration_audit
from migrations_app.workflow.enqueue import enqueue_advance


@dataclass
class StartItem:
    """One subscription the operator chose to migrate, as validated by the plan."""

    plan: PlanItem
    target: TargetChoice
    quantity: int
    retire_mode: str
    # The path it walks (`migrations_app.workflow.registry.PATHS`): buy unless chosen.
    path: str = MigrationPath.BUY


def migration_start(
    *,
    customer: Customer,
    items: Sequence[StartItem],
    actor: Any,
    ip_address: str | None = None,
    bulk_run: BulkRun | None = None,
) -> list[Migration]:
    """Create one migration per item (one batch), with their licence moves.

    `bulk_run` is the bulk run that starts them with other customers, if any.
    All or nothing, in one transaction. Raise MigrationAlreadyRunning if any source
    subscription already has an open migration (the database constraint decides).
    """
    if not items:
        raise MigrationNotAllowed("Choose at least one subscription to migrate.")
    if settings.PARTNER_CENTER_READ_ONLY:
        # Nothing could be bought or moved: the client refuses every write.
        raise MigrationNotAllowed(
            "PartnerHub is in read-only mode (PARTNER_CENTER_READ_ONLY=1): no "
            "migration can start. Nothing was created."
        )
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
                    bulk_run=bulk_run,
                )
                for item in items
            ]
            for migration in created:
                enqueue_advance(migration.pk)
    except IntegrityError as exc:
        open_names = [
            m.source_name
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
    bulk_run: BulkRun | None = None,
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
    moving = path != MigrationPath.BUY
    # Microsoft's own paths buy nothing, so there is no purchase to take over.
    earlier = None if moving else item.plan.reusable(offer.offer_id)
    # A transition converts every seat of the old subscription.
    quantity = sub.quantity if path == MigrationPath.TRANSITION else item.quantity
    # Its purchase is (or may be) active and billed: take it over, buy nothing.
    reuse = earlier.purchase_handover() if earlier is not None else {}
    migration = Migration.objects.create(
        batch_id=batch_id,
        bulk_run=bulk_run,
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
        words: dict[str, str] = {
            MigrationPath.TRANSITION: "by transition, nothing bought",
            MigrationPath.SCHEDULED: "changes at renewal, nothing bought",
        }
        retire = words.get(path, path)
    reused = ""
    if earlier is not None:
        reused = (
            f"; reuses the subscription bought by migration #{earlier.pk}"
            if earlier.bought
            else f"; takes over the unconfirmed order of migration #{earlier.pk}"
        )
    migration_audit(
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
        **({"bulk_run": bulk_run.pk} if bulk_run is not None else {}),
    )
    return migration
