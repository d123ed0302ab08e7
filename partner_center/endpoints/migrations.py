"""The legacy → new-commerce migration API (§10): like-for-like, no SKU change.

Partner Center allows 100 ``create_migration`` calls per partner per 5 minutes.
The query calls answer a JSON array and page with an ``MS-ContinuationToken``
response header, sent back as a request header.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from partner_center.endpoints.base import Endpoints
from partner_center.models import (
    NewCommerceEligibility,
    NewCommerceMigration,
    NewCommerceMigrationEvent,
    NewCommerceMigrationSchedule,
    ResourceCollection,
    normalise_id,
)
from partner_center.records import Operation
from partner_center.transport import Params
from partner_center.wire import as_body, new_id, normalise_body_ids, seg

__all__ = ["MigrationEndpoints"]

M = TypeVar("M", bound=BaseModel)

_CONTINUATION_HEADER = "MS-ContinuationToken"
_READ_ONLY = {"id", "status", "started_time", "completed_time", "error"}
_BODY_IDS = ("currentSubscriptionId",)


def _filters(
    customer_tenant_id: str | None,
    current_subscription_id: str | None,
    external_reference_id: str | None,
    page_size: int,
) -> Params:
    params: Params = []
    if customer_tenant_id:
        params.append(("CustomerTenantId", normalise_id(customer_tenant_id)))
    if current_subscription_id:
        params.append(("CurrentSubscriptionId", normalise_id(current_subscription_id)))
    if external_reference_id:
        params.append(("ExternalReferenceId", external_reference_id))
    if not params:
        raise ValueError("give at least one of the customer, subscription or batch id")
    params.append(("PageSize", str(page_size)))
    return params


class MigrationEndpoints(Endpoints):
    def _migrations_path(self, customer_id: str) -> str:
        return f"/customers/{seg(customer_id)}/migrations/newcommerce"

    def _iter_header_pages(
        self, path: str, params: Params, model: type[M], correlation_id: str | None
    ) -> Iterator[M]:
        headers: dict[str, str] = {}
        seen: set[str] = set()
        while True:
            answer = self._call(
                "GET",
                path,
                params=params,
                extra_headers=headers,
                correlation_id=correlation_id,
            )
            page = self._parse(ResourceCollection[model], answer)  # type: ignore[valid-type]
            yield from page.items
            token = (
                answer.response.headers.get(_CONTINUATION_HEADER)
                or page.continuation_token
            )
            if not token or token in seen or not page.items:
                return
            seen.add(token)
            headers = {_CONTINUATION_HEADER: token}

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/validate-subscription-for-migration
    def validate_migration(
        self,
        customer_id: str,
        migration: NewCommerceMigration | Mapping[str, Any],
        *,
        correlation_id: str | None = None,
    ) -> NewCommerceEligibility:
        """Return whether the legacy subscription can move to new commerce.

        Changes nothing, though it is a POST (it gets its own request id).
        ``errors[].code`` is a ``NewCommerceEligibilityErrorCode`` (e.g. 5: no
        equivalent new-commerce offer yet).
        """
        body = normalise_body_ids(as_body(migration, exclude=_READ_ONLY), _BODY_IDS)
        answer = self._call(
            "POST",
            f"{self._migrations_path(customer_id)}/validate",
            body=body,
            request_id=new_id(),
            correlation_id=correlation_id,
            operation=Operation.MIGRATION_VALIDATE,
        )
        return self._finish_write(answer, NewCommerceEligibility, None)

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/create-migration
    def create_migration(
        self,
        customer_id: str,
        migration: NewCommerceMigration | Mapping[str, Any],
        request_id: str | uuid.UUID,
        *,
        correlation_id: str | None = None,
    ) -> NewCommerceMigration:
        """Return the migration started (201) for ``current_subscription_id``.

        Raise TransientError(ambiguous=True) if it may have started without
        confirmation: ``iter_migrations(current_subscription_id=...)`` tells.
        """
        request_id = self._require_request_id(request_id)
        body = normalise_body_ids(as_body(migration, exclude=_READ_ONLY), _BODY_IDS)
        answer = self._call(
            "POST",
            self._migrations_path(customer_id),
            body=body,
            request_id=request_id,
            correlation_id=correlation_id,
            operation=Operation.MIGRATION_CREATE,
        )
        return self._finish_write(answer, NewCommerceMigration, None)

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-new-commerce-migration
    def get_migration(
        self, customer_id: str, migration_id: str, *, correlation_id: str | None = None
    ) -> NewCommerceMigration:
        """Return one migration; ``state`` is completed, failed or in_progress."""
        return self._get(
            f"{self._migrations_path(customer_id)}/{seg(migration_id)}",
            NewCommerceMigration,
            correlation_id=correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/query-migrated-subscriptions
    def iter_migrations(
        self,
        *,
        customer_tenant_id: str | None = None,
        current_subscription_id: str | None = None,
        external_reference_id: str | None = None,
        page_size: int = 300,
        correlation_id: str | None = None,
    ) -> Iterator[NewCommerceMigration]:
        """Return an iterator over the migrations matching the filters (one needed)."""
        params = _filters(
            customer_tenant_id,
            current_subscription_id,
            external_reference_id,
            page_size,
        )
        return self._iter_header_pages(
            "/migrations/newcommerce", params, NewCommerceMigration, correlation_id
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-new-commerce-migration-events
    def list_migration_events(
        self,
        customer_id: str,
        *,
        migration_id: str | None = None,
        current_subscription_id: str | None = None,
        correlation_id: str | None = None,
    ) -> list[NewCommerceMigrationEvent]:
        """Return the events of a customer's migrations, optionally narrowed."""
        params: Params = []
        if migration_id:
            params.append(("migration_id", normalise_id(migration_id)))
        if current_subscription_id:
            params.append(
                ("current_subscription_id", normalise_id(current_subscription_id))
            )
        return list(
            self._iter_header_pages(
                f"{self._migrations_path(customer_id)}/events",
                params,
                NewCommerceMigrationEvent,
                correlation_id,
            )
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/schedule-a-new-commerce-migration
    def create_migration_schedule(
        self,
        customer_id: str,
        schedule: NewCommerceMigrationSchedule | Mapping[str, Any],
        request_id: str | uuid.UUID,
        *,
        correlation_id: str | None = None,
    ) -> NewCommerceMigrationSchedule:
        """Return the schedule created (201): a ``target_date`` or at renewal.

        Look for an existing schedule first (``iter_migration_schedules``) and
        update it rather than creating a second one.
        """
        request_id = self._require_request_id(request_id)
        body = normalise_body_ids(as_body(schedule, exclude=_READ_ONLY), _BODY_IDS)
        answer = self._call(
            "POST",
            f"{self._migrations_path(customer_id)}/schedules",
            body=body,
            request_id=request_id,
            correlation_id=correlation_id,
            operation=Operation.MIGRATION_SCHEDULE_CREATE,
        )
        return self._finish_write(answer, NewCommerceMigrationSchedule, None)

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/schedule-a-new-commerce-migration
    def update_migration_schedule(
        self,
        customer_id: str,
        schedule_id: str,
        schedule: NewCommerceMigrationSchedule | Mapping[str, Any],
        request_id: str | uuid.UUID,
        *,
        correlation_id: str | None = None,
    ) -> NewCommerceMigrationSchedule:
        """Return the schedule after replacing it (PUT)."""
        request_id = self._require_request_id(request_id)
        body = normalise_body_ids(as_body(schedule, exclude={"status"}), _BODY_IDS)
        answer = self._call(
            "PUT",
            f"{self._migrations_path(customer_id)}/schedules/{seg(schedule_id)}",
            body=body,
            request_id=request_id,
            correlation_id=correlation_id,
            operation=Operation.MIGRATION_SCHEDULE_UPDATE,
        )
        return self._finish_write(answer, NewCommerceMigrationSchedule, None)

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/schedule-a-new-commerce-migration
    def get_migration_schedule(
        self, customer_id: str, schedule_id: str, *, correlation_id: str | None = None
    ) -> NewCommerceMigrationSchedule:
        """Return one migration schedule."""
        return self._get(
            f"{self._migrations_path(customer_id)}/schedules/{seg(schedule_id)}",
            NewCommerceMigrationSchedule,
            correlation_id=correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/schedule-a-new-commerce-migration
    def iter_migration_schedules(
        self,
        *,
        customer_tenant_id: str | None = None,
        current_subscription_id: str | None = None,
        external_reference_id: str | None = None,
        page_size: int = 300,
        correlation_id: str | None = None,
    ) -> Iterator[NewCommerceMigrationSchedule]:
        """Return an iterator over the schedules matching the filters (one needed)."""
        params = _filters(
            customer_tenant_id,
            current_subscription_id,
            external_reference_id,
            page_size,
        )
        return self._iter_header_pages(
            "/migrations/newcommerce/schedules",
            params,
            NewCommerceMigrationSchedule,
            correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/schedule-a-new-commerce-migration
    def cancel_migration_schedule(
        self,
        customer_id: str,
        schedule_id: str,
        request_id: str | uuid.UUID,
        *,
        correlation_id: str | None = None,
    ) -> NewCommerceMigrationSchedule:
        """Return the schedule after cancelling it (POST ``…/cancel``, no body)."""
        request_id = self._require_request_id(request_id)
        path = f"{self._migrations_path(customer_id)}/schedules/{seg(schedule_id)}"
        answer = self._call(
            "POST",
            f"{path}/cancel",
            request_id=request_id,
            correlation_id=correlation_id,
            operation=Operation.MIGRATION_SCHEDULE_CANCEL,
        )
        return self._finish_write(answer, NewCommerceMigrationSchedule, path)
