"""Every tamper variant, one test each: what an intruder with write access to the
database (not to the environment, nor to the checkpoint store) can do to the audit
history, and the place PartnerHub shows it.

Each hashed field is forged on its own, once left as is and once with the chain
re-linked and the head rewritten without the key (plain SHA-256); then the
structural variants: rows deleted, inserted or cut off, the head edited, the log
wiped, the whole history rewritten as unkeyed links and offered to `audit_rekey`,
events removed before the first scheduled verification, and a stored result or the
checkpoint edited. `TAMPER_VARIANTS` counts them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from migrations_app.models import AuditChainHead, AuditEvent, AuditVerification
from migrations_app.models.audit import GENESIS_HASH
from tests.factories import UserFactory
from tests.migrations_app.audit_support import (
    FORGED_VALUES,
    forge_field,
    relink_without_key,
    table,
    tamper,
)
from tests.migrations_app.test_audit_chain import record_events, run_verify
from tests.migrations_app.test_audit_keyed_chain import _Quiet, make_legacy

pytestmark = pytest.mark.django_db

# A variant tampers with the log after a good verification; it returns how the
# tampering shows (True when detected), or None for "audit_verify fails".
Variant = Callable[[list[AuditEvent], Any], "bool | None"]


def _delete(where: str, *params: Any) -> None:
    tamper(f"DELETE FROM {table()} WHERE {where}", list(params))


def _head(**values: Any) -> None:
    AuditChainHead.objects.filter(pk=1).update(**values)


def _head_to(event: AuditEvent, count: int) -> None:
    _head(last_event_id=event.pk, last_hash=event.hash, event_count=count)


def _checkpoint(settings: Any) -> Path:
    return Path(settings.PARTNERHUB_AUDIT_CHECKPOINT_FILE)


def delete_a_middle_event(events: list[AuditEvent], settings: Any) -> None:
    _delete("id = %s", events[1].pk)


def delete_the_first_event(events: list[AuditEvent], settings: Any) -> None:
    _delete("id = %s", events[0].pk)


def delete_a_middle_event_and_relink(events: list[AuditEvent], settings: Any) -> None:
    _delete("id = %s", events[1].pk)
    tamper(
        f"UPDATE {table()} SET prev_hash = %s WHERE id = %s",
        [events[0].hash, events[2].pk],
    )
    relink_without_key(events[2].pk)


def cut_the_tail_without_touching_the_head(
    events: list[AuditEvent], settings: Any
) -> None:
    _delete("id > %s", events[1].pk)


def cut_the_tail_and_rewrite_the_head(events: list[AuditEvent], settings: Any) -> None:
    _delete("id > %s", events[1].pk)
    _head_to(events[1], 2)


def wipe_every_event_and_the_head(events: list[AuditEvent], settings: Any) -> None:
    _delete("id > 0")
    AuditChainHead.objects.all().delete()


def wipe_every_event_and_reset_the_head(
    events: list[AuditEvent], settings: Any
) -> None:
    _delete("id > 0")
    _head(last_event_id=0, last_hash=GENESIS_HASH, event_count=0)


def insert_an_event_behind_the_heads_back(
    events: list[AuditEvent], settings: Any
) -> None:
    last = AuditEvent.objects.order_by("-pk").first()
    forged = AuditEvent(
        created_at=last.created_at,
        actor="intruder",
        action="migration.started",
        prev_hash=last.hash,
        hash="f" * 64,
    )
    forged.save(force_insert=True)


def insert_an_event_and_move_the_head(events: list[AuditEvent], settings: Any) -> None:
    insert_an_event_behind_the_heads_back(events, settings)
    forged = AuditEvent.objects.order_by("-pk").first()
    relink_without_key(forged.pk)
    _head(last_event_id=forged.pk, event_count=AuditEvent.objects.count())


def change_the_heads_count(events: list[AuditEvent], settings: Any) -> None:
    _head(event_count=2)


def change_the_heads_last_hash(events: list[AuditEvent], settings: Any) -> None:
    _head(last_hash="e" * 64)


def replace_the_last_checked_event(events: list[AuditEvent], settings: Any) -> None:
    _delete("id >= %s", events[-1].pk)
    _head_to(events[-2], len(events) - 1)
    record_events(3)


def rewrite_everything_as_unkeyed_links(
    events: list[AuditEvent], settings: Any
) -> bool:
    make_legacy(list(AuditEvent.objects.order_by("pk")))
    code, message = run_verify()
    return code == 1 and "rewritten without the key" in message


def rewrite_as_unkeyed_links_and_lose_the_checkpoint(
    events: list[AuditEvent], settings: Any
) -> bool:
    """Variant 2 of issue 19: the re-key on the product's advice, no checkpoint."""
    make_legacy(list(AuditEvent.objects.order_by("pk")))
    _checkpoint(settings).unlink()
    head = AuditChainHead.objects.get(pk=1).last_hash
    # As the product used to advise, then with the flag and the forgery's head.
    for arguments in ([], ["--unkeyed-upgrade", "--legacy-head", head]):
        try:
            call_command("audit_rekey", *arguments, stdout=_Quiet())
        except CommandError:
            continue
        break
    return run_verify()[0] == 1


def delete_events_before_the_first_scheduled_verification(
    events: list[AuditEvent], settings: Any
) -> None:
    """Variant 3 of issue 19: the window between start-up and beat's first walk."""
    settings.PARTNERHUB_AUDIT_VERIFY_ON_MIGRATE = True
    _checkpoint(settings).unlink()
    newer = record_events(3)
    call_command("migrate", verbosity=0, stdout=_Quiet())
    _delete("id > %s", newer[0].pk)
    kept = AuditEvent.objects.get(pk=newer[0].pk)
    _head_to(kept, AuditEvent.objects.count())


def set_a_failed_result_to_ok(events: list[AuditEvent], settings: Any) -> bool:
    """Variant 4 of issue 19: `update … set ok=1` on the stored results."""
    _delete("id = %s", events[1].pk)
    assert run_verify()[0] == 1
    AuditVerification.objects.update(ok=True, message="All events link up.")
    return _page_says_altered()


def insert_a_good_result(events: list[AuditEvent], settings: Any) -> bool:
    AuditVerification.objects.create(ok=True, events_checked=99, message="Fine.")
    return _page_says_altered()


def lower_the_checkpoints_count(events: list[AuditEvent], settings: Any) -> None:
    path = _checkpoint(settings)
    data = json.loads(path.read_text())
    data["events"] = 1
    path.write_text(json.dumps(data))
    cut_the_tail_and_rewrite_the_head(events, settings)


def _page_says_altered() -> bool:
    client = Client()
    client.force_login(UserFactory(username="auditor", role="viewer"))
    page = client.get(reverse("audit_list")).content.decode()
    return "was altered" in page and 'pill-ok">intact' not in page


def _field_variant(field: str, *, relink: bool) -> Variant:
    def variant(events: list[AuditEvent], settings: Any) -> None:
        forge_field(events[1].pk, field)
        if relink:
            relink_without_key(events[1].pk)

    variant.__name__ = f"forge_{field}" + (
        "_and_relink_without_the_key" if relink else ""
    )
    return variant


STRUCTURAL: list[Variant] = [
    delete_a_middle_event,
    delete_the_first_event,
    delete_a_middle_event_and_relink,
    cut_the_tail_without_touching_the_head,
    cut_the_tail_and_rewrite_the_head,
    wipe_every_event_and_the_head,
    wipe_every_event_and_reset_the_head,
    insert_an_event_behind_the_heads_back,
    insert_an_event_and_move_the_head,
    change_the_heads_count,
    change_the_heads_last_hash,
    replace_the_last_checked_event,
    rewrite_everything_as_unkeyed_links,
    rewrite_as_unkeyed_links_and_lose_the_checkpoint,
    delete_events_before_the_first_scheduled_verification,
    set_a_failed_result_to_ok,
    insert_a_good_result,
    lower_the_checkpoints_count,
]
TAMPER_VARIANTS: list[Variant] = [
    *(_field_variant(field, relink=False) for field in FORGED_VALUES),
    *(_field_variant(field, relink=True) for field in FORGED_VALUES),
    *STRUCTURAL,
]


def test_every_hashed_field_has_a_forged_value() -> None:
    assert set(FORGED_VALUES) == set(AuditEvent.HASHED_FIELDS)


@pytest.mark.parametrize("variant", TAMPER_VARIANTS, ids=lambda v: v.__name__)
def test_each_tamper_variant_is_detected(variant: Variant, settings: Any) -> None:
    events = record_events(4)
    assert run_verify()[0] == 0

    shown = variant(events, settings)

    if shown is None:
        code, message = run_verify()
        assert code == 1, message
    else:
        assert shown
