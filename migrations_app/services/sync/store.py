"""Storing one customer's snapshot: subscriptions, SKUs, users and licences.

Each function writes only the differences between what Partner Center sent and
the database (`sync_upsert`) and returns the rows it wrote.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from migrations_app.models import (
    Customer,
    CustomerUser,
    Migration,
    SubscribedSku,
    Subscription,
    UserLicense,
    normalise_guid,
)
from migrations_app.models.catalog import scheduled_sku_names
from migrations_app.services.sync.errors import SyncDataError
from migrations_app.services.sync.upsert import column_int, column_text, sync_upsert
from partner_center import models as pc

SUBSCRIPTION_FIELDS = (
    "customer_id",
    "offer_id",
    "offer_name",
    "friendly_name",
    "quantity",
    "unit_type",
    "status",
    "auto_renew_enabled",
    "creation_date",
    "effective_start_date",
    "commitment_end_date",
    "billing_cycle",
    "term_duration",
    "partner_id",
    "order_id",
    "parent_subscription_id",
    "suspended_by_partnerhub_at",
    "product_type",
    "product_id",
    "sku_id",
    "availability_id",
    "cancellation_allowed_until",
    "refundable_quantity",
    "scheduled_product_id",
    "scheduled_sku_id",
    "scheduled_availability_id",
    "scheduled_sku_name",
    "scheduled_quantity",
    "scheduled_term_duration",
    "scheduled_billing_cycle",
)
SUBSCRIBED_SKU_FIELDS = (
    "sku_part_number",
    "name",
    "target_type",
    "capability_status",
    "active_units",
    "consumed_units",
    "available_units",
    "suspended_units",
    "total_units",
    "warning_units",
)
USER_FIELDS = ("user_principal_name", "display_name", "usage_location", "state")
LICENSE_FIELDS = ("sku_name", "sku_part_number")


def _referenced_by_migrations(pks: list[int]) -> set[int]:
    return set(
        Migration.objects.filter(source_subscription_id__in=pks).values_list(
            "source_subscription_id", flat=True
        )
    )


def store_subscriptions(
    *, customer: Customer, subscriptions: list[pc.Subscription]
) -> int:
    """Upsert the customer's subscriptions; return rows written."""
    now = timezone.now()
    ids = [normalise_guid(item.id) for item in subscriptions]
    current_subs = {
        s.subscription_id: s
        for s in Subscription.objects.filter(customer=customer)
        | Subscription.objects.filter(subscription_id__in=ids)
    }
    wanted_subs: dict[str, dict[str, Any]] = {}
    sku_names = scheduled_sku_names(subscriptions)
    for item in subscriptions:
        values = Subscription.values_from_pc(
            item,
            customer_id=customer.pk,
            current=current_subs.get(normalise_guid(item.id)),
            sku_names=sku_names,
        )
        wanted_subs[values["subscription_id"]] = values
    return sync_upsert(
        model=Subscription,
        existing=current_subs,
        wanted=wanted_subs,
        fields=SUBSCRIPTION_FIELDS,
        touch={"synced_at": now},
        protected=_referenced_by_migrations,
    )


def _sku_values(customer: Customer, sku: pc.SubscribedSku) -> dict[str, Any]:
    product = sku.product_sku
    sku_id = normalise_guid(sku.sku_id) or (
        product.sku_part_number if product else None
    )
    if not sku_id:
        raise SyncDataError("a subscribed SKU has neither an id nor a part number")
    return {
        "customer_id": customer.pk,
        "sku_id": column_text(sku_id, SubscribedSku, "sku_id"),
        "sku_part_number": column_text(
            product.sku_part_number if product else "",
            SubscribedSku,
            "sku_part_number",
        ),
        "name": column_text(product.name if product else "", SubscribedSku, "name"),
        "target_type": column_text(
            product.target_type if product else "", SubscribedSku, "target_type"
        ),
        "capability_status": column_text(
            sku.capability_status, SubscribedSku, "capability_status"
        ),
        "active_units": column_int(sku.active_units),
        "consumed_units": column_int(sku.consumed_units),
        "available_units": column_int(sku.available_units),
        "suspended_units": column_int(sku.suspended_units),
        "total_units": column_int(sku.total_units),
        "warning_units": column_int(sku.warning_units),
    }


def store_skus(*, customer: Customer, skus: list[pc.SubscribedSku]) -> int:
    """Upsert the customer's subscribed SKUs; return rows written."""
    wanted: dict[str, dict[str, Any]] = {}
    for sku in skus:
        values = _sku_values(customer, sku)
        wanted[str(values["sku_id"])] = values
    return sync_upsert(
        model=SubscribedSku,
        existing={s.sku_id: s for s in SubscribedSku.objects.filter(customer=customer)},
        wanted=wanted,
        fields=SUBSCRIBED_SKU_FIELDS,
    )


def store_users(*, customer: Customer, users: list[pc.CustomerUser]) -> int:
    """Upsert the customer's users; return rows written."""
    wanted: dict[str, dict[str, Any]] = {}
    for user in users:
        wanted[normalise_guid(user.id)] = {
            "customer_id": customer.pk,
            "user_id": column_text(normalise_guid(user.id), CustomerUser, "user_id"),
            "user_principal_name": column_text(
                user.user_principal_name, CustomerUser, "user_principal_name"
            ),
            "display_name": column_text(
                user.display_name, CustomerUser, "display_name"
            ),
            "usage_location": column_text(
                user.usage_location, CustomerUser, "usage_location"
            ),
            "state": column_text(user.state, CustomerUser, "state"),
        }
    return sync_upsert(
        model=CustomerUser,
        existing={u.user_id: u for u in CustomerUser.objects.filter(customer=customer)},
        wanted=wanted,
        fields=USER_FIELDS,
    )


def store_licenses(*, customer: Customer, licenses: dict[str, list[pc.License]]) -> int:
    """Upsert the licences of the customer's stored users; return rows written."""
    user_pks = dict(
        CustomerUser.objects.filter(customer=customer).values_list("user_id", "pk")
    )
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    for user_id, held in licenses.items():
        user_pk = user_pks.get(normalise_guid(user_id))
        if user_pk is None:
            continue
        for lic in held:
            product = lic.product_sku
            sku_id = normalise_guid(lic.sku_id) or (
                product.sku_part_number if product else None
            )
            if not sku_id:
                raise SyncDataError("a user's licence has no skuId")
            wanted[(user_pk, str(sku_id))] = {
                "user_id": user_pk,
                "sku_id": column_text(sku_id, UserLicense, "sku_id"),
                "sku_name": column_text(
                    product.name if product else "", UserLicense, "sku_name"
                ),
                "sku_part_number": column_text(
                    product.sku_part_number if product else "",
                    UserLicense,
                    "sku_part_number",
                ),
            }
    current = {
        (lic.user_id, lic.sku_id): lic
        for lic in UserLicense.objects.filter(user__customer=customer)
    }
    return sync_upsert(
        model=UserLicense, existing=current, wanted=wanted, fields=LICENSE_FIELDS
    )
