"""What audit_record reads from a Partner Center write's path."""

from __future__ import annotations

import pytest

from migrations_app.services.audit import audit_record
from partner_center.client import CallRecord

pytestmark = pytest.mark.django_db

TENANT = "c03e99dd-499b-515c-8c69-353463dc0256"


def _write(path: str) -> CallRecord:
    return CallRecord(
        method="POST",
        path=path,
        status=201,
        request_id="59c0c8d6-3661-4373-87dc-73d1f99bfb8a",
        correlation_id="",
        duration_ms=12,
        error_code=None,
        is_write=True,
    )


def test_the_invitation_link_fetch_is_not_attributed_to_a_customer() -> None:
    event = audit_record(
        action="partner_center.write", call=_write("/customers/relationshiprequests")
    )

    assert event.customer_tenant_id == ""


def test_a_write_under_a_tenant_is_attributed_to_it_with_its_user() -> None:
    event = audit_record(
        action="partner_center.write",
        call=_write(f"/customers/{TENANT.upper()}/users/u-1/licenseupdates"),
    )

    assert event.customer_tenant_id == TENANT
    assert event.target_user_id == "u-1"
