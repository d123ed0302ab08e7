"""The legacy → new-commerce migration API (§10): eligibility, migrations, schedules.

Status strings other than ``Completed`` are UNCONFIRMED (likely ``Processing``
and ``Failed``); they are kept as sent.
"""

from __future__ import annotations

from typing import Annotated

from partner_center.models.base import (
    Code,
    EnumStr,
    LenientDatetime,
    NoneAsEmpty,
    OptGuid,
    PCModel,
)

__all__ = [
    "MigrationError",
    "NewCommerceEligibility",
    "NewCommerceMigration",
    "NewCommerceMigrationEvent",
    "NewCommerceMigrationSchedule",
]


class MigrationError(PCModel):
    """An eligibility or migration error; ``code`` is ``NewCommerceEligibilityErrorCode``."""

    code: Code = None
    description: str | None = None


class NewCommerceEligibility(PCModel):
    """Whether a legacy subscription can move like-for-like to new commerce."""

    current_subscription_id: OptGuid = None
    is_eligible: bool | None = None
    catalog_item_id: str | None = None
    term_duration: str | None = None
    billing_cycle: EnumStr = None
    custom_term_end_date: LenientDatetime = None
    errors: Annotated[list[MigrationError], NoneAsEmpty] = []
    add_on_migrations: Annotated[list[NewCommerceEligibility], NoneAsEmpty] = []


class NewCommerceMigration(PCModel):
    """A migration request, and its state (``status``) once created."""

    id: OptGuid = None
    started_time: LenientDatetime = None
    completed_time: LenientDatetime = None
    current_subscription_id: OptGuid = None
    status: EnumStr = None
    customer_tenant_id: OptGuid = None
    catalog_item_id: str | None = None
    new_commerce_subscription_id: OptGuid = None
    new_commerce_order_id: OptGuid = None
    subscription_end_date: LenientDatetime = None
    quantity: int | None = None
    term_duration: str | None = None
    billing_cycle: EnumStr = None
    purchase_full_term: bool | None = None
    custom_term_end_date: LenientDatetime = None
    external_reference_id: str | None = None
    microsoft_led: bool | None = None
    add_on_migrations: Annotated[list[NewCommerceMigration], NoneAsEmpty] = []
    error: MigrationError | None = None

    @property
    def state(self) -> str:
        """Return ``completed``, ``failed`` or ``in_progress`` (any other status)."""
        status = (self.status or "").lower()
        if status in ("completed", "failed"):
            return status
        return "in_progress"


class NewCommerceMigrationEvent(PCModel):
    id: str | None = None
    new_commerce_migration_id: OptGuid = None
    current_subscription_id: OptGuid = None
    customer_tenant_id: OptGuid = None
    created_time: LenientDatetime = None
    event_name: str | None = None


class NewCommerceMigrationSchedule(PCModel):
    """A migration scheduled for a date (``target_date``) or the next renewal."""

    id: OptGuid = None
    current_subscription_id: OptGuid = None
    quantity: int | None = None
    term_duration: str | None = None
    billing_cycle: EnumStr = None
    purchase_full_term: bool | None = None
    custom_term_end_date: LenientDatetime = None
    target_date: LenientDatetime = None
    migrate_on_renewal: bool | None = None
    external_reference_id: str | None = None
    status: EnumStr = None
    customer_tenant_id: OptGuid = None
    catalog_item_id: str | None = None
    subscription_end_date: LenientDatetime = None
    created_time: LenientDatetime = None
    last_modified_time: LenientDatetime = None
    new_commerce_migration_id: OptGuid = None
    error_code: Code = None
    error_description: str | None = None
    microsoft_led: bool | None = None
    add_on_migration_schedules: Annotated[
        list[NewCommerceMigrationSchedule], NoneAsEmpty
    ] = []
