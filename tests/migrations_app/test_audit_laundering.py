"""An audit history forged with database access cannot be made valid without the key.

Each test is one of the tamper variants of issue 19, played by an intruder who can
write every table (but not the environment, nor the checkpoint store under var/):
the history rewritten as plain SHA-256 links and then re-keyed on the product's
own advice, events deleted in the window before the first verification, and a
stored verification result set to ok by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from migrations_app.models import AuditChainHead, AuditEvent, AuditVerification
from migrations_app.services.audit import audit_chain_verify
from tests.migrations_app.audit_support import table, tamper
from tests.migrations_app.test_audit_chain import record_events, run_verify
from tests.migrations_app.test_audit_keyed_chain import _Quiet, make_legacy

pytestmark = pytest.mark.django_db


def _everything_as_legacy() -> None:
    """Rewrite every link, and the head, as plain SHA-256: no key needed."""
    make_legacy(list(AuditEvent.objects.order_by("pk")))


def _no_checkpoint(settings: Any) -> None:
    """The store a `docker compose run` container or a recreated one starts with."""
    Path(settings.PARTNERHUB_AUDIT_CHECKPOINT_FILE).unlink(missing_ok=True)


def test_a_history_rewritten_as_unkeyed_links_after_a_keyed_verification_is_not_advised_a_rekey(
    settings: Any,
) -> None:
    record_events(3)
    assert run_verify()[0] == 0
    _everything_as_legacy()
    _no_checkpoint(settings)

    code, message = run_verify()

    assert code == 1
    assert "Do not run `manage.py audit_rekey`" in message
    assert "--unkeyed-upgrade" not in message
    assert "rewritten without the key" in message


def test_audit_rekey_refuses_a_forgery_when_the_checkpoint_file_is_gone(
    settings: Any,
) -> None:
    record_events(3)
    assert run_verify()[0] == 0
    _everything_as_legacy()
    _no_checkpoint(settings)

    with pytest.raises(CommandError):
        call_command("audit_rekey", stdout=_Quiet())
    with pytest.raises(CommandError):
        call_command("audit_rekey", "--unkeyed-upgrade", stdout=_Quiet())

    assert run_verify()[0] == 1


def test_audit_rekey_needs_the_explicit_flag_and_the_old_head_from_outside_the_database() -> (
    None
):
    events = record_events(3)
    make_legacy(events)
    head = AuditChainHead.objects.get(pk=1).last_hash

    with pytest.raises(CommandError, match="--unkeyed-upgrade"):
        call_command("audit_rekey", stdout=_Quiet())
    with pytest.raises(CommandError, match="--legacy-head"):
        call_command("audit_rekey", "--unkeyed-upgrade", stdout=_Quiet())
    with pytest.raises(CommandError, match="do not reach"):
        call_command(
            "audit_rekey",
            "--unkeyed-upgrade",
            "--legacy-head",
            "f" * 64,
            stdout=_Quiet(),
        )

    call_command(
        "audit_rekey", "--unkeyed-upgrade", "--legacy-head", head, stdout=_Quiet()
    )
    assert run_verify()[0] == 0


def test_audit_rekey_refuses_an_unkeyed_history_whose_content_differs_from_the_recorded_head() -> (
    None
):
    events = record_events(3)
    make_legacy(events)
    genuine_head = AuditChainHead.objects.get(pk=1).last_hash
    # The intruder edits a row and re-links the unkeyed chain to match.
    tamper(f"UPDATE {table()} SET message = 'edited' WHERE id = %s", [events[0].pk])
    make_legacy(list(AuditEvent.objects.order_by("pk")))

    with pytest.raises(CommandError, match="do not reach"):
        call_command(
            "audit_rekey",
            "--unkeyed-upgrade",
            "--legacy-head",
            genuine_head,
            stdout=_Quiet(),
        )


def test_a_sealed_good_result_in_the_database_also_stops_the_rekey_advice(
    settings: Any,
) -> None:
    record_events(2)
    assert audit_chain_verify().ok
    _everything_as_legacy()
    _no_checkpoint(settings)

    verification = audit_chain_verify()

    assert not verification.ok
    assert "run `manage.py audit_rekey` once" not in verification.message


def test_migrate_writes_the_first_verification_and_checkpoint_at_start_up(
    settings: Any,
) -> None:
    settings.PARTNERHUB_AUDIT_VERIFY_ON_MIGRATE = True
    record_events(3)
    _no_checkpoint(settings)

    call_command("migrate", verbosity=0, stdout=_Quiet())

    assert Path(settings.PARTNERHUB_AUDIT_CHECKPOINT_FILE).exists()
    assert AuditVerification.objects.filter(ok=True).count() == 1


def test_events_deleted_before_the_first_scheduled_verification_are_detected(
    settings: Any,
) -> None:
    settings.PARTNERHUB_AUDIT_VERIFY_ON_MIGRATE = True
    events = record_events(4)
    call_command("migrate", verbosity=0, stdout=_Quiet())
    # The intruder removes the newest events and the start-up verification's
    # own, and rewrites the head to match, before beat's first verification.
    keep = events[1]
    tamper(f"DELETE FROM {table()} WHERE id > %s", [keep.pk])
    AuditChainHead.objects.filter(pk=1).update(
        last_event_id=keep.pk, last_hash=keep.hash, event_count=2
    )

    code, message = run_verify()

    assert code == 1
    assert "truncated" in message


def test_the_chain_is_verified_and_sealed_more_often_than_daily() -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE["verify-audit-chain"]["schedule"]

    assert float(schedule) <= 3600.0


def test_a_verification_result_set_to_ok_by_hand_shows_as_tampered_on_the_audit_page(
    client: Any, admin_user: Any
) -> None:
    events = record_events(3)
    tamper(f"DELETE FROM {table()} WHERE id = %s", [events[1].pk])
    broken = audit_chain_verify()
    assert not broken.ok
    # The intruder turns the stored failure into a success.
    AuditVerification.objects.filter(pk=broken.pk).update(
        ok=True, message="All 3 events link up.", first_broken_event_id=None
    )
    client.force_login(admin_user)

    page = client.get(reverse("audit_list")).content.decode()

    assert "intact" not in page
    assert "was altered" in page


def test_a_verification_row_inserted_by_hand_shows_as_tampered(
    client: Any, admin_user: Any
) -> None:
    audit_chain_verify()
    AuditVerification.objects.create(ok=True, events_checked=99, message="fine")
    client.force_login(admin_user)

    page = client.get(reverse("audit_list")).content.decode()

    assert "99 events checked" not in page
    assert "was altered" in page


def test_a_genuine_verification_result_carries_a_seal_that_holds() -> None:
    record_events(1)

    verification = audit_chain_verify()

    assert verification.seal_holds()
    verification.events_checked += 1
    assert not verification.seal_holds()


def test_resetting_the_demo_forgets_the_old_databases_checkpoint(
    tmp_path: Path,
) -> None:
    from partnerhub import devrun

    (tmp_path / "partnerhub.sqlite3").write_text("")
    checkpoint = tmp_path / "audit-checkpoint.json"
    checkpoint.write_text("{}")

    deleted = devrun.reset_demo({"PARTNERHUB_VAR_DIR": str(tmp_path)})

    # Otherwise the new database's first verification reports the old one wiped.
    assert checkpoint in deleted and not checkpoint.exists()
