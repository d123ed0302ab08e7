"""The invariants a chaos run must keep, read from the sandbox's state and the database.

Partner Center's side (orders, licences, the log of applied writes with their
MS-RequestId and arrival time) comes from the sandbox's dump; PartnerHub's side
(migrations, licence moves, audit events) from the database the processes shared.
Nothing here trusts what the engine says it did when the sandbox can say it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from migrations_app.models import (
    TERMINAL_STATES,
    AuditEvent,
    LicenseMove,
    Migration,
    PendingWrite,
)

REFERENCE = re.compile(r"PH-([0-9A-F]{12})", re.IGNORECASE)
EXAMPLES = 5


@dataclass
class Findings:
    """What the run left behind; `broken` names every invariant that did not hold."""

    figures: dict[str, Any] = field(default_factory=dict)
    broken: dict[str, list[Any]] = field(default_factory=dict)

    def fail(self, invariant: str, examples: list[Any]) -> None:
        if examples:
            self.broken[invariant] = examples[:EXAMPLES]
            self.figures.setdefault("examples", {})[invariant] = examples[:EXAMPLES]


def _lower(value: Any) -> str:
    return str(value or "").lower()


def _reference(order: dict[str, Any]) -> str:
    for item in order.get("lineItems") or []:
        found = REFERENCE.search(str(item.get("friendlyName") or ""))
        if found:
            return found.group(1).upper()
    return ""


def _is_nce(sub: dict[str, Any]) -> bool:
    product = sub.get("productType") or {}
    return product.get("id") == "OnlineServicesNCE" or ":" in str(
        sub.get("offerId") or ""
    )


def check_run(
    *,
    migration_ids: list[int],
    dump: dict[str, Any],
    orders_before: set[str],
    statuses_before: dict[str, str],
) -> Findings:
    """Return the run's figures and every broken invariant, with examples."""
    found = Findings()
    migrations = list(
        Migration.objects.filter(pk__in=migration_ids).select_related(
            "source_subscription", "customer"
        )
    )
    moves: dict[int, list[LicenseMove]] = defaultdict(list)
    for move in LicenseMove.objects.filter(migration_id__in=migration_ids):
        moves[move.migration_id].append(move)
    _states(found, migrations, moves)
    _orders(found, migrations, dump, orders_before)
    _retirements(found, migrations, moves, dump, statuses_before)
    _licences(found, migrations, moves, dump)
    _writes(found, dump)
    return found


def _states(
    found: Findings, migrations: list[Migration], moves: dict[int, list[LicenseMove]]
) -> None:
    states = Counter(m.state for m in migrations)
    errors = Counter(
        (
            m.stopped_step or m.state,
            m.error_code,
            # The first clause: the rest names users and subscriptions.
            re.split(r"[:(]", m.error_message or m.customer_action)[0].strip()[:120],
        )
        for m in migrations
        if m.state in ("failed", "needs_customer_action")
    )
    found.figures["terminal_states"] = dict(sorted(states.items()))
    found.figures["failure_reasons"] = [
        {"step": step, "code": code, "message": text, "migrations": n}
        for (step, code, text), n in errors.most_common(10)
    ]
    found.figures["users_planned"] = sum(len(v) for v in moves.values())
    found.figures["moves"] = dict(
        Counter(mv.status for v in moves.values() for mv in v)
    )
    found.figures["by_commerce"] = dict(
        Counter(
            ("nce" if m.source_subscription.is_nce else "legacy") + ":" + m.state
            for m in migrations
        )
    )
    stuck = [
        {"migration": m.pk, "state": m.state}
        for m in migrations
        if m.state not in TERMINAL_STATES
    ]
    found.figures["not_terminal"] = len(stuck)
    found.fail("every migration reaches a terminal state", stuck)


def _orders(
    found: Findings,
    migrations: list[Migration],
    dump: dict[str, Any],
    orders_before: set[str],
) -> None:
    by_reference = {
        m.purchase_request_id.hex[:12].upper(): m
        for m in migrations
        if m.purchase_request_id is not None
    }
    by_request, by_cart = _owners(migrations)
    per_migration: dict[int, list[str]] = defaultdict(list)
    untracked: list[dict[str, Any]] = []
    new_orders = [o for o in dump["orders"] if _lower(o["id"]) not in orders_before]
    for order in new_orders:
        reference = _reference(order)
        # The sandbox knows each order's MS-RequestId and cart even when
        # Partner Center drops the friendlyName (the strictest answer).
        owner = (
            by_request.get(_lower(order.get("msRequestId")))
            or by_cart.get(_lower(order.get("cartId")))
            or (by_reference.get(reference) if reference else None)
        )
        if owner is None:
            untracked.append(
                {
                    "order": order["id"],
                    "reference": reference or None,
                    "why": "no owner",
                }
            )
            continue
        per_migration[owner.pk].append(_lower(order["id"]))
    for m in migrations:
        held = per_migration.get(m.pk, [])
        if len(held) > 1:
            untracked += [
                {"order": o, "migration": m.pk, "why": "second order of a migration"}
                for o in held
                if o != _lower(m.order_id)
            ]
        elif held and _lower(m.order_id) != held[0]:
            untracked.append(
                {
                    "order": held[0],
                    "migration": m.pk,
                    "why": f"carries its reference, migration holds {m.order_id!r}",
                }
            )
    histogram = Counter(len(per_migration.get(m.pk, [])) for m in migrations)
    found.figures["orders_per_migration"] = {
        str(k): v for k, v in sorted(histogram.items())
    }
    found.figures["orders_new"] = len(new_orders)
    found.figures["orders_untracked"] = len(untracked)
    found.fail("every order belongs to exactly one migration", untracked)
    double = [
        {"migration": pk, "orders": held}
        for pk, held in per_migration.items()
        if len(held) > 1
    ]
    found.fail("at most one purchase per migration", double)


def _owners(
    migrations: list[Migration],
) -> tuple[dict[str, Migration], dict[str, Migration]]:
    """Return the migrations by every MS-RequestId their purchase sent, and by cart."""
    from migrations_app.workflow.steps.purchase_records import send_request_id

    by_request: dict[str, Migration] = {}
    for m in migrations:
        if m.purchase_request_id is not None:
            for attempt in range(m.purchase_attempt + 1):
                by_request[_lower(send_request_id(m, attempt))] = m
    by_cart = {_lower(m.cart_id): m for m in migrations if m.cart_id}
    return by_request, by_cart


def _user_of(path: str) -> str:
    parts = path.lower().split("/")
    return parts[parts.index("users") + 1] if "users" in parts else ""


def _retirements(
    found: Findings,
    migrations: list[Migration],
    moves: dict[int, list[LicenseMove]],
    dump: dict[str, Any],
    statuses_before: dict[str, str],
) -> None:
    applied = [w for w in dump["writes"] if int(w["status"]) < 400]
    patches: dict[str, list[str]] = defaultdict(list)
    moves_at: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for w in applied:
        path = w["path"].lower()
        if w["method"] == "PATCH" and "/subscriptions/" in path:
            patches[path.rsplit("/", 1)[-1]].append(w["at"])
        elif w["method"] == "POST" and path.endswith("/licenseupdates"):
            moves_at[_user_of(path)].append((w["at"], _lower(w["ms_request_id"])))
    ours: dict[int, set[str]] = defaultdict(set)
    for pk, rid in AuditEvent.objects.filter(
        action="partner_center.write", migration_id__in=[m.pk for m in migrations]
    ).values_list("migration_id", "pc_request_id"):
        ours[pk].add(_lower(rid))
    subs = {_lower(s["id"]): s for s in dump["subscriptions"]}
    early: list[dict[str, Any]] = []
    nce_suspended: list[dict[str, Any]] = []
    retired = 0
    for m in migrations:
        sid = _lower(m.source_subscription.subscription_id)
        if not patches.get(sid):
            continue
        retired += 1
        at = min(patches[sid])
        rids = ours[m.pk] | {_lower(mv.request_id) for mv in moves[m.pk]}
        for mv in moves[m.pk]:
            writes = moves_at.get(_lower(mv.user_id), [])
            mine = [t for t, rid in writes if rid in rids] or [t for t, _ in writes]
            if not mine or min(mine) > at:
                early.append(
                    {
                        "migration": m.pk,
                        "subscription": sid,
                        "retired_at": at,
                        "user": mv.user_id,
                        "first_move_at": min(mine) if mine else None,
                    }
                )
                break
        sub = subs.get(sid) or {}
        if (
            _is_nce(sub)
            and _lower(sub.get("status")) == "suspended"
            and statuses_before.get(sid) != "suspended"
        ):
            nce_suspended.append({"migration": m.pk, "subscription": sid})
    found.figures["old_subscriptions_retired"] = retired
    found.figures["early_retirements"] = len(early)
    found.figures["nce_suspended"] = len(nce_suspended)
    found.fail("no retirement before every planned user holds the new licence", early)
    found.fail("an NCE subscription is never suspended", nce_suspended)


def _licences(
    found: Findings,
    migrations: list[Migration],
    moves: dict[int, list[LicenseMove]],
    dump: dict[str, Any],
) -> None:
    held = {
        _lower(u["id"]): {_lower(s) for s in u.get("licenses") or []}
        for u in dump["users"]
    }
    without: list[dict[str, Any]] = []
    completed_missing: list[dict[str, Any]] = []
    for m in migrations:
        old, new = _lower(m.source_sku_id), _lower(m.target_sku_id)
        for mv in moves[m.pk]:
            skus = held.get(_lower(mv.user_id), set())
            if old not in skus and new not in skus:
                without.append({"migration": m.pk, "user": mv.user_id})
            elif m.state == "completed" and new not in skus:
                completed_missing.append({"migration": m.pk, "user": mv.user_id})
    found.figures["users_without_licence"] = len(without)
    found.figures["completed_users_without_new_licence"] = len(completed_missing)
    found.fail("no planned user is left without a licence", without)
    found.fail(
        "every user of a completed migration holds the new licence", completed_missing
    )


def _writes(found: Findings, dump: dict[str, Any]) -> None:
    """Every applied write: exactly one event saying it took effect, none saying not.

    A resend reuses its MS-RequestId, so an earlier attempt that did not take
    effect (refused with 429/5xx, or never sent before its worker died) has an
    event of its own with that id, saying so. Such an event is true only if it was
    written before the attempt that took effect reached Partner Center; one
    written after says "not applied" about a write that was.
    """
    applied = [w for w in dump["writes"] if int(w["status"]) < 400]
    events: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for rid, outcome, created in AuditEvent.objects.filter(
        action="partner_center.write"
    ).values_list("pc_request_id", "outcome", "created_at"):
        events[_lower(rid)].append((outcome, created))
    wrong = []
    earlier_attempts = 0
    for w in applied:
        key = _lower(w["ms_request_id"])
        at = datetime.fromisoformat(w["at"].replace("Z", "+00:00"))
        successes = [c for o, c in events[key] if o == "success"]
        late_denials = [c for o, c in events[key] if o != "success" and c > at]
        earlier_attempts += any(o != "success" for o, _ in events[key])
        # A cart whose answer was lost cannot be read back: one "unknown" event.
        unknown = [o for o, _ in events[key] if o == "unknown"]
        lost_cart = (
            w["path"].endswith("/carts") and len(events[key]) == len(unknown) == 1
        )
        if lost_cart:
            continue
        if len(successes) != 1 or late_denials:
            wrong.append(
                {
                    "request_id": w["ms_request_id"],
                    "method": w["method"],
                    "path": w["path"],
                    "applied_at": w["at"],
                    "fault": w.get("fault"),
                    "events": [(o, c.isoformat()) for o, c in events[key]],
                }
            )
    applied_ids = {_lower(w["ms_request_id"]) for w in applied}
    phantom = [
        rid
        for rid, seen in events.items()
        if rid and rid not in applied_ids and any(o == "success" for o, _ in seen)
    ]
    found.figures["writes_applied"] = len(applied)
    found.figures["writes_by_fault"] = dict(
        Counter(str(w.get("fault") or "none") for w in applied)
    )
    found.figures["writes_without_exactly_one_event"] = len(wrong)
    found.figures["applied_writes_after_audited_failed_attempts"] = earlier_attempts
    found.figures["success_events_without_applied_write"] = len(phantom)
    found.figures["pending_writes_left"] = PendingWrite.objects.count()
    found.fail("every applied write has exactly one audit event", wrong)
    found.fail(
        "no write is audited as applied that Partner Center never applied", phantom
    )
