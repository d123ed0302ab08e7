"""Helpers for migration tests: start from the plan, drive the worker, read the sandbox."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from migrations_app.domain.plan import migration_plan
from migrations_app.models import TERMINAL_STATES, Customer, Migration
from migrations_app.services.migrations import StartItem, migration_start
from migrations_app.tasks.migration import migration_advance
from migrations_app.workflow.enqueue import ADVANCE_TASK, TaskSend
from migrations_app.workflow.runner import StepReport, migration_run_step

CONTOSO = "Contoso Ltd"
FABRIKAM = "Fabrikam Inc"
NORTHWIND = "Northwind Traders"
TAILSPIN = "Tailspin Toys"
WIDE_WORLD = "Wide World Importers"
ADVENTURE_WORKS = "Adventure Works"
LITWARE = "Litware Small"


def restore_migration_data() -> None:
    """Write the rows the data migrations create, where they are missing.

    That is the role groups, the audit chain head and the SKU catalogue (migration
    0002, whose `forwards` only creates what does not exist), and the new-commerce
    mappings with every seeded target in its own alternative (0009). A transactional test
    empties every table when it ends. Serialized rollback does not reliably put the
    rows back: it keeps them on the connection object of the context that created
    the test database, and once Playwright's sync API runs an event loop in the
    test thread, ORM calls get another connection object that lacks them.
    """
    module = importlib.import_module(
        "migrations_app.migrations.0002_roles_and_sku_catalogue"
    )
    module.forwards(django_apps, None)
    module = importlib.import_module(
        "migrations_app.migrations.0009_seed_new_commerce_mappings"
    )
    module.forwards(django_apps, None)


@pytest.fixture
def catalogue(transactional_db: Any) -> None:
    """Make sure the SKU catalogue and role groups exist (request it before sync)."""
    restore_migration_data()


def customer(name: str) -> Customer:
    return Customer.objects.get(company_name=name)


def start(
    name: str,
    actor: Any,
    *,
    quantity: int | None = None,
    retire_mode: str = "suspend",
    target: str | None = None,
) -> list[Migration]:
    """Start the default plan for a customer, as the plan page would."""
    cust = customer(name)
    plan = migration_plan(customer=cust)
    items = []
    for item in plan.items:
        choice = item.choice(target) if target else item.default_target
        assert choice is not None and choice.offer is not None, item.choices
        items.append(
            StartItem(
                plan=item,
                target=choice,
                quantity=quantity or item.default_quantity,
                retire_mode=retire_mode,
            )
        )
    return migration_start(customer=cust, items=items, actor=actor)


def let_time_pass(migration: Migration) -> None:
    """Make a waiting migration due now, as if its next attempt time had come."""
    Migration.objects.filter(pk=migration.pk, next_attempt_at__isnull=False).update(
        next_attempt_at=timezone.now() - timedelta(milliseconds=1)
    )


def expire_lease(migration: Migration) -> None:
    """Let a claim's lease run out, as if its worker had died long ago."""
    Migration.objects.filter(pk=migration.pk, lease_expires_at__isnull=False).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def drive(
    migration: Migration,
    *,
    run: Callable[[int], Any] | None = None,
    max_claims: int = 300,
    until: Callable[[Migration], bool] | None = None,
) -> Migration:
    """Run the worker task until the migration is terminal (or `until` holds).

    Short waits (provisioning) are slept through; long ones (Retry-After,
    backoff) are skipped by moving `next_attempt_at` to now.
    """
    run = run or migration_advance
    for _ in range(max_claims):
        migration.refresh_from_db()
        if migration.state in TERMINAL_STATES or (until and until(migration)):
            return migration
        due = migration.next_attempt_at
        if due is not None and due > timezone.now():
            remaining = (due - timezone.now()).total_seconds()
            if remaining <= 0.5:
                time.sleep(remaining)
            else:
                let_time_pass(migration)
        run(migration.pk)
    raise AssertionError(f"Migration {migration.pk} did not settle: {migration.state}")


def step_once(migration: Migration, **kwargs: Any) -> StepReport:
    """Run exactly one claim of the worker (the service, not the task)."""
    return migration_run_step(migration_id=migration.pk, **kwargs)


# ---------------------------------------------------------------- the sandbox


def sandbox_customer(dump: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in dump["customers"] if c["companyName"] == name)


def sandbox_subscriptions(dump: dict[str, Any], name: str) -> list[dict[str, Any]]:
    cid = sandbox_customer(dump, name)["id"].lower()
    return [s for s in dump["subscriptions"] if s["customerId"].lower() == cid]


def sandbox_users(dump: dict[str, Any], name: str) -> list[dict[str, Any]]:
    cid = sandbox_customer(dump, name)["id"].lower()
    return [u for u in dump["users"] if u["customerId"].lower() == cid]


def sandbox_orders(dump: dict[str, Any], name: str) -> list[dict[str, Any]]:
    cid = sandbox_customer(dump, name)["id"].lower()
    return [o for o in dump["orders"] if o["customerId"].lower() == cid]


def scale_listing_delay(sandbox: Any, settings: Any, seconds: float = 1.0) -> None:
    """Make Partner Center's order listing delay (15 minutes) `seconds`, both sides."""
    settings.PARTNERHUB_ORDER_LISTING_DELAY_SECONDS = seconds
    sandbox.fidelity(order_listing_delay_seconds=seconds)


def orders_for_offer(
    dump: dict[str, Any], name: str, offer_id: str
) -> list[dict[str, Any]]:
    return [
        o
        for o in sandbox_orders(dump, name)
        if any(i["offerId"].lower() == offer_id.lower() for i in o["lineItems"])
    ]


def requests(
    dump: dict[str, Any], method: str | None = None, path_contains: str = ""
) -> list[dict[str, Any]]:
    """Return the sandbox's log of /v1 calls, filtered."""
    return [
        r
        for r in dump["requests"]
        if (method is None or r["method"] == method)
        and path_contains.lower() in r["path"].lower()
    ]


def v1_request_count(sandbox: Any) -> int:
    return len(sandbox.state()["requests"])


# ---------------------------------------------------------------- the broker


def advance_ids(callbacks: list[Any]) -> list[int]:
    """Return the migration ids of `migration_advance` sends among on-commit callbacks."""
    return [int(args[0]) for args, _ in task_sends(callbacks, ADVANCE_TASK)]


def task_sends(
    callbacks: list[Any], name: str
) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Return (args, kwargs) of each `delay` of task `name` among on-commit callbacks."""
    return [
        (tuple(callback.args), dict(callback.kwargs))
        for callback in callbacks
        if isinstance(callback, TaskSend) and callback.name == name
    ]
