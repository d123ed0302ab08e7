"""A step Partner Center refuses until someone grants something (the customer's
agreement): the failure says once what to do, and Retry then finishes the job."""

from __future__ import annotations

from typing import Any

from migrations_app.models import MigrationState
from migrations_app.services.migrations.actions import migration_retry
from migrations_app.services.sync import sync_run
from tests.migrations_app.migration_support import CONTOSO, customer, drive, start


def test_a_purchase_refused_for_the_customer_agreement_says_once_to_try_again(
    sandbox: Any, db: Any, admin_user: Any
) -> None:
    assert sync_run().status == "succeeded"
    contoso = customer(CONTOSO)
    sandbox.patch(f"/_sandbox/customers/{contoso.tenant_id}", {"mcaAccepted": False})
    [migration] = start(CONTOSO, admin_user)

    failed = drive(migration)

    assert failed.state == MigrationState.FAILED
    text = failed.error_message
    assert "has not accepted the Microsoft Customer Agreement (code 13605)" in text
    assert text.endswith("Then try again. Nothing was changed by this step.")
    assert "retry" not in text.lower()

    sandbox.patch(f"/_sandbox/customers/{contoso.tenant_id}", {"mcaAccepted": True})
    retried = drive(migration_retry(migration=failed, actor=admin_user))
    assert retried.state == MigrationState.COMPLETED, retried.error_message
