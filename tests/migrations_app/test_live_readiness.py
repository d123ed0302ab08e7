"""Ready for a live Partner Center: tokens that last, MFA, GDAP, indirect resellers,
licences from other channels, and a live mode that refuses to start half set up.

Each test runs against the sandbox over real HTTP.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django.urls import reverse

from migrations_app.domain.plan import migration_plan
from migrations_app.models import (
    Customer,
    CustomerUser,
    Migration,
    Subscription,
    connection,
)
from migrations_app.models.secrets import REFRESH_TOKEN_STORE, StoredSecret
from migrations_app.services.migrations import MigrationNotAllowed
from migrations_app.services.sync import sync_run
from migrations_app.workflow.pc import partner_center_client
from partner_center.config import clear_shared_clients
from tests.migrations_app.migration_support import (
    CONTOSO,
    customer,
    drive,
    requests,
    sandbox_subscriptions,
    start,
)

WINGTIP = "Wingtip Toys"
RELECLOUD = "Relecloud"
HUMONGOUS = "Humongous Insurance"


# A new consent per run: the sandbox remembers how each refresh token was issued.
def consent() -> str:
    """Return a new consent's refresh token (a used one is rotated away)."""
    return f"sbx-refresh.{uuid.uuid4().hex}"


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    """Start and end without any worker's shared client (as a new process)."""
    clear_shared_clients()
    connection._written.clear()
    yield
    clear_shared_clients()
    connection._written.clear()


@pytest.fixture
def every_scenario(sandbox: Any, db: Any) -> Any:
    """Return the sandbox reseeded with all 20 scenario customers, synced."""
    sandbox.reset(20, 7)
    run = sync_run()
    assert run.customers_seen == 20, run.error
    return sandbox


# ------------------------------------------------------------------------- tokens


def test_200_calls_across_worker_restarts_use_one_refresh_token_chain(
    settings: Any, db: Any, fresh_clients: None
) -> None:
    from sandbox.server import start_sandbox

    log = io.StringIO()
    server = start_sandbox(
        port=0,
        customers=3,
        seed=7,
        log_requests=True,
        log_stream=log,
        refresh_token_grace_seconds=0,
        rate_limit_per_minute=100_000,
    )
    try:
        settings.PARTNER_CENTER_MODE = "sandbox"
        settings.PARTNER_CENTER_API_URL = f"{server.url}/v1"
        settings.PARTNER_CENTER_TOKEN_URL = (
            f"{server.url}/{settings.PARTNER_CENTER_TENANT_ID}/oauth2/token"
        )
        settings.PARTNER_CENTER_CLIENT_ID = "sandbox-app"
        settings.PARTNER_CENTER_CLIENT_SECRET = "sandbox-secret"
        settings.PARTNER_CENTER_REFRESH_TOKEN = first = consent()
        with server.state.lock:
            tenant = next(iter(server.state.customers))
        for step in range(200):
            if step % 20 == 0:
                # A new worker process: nothing in memory but the stored token.
                clear_shared_clients()
            pc = partner_center_client()
            try:
                if step % 2:
                    pc.list_subscriptions(tenant)  # app-only
                else:
                    pc.list_subscribed_skus(tenant)  # app+user
            finally:
                pc.close()
    finally:
        server.stop()

    token_lines = [line for line in log.getvalue().splitlines() if "/oauth2/" in line]
    assert all(" 200 " in line for line in token_lines), token_lines
    # One app and one app+user token per process: access tokens are cached.
    assert len(token_lines) == 20
    row = StoredSecret.objects.get()
    assert "sbx-refresh." not in row.ciphertext
    stored = REFRESH_TOKEN_STORE.load()
    assert stored and stored.startswith("sbx-refresh.") and stored != first


def test_an_mfa_refusal_shows_on_settings_and_app_only_work_goes_on(
    sandbox: Any,
    settings: Any,
    db: Any,
    admin_user: Any,
    fresh_clients: None,
) -> None:
    settings.PARTNER_CENTER_REFRESH_TOKEN = f"sbx-refresh.{uuid.uuid4().hex}"
    sandbox.settings(require_mfa=True, user_tokens_mfa=False)
    try:
        run = sync_run()
    finally:
        sandbox.settings(require_mfa=False, user_tokens_mfa=True)

    # Customers and subscriptions are app-only: they were read.
    assert run.customers_seen == 12
    contoso = customer(CONTOSO)
    assert "multi-factor authentication" in contoso.sync_error
    client = Client()
    client.force_login(admin_user)
    page = client.get(reverse("settings_page")).content.decode()
    assert "App+user sign-in lacks MFA" in page
    assert "Last successful app-only call" in page
    assert "enable-secure-app-model" in page
    section = page.split('id="connection-health"')[1].split("</section>")[0]
    assert 'pill-bad">missing' in section


def test_the_settings_page_shows_a_healthy_connection(
    synced: Any, settings: Any, admin_user: Any, fresh_clients: None
) -> None:
    settings.PARTNER_CENTER_REFRESH_TOKEN = consent()
    sync_run()
    client = Client()
    client.force_login(admin_user)
    page = client.get(reverse("settings_page")).content.decode()
    section = page.split('id="connection-health"')[1].split("</section>")[0]
    assert "none recorded" not in section
    assert 'pill-ok">present' in section
    assert "stored encrypted" in section
    assert "needs an admin" not in section


# --------------------------------------------------------------------------- GDAP


def test_a_gdap_refusal_keeps_the_subscriptions_and_start_refuses_the_customer(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    contoso = customer(CONTOSO)
    sandbox.patch(
        f"/_sandbox/customers/{contoso.tenant_id}",
        {"gdapRoles": ["Billing Administrator"]},
    )
    subscriptions = Subscription.objects.filter(customer=contoso).count()

    sync_run()

    contoso.refresh_from_db()
    assert contoso.sync_error == ""
    assert "License Administrator" in contoso.gdap_missing
    assert Subscription.objects.filter(customer=contoso).count() == subscriptions > 0
    [item] = migration_plan(customer=contoso).items
    assert any("GDAP" in note for note in item.warnings)
    before = len(sandbox.state()["requests"])
    with pytest.raises(MigrationNotAllowed, match="GDAP"):
        start(CONTOSO, operator)
    assert not Migration.objects.exists()
    assert len(sandbox.state()["requests"]) == before  # nothing sent, nothing bought


def test_the_customer_page_and_plan_say_what_gdap_lacks(
    every_scenario: Any, client: Client, operator: Any
) -> None:
    wingtip = Customer.objects.get(company_name=WINGTIP)
    assert wingtip.gdap_missing
    assert Subscription.objects.filter(customer=wingtip).count() == 1
    assert not CustomerUser.objects.filter(customer=wingtip).exists()
    client.force_login(operator)
    page = client.get(
        reverse("customer_detail", args=[wingtip.tenant_id])
    ).content.decode()
    assert "refused to list this customer's users (GDAP)" in page
    plan = client.get(reverse("migration_plan", args=[wingtip.tenant_id]))
    assert "Start is refused until the customer grants access" in plan.content.decode()


# -------------------------------------------------------------- indirect resellers


def test_an_indirect_resellers_subscription_migrates_and_is_retired_by_partnerhub(
    every_scenario: Any, operator: Any, client: Client
) -> None:
    humongous = Customer.objects.get(company_name=HUMONGOUS)
    client.force_login(operator)
    page = client.get(
        reverse("customer_detail", args=[humongous.tenant_id])
    ).content.decode()
    assert "Reseller 6655443" in page

    [migration] = start(HUMONGOUS, operator)
    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    dump = every_scenario.state()
    assert {r["status"] for r in requests(dump, "PATCH")} <= {200}
    assert requests(dump, "PATCH")
    subs = {s["id"].lower(): s for s in sandbox_subscriptions(dump, HUMONGOUS)}
    old = subs[migration.source_subscription.subscription_id]
    assert old["status"] == "deleted" or old["autoRenewEnabled"] is False
    bought = [t.new_subscription_id for t in migration.targets.all()]
    assert bought and all(subs[b]["partnerId"] == "6655443" for b in bought)


def test_a_configured_indirect_reseller_is_set_on_the_order(
    synced: Any, sandbox: Any, operator: Any, settings: Any
) -> None:
    settings.PARTNER_CENTER_INDIRECT_RESELLER_ID = "7766554"
    [migration] = start(CONTOSO, operator)
    migration = drive(migration)
    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    new = migration.new_subscription_id
    [sub] = [s for s in sandbox_subscriptions(dump, CONTOSO) if s["id"].lower() == new]
    assert sub["partnerId"] == "7766554"


# ------------------------------------------------------------------ other channels


def test_other_channel_licences_are_shown_and_the_customer_is_told_what_to_do(
    every_scenario: Any, operator: Any, client: Client
) -> None:
    relecloud = Customer.objects.get(company_name=RELECLOUD)
    client.force_login(operator)
    page = client.get(
        reverse("customer_detail", args=[relecloud.tenant_id])
    ).content.decode()
    assert "8 bought through another channel" in page  # E3: 18 active, ours 10
    assert "5 bought through another channel" in page  # Exchange Online (Plan 1)

    plan = migration_plan(customer=relecloud)
    assert "Relecloud also holds licences bought through another channel" in (
        plan.customer_instruction
    )
    plan_page = client.get(
        reverse("migration_plan", args=[relecloud.tenant_id])
    ).content.decode()
    assert "What the customer must do afterwards" in plan_page
    assert "not refunded" in plan_page

    [migration] = start(RELECLOUD, operator)
    migration = drive(migration)
    assert migration.state == "completed", migration.error_message
    assert "8 Microsoft 365 E3" in migration.customer_action
    page = client.get(
        reverse("customer_detail", args=[relecloud.tenant_id])
    ).content.decode()
    assert "The customer must still act." in page


# ----------------------------------------------------------------------- live mode


def test_live_mode_without_its_settings_fails_the_system_check(
    settings: Any, db: Any
) -> None:
    settings.PARTNER_CENTER_MODE = "live"
    settings.PARTNER_CENTER_TENANT_ID = "00000000-0000-0000-0000-00000000c5b0"
    settings.PARTNER_CENTER_CLIENT_ID = ""
    settings.PARTNER_CENTER_CLIENT_SECRET = ""
    settings.PARTNER_CENTER_REFRESH_TOKEN = ""
    settings.PARTNERHUB_SECRETS_KEY = "not-a-key"
    settings.PARTNER_CENTER_OWN_PARTNER_IDS = ["4847383"]
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    for code in (
        "migrations_app.E001",
        "migrations_app.E002",
        "migrations_app.E003",
        "migrations_app.E004",
        "migrations_app.E005",
    ):
        assert code in str(raised.value)
    assert "migrations_app.E006" in str(raised.value)

    settings.PARTNER_CENTER_TENANT_ID = "6b1e2a4c-1111-4222-8333-944455556666"
    settings.PARTNER_CENTER_CLIENT_ID = "app"
    settings.PARTNER_CENTER_CLIENT_SECRET = "secret"
    settings.PARTNER_CENTER_REFRESH_TOKEN = "token"
    settings.PARTNERHUB_SECRETS_KEY = "dGVzdC1zZWNyZXRzLWtleS1ub3Qtc2VjcmV0LTAxMjM="
    settings.PARTNER_CENTER_OWN_PARTNER_IDS = ["1234567"]
    call_command("check")
