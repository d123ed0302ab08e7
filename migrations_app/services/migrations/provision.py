"""Start provisioning: buy in CSP the SKUs a customer holds through other channels."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from migrations_app.domain.plan.provision import ProvisionLine, term_text
from migrations_app.models import (
    Customer,
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
class ProvisionChoice:
    """One SKU of the provisioning plan the operator chose, with seats and term.

    `term` is a plan line's term value: `P1Y:monthly` for new commerce, a
    billing cycle (`monthly`) for a legacy offer.
    """

    line: ProvisionLine
    seats: int
    term: str


def provision_problem(choice: ProvisionChoice) -> str:
    """Return why this choice cannot be started, in plain words, or ""."""
    line = choice.line
    if line.blocker:
        return line.blocker
    offer = line.offer
    assert offer is not None
    if choice.seats < line.minimum:
        return (
            f"{line.name}: at least {line.minimum} seats — that many users hold "
            "this licence beyond your own seats, and each needs one when the "
            "originals end."
        )
    if not offer.minimum_quantity <= choice.seats <= offer.maximum_quantity:
        return (
            f"{offer.name} is sold in quantities from {offer.minimum_quantity} to "
            f"{offer.maximum_quantity}."
        )
    if choice.term not in {value for value, _ in line.terms}:
        return f"{offer.name} is not sold on that term; choose one from the list."
    return ""


def provisioning_start(
    *,
    customer: Customer,
    choices: Sequence[ProvisionChoice],
    actor: Any,
    ip_address: str | None = None,
) -> list[Migration]:
    """Create one provisioning migration per chosen SKU (one batch), all or nothing.

    Raise MigrationNotAllowed for an empty or invalid choice, and
    MigrationAlreadyRunning if a SKU already has an open provisioning (the
    database constraint decides).
    """
    if not choices:
        raise MigrationNotAllowed("Choose at least one SKU to provision.")
    for choice in choices:
        problem = provision_problem(choice)
        if problem:
            raise MigrationNotAllowed(problem)
    batch_id = uuid.uuid4()
    try:
        with transaction.atomic():
            created = [
                _create(
                    c, customer=customer, batch_id=batch_id, actor=actor, ip=ip_address
                )
                for c in choices
            ]
            for migration in created:
                enqueue_advance(migration.pk)
    except IntegrityError as exc:
        raise MigrationAlreadyRunning([c.line.name for c in choices]) from exc
    return created


def _create(
    choice: ProvisionChoice,
    *,
    customer: Customer,
    batch_id: uuid.UUID,
    actor: Any,
    ip: str | None,
) -> Migration:
    """Create one provisioning migration with its target, and audit it."""
    line = choice.line
    offer = line.offer
    assert offer is not None
    if offer.is_modern:
        term, cycle = choice.term.split(":", 1)
    else:
        term, cycle = "", choice.term
    earlier = line.unused_purchase
    # A cancelled provisioning's purchase is (or may be) active and billed:
    # take it over instead of buying again.
    reuse = earlier.purchase_handover() if earlier is not None else {}
    migration = Migration.objects.create(
        batch_id=batch_id,
        customer=customer,
        source_subscription=None,
        source_offer_id="",
        source_sku_id=line.sku_id,
        target_offer_id=offer.offer_id,
        target_offer_name=offer.name,
        target_sku_id=line.sku_id,
        # Nothing of this partner's is retired: the originals are the customer's.
        retire_mode=RetireMode.EXPIRE,
        path=MigrationPath.PROVISION,
        customer_action=line_instruction(customer, line),
        created_by=actor if getattr(actor, "pk", None) else None,
        **(
            {"quantity": choice.seats, "term_duration": term, "billing_cycle": cycle}
            | reuse
        ),
    )
    bought = list(earlier.targets.order_by("position")) if earlier is not None else []
    MigrationTarget.objects.create(
        migration=migration,
        position=0,
        catalogue_id=offer.key,
        catalog_item_id=offer.catalog_item_id,
        name=offer.name,
        # Left blank: await_provisioning reads the skuId the purchase grants from
        # Partner Center, and the last step checks it is the one users hold.
        new_subscription_id=bought[0].new_subscription_id if bought else "",
    )
    how = term_text(term, cycle) if term else f"legacy, billed {cycle}"
    reused = (
        f"; takes over what provisioning #{earlier.pk} bought"
        if earlier is not None
        else ""
    )
    migration_audit(
        migration,
        "migration.started",
        actor,
        ip,
        f"Started provisioning {migration.quantity} seats of {offer.name} in CSP "
        f"({how}) for the {line.held_elsewhere} held through another channel; same "
        f"SKU, no licence moved{reused}",
        batch_id=str(batch_id),
        path=MigrationPath.PROVISION,
        sku_id=line.sku_id,
        target_offer_id=offer.offer_id,
        quantity=migration.quantity,
        held_elsewhere=line.held_elsewhere,
        term_duration=term,
        billing_cycle=cycle,
        reused_from=earlier.pk if earlier is not None else None,
    )
    return migration


def line_instruction(customer: Customer, line: ProvisionLine) -> str:
    """Return what the customer must do about this SKU's originals (seed 2)."""
    return (
        f"{customer.company_name} still holds {line.held_elsewhere} {line.name} "
        "licences bought through another channel. They are the customer's to cancel "
        "there or to let expire; PartnerHub cannot change them. Cancelled "
        "subscriptions are not refunded, so it is best to let them run to (or "
        "cancel them near) their natural end date."
    )
