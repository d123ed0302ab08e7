"""One customer's subscriptions, SKUs, users and licences: read, then stored."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from migrations_app.domain.catalogue import CatalogueIndex, catalogue_index
from migrations_app.domain.customer_facts import customer_facts_update
from migrations_app.models import (
    Customer,
    Migration,
    normalise_guid,
    normalise_offer_id,
)
from migrations_app.services.sync.errors import DATA_ERRORS, plain_error
from migrations_app.services.sync.store import (
    store_licenses,
    store_skus,
    store_subscriptions,
    store_users,
)
from migrations_app.services.transitions import transitions_refresh
from partner_center import models as pc
from partner_center.client import PartnerCenterClient
from partner_center.errors import (
    GdapAccessDenied,
    MalformedResponse,
    NoRelationship,
    PermanentError,
    Throttled,
)

logger = logging.getLogger(__name__)


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
    # What GDAP access lacks when the subscribed SKUs or the users were refused
    # (they then stay as they were); None when they were not asked for.
    gdap_missing: str | None = None
    # The subscribed SKUs' digest (`skus_signature`), when they were read.
    signature: str | None = None
    # The users' licences were just read back by a migration, not here.
    read_back: bool = False
    # Whether a Microsoft Customer Agreement is recorded; None when not read.
    agreement: bool | None = None


# Refusals that mean the partner may not read this customer's directory: the
# subscriptions are kept and the missing permission recorded.
ACCESS_REFUSALS = (GdapAccessDenied, NoRelationship)


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


def agreement_recorded(
    *, customer: Customer, client: PartnerCenterClient
) -> bool | None:
    """Return whether a Microsoft Customer Agreement is recorded, or None.

    Read only while none is known to be recorded (a recorded acceptance stays
    recorded), with app+user credentials (the only kind the call accepts). None
    when it was not read or Partner Center refused the read: the plan then says
    nothing it cannot back up, and a refused checkout still says what to do.
    """
    if customer.agreement_recorded or client.user_tokens is None:
        return None
    try:
        agreements = client.list_customer_agreements(str(customer.tenant_id))
    except (PermanentError, MalformedResponse) as exc:
        logger.info("Agreements of %s not read: %s", customer.tenant_id, exc)
        return None
    return any(a.is_customer_agreement for a in agreements)


def _read_users(
    client: PartnerCenterClient, tenant: str
) -> tuple[list[pc.CustomerUser], dict[str, list[pc.License]]]:
    users = list(client.iter_users(tenant))
    return users, {u.id: client.get_user_licenses(tenant, u.id) for u in users}


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
    agreement = agreement_recorded(customer=customer, client=client)
    try:
        # Seat counts need a GDAP directory role, as users do.
        skus = client.list_subscribed_skus(tenant)
        signature = skus_signature(skus)
        if users_read_back:
            return _Snapshot(
                subscriptions,
                skus,
                None,
                None,
                signature=signature,
                read_back=True,
                agreement=agreement,
            )
        if not full and not users_read_reason(
            customer=customer,
            subscriptions=subscriptions,
            signature=signature,
            index=index,
        ):
            return _Snapshot(
                subscriptions,
                skus,
                None,
                None,
                signature=signature,
                agreement=agreement,
            )
        users, licenses = _read_users(client, tenant)
    except ACCESS_REFUSALS as exc:
        # A refusal of the directory must not lose the subscriptions.
        return _Snapshot(
            subscriptions,
            None,
            None,
            None,
            gdap_missing=exc.missing_permission,
            agreement=agreement,
        )
    return _Snapshot(
        subscriptions,
        skus,
        users,
        licenses,
        gdap_missing="",
        signature=signature,
        agreement=agreement,
    )


def _store_customer_marks(*, customer: Customer, snapshot: _Snapshot) -> int:
    """Store what GDAP lacks, the agreement and the users-read mark; return rows."""
    written = 0
    now = timezone.now()
    missing = None if snapshot.gdap_missing is None else snapshot.gdap_missing[:255]
    if missing is not None and missing != customer.gdap_missing:
        customer.gdap_missing = missing
        written += Customer.objects.filter(pk=customer.pk).update(gdap_missing=missing)
    if snapshot.agreement is not None:
        changed = snapshot.agreement != customer.agreement_recorded
        customer.agreement_recorded = snapshot.agreement
        customer.agreement_checked_at = now
        updated = Customer.objects.filter(pk=customer.pk).update(
            agreement_recorded=snapshot.agreement, agreement_checked_at=now
        )
        written += updated if changed else 0
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
    return written


def _store_snapshot(*, customer: Customer, snapshot: _Snapshot) -> int:
    """Write the differences between `snapshot` and the database; return rows."""
    written = _store_customer_marks(customer=customer, snapshot=snapshot)
    written += store_subscriptions(
        customer=customer, subscriptions=snapshot.subscriptions
    )
    if snapshot.subscribed_skus is not None:
        written += store_skus(customer=customer, skus=snapshot.subscribed_skus)
    if snapshot.users is not None:
        written += store_users(customer=customer, users=snapshot.users)
    if snapshot.licenses is not None:
        written += store_licenses(customer=customer, licenses=snapshot.licenses)
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
