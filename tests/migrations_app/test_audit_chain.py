"""The audit log is append-only and hash-chained; audit_verify finds any tampering."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from migrations_app.models import (
    AuditChainHead,
    AuditEvent,
    AuditLogIsAppendOnly,
    AuditVerification,
    Outcome,
)
from migrations_app.models.audit import GENESIS_HASH
from migrations_app.services.audit import (
    audit_chain_verify,
    audit_chain_walk,
    audit_record,
)
from migrations_app.tasks.audit import verify_audit_chain
from tests.migrations_app.audit_support import on_postgresql, table, tamper

pytestmark = pytest.mark.django_db


def record_events(count: int) -> list[AuditEvent]:
    return [
        audit_record(
            action="migration.started",
            actor_label="operator",
            customer_tenant_id="4f7c1a52-93a4-4e2a-9d0e-5a1c3d3b0c11",
            customer_name="Contoso",
            migration_id=n,
            message=f"Started migration {n}.",
            details={"n": n},
        )
        for n in range(1, count + 1)
    ]


def run_verify() -> tuple[int, str]:
    """Run `manage.py audit_verify`; return its exit code and its message."""
    try:
        call_command("audit_verify", stdout=_Sink())
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, AuditVerification.objects.order_by("-id").first().message


class _Sink:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def test_each_event_links_to_the_hash_of_the_one_before() -> None:
    first, second, third = record_events(3)

    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert third.hash == third.compute_hash(second.hash)
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_event_id, head.last_hash, head.event_count) == (
        third.pk,
        third.hash,
        3,
    )


def test_the_orm_refuses_to_change_or_delete_an_event() -> None:
    (event,) = record_events(1)

    with pytest.raises(AuditLogIsAppendOnly):
        event.message = "nothing happened"
        event.save()
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(message="nothing happened")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all().delete()


def test_an_intact_chain_verifies_and_the_result_is_stored() -> None:
    record_events(5)

    code, message = run_verify()

    assert code == 0
    verification = AuditVerification.objects.order_by("-id").first()
    assert verification.ok
    assert verification.events_checked == 5
    assert verification.first_broken_event_id is None
    assert "All 5 events link up" in message


def test_an_empty_log_verifies() -> None:
    result = audit_chain_walk()

    assert result.ok
    assert result.events_checked == 0


def test_editing_a_row_with_sql_is_named_by_audit_verify() -> None:
    events = record_events(6)
    victim = events[3]

    tamper(
        f"UPDATE {table()} SET message = %s WHERE id = %s",
        ["Nothing to see here.", victim.pk],
    )
    code, message = run_verify()

    assert code == 1
    assert f"event {victim.pk} " in message
    assert victim.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") in message
    assert "migration.started" in message
    assert "content does not match its hash" in message
    verification = AuditVerification.objects.order_by("-id").first()
    assert not verification.ok
    assert verification.first_broken_event_id == victim.pk


def test_an_edit_that_also_rewrites_the_hash_breaks_the_next_link() -> None:
    events = record_events(4)
    victim = events[1]
    forged = AuditEvent.objects.get(pk=victim.pk)
    forged.outcome = Outcome.FAILURE
    new_hash = forged.compute_hash(forged.prev_hash)

    tamper(
        f"UPDATE {table()} SET outcome = %s, hash = %s WHERE id = %s",
        [Outcome.FAILURE, new_hash, victim.pk],
    )
    code, message = run_verify()

    assert code == 1
    assert f"event {events[2].pk} " in message
    assert "previous-hash link does not match" in message


def test_deleting_a_row_is_named_by_audit_verify() -> None:
    events = record_events(5)

    tamper(f"DELETE FROM {table()} WHERE id = %s", [events[2].pk])
    code, message = run_verify()

    assert code == 1
    assert f"event {events[3].pk} " in message
    assert f"does not match event {events[1].pk}" in message


def test_deleting_the_first_row_is_detected() -> None:
    events = record_events(3)

    tamper(f"DELETE FROM {table()} WHERE id = %s", [events[0].pk])
    code, message = run_verify()

    assert code == 1
    assert f"event {events[1].pk} " in message
    assert "genesis" in message


def test_truncating_the_tail_is_detected_through_the_head() -> None:
    events = record_events(6)

    tamper(f"DELETE FROM {table()} WHERE id >= %s", [events[4].pk])
    code, message = run_verify()

    assert code == 1
    assert f"the chain ends at event {events[3].pk} " in message
    assert f"the head records event {events[5].pk}" in message
    verification = AuditVerification.objects.order_by("-id").first()
    assert not verification.ok


def test_emptying_the_table_is_detected() -> None:
    record_events(3)

    tamper(f"DELETE FROM {table()}")
    code, message = run_verify()

    assert code == 1
    assert "the log was emptied" in message


def test_a_row_added_behind_the_heads_back_is_detected() -> None:
    events = record_events(3)
    last = events[-1]
    forged = AuditEvent(
        created_at=last.created_at + timedelta(seconds=1),
        actor="intruder",
        action="login",
        prev_hash=last.hash,
        details={},
    )
    forged.hash = forged.compute_hash(last.hash)

    # A plain INSERT is not refused (the log is append-only); the head was not moved.
    AuditEvent.objects.bulk_create([forged])
    code, message = run_verify()

    assert code == 1
    assert "the head records event" in message
    assert "chain continues" in message


def test_a_wrong_event_count_in_the_head_is_detected() -> None:
    record_events(3)
    AuditChainHead.objects.filter(pk=1).update(event_count=2)

    code, message = run_verify()

    assert code == 1
    assert "the head counts 2 events but 3 were found" in message


def test_the_daily_task_runs_the_verification_and_keeps_its_result() -> None:
    record_events(2)

    assert verify_audit_chain() is True

    verification = AuditVerification.objects.order_by("-id").first()
    assert verification.ok and verification.events_checked == 2
    assert verify_audit_chain.name == "migrations_app.tasks.verify_audit_chain"
    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "audit.verified" and event.outcome == Outcome.SUCCESS


def test_a_failed_verification_is_itself_recorded_in_the_log() -> None:
    events = record_events(3)
    tamper(f"DELETE FROM {table()} WHERE id = %s", [events[1].pk])

    verification = audit_chain_verify()

    assert not verification.ok
    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "audit.verified"
    assert event.outcome == Outcome.FAILURE
    assert event.details["first_broken_event_id"] == events[2].pk


def test_the_command_rejects_a_chunk_size_below_one() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("audit_verify", "--chunk-size", "0")


def _bulk_chain(count: int) -> None:
    """Append `count` valid events quickly (one INSERT per batch), moving the head."""
    head = AuditChainHead.objects.get_or_create(pk=1)[0]
    prev = head.last_hash
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch: list[AuditEvent] = []
    for n in range(count):
        event = AuditEvent(
            created_at=start + timedelta(seconds=n),
            actor="system",
            action="partner_center.write",
            message=f"PATCH /customers/x/subscriptions/{n} → 200",
            pc_method="PATCH",
            pc_path=f"/customers/x/subscriptions/{n}",
            pc_status=200,
            pc_request_id=f"req-{n}",
            details={"n": n},
            prev_hash=prev,
        )
        event.hash = event.compute_hash(prev)
        prev = event.hash
        batch.append(event)
    AuditEvent.objects.bulk_create(batch, batch_size=1000)
    last = AuditEvent.objects.order_by("-id").first()
    AuditChainHead.objects.filter(pk=1).update(
        last_event_id=last.pk, last_hash=prev, event_count=head.event_count + count
    )


def _peak_walk_memory(chunk_size: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        result = audit_chain_walk(chunk_size=chunk_size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.ok, result.message
    return result.events_checked, peak


def test_the_walk_streams_so_memory_does_not_grow_with_the_log() -> None:
    _bulk_chain(1_000)
    checked_small, peak_small = _peak_walk_memory(chunk_size=200)
    _bulk_chain(9_000)
    checked_large, peak_large = _peak_walk_memory(chunk_size=200)

    assert (checked_small, checked_large) == (1_000, 10_000)
    # Ten times the events must not need anywhere near ten times the memory.
    assert peak_large < peak_small * 2, (peak_small, peak_large)


def test_postgresql_refuses_update_delete_and_truncate_on_the_audit_table() -> None:
    (event,) = record_events(1)

    with connection.cursor() as cursor:
        if not on_postgresql():
            # SQLite has no trigger (the migration adds it on PostgreSQL only): the
            # ORM's refusal and audit_verify are the protection there.
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = %s",
                [AuditEvent._meta.db_table],
            )
            assert cursor.fetchone()[0] == 0
            return
        for sql in (
            f"UPDATE {table()} SET message = 'x' WHERE id = {event.pk}",
            f"DELETE FROM {table()} WHERE id = {event.pk}",
        ):
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
            ):
                cursor.execute(sql)
        with (
            pytest.raises(DatabaseError, match="append-only: TRUNCATE"),
            transaction.atomic(),
        ):
            cursor.execute("SET LOCAL partnerhub.allow_audit_truncate = 'off'")
            cursor.execute(f"TRUNCATE {table()} CASCADE")

    assert AuditEvent.objects.filter(pk=event.pk, message=event.message).exists()


def test_event_time_never_goes_back_even_if_a_host_clock_is_behind() -> None:
    (first,) = record_events(1)
    ahead = first.created_at + timedelta(minutes=5)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                created_at=ahead,
                actor="worker-on-a-fast-clock",
                action="login",
                prev_hash=first.hash,
                hash="e" * 64,
            )
        ]
    )
    last = AuditEvent.objects.order_by("-id").first()
    AuditChainHead.objects.filter(pk=1).update(
        last_event_id=last.pk, last_hash="e" * 64
    )

    (event,) = record_events(1)

    assert event.created_at == ahead
    assert event.hash == event.compute_hash("e" * 64)
