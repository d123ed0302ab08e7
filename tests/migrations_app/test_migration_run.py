"""The migration worker against the sandbox over HTTP: steps, retries, invariants."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.db import connection
from django.utils import timezone

from migrations_app.models import (
    TERMINAL_STATES,
    AuditEvent,
    LicenseMove,
    Migration,
    Subscription,
    SyncRun,
)
from migrations_app.selectors.migrations import migration_cards
from migrations_app.services.migrations import STALE_AFTER, migration_retry
from migrations_app.services.sync import sync_run
from migrations_app.tasks.migration import migration_advance, requeue_due_migrations
from migrations_app.workflow.enqueue import enqueue_advance
from migrations_app.workflow.lease import migration_claim
from migrations_app.workflow.pc import RATE_LIMIT_KEY, partner_center_client
from migrations_app.workflow.runner import migration_run_step
from migrations_app.workflow.settings import MAX_TRANSIENT_ATTEMPTS
from tests.migrations_app.migration_support import (
    CONTOSO,
    FABRIKAM,
    LITWARE,
    NORTHWIND,
    TAILSPIN,
    WIDE_WORLD,
    advance_ids,
    catalogue,  # noqa: F401
    customer,
    drive,
    expire_lease,
    let_time_pass,
    orders_for_offer,
    requests,
    sandbox_subscriptions,
    sandbox_users,
    scale_listing_delay,
    start,
    step_once,
    v1_request_count,
)


@pytest.fixture(autouse=True)
def _fast_polls(settings: Any) -> None:
    settings.PARTNERHUB_PROVISIONING_POLL_SECONDS = 0.1


def test_it_moves_contoso_to_the_new_sku_and_suspends_the_old_one(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration)
    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    subs = {s["id"]: s for s in sandbox_subscriptions(dump, CONTOSO)}
    new = subs[migration.new_subscription_id]
    old = subs[migration.source_subscription.subscription_id]
    assert new["status"] == "active" and new["quantity"] >= 12
    assert old["status"] == "suspended"
    planned = set(migration.license_moves.values_list("user_id", flat=True))
    assert len(planned) == 12
    for user in sandbox_users(dump, CONTOSO):
        if user["id"] in planned:
            skus = {s.lower() for s in user["licenses"]}
            assert migration.target_sku_id.lower() in skus
            assert migration.source_sku_id.lower() not in skus
    assert set(migration.license_moves.values_list("status", flat=True)) == {
        LicenseMove.Status.MOVED
    }
    local_new = Subscription.objects.get(subscription_id=migration.new_subscription_id)
    assert local_new.label.startswith("Auto renews on ")
    local_old = Subscription.objects.get(pk=migration.source_subscription_id)
    assert local_old.label.startswith("Suspended · deprovisioned after ")


# ---------------------------------------------------------------- invariant 2


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even `except Exception`."""


def _client_for(migration: Migration) -> Any:
    return partner_center_client(customer=migration.customer, migration_id=migration.pk)


def _dies_after(client: Any, method: str) -> Any:
    """Make `client.<method>` do its real HTTP call, then kill the worker."""
    real = getattr(client, method)

    def call(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise WorkerKilled

    setattr(client, method, call)
    return client


def _dies_before(client: Any, method: str) -> Any:
    """Make `client.<method>` kill the worker before anything is sent."""

    def call(*args: Any, **kwargs: Any) -> Any:
        raise WorkerKilled

    setattr(client, method, call)
    return client


def test_it_buys_once_when_the_worker_dies_between_the_order_post_and_saving_it(
    synced: Any, sandbox: Any, operator: Any, settings: Any
) -> None:
    # Partner Center copies the reference onto the order (one plausible answer).
    sandbox.fidelity(friendly_name_copy="copied")
    scale_listing_delay(sandbox, settings)
    [migration] = start(CONTOSO, operator)
    with pytest.raises(WorkerKilled):
        step_once(migration, client=_dies_after(_client_for(migration), "create_order"))
    migration.refresh_from_db()
    assert migration.purchase_request_id is not None
    assert migration.order_id == ""
    assert (
        len(orders_for_offer(sandbox.state(), CONTOSO, migration.target_offer_id)) == 1
    )

    expire_lease(migration)
    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    [order] = orders_for_offer(dump, CONTOSO, migration.target_offer_id)
    assert migration.order_id == order["id"]
    assert len(requests(dump, "POST", "/orders")) == 1
    assert AuditEvent.objects.filter(
        migration_id=migration.pk, action="migration.purchase_adopted"
    ).exists()


def test_it_buys_once_when_partner_center_commits_the_order_but_drops_the_response(
    synced: Any, sandbox: Any, operator: Any, settings: Any
) -> None:
    sandbox.fidelity(friendly_name_copy="copied")
    scale_listing_delay(sandbox, settings)
    [migration] = start(CONTOSO, operator)
    sandbox.fault(method="POST", path=r"/orders$", action="drop_response", count=1)

    step_once(migration)
    migration.refresh_from_db()
    assert migration.state == "purchase"
    assert migration.attempts == 1 and migration.next_attempt_at is not None
    assert migration.order_id == ""

    migration = drive(migration)
    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    assert len(orders_for_offer(dump, CONTOSO, migration.target_offer_id)) == 1
    # The order was found by reading the customer's orders, not sent again.
    assert len(requests(dump, "POST", "/orders")) == 1
    new_subs = [
        s
        for s in sandbox_subscriptions(dump, CONTOSO)
        if s["offerId"].lower() == migration.target_offer_id.lower()
    ]
    assert [s["id"] for s in new_subs] == [migration.new_subscription_id]


def test_after_a_500_it_resends_only_once_the_listing_delay_proved_nothing_bought(
    synced: Any, sandbox: Any, operator: Any, settings: Any
) -> None:
    scale_listing_delay(sandbox, settings)
    [migration] = start(CONTOSO, operator)
    sandbox.fault(method="POST", path=r"/orders$", action="500", count=1)
    step_once(migration)
    migration.refresh_from_db()
    request_id = str(migration.purchase_request_id)
    sent_at = migration.purchase_sent_at

    migration = drive(migration)
    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    posts = requests(dump, "POST", "/orders")
    assert [p["status"] for p in posts] == [500, 201]
    # A new request id: a de-duplicating service must not replay the 500.
    assert posts[0]["ms_request_id"] == request_id != posts[1]["ms_request_id"]
    resent = datetime.fromisoformat(posts[1]["at"].replace("Z", "+00:00"))
    assert sent_at is not None and (resent - sent_at).total_seconds() >= 1.0
    assert len(orders_for_offer(dump, CONTOSO, migration.target_offer_id)) == 1
    [event] = AuditEvent.objects.filter(
        action="partner_center.write", pc_request_id=request_id
    )
    # Its one audit event is the 500 it was answered with.
    assert event.outcome == "failure" and "500" in event.message


def test_a_duplicate_message_does_nothing_while_another_worker_holds_the_lease(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    assert migration_claim(migration_id=migration.pk, owner="worker-a") is not None
    before = v1_request_count(sandbox)

    assert migration_advance(migration.pk) == "not claimed"

    assert v1_request_count(sandbox) == before
    migration.refresh_from_db()
    assert migration.lease_owner == "worker-a"


def test_every_message_delivered_twice_still_buys_once_and_moves_each_user_once(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)

    def twice(pk: int) -> None:
        migration_advance(pk)
        migration_advance(pk)

    migration = drive(migration, run=twice)

    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    assert len(requests(dump, "POST", "/orders")) == 1
    moves = requests(dump, "POST", "/licenseupdates")
    assert len(moves) == 12
    assert len({m["path"] for m in moves}) == 12
    assert len(requests(dump, "PATCH")) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("catalogue")
def test_two_workers_racing_on_every_message_buy_once_and_move_each_user_once(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(400):
                current = Migration.objects.get(pk=migration.pk)
                if current.state in TERMINAL_STATES:
                    return
                if current.next_attempt_at and current.next_attempt_at > timezone.now():
                    time.sleep(0.02)
                    continue
                migration_run_step(migration_id=migration.pk)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    migration.refresh_from_db()
    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    assert len(requests(dump, "POST", "/orders")) == 1
    moves = requests(dump, "POST", "/licenseupdates")
    assert len(moves) == len({m["path"] for m in moves}) == 12
    assert len(requests(dump, "PATCH")) == 1


# ---------------------------------------------------------------- invariant 7


def test_a_429_storm_sets_next_attempt_at_and_never_resends_at_once(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    sandbox.settings(retry_after_seconds=30)
    sandbox.fault(method="POST", path=r"/orders$", action="429", count=None)
    [migration] = start(CONTOSO, operator)

    report = step_once(migration)
    migration.refresh_from_db()
    wait = (migration.next_attempt_at - timezone.now()).total_seconds()
    assert 28 <= wait <= 31
    assert migration.state == "purchase" and migration.attempts == 0
    assert migration.lease_owner == "" and report.enqueue_after == 30

    # Messages arriving before Retry-After has passed send nothing at all.
    for _ in range(5):
        assert not step_once(migration).claimed
    assert len(requests(sandbox.state(), "POST", "/orders")) == 1

    # The storm goes on: each due attempt sends one order and waits again.
    for _ in range(3):
        let_time_pass(migration)
        step_once(migration)
        migration.refresh_from_db()
        assert migration.next_attempt_at > timezone.now() + timedelta(seconds=25)
        assert migration.state == "purchase" and migration.attempts == 0
    posts = requests(sandbox.state(), "POST", "/orders")
    assert [p["status"] for p in posts] == [429] * 4

    sandbox.clear_faults()
    migration = drive(migration)
    assert migration.state == "completed", migration.error_message
    assert (
        len(orders_for_offer(sandbox.state(), CONTOSO, migration.target_offer_id)) == 1
    )


def test_calls_stay_under_the_configured_rate_limit(
    synced: Any, sandbox: Any, operator: Any, settings: Any
) -> None:
    settings.PARTNER_CENTER_RATE_LIMIT_PER_MINUTE = 300  # 5 a second, burst 10
    # A Redis database of its own: other test runs flush the shared test database.
    settings.REDIS_URL = urlunsplit(urlsplit(settings.REDIS_URL)._replace(path="/11"))
    redis.Redis.from_url(settings.REDIS_URL).delete(RATE_LIMIT_KEY)
    [migration] = start(CONTOSO, operator)
    started = len(sandbox.state()["requests"])

    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    calls = sandbox.state()["requests"][started:]
    assert all(c["status"] != 429 for c in calls)
    moments = sorted(
        datetime.fromisoformat(c["at"].replace("Z", "+00:00")).timestamp()
        for c in calls
    )
    assert len(moments) > 30
    # A bucket of 10 refilled at 5/s lets at most 10 + 5·t calls through in t
    # seconds, so the run takes as long as that demands. Arrival times lag the
    # token a little (the first call also fetches an access token).
    span = moments[-1] - moments[0]
    assert span >= (len(moments) - 10) / 5 - 0.5, (len(moments), span)
    assert len(moments) <= 10 + 5 * (span + 0.5), (len(moments), span)


def test_transient_failures_back_off_and_fail_in_plain_words_after_the_cap(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration, until=lambda m: m.state == "preflight")
    sandbox.fault(
        method="GET", path=r"/subscribedskus$", action="503", count=None, retry_after=1
    )

    waits = []
    for attempt in range(1, MAX_TRANSIENT_ATTEMPTS):
        step_once(migration)
        migration.refresh_from_db()
        assert migration.state == "preflight" and migration.attempts == attempt
        waits.append((migration.next_attempt_at - timezone.now()).total_seconds())
        let_time_pass(migration)
    assert waits == sorted(waits) and waits[0] < 6 and waits[-1] > 60

    step_once(migration)
    migration.refresh_from_db()
    assert migration.state == "failed" and migration.stopped_step == "preflight"
    assert migration.error_message.startswith("Partner Center kept failing")
    dump = sandbox.state()
    assert requests(dump, "POST", "/licenseupdates") == []
    old = _sandbox_sub(dump, migration.source_subscription.subscription_id)
    assert old["status"] == "active"


# ---------------------------------------------------------------- seats, users, invariant 3


def _sandbox_sub(dump: dict[str, Any], subscription_id: str) -> dict[str, Any]:
    return next(
        s for s in dump["subscriptions"] if s["id"].lower() == subscription_id.lower()
    )


def _tenant(name: str) -> str:
    return str(customer(name).tenant_id)


def test_running_out_of_seats_midway_fails_in_plain_words_and_retry_resumes(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration, until=lambda m: m.state == "move_licenses")
    # Someone lowers the new subscription to 5 seats while the users move.
    new_path = f"/_sandbox/customers/{_tenant(CONTOSO)}/subscriptions/{migration.new_subscription_id}"
    sandbox.patch(new_path, {"quantity": 5})

    migration = drive(migration)

    assert migration.state == "failed" and migration.stopped_step == "move_licenses"
    assert migration.error_code == "60012"
    assert "run out of licenses" in migration.error_description
    assert migration.error_message.startswith("Not enough licences")
    assert "5 of 12 users moved" in migration.error_message
    statuses = list(migration.license_moves.values_list("status", flat=True))
    assert statuses.count("moved") == 5 and statuses.count("failed") == 1
    dump = sandbox.state()
    old = _sandbox_sub(dump, migration.source_subscription.subscription_id)
    assert old["status"] == "active"
    assert requests(dump, "PATCH") == []

    sandbox.patch(new_path, {"quantity": 15})
    migration_retry(migration=migration, actor=operator)
    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    dump = sandbox.state()
    per_user = Counter(
        r["path"]
        for r in requests(dump, "POST", "/licenseupdates")
        if r["status"] == 201
    )
    assert len(per_user) == 12 and set(per_user.values()) == {1}
    assert (
        _sandbox_sub(dump, migration.source_subscription.subscription_id)["status"]
        == "suspended"
    )


def test_the_old_subscription_stays_active_while_one_user_cannot_be_moved(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration, until=lambda m: m.state == "move_licenses")
    victim = migration.license_moves.order_by("pk").last()
    user_path = f"/_sandbox/customers/{_tenant(CONTOSO)}/users/{victim.user_id}"
    sandbox.patch(user_path, {"usageLocation": None})

    migration = drive(migration)

    assert migration.state == "failed" and migration.stopped_step == "move_licenses"
    victim.refresh_from_db()
    assert victim.status == "failed"
    assert victim.error_message == "This user has no usage location."
    assert victim.error_code == "60000"
    assert "1 of 12 users could not be moved" in migration.error_message
    dump = sandbox.state()
    old_id = migration.source_subscription.subscription_id
    assert _sandbox_sub(dump, old_id)["status"] == "active"
    assert requests(dump, "PATCH") == []

    sandbox.patch(user_path, {"usageLocation": "US"})
    migration_retry(migration=migration, actor=operator)
    migration = drive(migration)
    assert migration.state == "completed", migration.error_message
    log = sandbox.state()["requests"]
    patch_at = next(i for i, r in enumerate(log) if r["method"] == "PATCH")
    last_move = max(
        i for i, r in enumerate(log) if r["path"].endswith("/licenseupdates")
    )
    last_read = max(i for i, r in enumerate(log) if r["path"].endswith("/licenses"))
    assert patch_at > last_move and patch_at > last_read


def test_verify_reads_licences_back_and_keeps_the_old_subscription_until_they_match(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration, until=lambda m: m.state == "verify")
    # An admin in the tenant gives one user the old licence back.
    victim = migration.license_moves.order_by("pk").first()
    sandbox.patch(
        f"/_sandbox/customers/{_tenant(CONTOSO)}/users/{victim.user_id}",
        {"licenses": [migration.source_sku_id]},
    )

    migration = drive(migration)

    assert migration.state == "failed" and migration.stopped_step == "verify"
    assert "1 user does not hold the new licence" in migration.error_message
    assert requests(sandbox.state(), "PATCH") == []

    migration_retry(migration=migration, actor=operator)
    migration.refresh_from_db()
    assert migration.state == "move_licenses"
    migration = drive(migration)
    assert migration.state == "completed", migration.error_message


def test_users_without_usage_location_stop_the_purchase_before_anything_is_bought(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    migrations = start(WIDE_WORLD, operator)
    assert len(migrations) == 2
    for migration in migrations:
        migration = drive(migration)
        assert migration.state == "failed" and migration.stopped_step == "purchase"
        assert migration.error_message.startswith("Nothing was bought:")
        assert "no usage location" in migration.error_message
        assert (
            "Set their usage location in the Microsoft 365 admin center"
            in migration.error_message
        )
        assert not migration.order_id and migration.purchase_request_id is None
        flagged = migration.license_moves.exclude(error_message="")
        assert flagged.exists()
        for move in flagged:
            assert move.user_principal_name in migration.error_message
    dump = sandbox.state()
    assert requests(dump, "POST", "/orders") == []
    assert requests(dump, "POST", "/licenseupdates") == []

    for user in sandbox_users(dump, WIDE_WORLD):
        if not user["usageLocation"]:
            sandbox.patch(
                f"/_sandbox/customers/{_tenant(WIDE_WORLD)}/users/{user['id']}",
                {"usageLocation": "US"},
            )
    assert sync_run().status == SyncRun.Status.SUCCEEDED
    for migration in migrations:
        migration_retry(migration=migration, actor=operator)
        assert drive(migration).state == "completed"


def test_a_subscription_partner_center_refuses_to_change_ends_in_customer_action(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    # Its partnerId is only the reseller of record; the refused PATCH (403/20002)
    # is what says another partner owns it.
    [migration] = start(NORTHWIND, operator)
    migration = drive(migration)

    assert migration.state == "needs_customer_action"
    assert migration.error_code == "20002"
    end = migration.source_subscription.commitment_end_date
    assert migration.customer_action == (
        "Northwind Traders must cancel Dynamics CRM Online Basic through the partner "
        f"or channel it was bought from, or let it expire on {end:%b} {end.day}, "
        f"{end:%Y} (cancelled subscriptions are not refunded)."
    )
    [card] = migration_cards([migration])
    assert card.timeline[-1].status == "action"
    dump = sandbox.state()
    assert {r["status"] for r in requests(dump, "PATCH")} == {403}
    assert set(migration.license_moves.values_list("status", flat=True)) == {"moved"}
    old = _sandbox_sub(dump, migration.source_subscription.subscription_id)
    assert old["status"] == "active"


def test_a_subscription_sold_elsewhere_by_retire_time_is_left_to_the_customer(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    old_id = migration.source_subscription.subscription_id
    sandbox.patch(
        f"/_sandbox/customers/{_tenant(CONTOSO)}/subscriptions/{old_id}",
        {"partnerId": "9988776"},
    )
    migration = drive(migration)
    assert migration.state == "needs_customer_action"
    assert "Contoso Ltd must cancel" in migration.customer_action
    assert {r["status"] for r in requests(sandbox.state(), "PATCH")} == {403}


def test_expire_mode_turns_auto_renew_off_and_leaves_the_old_one_active(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(FABRIKAM, operator, retire_mode="expire")
    migration = drive(migration)
    assert migration.state == "completed", migration.error_message
    old = _sandbox_sub(sandbox.state(), migration.source_subscription.subscription_id)
    assert old["status"] == "active" and old["autoRenewEnabled"] is False
    local = Subscription.objects.get(pk=migration.source_subscription_id)
    assert local.label.startswith("Expires on ")


# ---------------------------------------------------------------- invariant 6


def test_a_worker_dying_mid_move_resumes_without_moving_anyone_twice(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration, until=lambda m: m.state == "move_licenses")
    # One worker dies right after a licence update went out, the next one right
    # after storing the request id of the following user, before sending it.
    with pytest.raises(WorkerKilled):
        step_once(
            migration,
            client=_dies_after(_client_for(migration), "update_user_licenses"),
        )
    expire_lease(migration)
    with pytest.raises(WorkerKilled):
        step_once(
            migration,
            client=_dies_before(_client_for(migration), "update_user_licenses"),
        )
    expire_lease(migration)

    migration = drive(migration)

    assert migration.state == "completed", migration.error_message
    per_user = Counter(
        r["path"] for r in requests(sandbox.state(), "POST", "/licenseupdates")
    )
    assert len(per_user) == 12 and set(per_user.values()) == {1}


def test_beat_requeues_lost_messages_expired_leases_and_due_retries_only(
    synced: Any, sandbox: Any, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    lost, leased, dead, waiting, due = start(CONTOSO, operator) + [
        *start(FABRIKAM, operator),
        *start(LITWARE, operator),
        *start(TAILSPIN, operator),
        *start(NORTHWIND, operator),
    ]
    now = timezone.now()
    # Their first messages were sent a while ago.
    Migration.objects.filter(
        pk__in=[m.pk for m in (lost, leased, dead, waiting, due)]
    ).update(enqueued_at=now - timedelta(minutes=5))
    Migration.objects.filter(pk=lost.pk).update(updated_at=now - timedelta(minutes=5))
    migration_claim(migration_id=leased.pk, owner="alive")
    migration_claim(migration_id=dead.pk, owner="dead")
    expire_lease(dead)
    Migration.objects.filter(pk=waiting.pk).update(
        next_attempt_at=now + timedelta(minutes=5), updated_at=now - timedelta(hours=1)
    )
    Migration.objects.filter(pk=due.pk).update(
        next_attempt_at=now - timedelta(seconds=1)
    )
    Migration.objects.filter(pk__in=[leased.pk, dead.pk]).update(
        updated_at=now - timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks() as sent:
        assert requeue_due_migrations() == 3
    assert sorted(advance_ids(sent)) == sorted([lost.pk, dead.pk, due.pk])
    # The next beat tick does not send them again straight away.
    with django_capture_on_commit_callbacks() as sent:
        assert requeue_due_migrations() == 0
    assert sent == []
    for migration in (lost, dead, due):
        assert drive(migration).state in TERMINAL_STATES


def test_beat_leaves_a_message_alone_while_it_may_still_be_queued(
    synced: Any, sandbox: Any, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    queued, waited = start(CONTOSO, operator) + start(FABRIKAM, operator)
    now = timezone.now()
    # Sent long ago but nobody took it yet (a long queue), and a countdown
    # message whose time has just come.
    Migration.objects.filter(pk=queued.pk).update(updated_at=now - timedelta(minutes=5))
    with django_capture_on_commit_callbacks():
        enqueue_advance(waited.pk, countdown=1)
    Migration.objects.filter(pk=waited.pk).update(next_attempt_at=now)

    with django_capture_on_commit_callbacks() as sent:
        assert requeue_due_migrations() == 0
    assert sent == []

    # Once a message stays unclaimed well past its time, it counts as lost.
    Migration.objects.filter(pk__in=[queued.pk, waited.pk]).update(
        enqueued_at=now - STALE_AFTER - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks() as sent:
        assert requeue_due_migrations() == 2
    assert sorted(advance_ids(sent)) == sorted([queued.pk, waited.pk])


def test_a_user_whose_move_ran_out_of_transient_retries_is_marked_failed(
    synced: Any, sandbox: Any, operator: Any, client: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration, until=lambda m: m.state == "move_licenses")
    sandbox.fault(method="POST", path=r"/licenseupdates$", action="500", count=None)

    step_once(migration)
    migration.refresh_from_db()
    assert migration.state == "move_licenses"
    assert migration.error_message == (
        "Partner Center answered with an error (HTTP 500); trying again "
        f"(attempt 2 of {MAX_TRANSIENT_ATTEMPTS})."
    )
    assert migration.error_code == "800003"
    assert migration.error_description == "Unexpected service error"
    client.force_login(operator)
    page = client.get(f"/migrations/{migration.pk}/").content.decode()
    assert (
        "trying again (attempt 2 of 6).</div>" not in page
        and "Partner Center code 800003: Unexpected service error" in page
    )

    migration = drive(migration)

    assert migration.state == "failed" and migration.stopped_step == "move_licenses"
    [failed] = migration.license_moves.filter(status="failed")
    assert failed.error_message == (
        "Partner Center kept failing while moving this user's licence."
    )
    assert failed.error_code == "800003"
    assert failed.error_description == "Unexpected service error"
    assert "(6 attempts; last: Partner Center answered with an error (HTTP 500))" in (
        migration.error_message
    )
    assert migration.license_moves.filter(status="pending").count() == 11
