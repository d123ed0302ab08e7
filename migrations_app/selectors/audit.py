"""Read queries for the audit pages: filtered, keyset-paginated, streamed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import QuerySet

from migrations_app.models import AuditEvent, AuditVerification, Customer, CustomerUser

PAGE_SIZE = 50
# A name filter matches at most this many customers (the audit filter is then an
# indexed `customer_tenant_id IN (...)`, never a scan of the event text).
MAX_CUSTOMERS_PER_NAME = 200


@dataclass(frozen=True)
class AuditFilters:
    """The filters of the audit page and its CSV export; empty means "any"."""

    customer: str = ""
    actor: str = ""
    action: str = ""
    migration_id: int | None = None
    outcome: str = ""
    request_id: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def is_empty(self) -> bool:
        """Return True if no filter is set."""
        return self == AuditFilters()


@dataclass(frozen=True)
class AuditPage:
    """One page of events, newest first, with the cursors of its neighbours."""

    events: list[AuditEvent]
    newer_after: int | None
    older_before: int | None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _customer_tenant_ids(value: str) -> list[str]:
    try:
        return [str(uuid.UUID(value))]
    except ValueError:
        pass
    tenant_ids = Customer.objects.filter(company_name__icontains=value).values_list(
        "tenant_id", flat=True
    )[:MAX_CUSTOMERS_PER_NAME]
    return [str(tenant_id) for tenant_id in tenant_ids]


def audit_events_filtered(*, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Return the events matching `filters`, newest first.

    `customer` is a tenant id, or part of a company name matched against the
    customers table. Every other filter is an exact match on an indexed column, and
    the date range is inclusive, in UTC. Event times never go back as ids grow
    (`audit_record` sees to it), so the date range also becomes an id range, found
    on the created_at index: a page of an old day is read from its own id range
    instead of scanning every newer event.
    """
    events = AuditEvent.objects.all()
    if filters.customer:
        events = events.filter(
            customer_tenant_id__in=_customer_tenant_ids(filters.customer)
        )
    if filters.actor:
        events = events.filter(actor=filters.actor)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.migration_id is not None:
        events = events.filter(migration_id=filters.migration_id)
    if filters.outcome:
        events = events.filter(outcome=filters.outcome)
    if filters.request_id:
        events = events.filter(pc_request_id=filters.request_id)
    if filters.date_from is not None:
        start = _start_of(filters.date_from)
        events = events.filter(created_at__gte=start)
        first = (
            AuditEvent.objects.filter(created_at__gte=start)
            .order_by("created_at", "id")
            .values_list("id", flat=True)
            .first()
        )
        events = events.filter(id__gte=first) if first else events.none()
    if filters.date_to is not None:
        end = _start_of(filters.date_to + timedelta(days=1))
        events = events.filter(created_at__lt=end)
        last = (
            AuditEvent.objects.filter(created_at__lt=end)
            .order_by("-created_at", "-id")
            .values_list("id", flat=True)
            .first()
        )
        events = events.filter(id__lte=last) if last else events.none()
    return events.order_by("-id")


def audit_event_page(
    *,
    filters: AuditFilters,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> AuditPage:
    """Return one page of matching events, newest first.

    Pages are keyed on the event id (`before`: older than this id; `after`: newer
    than this id), so every page is an index range scan however deep it is.
    """
    matching = audit_events_filtered(filters=filters)
    if after is not None:
        rows = list(matching.filter(id__gt=after).order_by("id")[:size])
        rows.reverse()
    elif before is not None:
        rows = list(matching.filter(id__lt=before)[:size])
    else:
        rows = list(matching[:size])
    if not rows:
        return AuditPage(
            events=[],
            newer_after=before - 1 if before is not None else None,
            older_before=after + 1 if after is not None else None,
        )
    newest, oldest = rows[0].pk, rows[-1].pk
    has_newer = matching.filter(id__gt=newest).exists()
    has_older = matching.filter(id__lt=oldest).exists()
    return AuditPage(
        events=rows,
        newer_after=newest if has_newer else None,
        older_before=oldest if has_older else None,
    )


def audit_events_for_export(
    *, filters: AuditFilters, chunk_size: int = 2000
) -> Iterator[AuditEvent]:
    """Return an iterator over every matching event, newest first, streamed."""
    return audit_events_filtered(filters=filters).iterator(chunk_size=chunk_size)


def audit_user_names(*, user_ids: list[str]) -> dict[str, str]:
    """Return the display name (or UPN) of each known customer user, in one query."""
    if not user_ids:
        return {}
    rows = CustomerUser.objects.filter(user_id__in=sorted(set(user_ids))).values_list(
        "user_id", "display_name", "user_principal_name"
    )
    return {user_id: name or upn or user_id for user_id, name, upn in rows}


def audit_last_verification() -> AuditVerification | None:
    """Return the most recent chain verification, or None if none ran yet."""
    return AuditVerification.objects.order_by("-checked_at", "-id").first()


def customer_recent_events(*, tenant_id: object, limit: int = 20) -> list[AuditEvent]:
    """Return a customer's latest events, newest first."""
    return list(
        AuditEvent.objects.filter(customer_tenant_id=str(tenant_id)).order_by("-id")[
            :limit
        ]
    )
