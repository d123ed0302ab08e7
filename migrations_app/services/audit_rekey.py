"""The one-time re-key of an audit chain written before links were keyed.

Before `PARTNERHUB_AUDIT_KEY`, each event's link was SHA-256 of the previous link
and the event, which anyone with write access to the database can recompute after
an edit; so a chain of such links proves nothing by itself, and a re-key must not
turn a forgery into a valid keyed chain. `manage.py audit_rekey` therefore needs
the operator to say this is an upgrade (`--unkeyed-upgrade`) and to bring the old
chain's head hash from outside the database (what the old version's
`audit_verify` printed, `--legacy-head`): the unkeyed links must reach exactly that
hash, and every event after it must carry a keyed link. It refuses outright once a
keyed chain was verified here (the checkpoint file, or a sealed good result).
Then it recomputes every link with the key, and the head, in id order, in one
transaction. On PostgreSQL the append-only triggers are disabled for that
transaction only (a table owner's right).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection, transaction

from migrations_app.models import AuditChainHead, AuditEvent
from migrations_app.models.audit import GENESIS_HASH, chain_mac, legacy_chain_hash
from migrations_app.services.audit import (
    audit_chain_is_legacy,
    audit_keyed_chain_evidence,
    audit_record,
)

__all__ = ["RekeyRefused", "RekeyResult", "audit_chain_is_legacy", "audit_chain_rekey"]

logger = logging.getLogger(__name__)

CHUNK = 2000


class RekeyRefused(Exception):
    """Raised when re-keying could hide a forgery or a break, so it is not done."""


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


def _refusal_before_walk(*, unkeyed_upgrade: bool, has_head: bool) -> str:
    """Return why the re-key may not even look at the chain, or ""."""
    if not unkeyed_upgrade:
        return (
            "Re-keying rewrites every audit link; it is only for a database "
            "upgraded from a version without PARTNERHUB_AUDIT_KEY. Say so with "
            "--unkeyed-upgrade."
        )
    if evidence := audit_keyed_chain_evidence():
        return (
            f"A keyed audit chain was verified here before ({evidence}), so "
            "unkeyed links now mean the chain was rewritten without the key; "
            "re-keying would hide that."
        )
    if not audit_chain_is_legacy():
        return (
            "The audit chain has no unkeyed links to re-key (it is empty or keyed "
            "already)."
        )
    if not has_head:
        return (
            "Give the old chain's head hash from outside the database with "
            "--legacy-head (the hash the old version's `audit_verify` printed, "
            "or its last log line): unkeyed links alone prove nothing."
        )
    return ""


def _check_old_chain(legacy_head: str, *, accept_broken: bool) -> None:
    """Walk the old links: unkeyed up to `legacy_head`, keyed after it.

    Raise RekeyRefused naming the first event that breaks this, unless
    `accept_broken` (then it is logged and can no longer be detected).
    """
    prev = GENESIS_HASH
    reached = legacy_head == GENESIS_HASH
    for event in _events():
        canonical = event.canonical()
        # Up to the recorded head the links are unkeyed; the events appended
        # after the upgrade (before this re-key) carry keyed links already.
        expected = (
            chain_mac(prev, canonical)
            if reached
            else legacy_chain_hash(prev, canonical)
        )
        if event.prev_hash != prev or event.hash != expected:
            if not accept_broken:
                raise RekeyRefused(
                    f"The old audit chain is broken at event {event.pk} "
                    f"({event.action}); re-keying is refused so that the break "
                    "stays visible. Investigate it first; `audit_rekey "
                    "--accept-broken` re-keys anyway."
                )
            logger.warning(
                "Re-keying the audit chain although it is broken at event %s; "
                "that break can no longer be detected.",
                event.pk,
            )
            return
        prev = event.hash
        reached = reached or prev == legacy_head
    if not reached and not accept_broken:
        raise RekeyRefused(
            f"The unkeyed links do not reach the head hash {legacy_head} given "
            "with --legacy-head: the old events were changed, or the hash is not "
            "this database's; re-keying is refused."
        )


def _rewrite_links() -> tuple[int, str]:
    """Re-link every event and the head with the key; return the count and head."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    postgres = connection.vendor == "postgresql"
    count = 0
    prev = GENESIS_HASH
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        update = f"UPDATE {table} SET prev_hash = %s, hash = %s WHERE id = %s"  # noqa: S608
        batch: list[tuple[str, str, int]] = []
        for event in _events():
            link = chain_mac(prev, event.canonical())
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
    return count, prev


def audit_chain_rekey(
    *,
    unkeyed_upgrade: bool = False,
    legacy_head: str = "",
    accept_broken: bool = False,
) -> RekeyResult:
    """Re-link every event with the audit key; return how many and the new head.

    Raise RekeyRefused without `unkeyed_upgrade`; once a keyed chain was
    verified here; if the chain is not an unkeyed one; without `legacy_head`
    (the old head hash, from outside the database); or if the old links do not
    reach it, or break before it (unless `accept_broken`, after which that break
    can no longer be detected).
    """
    legacy_head = legacy_head.strip().lower()
    if why := _refusal_before_walk(
        unkeyed_upgrade=unkeyed_upgrade, has_head=bool(legacy_head) or accept_broken
    ):
        raise RekeyRefused(why)
    with transaction.atomic():
        # Appends wait for the head: nothing links to a hash being replaced.
        AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        _check_old_chain(legacy_head, accept_broken=accept_broken)
        count, head = _rewrite_links()
    logger.info("Audit chain re-keyed: %d events, head %s", count, head)
    audit_record(
        action="audit.rekeyed",
        message=(
            f"Re-keyed {count} audit events written before PARTNERHUB_AUDIT_KEY "
            f"(old head {legacy_head or 'not given, --accept-broken'})."
        ),
        details={"events": count, "legacy_head": legacy_head},
    )
    return RekeyResult(events=count, head_hash=head)
