"""The audit chain is keyed with a secret the database does not hold, and every
verification leaves a checkpoint outside the database that the next one holds to.

Each test plays an intruder with full write access to the database (but not to
the environment or var/): the wipe, the truncation with a rewritten head, the
re-hash after an edit, all of which an unkeyed chain without a checkpoint let pass.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from migrations_app.models import AuditChainHead, AuditEvent
from migrations_app.models.audit import GENESIS_HASH, legacy_chain_hash
from migrations_app.services.audit import audit_chain_verify
from tests.migrations_app.audit_support import table, tamper
from tests.migrations_app.test_audit_chain import record_events, run_verify

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def sha256_link(prev_hash: str, event: AuditEvent) -> str:
    """Return the link an intruder without the key can compute: plain SHA-256."""
    return hashlib.sha256((prev_hash + "\n" + event.canonical()).encode()).hexdigest()


def rewrite_head(last: AuditEvent | None, count: int) -> None:
    AuditChainHead.objects.filter(pk=1).update(
        last_event_id=last.pk if last else 0,
        last_hash=last.hash if last else GENESIS_HASH,
        event_count=count,
    )


def test_each_link_is_an_hmac_with_the_configured_key(settings: Any) -> None:
    (event,) = record_events(1)

    assert event.hash != sha256_link(GENESIS_HASH, event)
    settings.PARTNERHUB_AUDIT_KEY = "another-key-another-key-another-key"
    assert event.compute_hash(GENESIS_HASH) != event.hash


def test_an_edit_re_hashed_without_the_key_fails_audit_verify() -> None:
    events = record_events(4)
    assert run_verify()[0] == 0
    victim = events[1]

    # Edit the row, then re-link it and every later row, and the head, with the
    # only hash an intruder can compute.
    forged = AuditEvent.objects.get(pk=victim.pk)
    forged.message = "Nothing to see here."
    prev = forged.prev_hash
    for event in [forged, *AuditEvent.objects.filter(pk__gt=victim.pk).order_by("pk")]:
        if event.pk == victim.pk:
            event.message = forged.message
        new = sha256_link(prev, event)
        tamper(
            f"UPDATE {table()} SET message = %s, prev_hash = %s, hash = %s "
            "WHERE id = %s",
            [event.message, prev, new, event.pk],
        )
        prev = new
    AuditChainHead.objects.filter(pk=1).update(last_hash=prev)

    code, message = run_verify()

    assert code == 1
    assert f"event {victim.pk} " in message
    assert "content does not match its hash" in message


def test_a_wipe_of_every_event_and_the_head_fails_audit_verify() -> None:
    events = record_events(3)
    assert run_verify()[0] == 0

    tamper(f"DELETE FROM {table()}")
    AuditChainHead.objects.all().delete()
    code, message = run_verify()

    assert code == 1
    assert "the log was wiped" in message
    # The verify that caught it leaves the checkpoint where it was.
    assert run_verify()[0] == 1
    assert events


def test_a_truncation_with_a_rewritten_head_fails_audit_verify() -> None:
    events = record_events(6)
    assert run_verify()[0] == 0
    # The verification appended its own event: cut it and two of ours.
    keep = events[3]

    tamper(f"DELETE FROM {table()} WHERE id > %s", [keep.pk])
    rewrite_head(keep, 4)
    code, message = run_verify()

    assert code == 1
    assert "the log holds 4 events" in message
    assert "truncated" in message


def test_a_rewritten_chain_of_the_same_length_fails_audit_verify() -> None:
    events = record_events(3)
    assert run_verify()[0] == 0
    last_checked = events[-1]
    # Replace the last checked event by a different one with a key-less link.
    tamper(f"DELETE FROM {table()} WHERE id >= %s", [last_checked.pk])
    rewrite_head(events[-2], 2)
    record_events(3)

    code, message = run_verify()

    assert code == 1
    assert f"event {last_checked.pk} is missing" in message


def test_a_checkpoint_edited_to_a_lower_count_is_refused(settings: Any) -> None:
    record_events(3)
    assert run_verify()[0] == 0
    path = Path(settings.PARTNERHUB_AUDIT_CHECKPOINT_FILE)
    data = json.loads(path.read_text())
    data["events"] = 0
    path.write_text(json.dumps(data))

    code, message = run_verify()

    assert code == 1
    assert "does not match the audit key" in message


def test_every_good_verification_logs_the_count_and_last_mac_and_moves_the_checkpoint(
    settings: Any, caplog: Any
) -> None:
    events = record_events(2)

    with caplog.at_level(logging.INFO, logger="migrations_app.services.audit"):
        verification = audit_chain_verify()

    assert verification.ok
    line = next(
        r.getMessage()
        for r in caplog.records
        if "Audit chain verified" in r.getMessage()
    )
    assert "2 events" in line and events[-1].hash in line
    data = json.loads(Path(settings.PARTNERHUB_AUDIT_CHECKPOINT_FILE).read_text())
    assert (data["events"], data["last_event_id"], data["last_mac"]) == (
        2,
        events[-1].pk,
        events[-1].hash,
    )
    # The next one saw the first verification's own event too.
    assert audit_chain_verify().ok
    data = json.loads(Path(settings.PARTNERHUB_AUDIT_CHECKPOINT_FILE).read_text())
    assert data["events"] == 3


def test_production_refuses_to_start_without_an_audit_key() -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "partnerhub.settings.production",
        "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "partnerhub.example.com",
        "PARTNERHUB_VAR_DIR": "/tmp/partnerhub-audit-key-test",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "Set PARTNERHUB_AUDIT_KEY" in result.stderr


def make_legacy(events: list[AuditEvent]) -> None:
    """Give the events plain SHA-256 links, as a database from before the key."""
    prev = GENESIS_HASH
    for event in events:
        legacy = legacy_chain_hash(prev, event.canonical())
        tamper(
            f"UPDATE {table()} SET prev_hash = %s, hash = %s WHERE id = %s",
            [prev, legacy, event.pk],
        )
        prev = legacy
    AuditChainHead.objects.filter(pk=1).update(last_hash=prev)


def test_audit_rekey_turns_an_intact_unkeyed_chain_into_a_keyed_one() -> None:
    events = record_events(3)
    make_legacy(events)
    # What the old version's audit_verify printed, kept outside the database.
    old_head = AuditChainHead.objects.get(pk=1).last_hash
    code, message = run_verify()
    assert code == 1
    assert "audit_rekey --unkeyed-upgrade --legacy-head" in message

    call_command(
        "audit_rekey", "--unkeyed-upgrade", "--legacy-head", old_head, stdout=_Quiet()
    )

    code, message = run_verify()
    assert code == 0, message
    # The failed verification's event was re-keyed with the rest, and the
    # re-key left its own.
    assert "All 5 events link up" in message


def test_audit_rekey_refuses_a_broken_unkeyed_chain() -> None:
    events = record_events(2)
    make_legacy(events)
    old_head = AuditChainHead.objects.get(pk=1).last_hash
    tamper(f"UPDATE {table()} SET message = 'edited' WHERE id = %s", [events[1].pk])

    with pytest.raises(CommandError, match=f"broken at event {events[1].pk}"):
        call_command(
            "audit_rekey",
            "--unkeyed-upgrade",
            "--legacy-head",
            old_head,
            stdout=_Quiet(),
        )


def test_audit_rekey_refuses_once_a_keyed_chain_was_verified() -> None:
    events = record_events(2)
    assert run_verify()[0] == 0
    # An intruder rewrites everything with unkeyed links and hopes for a re-key.
    make_legacy([*events, AuditEvent.objects.order_by("-pk").first()])

    head = AuditChainHead.objects.get(pk=1).last_hash

    with pytest.raises(CommandError, match="verified here before"):
        call_command(
            "audit_rekey", "--unkeyed-upgrade", "--legacy-head", head, stdout=_Quiet()
        )


class _Quiet:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass
