"""Which subscriptions each kind of desk row is: one queryset function per kind.

The desk counts and lists them, and the customer list filters customers by the
same functions (see `migrations_app.selectors.customers`), so a tile's number and the list it
links to always agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from migrations_app.domain.catalogue import CatalogueIndex, catalogue_index_shared
from migrations_app.domain.plan import MIGRATABLE_STATUSES
from migrations_app.models import (
    ATTENTION_STATES,
    TERMINAL_STATES,
    Migration,
    MigrationState,
    Subscription,
)
from migrations_app.models.pc_values import NCE_PRODUCT_TYPE

# Only these terms commit the customer for another term at their anniversary;
# monthly roll-overs renew every month and are not a decision.
RENEWAL_TERMS = ("P1Y", "P3Y")
RENEWAL_WINDOWS = (7, 30, 60, 90)

TO_MIGRATE = "to_migrate"
IN_PROGRESS = "in_progress"
DONE = "done"
NEEDS_ACTION = "needs_action"
RETIRED_STATES: dict[str, str] = {
    TO_MIGRATE: "Left to migrate",
    IN_PROGRESS: "In progress",
    DONE: "Done",
    NEEDS_ACTION: "Needs action",
}


def desk_retired_index() -> CatalogueIndex:
    """Return the catalogue index that says which subscriptions are on retired SKUs.

    This process's shared copy: read only.
    """
    return catalogue_index_shared()


def nce_q() -> Q:
    """Match new-commerce subscriptions, as `Subscription.is_nce` decides."""
    return Q(product_type__iexact=NCE_PRODUCT_TYPE) | (
        Q(product_type="") & ~Q(product_id="") & ~Q(sku_id="")
    )


def renewal_term_q() -> Q:
    condition = Q(pk__in=[])
    for term in RENEWAL_TERMS:
        condition |= Q(term_duration__iexact=term)
    return condition


def last_migration_state() -> Subquery:
    """The state of a subscription's newest migration that was not cancelled."""
    return Subquery(
        Migration.objects.filter(source_subscription=OuterRef("pk"))
        .exclude(state=MigrationState.CANCELLED)
        .order_by("-created_at", "-id")
        .values("state")[:1]
    )


def retired_state_q(state: str) -> Q:
    """Match annotated (`last_state`) retired subscriptions in `state`."""
    if state == IN_PROGRESS:
        return Q(last_state__isnull=False) & ~Q(last_state__in=TERMINAL_STATES)
    if state == NEEDS_ACTION:
        return Q(last_state__in=ATTENTION_STATES)
    if state == DONE:
        return Q(last_state=MigrationState.COMPLETED)
    if state == TO_MIGRATE:
        return Q(last_state__isnull=True, status__in=MIGRATABLE_STATUSES)
    raise ValueError(f"unknown retired state {state!r}")


def desk_retired_subscriptions(
    *, retired: CatalogueIndex, state: str
) -> QuerySet[Subscription]:
    """Return subscriptions on a retired SKU whose migration is in `state`.

    `to_migrate`: active or suspended, never migrated (or only cancelled
    migrations); `in_progress`: a migration is running; `needs_action`: the last
    one failed or needs the customer; `done`: the last one completed.
    """
    return (
        Subscription.objects.filter(retired.retired_q())
        .annotate(last_state=last_migration_state())
        .filter(retired_state_q(state))
    )


def desk_renewing_subscriptions(
    *, days: int, now: datetime | None = None
) -> QuerySet[Subscription]:
    """Return active annual and multi-year subscriptions that auto-renew within
    `days` days (their anniversary is after now and at most `days` days away)."""
    now = now or timezone.now()
    return Subscription.objects.filter(
        renewal_term_q(),
        status=Subscription.ACTIVE,
        auto_renew_enabled=True,
        commitment_end_date__gt=now,
        commitment_end_date__lte=now + timedelta(days=days),
    )


def desk_expiring_subscriptions(
    *, days: int, now: datetime | None = None
) -> QuerySet[Subscription]:
    """Return active subscriptions with auto-renew off (any term) that end after
    now and at most `days` days away."""
    now = now or timezone.now()
    return Subscription.objects.filter(
        status=Subscription.ACTIVE,
        auto_renew_enabled=False,
        commitment_end_date__gt=now,
        commitment_end_date__lte=now + timedelta(days=days),
    )


def desk_cancellable_subscriptions(
    *, now: datetime | None = None
) -> QuerySet[Subscription]:
    """Return new-commerce subscriptions inside their cancellation window now."""
    now = now or timezone.now()
    return Subscription.objects.filter(
        nce_q(),
        status__in=(Subscription.ACTIVE, Subscription.SUSPENDED),
        cancellation_allowed_until__gt=now,
    )


def desk_suspended_subscriptions() -> QuerySet[Subscription]:
    """Return legacy subscriptions PartnerHub suspended, which are deprovisioned
    SUSPENSION_DEPROVISION_DAYS after that."""
    return Subscription.objects.filter(
        status=Subscription.SUSPENDED, suspended_by_partnerhub_at__isnull=False
    ).exclude(nce_q())


# ---------------------------------------------------------------- page objects
