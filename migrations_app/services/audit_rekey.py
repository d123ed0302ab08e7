"""The one-time re-key of an audit chain written before links were keyed.

Before `PARTNERHUB_AUDIT_KEY`, each event's link was SHA-256 of the previous link
and the event, which anyone with write access to the database could recompute
after an edit. `manage.py audit_rekey` turns such a chain into an HMAC chain: it
first walks the old links and refuses, naming the first broken event, if any does
not hold (so tampering from before the re-key is never laundered into a valid
keyed chain); then it recomputes every link with the key, and the head, in id
order, in one transaction. On PostgreSQL the append-only triggers are disabled
for that transaction only (a table owner's right).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import connection, transaction

from migrations_app.models import AuditChainHead, AuditEvent
from migrations_app.models.audit import GENESIS_HASH, chain_mac, legacy_chain_hash
from migrations_app.services.audit import (
    CheckpointUnreadable,
    audit_chain_is_legacy,
    audit_checkpoint_read,
)

__all__ = ["RekeyRefused", "RekeyResult", "audit_chain_is_legacy", "audit_chain_rekey"]

logger = logging.getLogger(__name__)

CHUNK = 2000
Link = Callable[[str, str], str]


class RekeyRefused(Exception):
    """Raised when the old chain does not hold, so re-keying it would hide that."""


@dataclass(frozen=True)
class RekeyResult:
    events: int
    head_hash: str


def _events() -> Iterator[AuditEvent]:
    """Yield every event in id order, a chunk at a time (rows change as we go)."""
    last = 0
    while True:
        chunk = list(AuditEvent.objects.filter(pk__gt=last).order_by("pk")[:CHUNK])
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].pk


def _keyed(prev: str, canonical: str) -> str:
    return chain_mac(prev, canonical)


def audit_chain_rekey(*, accept_broken: bool = False) -> RekeyResult:
    """Re-link every event with the audit key; return how many and the new head.

    Raise RekeyRefused if the old SHA-256 chain is broken (unless
    `accept_broken`, after which that break can no longer be detected) or if the
    chain is not an unkeyed one, or if a verification has already recorded a
    keyed chain (then unkeyed links mean someone rewrote it without the key).
    """
    try:
        checkpoint_exists = audit_checkpoint_read() is not None
    except CheckpointUnreadable:
        checkpoint_exists = True
    if checkpoint_exists:
        raise RekeyRefused(
            "A verification has already recorded a keyed audit chain (the checkpoint "
            "file exists), so unkeyed links now mean the chain was rewritten without "
            "the key; re-keying would hide that."
        )
    if not audit_chain_is_legacy():
        raise RekeyRefused(
            "The audit chain has no unkeyed links to re-key (it is empty or keyed "
            "already)."
        )
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        # Appends wait for the head: nothing links to a hash being replaced.
        AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        prev = GENESIS_HASH
        for event in _events():
            canonical = event.canonical()
            # Events appended after the upgrade (before this re-key) carry
            # keyed links already; the ones before, unkeyed ones.
            if event.prev_hash != prev or event.hash not in (
                legacy_chain_hash(prev, canonical),
                _keyed(prev, canonical),
            ):
                if not accept_broken:
                    raise RekeyRefused(
                        f"The unkeyed audit chain is broken at event {event.pk} "
                        f"({event.action}); re-keying is refused so that the break "
                        "stays visible. Investigate it first; `audit_rekey "
                        "--accept-broken` re-keys anyway."
                    )
                logger.warning(
                    "Re-keying the audit chain although it is broken at event %s; "
                    "that break can no longer be detected.",
                    event.pk,
                )
                break
            prev = event.hash
        count = 0
        with connection.cursor() as cursor:
            if postgres:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            update = f"UPDATE {table} SET prev_hash = %s, hash = %s WHERE id = %s"  # noqa: S608
            prev = GENESIS_HASH
            batch: list[tuple[str, str, int]] = []
            for event in _events():
                link = _keyed(prev, event.canonical())
                batch.append((prev, link, event.pk))
                prev = link
                count += 1
                if len(batch) >= CHUNK:
                    cursor.executemany(update, batch)
                    batch = []
            if batch:
                cursor.executemany(update, batch)
            if postgres:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
        AuditChainHead.objects.filter(pk=1).update(
            last_event_id=last or 0, last_hash=prev, event_count=count
        )
    logger.info("Audit chain re-keyed: %d events, head %s", count, prev)
    return RekeyResult(events=count, head_hash=prev)
