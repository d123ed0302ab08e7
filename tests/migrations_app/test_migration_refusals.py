"""A step Partner Center refuses until someone grants something (the customer's
agreement): the failure says once what to do, and Retry then finishes the job."""

from __future__ import annotations

from typing import Any

from migrations_app.models import MigrationState
from migrations_app.services.sync import sync_run
from tests.migrations_app.migration_support import CONTOSO, customer, drive, start


def test_a_checkout_refused_for_the_customer_agreement_needs_customer_action(
    sandbox: Any, db: Any, admin_user: Any
) -> None:
    assert sync_run().status == "succeeded"
    contoso = customer(CONTOSO)
    sandbox.patch(f"/_sandbox/customers/{contoso.tenant_id}", {"mcaAccepted": False})
    [migration] = start(CONTOSO, admin_user)

    waiting = drive(migration)

    assert waiting.state == MigrationState.NEEDS_CUSTOMER_ACTION
    text = waiting.customer_action
    assert "has not accepted the Microsoft Customer Agreement (code 13605)" in text
    assert "POST /customers/{id}/agreements" in text
    assert text.endswith("Nothing was bought.")
    assert waiting.error_code == "13605"
    assert not waiting.bought

    sandbox.patch(f"/_sandbox/customers/{contoso.tenant_id}", {"mcaAccepted": True})
    [again] = start(CONTOSO, admin_user)
    assert drive(again).state == MigrationState.COMPLETED
