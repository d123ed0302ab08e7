"""Load Partner Center's view of every customer into the database.

A run pages every customer, refreshes the offer catalogue, binds the SKU mappings
to offers by name, then loads each customer's subscriptions, subscribed SKUs, users
and licences. Rows are compared field by field and only the ones that differ are
written, so a run over unchanged data writes no Partner Center data at all (the
per-customer `synced_at` freshness stamp is one bulk UPDATE per run and is not
counted as data). A customer whose data cannot be read or parsed keeps its last
good rows, gets a plain `sync_error`, and does not stop the rest. Each run ends
with exactly one audit event. `sync_customer_refresh` re-reads a single customer
(when its migration ends), also with exactly one audit event.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, models, transaction
from django.db.models import F
from django.utils import timezone

from hub.models import (
    Customer,
    CustomerUser,
    Migration,
    Offer,
    Outcome,
    SkuMapping,
    SkuMappingTarget,
    SubscribedSku,
    Subscription,
    SyncRun,
    UserLicense,
    clip,
    clip_int,
    normalise_guid,
    normalise_offer_id,
)
from hub.models.catalog import ProductSku, catalogue_key, scheduled_sku_names
from hub.services.audit import audit_record
from hub.services.invitations import invitations_match_after_sync
from hub.services.transitions import transitions_refresh
from hub.workflow.enqueue import send_now, send_on_commit
from hub.workflow.pc import CallLog, partner_center_client
from partner_center import models as pc
from partner_center.client import PartnerCenterClient
from partner_center.errors import (
    AuthError,
    GdapAccessDenied,
    MalformedResponse,
    MfaRequired,
    NotFound,
    PartnerCenterError,
    PermanentError,
    RefreshTokenExpired,
    Throttled,
    TransientError,
)

logger = logging.getLogger(__name__)

# The run stops taking new customers this long before Celery's soft limit, so a
# throttled or very large sync ends cleanly and the next run carries on. Both
# limits stay well below the broker's visibility_timeout (one hour), so a long
# run is never delivered twice.
SYNC_SOFT_TIME_LIMIT = 1800
SYNC_TIME_LIMIT = 1900
# The lock outlives the hard limit, so a killed run's lock frees itself.
SYNC_LOCK_SECONDS = SYNC_TIME_LIMIT + 60
SYNC_TASK = "hub.tasks.sync_partner_center"


def sync_enqueue(*, requested_by: Any = None, now: bool = False) -> None:
    """Ask a worker for a full sync once the current transaction commits.

    With `now`, send the message at once (a command has no request to finish).
    """
    requested_by_id = getattr(requested_by, "pk", None)
    if now:
        send_now(SYNC_TASK, requested_by_id=requested_by_id)
    else:
        send_on_commit(SYNC_TASK, requested_by_id=requested_by_id)


M = TypeVar("M", bound=models.Model)

BATCH_SIZE = 500
# The shared token bucket paces the sync: wait for a slot rather than fail.
SYNC_MAX_LOCAL_WAIT_SECONDS = 30.0
# A 429 is honoured by sleeping its Retry-After, within these bounds per run.
THROTTLE_SLEEP_BUDGET_SECONDS = 120.0
THROTTLE_MAX_SINGLE_WAIT_SECONDS = 60.0
THROTTLE_MAX_ATTEMPTS = 3
# How often a running SyncRun row shows its progress to the customer list.
PROGRESS_EVERY_SECONDS = 3.0
SYNC_LOCK_KEY = "partnerhub:sync:lock"
CUSTOMER_SYNC_LOCK_KEY = "partnerhub:sync:customer:{pk}"
FAILED_DETAILS_LIMIT = 20

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
OFFER_FIELDS = (
    "name",
    "product_id",
    "product_name",
    "is_available_for_purchase",
    "is_add_on",
    "minimum_quantity",
    "maximum_quantity",
    "billing",
    "successor_ids",
)
PRODUCT_SKU_FIELDS = (
    "product_id",
    "sku_id",
    "title",
    "product_title",
    "entra_sku_id",
    "sku_part_number",
    "catalog_item_id",
    "is_purchasable",
    "is_end_of_sale",
    "is_add_on",
    "minimum_quantity",
    "maximum_quantity",
    "terms",
    "successor_ids",
)
# Past this many products in the modern catalogue's listing, only the products
# PartnerHub needs (held, scheduled, mapped, and their successors) have their SKUs
# read: the live catalogue lists thousands, and each needs two more calls.
MODERN_FULL_READ_LIMIT = 300
CUSTOMER_FIELDS = ("company_name", "domain", "relationship_to_partner")
UNLISTED = (
    "Partner Center no longer lists this customer; "
    "it is kept because it has migrations."
)


class SyncDataError(Exception):
    """Partner Center's answer parsed, but cannot be stored as it is."""


class SyncAlreadyRunning(Exception):
    """Another sync holds the lock; this one did nothing."""


@dataclass
class CustomerSyncResult:
    """What one customer's sync did."""

    rows_written: int = 0
    customer_changed: bool = False
    error: str = ""

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


@dataclass
class _ThrottleBudget:
    """Seconds a run may spend sleeping on Retry-After before giving up."""

    remaining: float = THROTTLE_SLEEP_BUDGET_SECONDS
    slept: float = 0.0
    deadline: float | None = None

    def wait(self, retry_after: float) -> bool:
        """Sleep `retry_after` and return True, or return False if over budget."""
        wait = max(0.0, retry_after)
        if wait > THROTTLE_MAX_SINGLE_WAIT_SECONDS or wait > self.remaining:
            return False
        if self.deadline is not None and time.monotonic() + wait > self.deadline:
            return False
        time.sleep(wait)
        self.remaining -= wait
        self.slept += wait
        return True


@dataclass
class _RunState:
    run: SyncRun
    budget: _ThrottleBudget
    stage: str = "the customer list"
    notes: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    last_progress: float = 0.0


# --------------------------------------------------------------------- helpers


def _text(value: Any, model: type[models.Model], name: str) -> str:
    """Return `value` as text clipped to the column's max_length ("" for None)."""
    return clip(model, name, value)


def _int(value: Any, default: int = 0, minimum: int | None = None) -> int:
    """Return a whole number that fits an integer column; raise SyncDataError."""
    if value is None:
        return default
    try:
        number = clip_int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise SyncDataError(f"expected a number, got {value!r}") from exc
    if minimum is not None:
        number = max(minimum, number)
    return number


def _sync_upsert(
    *,
    model: type[M],
    existing: dict[Any, M],
    wanted: dict[Any, dict[str, Any]],
    fields: Sequence[str],
    touch: dict[str, Any] | None = None,
    protected: Callable[[list[int]], set[int]] | None = None,
) -> int:
    """Make the rows in `existing` match `wanted`; return how many rows were written.

    `wanted` maps each key to the full column values of its row. Rows whose values
    already match are left alone; `touch` columns are set only on rows that are
    created or changed. Existing rows missing from `wanted` are deleted (and their
    cascades counted), except the primary keys `protected` returns.
    """
    touch = touch or {}
    to_create: list[M] = []
    # Rows grouped by the columns that differ, so each UPDATE sets only those
    # (a concurrent writer's change to another column is never overwritten).
    to_update: dict[tuple[str, ...], list[M]] = {}
    for key, values in wanted.items():
        row = existing.get(key)
        if row is None:
            to_create.append(model(**values, **touch))
            continue
        diff = tuple(name for name in fields if getattr(row, name) != values[name])
        if not diff:
            continue
        for name in diff:
            setattr(row, name, values[name])
        for name, value in touch.items():
            setattr(row, name, value)
        to_update.setdefault(diff, []).append(row)
    stale = [row.pk for key, row in existing.items() if key not in wanted]
    if stale and protected is not None:
        keep = protected(stale)
        stale = [pk for pk in stale if pk not in keep]
    written = 0
    if to_create:
        model._default_manager.bulk_create(to_create, batch_size=BATCH_SIZE)
        written += len(to_create)
    for diff, rows in to_update.items():
        model._default_manager.bulk_update(rows, [*diff, *touch], batch_size=BATCH_SIZE)
        written += len(rows)
    for start in range(0, len(stale), BATCH_SIZE):
        deleted, _ = model._default_manager.filter(
            pk__in=stale[start : start + BATCH_SIZE]
        ).delete()
        written += deleted
    return written


def _plain_error(exc: BaseException, what: str) -> str:
    """Return a message a reseller can read, without request ids or tokens."""
    if isinstance(exc, Throttled):
        return (
            f"Partner Center asked PartnerHub to slow down while reading {what} "
            f"(retry after {exc.retry_after:.0f} s). The next sync tries again."
        )
    if isinstance(exc, MalformedResponse):
        return f"Partner Center sent an unreadable answer for {what}: {exc.message}"
    if isinstance(exc, NotFound):
        return f"Partner Center no longer finds {what} (HTTP 404): {exc.description}"
    if isinstance(exc, PermanentError):
        code = f", code {exc.code}" if exc.code is not None else ""
        return (
            f"Partner Center refused to return {what} "
            f"(HTTP {exc.status}{code}): {exc.description}"
        )
    if isinstance(exc, TransientError):
        return f"Partner Center did not answer for {what}: {exc.message}"
    if isinstance(exc, MfaRequired | RefreshTokenExpired):
        return f"Reading {what} failed: {exc.message}"
    if isinstance(exc, AuthError):
        return f"Partner Center rejected PartnerHub's credentials for {what}."
    if isinstance(exc, PartnerCenterError):
        return f"Reading {what} failed: {exc.message}"
    if isinstance(exc, DatabaseError):
        return f"{what.capitalize()} could not be saved: {exc}"
    return f"{what.capitalize()} could not be read: {exc}"


# Errors that fail one customer (or one optional step) without stopping the run.
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    MalformedResponse,
    PermanentError,
    TransientError,
    AuthError,
    SyncDataError,
    ValueError,
    TypeError,
    KeyError,
    DatabaseError,
)
_STEP_ERRORS: tuple[type[BaseException], ...] = (Throttled, *_DATA_ERRORS)


# ------------------------------------------------------------------- customers


def _customer_values(item: pc.Customer) -> tuple[uuid.UUID, dict[str, Any]]:
    try:
        tenant_id = uuid.UUID(str(item.id))
    except ValueError as exc:
        raise SyncDataError(f"customer id {item.id!r} is not a tenant id") from exc
    profile = item.company_profile
    name = (profile.company_name if profile else None) or str(item.id)
    return tenant_id, {
        "tenant_id": tenant_id,
        "company_name": _text(name, Customer, "company_name"),
        "domain": _text(profile.domain if profile else "", Customer, "domain"),
        "relationship_to_partner": _text(
            item.relationship_to_partner, Customer, "relationship_to_partner"
        ),
    }


def sync_customers(*, items: Iterable[pc.Customer]) -> tuple[int, set[int], list[str]]:
    """Upsert the listed customers; return (rows written, changed ids, problems).

    Customers Partner Center no longer lists are deleted with their data, unless
    they have migrations: those are kept and marked with a sync error.
    """
    wanted: dict[uuid.UUID, dict[str, Any]] = {}
    problems: list[str] = []
    for item in items:
        try:
            tenant_id, values = _customer_values(item)
        except SyncDataError as exc:
            problems.append(str(exc))
            continue
        wanted[tenant_id] = values
    existing = {c.tenant_id: c for c in Customer.objects.all()}
    before = {key: _row_values(c, CUSTOMER_FIELDS) for key, c in existing.items()}
    new_keys = [key for key in wanted if key not in existing]

    def with_migrations(pks: list[int]) -> set[int]:
        keep = set(
            Migration.objects.filter(customer_id__in=pks).values_list(
                "customer_id", flat=True
            )
        )
        Customer.objects.filter(pk__in=keep).exclude(sync_error=UNLISTED).update(
            sync_error=UNLISTED
        )
        return keep

    with transaction.atomic():
        written = _sync_upsert(
            model=Customer,
            existing=existing,
            wanted=wanted,
            fields=CUSTOMER_FIELDS,
            touch={"updated_at": timezone.now()},
            protected=with_migrations,
        )
    changed = {
        row.pk
        for key, row in existing.items()
        if key in wanted and before[key] != _row_values(row, CUSTOMER_FIELDS)
    }
    if new_keys:
        changed.update(
            Customer.objects.filter(tenant_id__in=new_keys).values_list("pk", flat=True)
        )
    return written, changed, problems


def _row_values(row: models.Model, fields: Sequence[str]) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in fields)


# ---------------------------------------------------------------------- offers


def sync_offers(*, client: PartnerCenterClient, country: str) -> int:
    """Load the offer catalogue of `country`; return the rows written.

    Offers the catalogue no longer lists are kept, marked not purchasable: a retired
    offer disappearing from the catalogue must not lose the skuId its licences
    carry, which migrations need.
    """
    wanted: dict[str, dict[str, Any]] = {}
    for item in client.iter_offers(country):
        product = item.product
        offer_id = normalise_offer_id(item.id)
        wanted[offer_id] = {
            "offer_id": _text(offer_id, Offer, "offer_id"),
            "country": _text(country, Offer, "country"),
            "name": _text(item.name or item.id, Offer, "name"),
            "product_id": _text(
                normalise_guid(product.id if product else ""), Offer, "product_id"
            ),
            "product_name": _text(
                product.name if product else "", Offer, "product_name"
            ),
            "is_available_for_purchase": item.is_available_for_purchase is not False,
            "is_add_on": bool(item.is_add_on),
            "minimum_quantity": _int(item.minimum_quantity, 1, minimum=0),
            "maximum_quantity": _int(item.maximum_quantity, 10000, minimum=0),
            "billing": _text(item.billing, Offer, "billing"),
            "successor_ids": sorted(
                {
                    normalise_offer_id(target)
                    for target in [
                        *item.upgrade_target_offers,
                        *item.conversion_target_offers,
                    ]
                    if target
                }
            ),
        }
    existing = {o.offer_id: o for o in Offer.objects.filter(country=country)}
    for offer_id, row in existing.items():
        if offer_id not in wanted:
            values = {name: getattr(row, name) for name in OFFER_FIELDS}
            values.update(offer_id=row.offer_id, country=row.country)
            values["is_available_for_purchase"] = False
            wanted[offer_id] = values
    with transaction.atomic():
        return _sync_upsert(
            model=Offer,
            existing=existing,
            wanted=wanted,
            fields=OFFER_FIELDS,
            touch={"synced_at": timezone.now()},
        )


def _needed_product_ids() -> set[str]:
    """Return the modern product ids held, scheduled or named by a mapping."""
    keys = set(
        SkuMapping.objects.filter(retired_offer_id__contains=":").values_list(
            "retired_offer_id", flat=True
        )
    ) | set(
        SkuMappingTarget.objects.filter(target_offer_id__contains=":").values_list(
            "target_offer_id", flat=True
        )
    )
    found = {catalogue_key(k).split(":")[0] for k in keys}
    for column in ("product_id", "scheduled_product_id"):
        found |= set(
            Subscription.objects.exclude(**{column: ""})
            .values_list(column, flat=True)
            .distinct()
        )
    return {normalise_offer_id(p) for p in found if p}


def _truthy(value: Any) -> bool:
    """Return a catalogue flag sent as a bool or as text ("true")."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _product_sku_rows(
    *, client: PartnerCenterClient, country: str, product: pc.Product
) -> dict[str, dict[str, Any]]:
    """Return the ProductSku columns of every SKU of one product, by key."""
    rows: dict[str, dict[str, Any]] = {}
    for sku in client.list_skus(product.id, country=country):
        key = catalogue_key(f"{product.id}:{sku.id}")
        attributes = sku.dynamic_attributes or {}
        availabilities = client.list_availabilities(product.id, sku.id, country=country)
        buyable = [a for a in availabilities if a.is_purchasable is not False]
        chosen = next(iter(buyable or availabilities), None)
        successors = {
            catalogue_key(str(target))
            for target in attributes.get("upgradeTargetOffers") or []
            if target
        }
        for availability in availabilities:
            for instruction in availability.renewal_instructions:
                options = (
                    instruction.get("renewalOptions") or []
                    if isinstance(instruction, dict)
                    else []
                )
                for option in options:
                    if isinstance(option, dict) and option.get("renewToId"):
                        successors.add(catalogue_key(str(option["renewToId"])))
        successors.discard(key)
        end_of_sale = _truthy(attributes.get("isEndOfSale"))
        rows[key] = {
            "key": _text(key, ProductSku, "key"),
            "country": _text(country, ProductSku, "country"),
            "product_id": _text(key.split(":")[0], ProductSku, "product_id"),
            "sku_id": _text(key.split(":")[1], ProductSku, "sku_id"),
            "title": _text(sku.title or product.title or key, ProductSku, "title"),
            "product_title": _text(product.title, ProductSku, "product_title"),
            "entra_sku_id": _text(sku.entra_sku_id or "", ProductSku, "entra_sku_id"),
            "sku_part_number": _text(
                attributes.get("skuPartNumber"), ProductSku, "sku_part_number"
            ),
            "catalog_item_id": _text(
                normalise_offer_id(chosen.catalog_item_id if chosen else ""),
                ProductSku,
                "catalog_item_id",
            ),
            "is_purchasable": bool(buyable) and not end_of_sale,
            "is_end_of_sale": end_of_sale,
            "is_add_on": _truthy(attributes.get("isAddon")),
            "minimum_quantity": _int(sku.minimum_quantity, 1, minimum=0),
            "maximum_quantity": _int(sku.maximum_quantity, 10000, minimum=0),
            "terms": [
                [term.duration or "", term.billing_cycle or ""]
                for term in (chosen.terms if chosen else [])
            ],
            "successor_ids": sorted(successors),
        }
    return rows


def sync_products(*, client: PartnerCenterClient, country: str) -> int:
    """Load the modern catalogue's SKUs of `country`; return the rows written.

    Every listed product is read while the listing is small; past
    MODERN_FULL_READ_LIMIT products, only those PartnerHub needs and their
    successors. A SKU no longer listed under a product that was read is kept,
    marked not purchasable; SKUs of products not read are left as they are.
    """
    products = list(client.iter_products(country=country))
    by_id = {normalise_offer_id(p.id): p for p in products}
    if len(by_id) <= MODERN_FULL_READ_LIMIT:
        queue = list(by_id)
    else:
        queue = sorted(_needed_product_ids() & set(by_id))
    wanted: dict[str, dict[str, Any]] = {}
    read: set[str] = set()
    while queue:
        product_id = queue.pop(0)
        if product_id in read:
            continue
        read.add(product_id)
        rows = _product_sku_rows(
            client=client, country=country, product=by_id[product_id]
        )
        wanted.update(rows)
        for row in rows.values():
            for successor in row["successor_ids"]:
                successor_product = successor.split(":")[0]
                if successor_product in by_id and successor_product not in read:
                    queue.append(successor_product)
    existing = {s.key: s for s in ProductSku.objects.filter(country=country)}
    for key, sku_row in existing.items():
        if key in wanted:
            continue
        values = {name: getattr(sku_row, name) for name in PRODUCT_SKU_FIELDS}
        values.update(key=sku_row.key, country=sku_row.country)
        if sku_row.product_id in read or sku_row.product_id not in by_id:
            values["is_purchasable"] = False
        wanted[key] = values
    with transaction.atomic():
        return _sync_upsert(
            model=ProductSku,
            existing=existing,
            wanted=wanted,
            fields=PRODUCT_SKU_FIELDS,
            touch={"synced_at": timezone.now()},
        )


def sync_bind_mappings(*, country: str) -> int:
    """Fill empty offer ids of SKU mappings and targets by case-insensitive name.

    When several offers share a name, a purchasable one wins. Return rows written.
    """
    by_name: dict[str, str] = {}
    offers = Offer.objects.filter(country=country).order_by(
        F("is_available_for_purchase").desc(), "offer_id"
    )
    for offer_id, name in offers.values_list("offer_id", "name"):
        by_name.setdefault(name.strip().lower(), offer_id)
    written = 0
    mappings = [
        m
        for m in SkuMapping.objects.filter(retired_offer_id="")
        if m.retired_name.strip().lower() in by_name
    ]
    for mapping in mappings:
        mapping.retired_offer_id = by_name[mapping.retired_name.strip().lower()]
    targets = [
        t
        for t in SkuMappingTarget.objects.filter(target_offer_id="")
        if t.target_name.strip().lower() in by_name
    ]
    for target in targets:
        target.target_offer_id = by_name[target.target_name.strip().lower()]
    with transaction.atomic():
        if mappings:
            for mapping in mappings:
                # save() keeps auto_now's updated_at honest.
                mapping.save(update_fields=["retired_offer_id", "updated_at"])
            written += len(mappings)
        if targets:
            SkuMappingTarget.objects.bulk_update(targets, ["target_offer_id"])
            written += len(targets)
    return written


# -------------------------------------------------------------- one customer


def _fetch_snapshot(*, customer: Customer, client: PartnerCenterClient) -> _Snapshot:
    tenant = str(customer.tenant_id)
    subscriptions = client.list_subscriptions(tenant)
    if client.user_tokens is None:
        # Users, licences and seat counts are App+User only.
        return _Snapshot(subscriptions, None, None, None)
    skus = client.list_subscribed_skus(tenant)
    try:
        users = list(client.iter_users(tenant))
        licenses = {u.id: client.get_user_licenses(tenant, u.id) for u in users}
    except GdapAccessDenied as exc:
        # A GDAP refusal on users must not lose the subscriptions (2032).
        return _Snapshot(subscriptions, skus, None, None, exc.missing_permission)
    return _Snapshot(subscriptions, skus, users, licenses, gdap_missing="")


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
    written += _sync_upsert(
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
                "sku_id": _text(sku_id, SubscribedSku, "sku_id"),
                "sku_part_number": _text(
                    product.sku_part_number if product else "",
                    SubscribedSku,
                    "sku_part_number",
                ),
                "name": _text(product.name if product else "", SubscribedSku, "name"),
                "target_type": _text(
                    product.target_type if product else "", SubscribedSku, "target_type"
                ),
                "capability_status": _text(
                    sku.capability_status, SubscribedSku, "capability_status"
                ),
                "active_units": _int(sku.active_units),
                "consumed_units": _int(sku.consumed_units),
                "available_units": _int(sku.available_units),
                "suspended_units": _int(sku.suspended_units),
                "total_units": _int(sku.total_units),
                "warning_units": _int(sku.warning_units),
            }
        written += _sync_upsert(
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
                "user_id": _text(normalise_guid(user.id), CustomerUser, "user_id"),
                "user_principal_name": _text(
                    user.user_principal_name, CustomerUser, "user_principal_name"
                ),
                "display_name": _text(user.display_name, CustomerUser, "display_name"),
                "usage_location": _text(
                    user.usage_location, CustomerUser, "usage_location"
                ),
                "state": _text(user.state, CustomerUser, "state"),
            }
        written += _sync_upsert(
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
                    "sku_id": _text(sku_id, UserLicense, "sku_id"),
                    "sku_name": _text(
                        product.name if product else "", UserLicense, "sku_name"
                    ),
                    "sku_part_number": _text(
                        product.sku_part_number if product else "",
                        UserLicense,
                        "sku_part_number",
                    ),
                }
        current_licenses = {
            (lic.user_id, lic.sku_id): lic
            for lic in UserLicense.objects.filter(user__customer=customer)
        }
        written += _sync_upsert(
            model=UserLicense,
            existing=current_licenses,
            wanted=wanted_licenses,
            fields=LICENSE_FIELDS,
        )
    return written


def sync_customer(
    *, customer: Customer, client: PartnerCenterClient, stamp: bool = True
) -> CustomerSyncResult:
    """Load one customer's subscriptions, subscribed SKUs, users and licences.

    Everything is read first, then written in one transaction, so a failure leaves
    the last good data in place. On failure the customer's `sync_error` gets a
    plain message; on success it is cleared and, if `stamp`, `synced_at` is set
    (a full run stamps all its customers in bulk instead).

    Raise Throttled if Partner Center asks to slow down: the caller decides
    whether to wait or to give up on this customer for now.
    """
    what = f"{customer.company_name}'s data"
    try:
        snapshot = _fetch_snapshot(customer=customer, client=client)
        with transaction.atomic():
            written = _store_snapshot(customer=customer, snapshot=snapshot)
        written += transitions_refresh(customer=customer, client=client)
    except Throttled:
        raise
    except _DATA_ERRORS as exc:
        logger.warning("Sync of customer %s failed: %s", customer.tenant_id, exc)
        message = _plain_error(exc, what)
        return CustomerSyncResult(
            rows_written=_record_customer_error(customer=customer, message=message),
            error=message,
        )
    result = CustomerSyncResult(rows_written=written, customer_changed=written > 0)
    if customer.sync_error:
        result.customer_changed = True
    if stamp:
        now = timezone.now()
        Customer.objects.filter(pk=customer.pk).update(synced_at=now, sync_error="")
        customer.synced_at, customer.sync_error = now, ""
    return result


def _record_customer_error(*, customer: Customer, message: str) -> int:
    """Store the customer's sync error if it changed; return rows written."""
    if customer.sync_error == message:
        return 0
    Customer.objects.filter(pk=customer.pk).update(sync_error=message)
    customer.sync_error = message
    return 1


# ------------------------------------------------------------------------ runs


def _progress(state: _RunState, calls: CallLog, *, force: bool = False) -> None:
    now = time.monotonic()
    if not force and now - state.last_progress < PROGRESS_EVERY_SECONDS:
        return
    state.last_progress = now
    run = state.run
    run.calls_made = calls.calls
    run.save(
        update_fields=[
            "customers_seen",
            "customers_changed",
            "customers_failed",
            "rows_written",
            "calls_made",
        ]
    )


def _with_throttle_retries(state: _RunState, action: Callable[[], Any]) -> Any:
    """Return action(), sleeping out 429s within the run's budget.

    Raise the last Throttled when the budget or the attempts run out.
    """
    attempt = 0
    while True:
        try:
            return action()
        except Throttled as exc:
            attempt += 1
            if attempt >= THROTTLE_MAX_ATTEMPTS or not state.budget.wait(
                exc.retry_after
            ):
                raise


def _stamp(pks: list[int], now: datetime) -> None:
    for start in range(0, len(pks), BATCH_SIZE):
        Customer.objects.filter(pk__in=pks[start : start + BATCH_SIZE]).update(
            synced_at=now, sync_error=""
        )


def sync_run(
    *,
    requested_by: User | None = None,
    time_budget: float | None = None,
) -> SyncRun:
    """Run one full sync and return its finished SyncRun.

    Customers are visited stalest first. With a `time_budget` (seconds), customers
    left when it runs out wait for the next run (they keep their data and their
    older `synced_at`). A 429 is honoured by sleeping its Retry-After while the
    run's sleep budget lasts; past it, that customer is recorded as failed for
    this run and retried by the next one, so a throttled run still finishes.
    """
    started = time.monotonic()
    deadline = started + time_budget if time_budget is not None else None
    run = SyncRun.objects.create(requested_by=requested_by)
    calls = CallLog()
    state = _RunState(run=run, budget=_ThrottleBudget(deadline=deadline))
    try:
        _sync_run_body(state=state, calls=calls, deadline=deadline)
    except Exception as exc:
        logger.exception("Sync run %s failed", run.pk)
        run.status = SyncRun.Status.FAILED
        if isinstance(exc, PartnerCenterError):
            reason = _plain_error(exc, state.stage)
        else:
            reason = (
                f"The sync stopped while working on {state.stage} "
                f"({type(exc).__name__}: {exc})."
            )
        run.error = "\n".join([*state.notes, reason])
    else:
        failed = run.customers_failed > 0 or bool(state.notes)
        run.status = SyncRun.Status.PARTIAL if failed else SyncRun.Status.SUCCEEDED
        run.error = "\n".join(state.notes)
    run.calls_made = calls.calls
    run.finished_at = timezone.now()
    run.save()
    _audit_run(run=run, state=state, seconds=time.monotonic() - started)
    invitations_match_after_sync()
    return run


def _sync_run_body(*, state: _RunState, calls: CallLog, deadline: float | None) -> None:
    run = state.run
    client = partner_center_client(
        actor=run.requested_by,
        observer=calls,
        max_local_wait=SYNC_MAX_LOCAL_WAIT_SECONDS,
    )
    with client:
        items = _with_throttle_retries(state, lambda: list(client.iter_customers()))
        written, changed, problems = sync_customers(items=items)
        run.rows_written += written
        run.customers_failed += len(problems)
        state.notes.extend(f"Customer skipped: {p}" for p in problems)

        country = settings.PARTNER_CENTER_COUNTRY
        state.stage = "the offer catalogue"
        try:
            run.rows_written += _with_throttle_retries(
                state, lambda: sync_offers(client=client, country=country)
            )
        except _STEP_ERRORS as exc:
            logger.warning("Offer catalogue sync failed: %s", exc)
            state.notes.append(_plain_error(exc, "the offer catalogue"))
        state.stage = "the modern catalogue"
        try:
            run.rows_written += _with_throttle_retries(
                state, lambda: sync_products(client=client, country=country)
            )
        except _STEP_ERRORS as exc:
            logger.warning("Modern catalogue sync failed: %s", exc)
            state.notes.append(_plain_error(exc, "the modern catalogue"))
        state.stage = "the SKU mappings"
        run.rows_written += sync_bind_mappings(country=country)

        if client.user_tokens is None:
            state.notes.append(
                "Users, their licences and seat counts were not loaded: Partner "
                "Center serves them only to App+User credentials, and no "
                "PARTNER_CENTER_REFRESH_TOKEN is configured."
            )

        listed = [uuid.UUID(str(i.id)) for i in items if _is_uuid(i.id)]
        customers = list(
            Customer.objects.filter(tenant_id__in=listed).order_by(
                F("synced_at").asc(nulls_first=True), "company_name", "pk"
            )
        )
        run.customers_seen = len(customers) + len(problems)
        _progress(state, calls, force=True)
        ok: list[int] = []
        left = 0
        for index, customer in enumerate(customers):
            state.stage = f"{customer.company_name}'s data"
            if deadline is not None and time.monotonic() > deadline:
                left = len(customers) - index
                break
            result = _sync_one(state=state, customer=customer, client=client)
            run.rows_written += result.rows_written
            if result.ok:
                ok.append(customer.pk)
            else:
                run.customers_failed += 1
                if len(state.failed) < FAILED_DETAILS_LIMIT:
                    state.failed.append(
                        {"tenant_id": str(customer.tenant_id), "error": result.error}
                    )
            if result.customer_changed or customer.pk in changed:
                run.customers_changed += 1
            _progress(state, calls)
        state.stage = "the final bookkeeping"
        _stamp(ok, timezone.now())
        if left:
            state.notes.append(
                f"Stopped at the time limit; {left} customers wait for the next sync."
            )


def _sync_one(
    *, state: _RunState, customer: Customer, client: PartnerCenterClient
) -> CustomerSyncResult:
    try:
        result: CustomerSyncResult = _with_throttle_retries(
            state, lambda: sync_customer(customer=customer, client=client, stamp=False)
        )
    except Throttled as exc:
        message = _plain_error(exc, f"{customer.company_name}'s data")
        return CustomerSyncResult(
            rows_written=_record_customer_error(customer=customer, message=message),
            error=message,
        )
    return result


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _audit_run(*, run: SyncRun, state: _RunState, seconds: float) -> None:
    counts = {
        "sync_run_id": run.pk,
        "status": run.status,
        "customers_seen": run.customers_seen,
        "customers_changed": run.customers_changed,
        "customers_failed": run.customers_failed,
        "rows_written": run.rows_written,
        "calls_made": run.calls_made,
        "seconds": round(seconds, 1),
        "throttle_sleep_seconds": round(state.budget.slept, 1),
    }
    if state.failed:
        counts["failed_customers"] = state.failed
    if run.status == SyncRun.Status.FAILED:
        action, outcome = "sync.failed", Outcome.FAILURE
        message = f"Sync failed: {run.error}"
    else:
        action, outcome = "sync.completed", Outcome.SUCCESS
        message = (
            f"Synced {run.customers_seen} customers: {run.customers_changed} changed, "
            f"{run.customers_failed} failed, {run.rows_written} rows written, "
            f"{run.calls_made} Partner Center calls."
        )
    audit_record(
        action=action,
        actor=run.requested_by,
        outcome=outcome,
        message=message,
        details=counts,
    )


# ------------------------------------------------------------- one customer, alone


def sync_customer_refresh(
    *,
    customer: Customer,
    migration_id: int | None = None,
    final_attempt: bool = True,
    lock_seconds: float = 600,
) -> CustomerSyncResult:
    """Re-read one customer from Partner Center and record one audit event for it.

    A finished migration calls this so the customer's pages show the new
    subscription, seat counts and licences before the next full sync. Only writes
    are audited one by one; the reads are summed up in the single `sync.completed`
    (or `sync.failed`) event, which names the customer and the migration.

    Raise SyncAlreadyRunning if another refresh of this customer is running (it
    may have read Partner Center before the change; try again later). Raise
    Throttled if Partner Center asks to slow down, unless `final_attempt`: then
    the customer keeps its last good data and gets the throttling as its sync error.
    """
    started = time.monotonic()
    calls = CallLog()
    key = CUSTOMER_SYNC_LOCK_KEY.format(pk=customer.pk)
    with _sync_lock(lock_seconds, key=key) as acquired:
        if not acquired:
            raise SyncAlreadyRunning(
                f"{customer.company_name} is being synced already."
            )
        client = partner_center_client(
            customer=customer,
            migration_id=migration_id,
            observer=calls,
            max_local_wait=SYNC_MAX_LOCAL_WAIT_SECONDS,
        )
        with client:
            try:
                result = sync_customer(customer=customer, client=client)
            except Throttled as exc:
                if not final_attempt:
                    raise
                message = _plain_error(exc, f"{customer.company_name}'s data")
                result = CustomerSyncResult(
                    rows_written=_record_customer_error(
                        customer=customer, message=message
                    ),
                    error=message,
                )
    details: dict[str, Any] = {
        "scope": "customer",
        "rows_written": result.rows_written,
        "calls_made": calls.calls,
        "seconds": round(time.monotonic() - started, 1),
    }
    if result.ok:
        action, outcome = "sync.completed", Outcome.SUCCESS
        message = (
            f"Synced {customer.company_name}: {result.rows_written} rows written, "
            f"{calls.calls} Partner Center calls."
        )
    else:
        action, outcome = "sync.failed", Outcome.FAILURE
        message = f"Sync of {customer.company_name} failed: {result.error}"
    audit_record(
        action=action,
        outcome=outcome,
        customer_tenant_id=str(customer.tenant_id),
        customer_name=customer.company_name,
        migration_id=migration_id,
        message=message,
        details=details,
    )
    return result


# ------------------------------------------------------------------ exclusivity


@contextmanager
def _sync_lock(seconds: float, key: str = SYNC_LOCK_KEY) -> Iterator[bool]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    lock = client.lock(key, timeout=seconds, blocking=False)
    acquired = bool(lock.acquire(blocking=False))
    try:
        yield acquired
    finally:
        if acquired:
            try:
                lock.release()
            except redis.exceptions.LockError:
                logger.warning("The sync lock expired before the run finished")
        client.close()


def sync_close_interrupted_runs() -> int:
    """Mark runs left `running` by a killed worker as failed; return how many.

    Call it only while holding the sync lock, when no run can be in progress.
    """
    return SyncRun.objects.filter(status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
        error="Interrupted: the process running this sync stopped before it finished.",
    )


def sync_run_exclusive(
    *,
    requested_by: User | None = None,
    time_budget: float | None = None,
    lock_seconds: int = 2 * 3600,
) -> SyncRun:
    """Run `sync_run` unless another sync holds the lock; return the run.

    Raise SyncAlreadyRunning if one does.
    """
    with _sync_lock(lock_seconds) as acquired:
        if not acquired:
            raise SyncAlreadyRunning("Another sync is already running.")
        sync_close_interrupted_runs()
        return sync_run(requested_by=requested_by, time_budget=time_budget)
