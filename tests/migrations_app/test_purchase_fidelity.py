"""Purchases keep their promises under every answer the sandbox can play (issue 18).

Each test runs against the strictest sandbox unless it names another answer:
a repeated MS-RequestId is a new request, new orders are listed late, the
friendlyName is not copied, order ids are mixed case and matched as given, a
second checkout is refused (800064 while processed, 800065 after), and an
ordered cart does not list its orders.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from migrations_app.models import AuditEvent, Migration, PendingWrite
from migrations_app.models.writes import pending_writes_close_stale
from migrations_app.services.migrations import migration_cancel
from tests.migrations_app.migration_support import (
    CONTOSO,
    catalogue,  # noqa: F401
    drive,
    orders_for_offer,
    requests,
    sandbox_customer,
    scale_listing_delay,
    start,
    step_once,
)

PROSEWARE = "Proseware Inc"

# (de-duplication, cart order ids, repeated checkout, friendlyName copy)
CART_ANSWERS = [
    ("off", "absent", "error", "dropped"),
    ("replay", "shown", "replay", "copied"),
    ("conflict", "absent", "replay", "dropped"),
    ("off", "shown", "error", "copied"),
]


def _applied(dump: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    return [w for w in dump["writes"] if w["path"].endswith(suffix)]


def _events(request_id: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action="partner_center.write", pc_request_id=request_id
        )
    )


@pytest.mark.parametrize(("dedup", "order_ids", "repeat", "copy"), CART_ANSWERS)
def test_a_lost_checkout_answer_is_adopted_from_its_cart_and_never_bought_twice(
    synced: Any,
    sandbox: Any,
    operator: Any,
    settings: Any,
    dedup: str,
    order_ids: str,
    repeat: str,
    copy: str,
) -> None:
    sandbox.fidelity(
        duplicate_request_id=dedup,
        cart_order_ids=order_ids,
        checkout_repeat=repeat,
        friendly_name_copy=copy,
    )
    scale_listing_delay(sandbox, settings)
    [migration] = start(PROSEWARE, operator)
    sandbox.fault(method="POST", path=r"/checkout$", action="drop_response")

    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    [checkout] = _applied(dump, "/checkout")
    assert [e.outcome for e in _events(checkout["ms_request_id"])] == ["success"]
    assert migration.cart_id and migration.purchase_request_id
    cid = sandbox_customer(dump, PROSEWARE)["id"].lower()
    orders = [o for o in dump["orders"] if o.get("cartId")]
    assert len([o for o in orders if o["customerId"].lower() == cid]) == 1
    assert migration.order_id == orders[0]["id"]
    assert len({t.new_subscription_id for t in migration.targets.all()}) == 2
    assert not PendingWrite.objects.filter(migration_id=migration.pk).exists()


def test_800064_means_wait_and_800065_means_bought_never_a_refusal(
    synced: Any, sandbox: Any, operator: Any, settings: Any
) -> None:
    scale_listing_delay(sandbox, settings)
    [migration] = start(PROSEWARE, operator)
    sandbox.fault(method="POST", path=r"/checkout$", action="drop_response")
    migration = drive(migration, until=lambda m: bool(m.purchase_sent_at))
    # As if nothing recorded that the checkout went out: the cart is checked out again.
    Migration.objects.filter(pk=migration.pk).update(
        purchase_sent_at=None, next_attempt_at=None
    )

    report = step_once(migration)
    migration.refresh_from_db()
    assert migration.state == "purchase" and migration.cart_id, report
    sandbox.post("/_sandbox/clock", {"seconds": 31})
    Migration.objects.filter(pk=migration.pk).update(purchase_sent_at=None)
    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    codes = [r["status"] for r in requests(sandbox.state(), "POST", "/checkout")]
    assert codes == [201, 409, 400]
    assert len(_applied(sandbox.state(), "/checkout")) == 1
    assert AuditEvent.objects.filter(
        action="migration.purchase_adopted", migration_id=migration.pk
    ).exists()


def test_a_lost_legacy_order_is_not_sent_again_and_the_step_says_what_to_check(
    synced: Any, sandbox: Any, operator: Any, settings: Any
) -> None:
    scale_listing_delay(sandbox, settings)
    [migration] = start(CONTOSO, operator)
    sandbox.fault(method="POST", path=r"/orders$", action="drop_response")

    migration = drive(migration)

    dump = sandbox.state()
    [order] = orders_for_offer(dump, CONTOSO, migration.target_offer_id)
    assert len(requests(dump, "POST", "/orders")) == 1
    assert migration.state == "failed"
    assert order["id"] in migration.error_message
    assert "cannot be proven" in migration.error_message
    assert "open the customer's orders" in migration.error_message
    assert migration.purchase_request_id is not None


def test_a_lost_legacy_order_waits_for_the_listing_delay_before_anything_else(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    sandbox.fault(method="POST", path=r"/orders$", action="drop_response")
    step_once(migration)

    for _ in range(3):
        Migration.objects.filter(pk=migration.pk).update(next_attempt_at=None)
        step_once(migration)

    migration.refresh_from_db()
    assert migration.state == "purchase" and not migration.order_id
    assert len(requests(sandbox.state(), "POST", "/orders")) == 1
    assert migration.next_attempt_at is not None


def test_a_legacy_order_id_is_kept_as_given_and_its_subscription_found(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)

    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    [order] = orders_for_offer(sandbox.state(), CONTOSO, migration.target_offer_id)
    assert migration.order_id == order["id"] != order["id"].lower()


def test_a_lost_cart_answer_gets_its_one_audit_event(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(PROSEWARE, operator)
    sandbox.fault(method="POST", path=r"/carts$", action="drop_response")

    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    carts = _applied(sandbox.state(), "/carts")
    assert len(carts) == 2
    lost, used = (_events(c["ms_request_id"]) for c in carts)
    assert [e.outcome for e in lost] == ["unknown"]
    assert "buys nothing" in lost[0].message
    assert [e.outcome for e in used] == ["success"]
    assert not PendingWrite.objects.filter(migration_id=migration.pk).exists()


def test_the_stale_closer_never_calls_a_write_not_applied_and_spares_live_ones(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [live] = start(CONTOSO, operator)
    [ended] = start(PROSEWARE, operator)
    migration_cancel(migration=ended, actor=operator)
    for number, m in enumerate((live, ended)):
        PendingWrite.objects.create(
            request_id=f"stale-{number}",
            method="POST",
            path="/customers/x/orders",
            migration_id=m.pk,
        )
    PendingWrite.objects.update(created_at=timezone.now() - timedelta(hours=7))

    closed = pending_writes_close_stale(older_than=timedelta(hours=6))

    assert closed == 1
    assert PendingWrite.objects.filter(request_id="stale-0").exists()
    [event] = _events("stale-1")
    assert event.outcome == "unknown"


@pytest.mark.parametrize("name", [CONTOSO, PROSEWARE])
def test_the_reference_leaves_the_name_the_customer_sees_once_recorded(
    synced: Any, sandbox: Any, operator: Any, name: str
) -> None:
    sandbox.fidelity(friendly_name_copy="copied")
    [migration] = start(name, operator)
    # The first rename's answer is lost: the next read settles it.
    sandbox.fault(
        method="PATCH", path=r"/subscriptions/[^/]+$", action="drop_response", count=1
    )

    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    bought = {t.new_subscription_id for t in migration.targets.all()}
    names = [s["friendlyName"] for s in dump["subscriptions"] if s["id"] in bought]
    assert names and all("(PH-" not in n for n in names), names
    renames = [w for w in dump["writes"] if w["method"] == "PATCH"]
    renamed = [w for w in renames if w["path"].split("/")[-1] in bought]
    assert len(renamed) == len(bought)
    for write in renamed:
        assert [e.outcome for e in _events(write["ms_request_id"])] == ["success"]
