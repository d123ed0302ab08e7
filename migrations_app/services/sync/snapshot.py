"""One customer's subscriptions, SKUs, users and licences: read, then stored."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from migrations_app.domain.catalogue import CatalogueIndex, catalogue_index
from migrations_app.domain.customer_facts import customer_facts_update
from migrations_app.models import (
    Customer,
    CustomerUser,
    Migration,
    SubscribedSku,
    Subscription,
    UserLicense,
    normalise_guid,
    normalise_offer_id,
)
from migrations_app.models.catalog import scheduled_sku_names
from migrations_app.services.sync.errors import DATA_ERRORS, SyncDataError, plain_error
from migrations_app.services.sync.upsert import column_int, column_text, sync_upsert
from migrations_app.services.transitions import transitions_refresh
from partner_center import models as pc
from partner_center.client import PartnerCenterClient
from partner_center.errors import GdapAccessDenied, Throttled

logger = logging.getLogger(__name__)


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
# A subscription that ends this soon with auto-renew off keeps its users read.
EXPIRING_WITHIN = timedelta(days=30)


@dataclass
class CustomerSyncResult:
    """What one customer's sync did."""

    rows_written: int = 0
    customer_changed: bool = False
    error: str = ""
    # Whether users and licences were read, and the Partner Center calls made.
    users_read: bool = False
    calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class _Snapshot:
    subscriptions: list[pc.Subscription]
    subscribed_skus: list[pc.SubscribedSku] | None
    users: list[pc.CustomerUser] | None
    licenses: dict[str, list[pc.License]] | None
    # What GDAP access lacks when the users were refused (users then stay as
    # they were); None when the users were not asked for.
    gdap_missing: str | None = None
    # The subscribed SKUs' digest (`skus_signature`), when they were read.
    signature: str | None = None
    # The users' licences were just read back by a migration, not here.
    read_back: bool = False


def skus_signature(skus: list[pc.SubscribedSku]) -> str:
    """Return a digest of the subscribed SKUs' ids and unit counts.

    Licences are assigned and removed through these counts, so users and their
    licences need reading again only when the digest changes.
    """
    parts = sorted(
        "|".join(
            str(value)
            for value in (
                normalise_guid(sku.sku_id)
                or (sku.product_sku.sku_part_number if sku.product_sku else ""),
                sku.capability_status,
                sku.active_units,
                sku.consumed_units,
                sku.suspended_units,
                sku.total_units,
                sku.warning_units,
            )
        )
        for sku in skus
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def users_read_reason(
    *,
    customer: Customer,
    subscriptions: list[pc.Subscription],
    signature: str,
    index: CatalogueIndex,
) -> str:
    """Return why this customer's users and licences must be read, or "".

    They are read the first time, when the subscribed-SKU counts changed since the
    last read, while a subscription sits on a retired SKU or ends soon without
    renewing, and while the customer has a migration open: the plan and the engine
    work from them. Otherwise the stored users and licences are still right.
    """
    if customer.users_read_at is None:
        return "never read"
    if customer.users_read_skus != signature:
        return "subscribed SKU counts changed"
    soon = (timezone.now() + EXPIRING_WITHIN).date()
    for item in subscriptions:
        if (item.status or "").strip().lower() not in {"active", "suspended"}:
            continue
        if index.mapping_for(normalise_offer_id(item.offer_id), item.offer_name or ""):
            return "a subscription on a retired SKU"
        end = item.commitment_end_date
        if not item.auto_renew_enabled and end is not None and end.date() <= soon:
            return "a subscription ends soon"
    if Migration.objects.filter(customer=customer).open().exists():
        return "a migration is open"
    return ""


def _fetch_snapshot(
    *,
    customer: Customer,
    client: PartnerCenterClient,
    full: bool,
    index: CatalogueIndex,
    users_read_back: bool = False,
) -> _Snapshot:
    tenant = str(customer.tenant_id)
    subscriptions = client.list_subscriptions(tenant)
    if client.user_tokens is None:
        # Users, licences and seat counts are App+User only.
        return _Snapshot(subscriptions, None, None, None)
    skus = client.list_subscribed_skus(tenant)
    signature = skus_signature(skus)
    if users_read_back:
        return _Snapshot(
            subscriptions, skus, None, None, signature=signature, read_back=True
        )
    if not full and not users_read_reason(
        customer=customer,
        subscriptions=subscriptions,
        signature=signature,
        index=index,
    ):
        return _Snapshot(subscriptions, skus, None, None, signature=signature)
    try:
        users = list(client.iter_users(tenant))
        licenses = {u.id: client.get_user_licenses(tenant, u.id) for u in users}
    except GdapAccessDenied as exc:
        # A GDAP refusal on users must not lose the subscriptions (2032).
        return _Snapshot(subscriptions, skus, None, None, exc.missing_permission)
    return _Snapshot(
        subscriptions, skus, users, licenses, gdap_missing="", signature=signature
    )


def _referenced_by_migrations(pks: list[int]) -> set[int]:
    return set(
        Migration.objects.filter(source_subscription_id__in=pks).values_list(
            "source_subscription_id", flat=True
        )
    )


def _store_snapshot(*, customer: Customer, snapshot: _Snapshot) -> int:
    """Write the differences between `snapshot` and the database; return rows."""
    written = 0
    now = timezone.now()
    missing = None if snapshot.gdap_missing is None else snapshot.gdap_missing[:255]
    if missing is not None and missing != customer.gdap_missing:
        customer.gdap_missing = missing
        written += Customer.objects.filter(pk=customer.pk).update(gdap_missing=missing)
    if (
        (snapshot.users is not None or snapshot.read_back)
        and snapshot.signature is not None
        and (
            snapshot.signature != customer.users_read_skus
            or customer.users_read_at is None
        )
    ):
        # Not data shown to anyone: the mark the next sync compares against.
        customer.users_read_skus, customer.users_read_at = snapshot.signature, now
        Customer.objects.filter(pk=customer.pk).update(
            users_read_skus=snapshot.signature, users_read_at=now
        )

    ids = [normalise_guid(item.id) for item in snapshot.subscriptions]
    current_subs = {
        s.subscription_id: s
        for s in Subscription.objects.filter(customer=customer)
        | Subscription.objects.filter(subscription_id__in=ids)
    }
    wanted_subs: dict[str, dict[str, Any]] = {}
    sku_names = scheduled_sku_names(snapshot.subscriptions)
    for item in snapshot.subscriptions:
        values = Subscription.values_from_pc(
            item,
            customer_id=customer.pk,
            current=current_subs.get(normalise_guid(item.id)),
            sku_names=sku_names,
        )
        wanted_subs[values["subscription_id"]] = values
    written += sync_upsert(
        model=Subscription,
        existing=current_subs,
        wanted=wanted_subs,
        fields=SUBSCRIPTION_FIELDS,
        touch={"synced_at": now},
        protected=_referenced_by_migrations,
    )

    if snapshot.subscribed_skus is not None:
        wanted_skus: dict[str, dict[str, Any]] = {}
        for sku in snapshot.subscribed_skus:
            product = sku.product_sku
            sku_id = normalise_guid(sku.sku_id) or (
                product.sku_part_number if product else None
            )
            if not sku_id:
                raise SyncDataError(
                    "a subscribed SKU has neither an id nor a part number"
                )
            wanted_skus[str(sku_id)] = {
                "customer_id": customer.pk,
                "sku_id": column_text(sku_id, SubscribedSku, "sku_id"),
                "sku_part_number": column_text(
                    product.sku_part_number if product else "",
                    SubscribedSku,
                    "sku_part_number",
                ),
                "name": column_text(
                    product.name if product else "", SubscribedSku, "name"
                ),
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
        written += sync_upsert(
            model=SubscribedSku,
            existing={
                s.sku_id: s for s in SubscribedSku.objects.filter(customer=customer)
            },
            wanted=wanted_skus,
            fields=SUBSCRIBED_SKU_FIELDS,
        )

    if snapshot.users is not None:
        wanted_users: dict[str, dict[str, Any]] = {}
        for user in snapshot.users:
            wanted_users[normalise_guid(user.id)] = {
                "customer_id": customer.pk,
                "user_id": column_text(
                    normalise_guid(user.id), CustomerUser, "user_id"
                ),
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
        written += sync_upsert(
            model=CustomerUser,
            existing={
                u.user_id: u for u in CustomerUser.objects.filter(customer=customer)
            },
            wanted=wanted_users,
            fields=USER_FIELDS,
        )

    if snapshot.licenses is not None:
        user_pks = dict(
            CustomerUser.objects.filter(customer=customer).values_list("user_id", "pk")
        )
        wanted_licenses: dict[tuple[int, str], dict[str, Any]] = {}
        for user_id, licenses in snapshot.licenses.items():
            user_pk = user_pks.get(normalise_guid(user_id))
            if user_pk is None:
                continue
            for lic in licenses:
                product = lic.product_sku
                sku_id = normalise_guid(lic.sku_id) or (
                    product.sku_part_number if product else None
                )
                if not sku_id:
                    raise SyncDataError("a user's licence has no skuId")
                wanted_licenses[(user_pk, str(sku_id))] = {
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
        current_licenses = {
            (lic.user_id, lic.sku_id): lic
            for lic in UserLicense.objects.filter(user__customer=customer)
        }
        written += sync_upsert(
            model=UserLicense,
            existing=current_licenses,
            wanted=wanted_licenses,
            fields=LICENSE_FIELDS,
        )
    return written


def sync_customer(
    *,
    customer: Customer,
    client: PartnerCenterClient,
    stamp: bool = True,
    full: bool = True,
    index: CatalogueIndex | None = None,
    users_read_back: bool = False,
) -> CustomerSyncResult:
    """Load one customer's subscriptions, subscribed SKUs, users and licences.

    Subscriptions and subscribed SKUs are always read. Users and licences are read
    when `full`, else only when `users_read_reason` names a reason. With
    `users_read_back` they are not read at all: a completed migration has just
    read back every user it moved (its licences are stored already), and the
    subscribed-SKU counts read now become the mark later syncs compare against.
    `index` is the catalogue index (a run passes its own; None builds one).

    Everything is read first, then written in one transaction, so a failure leaves
    the last good data in place. On failure the customer's `sync_error` gets a
    plain message; on success it is cleared and, if `stamp`, `synced_at` is set
    (a full run stamps all its customers in bulk instead).

    Raise Throttled if Partner Center asks to slow down: the caller decides
    whether to wait or to give up on this customer for now.
    """
    what = f"{customer.company_name}'s data"
    index = index if index is not None else catalogue_index()
    try:
        snapshot = _fetch_snapshot(
            customer=customer,
            client=client,
            full=full,
            index=index,
            users_read_back=users_read_back,
        )
        with transaction.atomic():
            written = _store_snapshot(customer=customer, snapshot=snapshot)
            if written:
                customer_facts_update(customer_ids=[customer.pk])
        written += transitions_refresh(customer=customer, client=client, index=index)
    except Throttled:
        raise
    except DATA_ERRORS as exc:
        logger.warning("Sync of customer %s failed: %s", customer.tenant_id, exc)
        message = plain_error(exc, what)
        return CustomerSyncResult(
            rows_written=record_customer_error(customer=customer, message=message),
            error=message,
        )
    result = CustomerSyncResult(
        rows_written=written,
        customer_changed=written > 0,
        users_read=snapshot.users is not None,
    )
    if customer.sync_error:
        result.customer_changed = True
    if stamp:
        now = timezone.now()
        Customer.objects.filter(pk=customer.pk).update(synced_at=now, sync_error="")
        customer.synced_at, customer.sync_error = now, ""
    return result


def record_customer_error(*, customer: Customer, message: str) -> int:
    """Store the customer's sync error if it changed; return rows written."""
    if customer.sync_error == message:
        return 0
    Customer.objects.filter(pk=customer.pk).update(sync_error=message)
    customer.sync_error = message
    return 1
