"""Build the plan of one customer from synced rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Q

from migrations_app.domain.catalogue import (
    CatalogueIndex,
    CatalogueItem,
    catalogue_index,
)
from migrations_app.domain.channels import (
    OtherChannelLicences,
    other_channel_licences,
    subscription_sku_ids,
)
from migrations_app.domain.plan.choices import TargetChoice
from migrations_app.domain.plan.items import Plan, PlanItem, SkippedSubscription
from migrations_app.models import (
    Customer,
    Migration,
    MigrationPath,
    MigrationState,
    SkuMapping,
    SubscribedSku,
    Subscription,
    UserLicense,
)
from migrations_app.workflow.registry import state_label, stopped_at_text

# Subscription statuses a migration can start from: the licences still exist.
MIGRATABLE_STATUSES = ("active", "suspended")


def reusable_purchases(
    subscriptions: Iterable[Subscription],
) -> dict[int, list[Migration]]:
    """Return, per source subscription pk, ended migrations whose purchase is unused.

    A cancelled or failed migration that bought the new subscription left it active
    and billed; one that sent its order but never saw the answer may have bought it.
    A new migration of the same source to the same offer takes the purchase over
    (its order, or its MS-RequestId and so its reference) instead of buying again.
    Newest first; one already taken over is left out.
    """
    pks = [s.pk for s in subscriptions]
    rows = list(
        Migration.objects.filter(
            source_subscription_id__in=pks,
            state__in=[MigrationState.CANCELLED, MigrationState.FAILED],
            # Only purchases: a transition or a scheduled change buys nothing.
            path=MigrationPath.BUY,
        )
        .filter(
            ~Q(order_id="")
            | ~Q(new_subscription_id="")
            | Q(purchase_request_id__isnull=False)
        )
        .order_by("-created_at", "-id")
    )
    if not rows:
        return {}
    holders: dict[tuple[int, str], list[int]] = defaultdict(list)
    for source, request_id, pk in Migration.objects.filter(
        source_subscription_id__in=pks, purchase_request_id__isnull=False
    ).values_list("source_subscription_id", "purchase_request_id", "pk"):
        holders[(source, str(request_id))].append(pk)
    found: dict[int, list[Migration]] = defaultdict(list)
    for row in rows:
        assert row.source_subscription_id is not None  # filtered on it above
        key = (row.source_subscription_id, str(row.purchase_request_id))
        if not any(pk > row.pk for pk in holders[key]):
            found[row.source_subscription_id].append(row)
    return found


def _users_holding(
    customer_ids: list[int], sku_ids: set[str]
) -> dict[tuple[int, str], list[Any]]:
    """Return, per (customer id, skuId), the customer's users holding it (synced)."""
    holders: dict[tuple[int, str], list[Any]] = defaultdict(list)
    if not sku_ids or not customer_ids:
        return holders
    licences = (
        UserLicense.objects.filter(
            sku_id__in=sku_ids, user__customer_id__in=customer_ids
        )
        .select_related("user")
        .order_by("user__display_name", "user__user_principal_name")
    )
    for licence in licences:
        holders[(licence.user.customer_id, licence.sku_id)].append(licence.user)
    return holders


def _skipped(
    sub: Subscription, existing: Migration | None
) -> SkippedSubscription | None:
    """Return why retired subscription `sub` is left out of the plan, or None.

    `existing` is its latest migration that was not cancelled, if any.
    """
    if existing is not None:
        migrating = existing.is_open
        if existing.state == MigrationState.FAILED:
            reason = (
                f"Migration #{existing.pk} failed at {stopped_at_text(existing)}"
                " — open it to retry."
            )
            return SkippedSubscription(sub, reason, migrating, failed=existing)
        reason = (
            "Already migrating."
            if migrating
            else f"Already migrated ({state_label(existing.state).lower()})."
        )
        return SkippedSubscription(sub, reason, migrating)
    if sub.status.strip().lower() not in MIGRATABLE_STATUSES:
        return SkippedSubscription(
            sub,
            f"Its status is {sub.status or 'unknown'}, so there is nothing to move.",
        )
    return None


def _other_channels(ids: Sequence[int]) -> dict[int, list[OtherChannelLicences]]:
    """Return, per customer id, the licences it holds through other channels."""
    every: dict[int, list[Subscription]] = defaultdict(list)
    all_subs = list(Subscription.objects.filter(customer_id__in=ids))
    for sub in all_subs:
        every[sub.customer_id].append(sub)
    skus: dict[int, list[SubscribedSku]] = defaultdict(list)
    for row in SubscribedSku.objects.filter(customer_id__in=ids):
        skus[row.customer_id].append(row)
    granted = subscription_sku_ids(
        s for s in all_subs if s.status.strip().lower() == "active"
    )
    elsewhere = {
        cid: other_channel_licences(every[cid], skus[cid], granted=granted)
        for cid in ids
    }
    return elsewhere


def migration_plan(*, customer: Customer) -> Plan:
    """Return the plan preview for every retired-SKU subscription of a customer."""
    return migration_plans(customers=[customer])[customer.pk]


def migration_plans(
    *, customers: Sequence[Customer], index: CatalogueIndex | None = None
) -> dict[int, Plan]:
    """Return the plan of each customer, by customer id.

    The query count does not grow with the customers: each kind of row is read
    once for all of them.
    """
    index = index or catalogue_index()
    by_id = {c.pk: c for c in customers}
    ids = list(by_id)
    retired = list(Subscription.objects.filter(index.retired_q(), customer_id__in=ids))
    blocked = {
        m.source_subscription_id: m
        for m in Migration.objects.filter(source_subscription__in=retired).exclude(
            # A migration that waited for the customer before buying anything
            # (e.g. the customer agreement, 13605) may be planned again.
            Q(state=MigrationState.CANCELLED)
            | Q(
                state=MigrationState.NEEDS_CUSTOMER_ACTION,
                order_id="",
                new_subscription_id="",
            )
        )
    }
    items: dict[int, list[PlanItem]] = defaultdict(list)
    skipped: dict[int, list[SkippedSubscription]] = defaultdict(list)
    candidates: list[tuple[Subscription, SkuMapping, CatalogueItem | None]] = []
    for sub in sorted(retired, key=lambda s: (s.offer_name, s.subscription_id)):
        sub.customer = by_id[sub.customer_id]
        skip = _skipped(sub, blocked.get(sub.pk))
        if skip is not None:
            skipped[sub.customer_id].append(skip)
            continue
        mapping = index.mapping_for(sub.offer_id, sub.offer_name)
        assert mapping is not None
        candidates.append((sub, mapping, index.item(sub.offer_id, sub.offer_name)))
    sku_ids = {
        offer.entra_sku_id for _, _, offer in candidates if offer and offer.entra_sku_id
    }
    holders = _users_holding(ids, sku_ids)
    elsewhere = _other_channels(ids)
    bought = reusable_purchases(sub for sub, _, _ in candidates)
    for sub, mapping, offer in candidates:
        sku = offer.entra_sku_id if offer else ""
        choices = [
            TargetChoice(
                names=[t.target_name for t in group],
                items=[index.target_item(t) for t in group],
                problems=[index.target_problem(t) for t in group],
            )
            for group in mapping.alternatives()
        ]
        items[sub.customer_id].append(
            PlanItem(
                subscription=sub,
                mapping=mapping,
                source_offer=offer,
                source_sku_id=sku,
                choices=choices,
                users=list(holders.get((sub.customer_id, sku), [])) if sku else [],
                other_channel=[
                    o
                    for o in elsewhere[sub.customer_id]
                    if sku and o.sku_id.lower() == sku.lower()
                ],
                bought_before=bought.get(sub.pk, []),
            )
        )
    return {
        cid: Plan(
            customer=customer,
            items=items[cid],
            skipped=skipped[cid],
            other_channels=elsewhere[cid],
        )
        for cid, customer in by_id.items()
    }
