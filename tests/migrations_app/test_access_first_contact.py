"""First contact with a strict Partner Center: GDAP gaps, refusals as the field
reports them, the customer agreement and read-only mode.

Each test runs against the sandbox over real HTTP, reseeded with every scenario
customer (Wingtip Toys' GDAP relationship grants only Billing Administrator;
Woodgrove Bank has no Microsoft Customer Agreement recorded).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from migrations_app.domain.plan import migration_plan
from migrations_app.models import AuditEvent, Customer, MigrationState, Subscription
from migrations_app.services.migrations import MigrationNotAllowed
from migrations_app.services.sync import sync_run
from partner_center.config import clear_shared_clients
from tests.migrations_app.migration_support import CONTOSO, customer, drive, start

WINGTIP = "Wingtip Toys"
WOODGROVE = "Woodgrove Bank"
SKU_ROLES = ("Directory Readers", "Global Reader", "User Administrator")


@pytest.fixture
def strict(sandbox: Any, db: Any) -> Iterator[Any]:
    """Return the sandbox with every scenario customer; restore its settings."""
    sandbox.reset(20, 7)
    yield sandbox
    sandbox.settings(gdap_refusal="no_code", mfa_refusal="partner_center")


@pytest.fixture
def read_only(settings: Any) -> Iterator[None]:
    """Turn PARTNER_CENTER_READ_ONLY on (and the shared client with it)."""
    clear_shared_clients()
    settings.PARTNER_CENTER_READ_ONLY = True
    yield
    clear_shared_clients()


# --------------------------------------------------------------------- row 4, 5


@pytest.mark.parametrize("style", ["no_code", "access_denied", "no_relationship"])
def test_a_customer_without_directory_roles_keeps_its_subscriptions_synced(
    strict: Any, style: str
) -> None:
    strict.settings(gdap_refusal=style)

    run = sync_run()

    wingtip = customer(WINGTIP)
    assert run.status == "succeeded", run.error
    assert wingtip.sync_error == ""
    assert Subscription.objects.filter(customer=wingtip).exists()
    assert wingtip.gdap_missing
    if style != "no_relationship":
        for role in SKU_ROLES:
            assert role in wingtip.gdap_missing
    # Every other customer is read in full.
    assert customer(CONTOSO).gdap_missing == ""


def test_a_purchase_refused_as_no_relationship_is_not_called_unavailable(
    strict: Any, admin_user: Any
) -> None:
    sync_run()
    contoso = customer(CONTOSO)
    [migration] = start(CONTOSO, admin_user)
    strict.patch(
        f"/_sandbox/customers/{contoso.tenant_id}", {"relationshipRemoved": True}
    )

    failed = drive(migration)

    assert failed.state == MigrationState.FAILED
    assert "no relationship" in failed.error_message
    assert "not available for purchase" not in failed.error_message
    assert "another target" not in failed.error_message
    assert not failed.bought


# ------------------------------------------------------------------------- row 8


def test_the_sync_records_whether_a_customer_agreement_is_recorded(
    strict: Any,
) -> None:
    run = sync_run()

    assert run.status == "succeeded", run.error
    assert customer(WOODGROVE).agreement_recorded is False
    assert customer(CONTOSO).agreement_recorded is True
    assert customer(WOODGROVE).agreement_checked_at is not None


def test_the_plan_warns_before_start_when_no_customer_agreement_is_recorded(
    strict: Any,
) -> None:
    sync_run()

    plan = migration_plan(customer=customer(WOODGROVE))
    warnings = [w for item in plan.items for w in item.warnings]

    assert plan.items
    [warning] = [w for w in warnings if "Microsoft Customer Agreement" in w]
    assert "13605" in warning
    assert "accepts it" in warning and "attests" in warning
    assert "POST /customers/{id}/agreements" in warning


def test_a_recorded_agreement_is_not_read_again_and_an_attested_one_is_seen(
    strict: Any,
) -> None:
    sync_run()
    woodgrove = customer(WOODGROVE)
    before = len(strict.state()["requests"])
    # The partner attests the customer's acceptance (the sandbox records it).
    strict.patch(f"/_sandbox/customers/{woodgrove.tenant_id}", {"mcaAccepted": True})

    sync_run()

    reads = [
        r
        for r in strict.state()["requests"][before:]
        if r["path"].endswith("/agreements")
    ]
    assert customer(WOODGROVE).agreement_recorded is True
    # Only the customer without one was asked again.
    assert {r["path"] for r in reads} == {
        f"/v1/customers/{woodgrove.tenant_id}/agreements"
    }


# ---------------------------------------------------------------------- item 4


def test_read_only_mode_refuses_the_purchase_before_sending_it_and_audits_it(
    strict: Any, admin_user: Any, settings: Any
) -> None:
    sync_run()
    [migration] = start(CONTOSO, admin_user)
    clear_shared_clients()
    settings.PARTNER_CENTER_READ_ONLY = True
    before = len(strict.state()["requests"])

    try:
        stopped = drive(migration)
    finally:
        clear_shared_clients()

    sent = [r["method"] for r in strict.state()["requests"][before:]]
    assert stopped.state == MigrationState.FAILED
    assert "read-only mode" in stopped.error_message
    assert set(sent) <= {"GET"}
    assert not stopped.bought
    refused = AuditEvent.objects.filter(action="partner_center.write_refused")
    assert refused.count() == 1
    assert refused.get().outcome == "denied"
    assert refused.get().migration_id == migration.pk


def test_read_only_mode_syncs_plans_and_refuses_to_start(
    strict: Any, admin_user: Any, read_only: None
) -> None:
    run = sync_run()

    assert run.status == "succeeded", run.error
    assert migration_plan(customer=customer(CONTOSO)).items
    with pytest.raises(MigrationNotAllowed, match="read-only mode"):
        start(CONTOSO, admin_user)


def test_every_write_button_is_disabled_with_the_reason_in_read_only_mode(
    strict: Any, admin_user: Any, read_only: None
) -> None:
    sync_run()
    web = Client()
    web.force_login(admin_user)
    contoso = customer(CONTOSO)

    page = web.get(reverse("migration_plan", args=[contoso.tenant_id])).content.decode()

    assert "PARTNER_CENTER_READ_ONLY=1" in page
    assert 'disabled aria-describedby="read-only-reason"' in page
    assert '<button type="submit" class="btn btn-primary">Start migration' not in page


def test_the_settings_page_gives_the_first_contact_report_per_customer(
    strict: Any, admin_user: Any, django_assert_max_num_queries: Any
) -> None:
    sync_run()
    web = Client()
    web.force_login(admin_user)

    with django_assert_max_num_queries(12):
        page = web.get(reverse("settings_page")).content.decode()

    assert "First contact report" in page
    wingtip, woodgrove = customer(WINGTIP), customer(WOODGROVE)
    wingtip_row = page[page.index(f'data-tenant="{wingtip.tenant_id}"') :]
    wingtip_row = wingtip_row[: wingtip_row.index("</tr>")]
    assert "refused (GDAP)" in wingtip_row and "Global Reader" in wingtip_row
    woodgrove_row = page[page.index(f'data-tenant="{woodgrove.tenant_id}"') :]
    woodgrove_row = woodgrove_row[: woodgrove_row.index("</tr>")]
    assert "not recorded" in woodgrove_row and "13605" in woodgrove_row
    assert Customer.objects.count() == 20
