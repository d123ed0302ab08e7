"""The customer list: upsert the customers Partner Center lists."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from migrations_app.models import Customer, Migration
from migrations_app.services.sync.errors import SyncDataError
from migrations_app.services.sync.upsert import column_text, sync_upsert
from partner_center import models as pc

CUSTOMER_FIELDS = ("company_name", "domain", "relationship_to_partner")
UNLISTED = (
    "Partner Center no longer lists this customer; "
    "it is kept because it has migrations."
)


def _customer_values(item: pc.Customer) -> tuple[uuid.UUID, dict[str, Any]]:
    try:
        tenant_id = uuid.UUID(str(item.id))
    except ValueError as exc:
        raise SyncDataError(f"customer id {item.id!r} is not a tenant id") from exc
    profile = item.company_profile
    name = (profile.company_name if profile else None) or str(item.id)
    return tenant_id, {
        "tenant_id": tenant_id,
        "company_name": column_text(name, Customer, "company_name"),
        "domain": column_text(profile.domain if profile else "", Customer, "domain"),
        "relationship_to_partner": column_text(
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
        written = sync_upsert(
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
