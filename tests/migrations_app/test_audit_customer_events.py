"""The Activity card on a customer's page: Partner Center writes in plain words."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext

from migrations_app.models import Customer, Migration, Outcome, RetireMode
from migrations_app.selectors.activity import customer_activity
from migrations_app.services.audit import audit_record
from partner_center.client import CallRecord
from tests.factories import CustomerFactory, CustomerUserFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

TENANT = "c03e99dd-499b-515c-8c69-353463dc0256"


def _write(method: str, path: str, status: int = 201) -> CallRecord:
    return CallRecord(
        method=method,
        path=path,
        status=status,
        request_id=str(uuid.uuid4()),
        correlation_id="",
        duration_ms=10,
        error_code=None,
        is_write=True,
    )


def _migration(customer: Customer, retire_mode: str) -> Migration:
    return Migration.objects.create(
        customer=customer,
        source_subscription=SubscriptionFactory(customer=customer),
        source_offer_id="old-offer",
        target_offer_id="new-offer",
        target_offer_name="Dynamics 365 for Unified Operations",
        quantity=3,
        retire_mode=retire_mode,
    )


def _pc_write(
    migration: Migration | None, method: str, path: str, **kwargs: Any
) -> None:
    audit_record(
        action="partner_center.write",
        customer_tenant_id=TENANT,
        migration_id=migration.pk if migration else None,
        message=f"{method} {path}",
        call=_write(method, path),
        **kwargs,
    )


def _move_licences(customer: Customer, migration: Migration, users: int) -> list[Any]:
    people = [
        CustomerUserFactory(customer=customer, display_name=f"Person {n}")
        for n in range(users)
    ]
    for person in people:
        _pc_write(
            migration,
            "POST",
            f"/customers/{TENANT}/users/{person.user_id}/licenseupdates",
        )
    return people


def _render(customer: Customer) -> str:
    """Render the customer page's Activity card as its view does."""
    return render_to_string(
        "customers/detail.html#activity",
        {
            "customer": customer,
            "activity": customer_activity(tenant_id=customer.tenant_id),
        },
    )


def test_a_migrations_writes_read_as_plain_words_with_the_request_id_underneath() -> (
    None
):
    customer = CustomerFactory(tenant_id=TENANT, company_name="Contoso")
    migration = _migration(customer, RetireMode.SUSPEND)
    _pc_write(migration, "POST", f"/customers/{TENANT}/orders")
    person = _move_licences(customer, migration, 1)[0]
    _pc_write(migration, "PATCH", f"/customers/{TENANT}/subscriptions/s-1")
    expiring = _migration(customer, RetireMode.EXPIRE)
    _pc_write(expiring, "PATCH", f"/customers/{TENANT}/subscriptions/s-2")

    html = _render(customer)

    assert "Order placed" in html
    assert f"Licence moved for {person.display_name}" in html
    assert "Subscription suspended" in html
    assert "Auto-renew turned off" in html
    assert f"/customers/{TENANT}/orders</" not in html  # no raw path as text
    assert "MS-RequestId" in html
    assert f'href="/audit/?customer={TENANT}"' in html


def test_licence_moves_share_one_row_so_the_human_events_stay_in_the_window() -> None:
    customer = CustomerFactory(tenant_id=TENANT, company_name="Contoso")
    migration = _migration(customer, RetireMode.SUSPEND)
    audit_record(
        action="migration.started",
        actor_label="operator",
        customer_tenant_id=TENANT,
        migration_id=migration.pk,
        message="Started moving Dynamics AX Enterprise",
    )
    for n in range(12):
        audit_record(
            action="migration.step_completed",
            customer_tenant_id=TENANT,
            migration_id=migration.pk,
            message=f"Step {n} done",
        )
    people = _move_licences(customer, migration, 12)
    audit_record(
        action="migration.completed",
        customer_tenant_id=TENANT,
        migration_id=migration.pk,
        message="Moved Dynamics AX Enterprise",
    )

    html = _render(customer)

    assert "Licences moved for 12 users" in html
    assert all(person.display_name in html for person in people)
    assert "Started moving Dynamics AX Enterprise" in html


def test_a_failed_licence_move_is_not_grouped_with_the_ones_that_worked() -> None:
    customer = CustomerFactory(tenant_id=TENANT, company_name="Contoso")
    migration = _migration(customer, RetireMode.SUSPEND)
    _move_licences(customer, migration, 2)
    failed = CustomerUserFactory(
        customer=customer, display_name="", user_principal_name="ann@contoso.example"
    )
    _pc_write(
        migration,
        "POST",
        f"/customers/{TENANT}/users/{failed.user_id}/licenseupdates",
        outcome=Outcome.FAILURE,
    )

    html = _render(customer)

    assert "Licence move failed for ann@contoso.example" in html
    assert "Licences moved for 2 users" in html


def test_the_activity_card_query_count_does_not_grow_with_its_events() -> None:
    customer = CustomerFactory(tenant_id=TENANT, company_name="Contoso")
    migration = _migration(customer, RetireMode.SUSPEND)
    _move_licences(customer, migration, 2)
    _pc_write(migration, "PATCH", f"/customers/{TENANT}/subscriptions/s-1")
    with CaptureQueriesContext(connection) as small:
        _render(customer)

    other = _migration(customer, RetireMode.EXPIRE)
    _move_licences(customer, other, 15)
    _pc_write(other, "POST", f"/customers/{TENANT}/orders")
    _pc_write(other, "PATCH", f"/customers/{TENANT}/subscriptions/s-2")
    with CaptureQueriesContext(connection) as large:
        _render(customer)

    assert len(small.captured_queries) == len(large.captured_queries)
