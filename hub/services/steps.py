"""The migration worker: claim a row, run exactly one step, persist it, let go.

The database row is the record of truth. A worker claims it with a conditional
UPDATE (a lease), performs one step against Partner Center, persists the result and
releases the lease; the next step is a new Celery message. Every step is safe to
run twice: writes carry an MS-RequestId stored before sending, and any step that
may have been interrupted reads Partner Center's state back before writing again.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hub.models import (
    STEPS,
    TERMINAL_STATES,
    CustomerUser,
    LicenseMove,
    Migration,
    MigrationState,
    Offer,
    Outcome,
    RetireMode,
    Subscription,
    UserLicense,
)
from hub.services.audit import audit_record
from hub.services.migrations import enqueue_customer_sync
from hub.services.pc import is_foreign_subscription, partner_center_client
from partner_center.client import PartnerCenterClient
from partner_center.errors import (
    AuthError,
    Conflict,
    Forbidden,
    MalformedResponse,
    NotFound,
    PartnerCenterError,
    PermanentError,
    Throttled,
    TransientError,
)
from partner_center.models import Subscription as PcSubscription

logger = logging.getLogger(__name__)

# A transient failure (5xx, timeout, lost connection) is retried this many times,
# with exponential backoff, before the migration fails.
MAX_TRANSIENT_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 300.0
# Give up waiting for a bought subscription to become active after this long.
PROVISIONING_TIMEOUT = timedelta(hours=24)
# Orders in Partner Center carry whole-second creation dates; allow for that and
# for clock skew when looking for an order this migration may already have placed.
ADOPTION_SLACK = timedelta(minutes=2)
# One claim moves at most this many users, then hands over to a new message.
MOVES_PER_CLAIM = 50
# Waits up to this long go back to Celery as a countdown; longer ones are left
# to beat (far below the broker's visibility timeout either way).
COUNTDOWN_LIMIT_SECONDS = 60.0
CODE_OUT_OF_LICENSES = 60012
CODE_LICENSE_MIGRATION_FAILED = 60000
CODE_ORDER_IN_PROGRESS = 800060


def lease_seconds() -> float:
    """Return how long a claim holds a migration before others may take it."""
    return float(settings.PARTNERHUB_MIGRATION_LEASE_SECONDS)


def provisioning_poll_seconds() -> float:
    """Return the pause between two looks at a subscription being provisioned."""
    return float(settings.PARTNERHUB_PROVISIONING_POLL_SECONDS)


def step_budget_seconds() -> float:
    """Return how long one claim may keep working before handing over."""
    return min(60.0, lease_seconds() / 2)


def backoff_seconds(attempt: int) -> float:
    """Return the wait before transient attempt number `attempt` (1-based)."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))


def worker_identity() -> str:
    """Return a lease owner name unique to this claim."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------- outcomes


class LeaseLost(Exception):
    """Raised when another worker (or a cancel) took the migration from this claim."""


class StepFailed(Exception):
    """Raised by a step that cannot go on without a person; says why in plain words."""

    def __init__(self, message: str, code: Any = "", description: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = "" if code is None else str(code)
        self.description = description


class CustomerActionNeeded(Exception):
    """Raised when only the customer can finish the job; `text` says what to do."""

    def __init__(self, text: str, code: Any = "", description: str = "") -> None:
        super().__init__(text)
        self.text = text
        self.code = "" if code is None else str(code)
        self.description = description


@dataclass
class StepOutcome:
    """What one step decided: advance, continue, wait, fail or hand over."""

    kind: str  # advance | continue | wait
    seconds: float = 0.0
    reason: str = ""


ADVANCE = StepOutcome("advance")
CONTINUE = StepOutcome("continue")


def wait(seconds: float, reason: str) -> StepOutcome:
    return StepOutcome("wait", seconds=seconds, reason=reason)


# ---------------------------------------------------------------- claim


def migration_claim(
    *, migration_id: int, owner: str, lease: float | None = None
) -> Migration | None:
    """Take the lease on a migration that has work due; return it, or None.

    One conditional UPDATE: the row must not be terminal, its lease must be free or
    expired, and its next attempt (if any) must be due. Only one worker can win.
    """
    now = timezone.now()
    claimed = (
        Migration.objects.filter(pk=migration_id)
        .exclude(state__in=TERMINAL_STATES)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease or lease_seconds()),
            updated_at=now,
        )
    )
    if claimed != 1:
        return None
    return Migration.objects.select_related("customer", "source_subscription").get(
        pk=migration_id
    )


class StepContext:
    """One claim on one migration: its client and lease-guarded persistence."""

    def __init__(
        self, migration: Migration, owner: str, client: PartnerCenterClient
    ) -> None:
        self.migration = migration
        self.owner = owner
        self.client = client
        self.started = time.monotonic()
        # The user's move being sent right now, if any (the move step sets it).
        self.current_move: LicenseMove | None = None

    @property
    def tenant(self) -> str:
        return str(self.migration.customer.tenant_id)

    def save(self, **fields: Any) -> None:
        """Persist fields on the migration while this claim still holds the lease.

        Raise LeaseLost otherwise.
        """
        now = timezone.now()
        updated = Migration.objects.filter(
            pk=self.migration.pk, lease_owner=self.owner
        ).update(updated_at=now, **fields)
        if updated != 1:
            raise LeaseLost(f"Migration {self.migration.pk} is no longer ours")
        for name, value in fields.items():
            setattr(self.migration, name, value)

    def renew_lease(self) -> None:
        """Extend the lease (long steps call this between Partner Center calls)."""
        self.save(lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds()))

    def out_of_time(self) -> bool:
        return time.monotonic() - self.started > step_budget_seconds()


# ---------------------------------------------------------------- local rows


def subscription_upsert(*, customer: Any, data: PcSubscription) -> Subscription:
    """Create or update the local copy of a subscription from Partner Center's answer.

    Keeps `suspended_by_partnerhub_at` while the subscription stays suspended.
    """
    end = data.commitment_end_date or data.commitment_end_date_time
    values: dict[str, Any] = {
        "customer": customer,
        "offer_id": data.offer_id or "",
        "offer_name": data.offer_name or "",
        "friendly_name": data.friendly_name or "",
        "quantity": data.quantity or 0,
        "unit_type": data.unit_type or "",
        "status": data.status or "",
        "auto_renew_enabled": bool(data.auto_renew_enabled),
        "creation_date": data.creation_date,
        "effective_start_date": data.effective_start_date,
        "commitment_end_date": end,
        "billing_cycle": data.billing_cycle or "",
        "term_duration": data.term_duration or "",
        "partner_id": data.partner_id or "",
        "order_id": data.order_id or "",
        "parent_subscription_id": data.parent_subscription_id or "",
        "synced_at": timezone.now(),
    }
    local = Subscription.objects.filter(subscription_id__iexact=data.id).first()
    if local is None:
        return Subscription.objects.create(subscription_id=data.id, **values)
    for name, value in values.items():
        setattr(local, name, value)
    if (local.status or "").lower() != Subscription.SUSPENDED:
        local.suspended_by_partnerhub_at = None
    local.save()
    return local


def _record_local_move(migration: Migration, move: LicenseMove) -> None:
    """Mirror a finished licence move in the synced licences, so pages agree now."""
    user = CustomerUser.objects.filter(
        customer_id=migration.customer_id, user_id__iexact=move.user_id
    ).first()
    if user is None:
        return
    UserLicense.objects.filter(
        user=user, sku_id__iexact=migration.source_sku_id
    ).delete()
    if not UserLicense.objects.filter(
        user=user, sku_id__iexact=migration.target_sku_id
    ).exists():
        UserLicense.objects.create(
            user=user,
            sku_id=migration.target_sku_id,
            sku_name=migration.target_offer_name,
        )


def _pc_error(exc: PermanentError) -> tuple[str, str]:
    return ("" if exc.code is None else str(exc.code), exc.description)


# ---------------------------------------------------------------- purchase


def _reconcile_purchase(ctx: StepContext) -> bool:
    """Adopt an order or subscription this migration already bought; return True.

    Called before any resend of the order: the previous attempt may have been
    applied even though its answer was lost or never saved.
    """
    m = ctx.migration
    target = m.target_offer_id.lower()
    since = m.created_at - ADOPTION_SLACK
    # A cancelled migration of the same source left its purchase for this one.
    others = Migration.objects.exclude(pk=m.pk).exclude(
        state=MigrationState.CANCELLED, source_subscription_id=m.source_subscription_id
    )
    taken_orders = {
        o.lower()
        for o in others.exclude(order_id="").values_list("order_id", flat=True)
    }
    taken_subs = {
        s.lower()
        for s in others.exclude(new_subscription_id="").values_list(
            "new_subscription_id", flat=True
        )
    }
    for order in ctx.client.list_orders(ctx.tenant):
        if order.id.lower() in taken_orders:
            continue
        if order.creation_date is not None and order.creation_date < since:
            continue
        for item in order.line_items:
            if (item.offer_id or "").lower() != target or item.quantity != m.quantity:
                continue
            ctx.save(order_id=order.id, new_subscription_id=item.subscription_id or "")
            _audit_adoption(m, f"order {order.id}")
            return True
    for sub in ctx.client.list_subscriptions(ctx.tenant):
        if (sub.offer_id or "").lower() != target or sub.id.lower() in taken_subs:
            continue
        if (sub.order_id or "").lower() in taken_orders:
            continue
        if sub.creation_date is None or sub.creation_date < since:
            continue
        ctx.save(order_id=sub.order_id or "", new_subscription_id=sub.id)
        _audit_adoption(m, f"subscription {sub.id}")
        return True
    return False


def _audit_adoption(m: Migration, what: str) -> None:
    audit_record(
        action="migration.purchase_adopted",
        customer_tenant_id=str(m.customer.tenant_id),
        customer_name=m.customer.company_name,
        subscription_id=m.source_subscription.subscription_id,
        migration_id=m.pk,
        message=f"Found {what} already bought by this migration; not buying again",
    )


def step_purchase(ctx: StepContext) -> StepOutcome:
    """Buy the target offer once; after any doubt, look for the purchase first."""
    m = ctx.migration
    if m.order_id or m.new_subscription_id:
        return ADVANCE
    if m.purchase_request_id is not None and _reconcile_purchase(ctx):
        return ADVANCE
    _check_usage_locations(m)
    if m.purchase_request_id is None:
        # Stored before sending, so a retry after any failure reuses it.
        ctx.save(purchase_request_id=uuid.uuid4())
    source = m.source_subscription
    cycle = (source.billing_cycle or "").lower()
    try:
        order = ctx.client.create_order(
            ctx.tenant,
            [
                {
                    "offerId": m.target_offer_id,
                    "quantity": m.quantity,
                    "friendlyName": m.target_offer_name,
                }
            ],
            request_id=str(m.purchase_request_id),
            billing_cycle=cycle if cycle in ("monthly", "annual") else "monthly",
        )
    except Conflict as exc:
        if exc.code == CODE_ORDER_IN_PROGRESS:
            # Partner Center already has this request: find the order next time.
            return wait(provisioning_poll_seconds(), "order in progress")
        ctx.save(purchase_request_id=None)
        raise _purchase_refused(m, exc) from exc
    except PermanentError as exc:
        # Refused, so nothing was bought; the next try is a new request.
        ctx.save(purchase_request_id=None)
        raise _purchase_refused(m, exc) from exc
    subscription_id = next(
        (i.subscription_id for i in order.line_items if i.subscription_id), ""
    )
    ctx.save(order_id=order.id, new_subscription_id=subscription_id or "")
    return ADVANCE


def _check_usage_locations(m: Migration) -> None:
    """Refuse to buy while a user to move lacks a usage location (synced rows).

    A licence cannot be assigned to such a user, so the seat check would fail
    after the seats were bought and billed.
    """
    pending = list(m.license_moves.exclude(status=LicenseMove.Status.MOVED))
    if not pending:
        return
    located = {
        user_id.lower()
        for user_id in CustomerUser.objects.filter(customer_id=m.customer_id)
        .exclude(usage_location="")
        .values_list("user_id", flat=True)
    }
    missing = [mv for mv in pending if mv.user_id.lower() not in located]
    if not missing:
        return
    for mv in missing:
        mv.error_message = "No usage location: set one before the licence can move."
        mv.save(update_fields=["error_message"])
    raise StepFailed(
        f"Nothing was bought: {_users_phrase(len(missing))} no usage location "
        f"({_upns(missing)}), so no licence could be assigned to them. Set it in "
        "the Microsoft 365 admin center, Refresh the customer, then retry."
    )


def _users_phrase(count: int) -> str:
    return "1 user has" if count == 1 else f"{count} users have"


def _upns(moves: list[LicenseMove], limit: int = 5) -> str:
    shown = [mv.user_principal_name or mv.user_id for mv in moves]
    text = ", ".join(shown[:limit])
    if len(shown) > limit:
        text += f" and {len(shown) - limit} more"
    return text


def _purchase_refused(m: Migration, exc: PermanentError) -> StepFailed:
    code, description = _pc_error(exc)
    if exc.code == 2091 or exc.status == 403:
        text = (
            f"Partner Center would not sell {m.target_offer_name}: it is not available "
            "for purchase to this customer. Choose another target in the SKU mapping "
            "and start a new migration."
        )
    elif exc.code in (800004,):
        text = (
            f"Partner Center does not know the offer id {m.target_offer_id} of "
            f"{m.target_offer_name}. Fix the SKU mapping, then start again."
        )
    elif exc.code in (2002, 800067):
        text = (
            f"Partner Center refused the quantity {m.quantity} for "
            f"{m.target_offer_name}."
        )
    else:
        text = f"Partner Center refused the order for {m.target_offer_name}."
    return StepFailed(text, code, description)


# ---------------------------------------------------------------- provisioning


def step_await_provisioning(ctx: StepContext) -> StepOutcome:
    """Wait until the new subscription exists, is active and its skuId is known."""
    m = ctx.migration
    if timezone.now() - m.created_at > PROVISIONING_TIMEOUT:
        raise StepFailed(
            f"The new {m.target_offer_name} subscription was not provisioned within "
            f"{PROVISIONING_TIMEOUT.total_seconds() / 3600:.0f} hours of the order "
            f"({m.order_id}). Check the order in Partner Center, then retry."
        )
    if not m.new_subscription_id:
        if not m.order_id:
            raise StepFailed(
                "No order is recorded for this migration. Retry from the purchase step."
            )
        order = ctx.client.get_order(ctx.tenant, m.order_id)
        found = next(
            (i.subscription_id for i in order.line_items if i.subscription_id), ""
        )
        if not found:
            return wait(provisioning_poll_seconds(), "order not provisioned yet")
        ctx.save(new_subscription_id=found)
    data = ctx.client.get_subscription(ctx.tenant, m.new_subscription_id)
    subscription_upsert(customer=m.customer, data=data)
    if (data.status or "").lower() != Subscription.ACTIVE:
        return wait(provisioning_poll_seconds(), f"subscription is {data.status}")
    sku = m.target_sku_id
    if not sku:
        offer = Offer.objects.filter(offer_id__iexact=m.target_offer_id).first()
        sku = offer.product_id if offer and offer.product_id else ""
    if not sku:
        status = ctx.client.get_subscription_provisioning_status(
            ctx.tenant, m.new_subscription_id
        )
        sku = status.sku_id or ""
    if not sku:
        return wait(provisioning_poll_seconds(), "skuId not known yet")
    if sku != m.target_sku_id:
        ctx.save(target_sku_id=sku)
    return ADVANCE


# ---------------------------------------------------------------- preflight


def _names(moves: list[LicenseMove], limit: int = 5) -> str:
    """Return the users' UPNs (display names repeat; UPNs do not)."""
    return _upns(moves, limit)


def _count(number: int, one: str, many: str) -> str:
    """Return "1 user" / "3 users" style words."""
    return f"{number} {one if number == 1 else many}"


def step_preflight(ctx: StepContext) -> StepOutcome:
    """Check free seats of the new skuId and every pending user's usage location."""
    m = ctx.migration
    pending = list(m.license_moves.exclude(status=LicenseMove.Status.MOVED))
    if not pending:
        return ADVANCE
    target = m.target_sku_id.lower()
    skus = ctx.client.list_subscribed_skus(ctx.tenant)
    row = next((s for s in skus if (s.sku_id or "").lower() == target), None)
    available = (row.available_units or 0) if row else 0
    if available < len(pending):
        raise StepFailed(
            f"Not enough free seats: {m.target_offer_name} has {available} free "
            f"{'seat' if available == 1 else 'seats'} but "
            f"{_count(len(pending), 'user still needs', 'users still need')} one. Add seats to the new "
            f"subscription {m.new_subscription_id}, then retry."
        )
    users = {u.id.lower(): u for u in ctx.client.iter_users(ctx.tenant)}
    gone = [mv for mv in pending if mv.user_id.lower() not in users]
    if gone:
        raise StepFailed(
            f"{_count(len(gone), 'user no longer exists', 'users no longer exist')} "
            "in the customer's tenant: "
            f"{_names(gone)}. Resync the customer and start a new migration."
        )
    missing = [mv for mv in pending if not users[mv.user_id.lower()].usage_location]
    if missing:
        for mv in missing:
            mv.error_message = "No usage location: set one before the licence can move."
            mv.save(update_fields=["error_message"])
        raise StepFailed(
            f"{_users_phrase(len(missing))} no usage location: {_names(missing)}. "
            "Licences cannot be assigned without one. Set it in the Microsoft 365 "
            "admin center, then retry."
        )
    return ADVANCE


# ---------------------------------------------------------------- licence moves


def _held_skus(ctx: StepContext, user_id: str) -> set[str]:
    return {
        (lic.sku_id or "").lower()
        for lic in ctx.client.get_user_licenses(ctx.tenant, user_id)
    }


def _mark_moved(ctx: StepContext, move: LicenseMove) -> None:
    move.status = LicenseMove.Status.MOVED
    move.moved_at = timezone.now()
    move.error_message = move.error_code = move.error_description = ""
    move.save(
        update_fields=[
            "status",
            "moved_at",
            "error_message",
            "error_code",
            "error_description",
            "request_id",
            "attempts",
        ]
    )
    _record_local_move(ctx.migration, move)


def _mark_failed(move: LicenseMove, message: str, exc: PermanentError) -> None:
    move.status = LicenseMove.Status.FAILED
    move.error_message = message
    move.error_code, move.error_description = _pc_error(exc)
    # A refused request is finished: the next attempt is a new request.
    move.request_id = None
    move.save(
        update_fields=[
            "status",
            "error_message",
            "error_code",
            "error_description",
            "request_id",
            "attempts",
        ]
    )


def _move_one(ctx: StepContext, move: LicenseMove) -> None:
    """Move one user's licence; leave the move moved, failed or pending.

    Raise StepFailed when the new subscription has run out of seats.
    """
    m = ctx.migration
    new, old = m.target_sku_id, m.source_sku_id
    assign, remove = [new], [old]
    if move.request_id is None:
        move.request_id = uuid.uuid4()
        move.save(update_fields=["request_id"])
    else:
        # An earlier attempt was sent and may have been applied: look first.
        held = _held_skus(ctx, move.user_id)
        assign = [] if new.lower() in held else [new]
        remove = [old] if old.lower() in held else []
        if not assign and not remove:
            _mark_moved(ctx, move)
            return
    move.attempts += 1
    try:
        ctx.client.update_user_licenses(
            ctx.tenant, move.user_id, assign, remove, request_id=str(move.request_id)
        )
    except PermanentError as exc:
        if exc.code == CODE_OUT_OF_LICENSES:
            _mark_failed(
                move, "No free seat left on the new subscription for this user.", exc
            )
            done = m.license_moves.filter(status=LicenseMove.Status.MOVED).count()
            total = m.license_moves.count()
            code, description = _pc_error(exc)
            raise StepFailed(
                f"Not enough licences: the new {m.target_offer_name} subscription ran "
                f"out of free seats ({done} of {total} users moved). Add seats to "
                f"subscription {m.new_subscription_id}, then retry: users already "
                "moved keep their new licence.",
                code,
                description,
            ) from exc
        text = " ".join(str(d) for d in exc.data) + " " + exc.description
        if (
            exc.code == CODE_LICENSE_MIGRATION_FAILED
            and "usage location" in text.lower()
        ):
            _mark_failed(move, "This user has no usage location.", exc)
            return
        if exc.code == CODE_LICENSE_MIGRATION_FAILED and "not have a license" in text:
            # The user's licences differ from the last sync: read them, send
            # exactly what is missing as a new request.
            move.request_id = uuid.uuid4()
            move.save(update_fields=["request_id", "attempts"])
            held = _held_skus(ctx, move.user_id)
            assign = [] if new.lower() in held else [new]
            remove = [old] if old.lower() in held else []
            if assign or remove:
                try:
                    ctx.client.update_user_licenses(
                        ctx.tenant,
                        move.user_id,
                        assign,
                        remove,
                        request_id=str(move.request_id),
                    )
                except PermanentError as again:
                    _mark_failed(move, _move_refused_text(again), again)
                    return
            _mark_moved(ctx, move)
            return
        _mark_failed(move, _move_refused_text(exc), exc)
        return
    _mark_moved(ctx, move)


def _move_refused_text(exc: PermanentError) -> str:
    if exc.status == 404:
        return "Partner Center cannot find this user any more."
    return "Partner Center refused to change this user's licences."


def step_move_licenses(ctx: StepContext) -> StepOutcome:
    """Move pending users one call each; hand over after a batch or a time budget."""
    m = ctx.migration
    pending = list(
        m.license_moves.filter(status=LicenseMove.Status.PENDING).order_by("pk")
    )
    for number, move in enumerate(pending):
        if number >= MOVES_PER_CLAIM or ctx.out_of_time():
            return CONTINUE
        ctx.renew_lease()
        ctx.current_move = move
        _move_one(ctx, move)
        ctx.current_move = None
    failed = list(m.license_moves.filter(status=LicenseMove.Status.FAILED))
    if failed:
        total = m.license_moves.count()
        first = failed[0]
        raise StepFailed(
            f"{len(failed)} of {_count(total, 'user', 'users')} could not be moved: {_names(failed)}. "
            "See each user below; fix them, then retry. Users already moved keep "
            "their new licence.",
            first.error_code,
            first.error_description,
        )
    return ADVANCE


# ---------------------------------------------------------------- verify


def step_verify(ctx: StepContext) -> StepOutcome:
    """Read back every planned user: all hold the new skuId, none the old one."""
    m = ctx.migration
    new, old = m.target_sku_id.lower(), m.source_sku_id.lower()
    wrong: list[LicenseMove] = []
    for move in m.license_moves.order_by("pk"):
        ctx.renew_lease()
        held = _held_skus(ctx, move.user_id)
        if new in held and old not in held:
            continue
        move.status = LicenseMove.Status.PENDING
        move.request_id = None
        move.error_message = (
            "Read back: still holds the old licence."
            if old in held
            else "Read back: does not hold the new licence."
        )
        move.save(update_fields=["status", "request_id", "error_message"])
        wrong.append(move)
    if wrong:
        raise StepFailed(
            f"{_count(len(wrong), 'user does', 'users do')} not hold the new licence "
            "yet, or still hold the "
            f"old one: {_names(wrong)}. The old subscription was left untouched; "
            "retry to move them again."
        )
    return ADVANCE


# ---------------------------------------------------------------- retire


def customer_action_text(m: Migration) -> str:
    """Return what the reseller must tell the customer about a foreign subscription."""
    end = m.source_subscription.commitment_end_date
    expire = (
        f", or let it expire on {end:%b} {end.day}, {end:%Y} (cancelled "
        "subscriptions are not refunded)"
        if end
        else ", or let it expire at its end date (cancelled subscriptions are not "
        "refunded)"
    )
    return (
        f"{m.customer.company_name} must cancel "
        f"{m.source_subscription.display_name} through the partner or channel it "
        f"was bought from{expire}."
    )


def step_retire_old(ctx: StepContext) -> StepOutcome:
    """Suspend the old subscription, or turn its auto-renew off; never a foreign one."""
    m = ctx.migration
    not_moved = m.license_moves.exclude(status=LicenseMove.Status.MOVED).count()
    if not_moved:
        # Never reached through the steps; a guard for the customer's sake.
        raise StepFailed(
            f"{_count(not_moved, 'user does', 'users do')} not hold the new licence: "
            "the old subscription "
            "was left untouched."
        )
    source = m.source_subscription
    if is_foreign_subscription(source.partner_id):
        raise CustomerActionNeeded(customer_action_text(m))
    try:
        current = ctx.client.get_subscription(ctx.tenant, source.subscription_id)
    except (Forbidden, NotFound) as exc:
        raise CustomerActionNeeded(customer_action_text(m), *_pc_error(exc)) from exc
    if is_foreign_subscription(current.partner_id or ""):
        subscription_upsert(customer=m.customer, data=current)
        raise CustomerActionNeeded(customer_action_text(m))
    was = (current.status or "").lower()
    if was == Subscription.SUSPENDED:
        # Already suspended (before the migration, or by an earlier claim): it
        # cannot renew and a suspended one cannot be edited; leave it as it is.
        subscription_upsert(customer=m.customer, data=current)
        return ADVANCE
    if m.retire_request_id is None:
        ctx.save(retire_request_id=uuid.uuid4())
    try:
        if m.retire_mode == RetireMode.EXPIRE:
            updated = ctx.client.set_auto_renew(
                ctx.tenant, source.subscription_id, False, str(m.retire_request_id)
            )
        else:
            updated = ctx.client.suspend_subscription(
                ctx.tenant, source.subscription_id, str(m.retire_request_id)
            )
    except (Forbidden, NotFound) as exc:
        ctx.save(retire_request_id=None)
        raise CustomerActionNeeded(customer_action_text(m), *_pc_error(exc)) from exc
    except PermanentError as exc:
        ctx.save(retire_request_id=None)
        verb = (
            "turn off auto-renew of"
            if m.retire_mode == RetireMode.EXPIRE
            else "suspend"
        )
        raise StepFailed(
            f"Partner Center refused to {verb} {source.display_name}. Every user "
            "already holds the new licence; the old subscription is unchanged.",
            *_pc_error(exc),
        ) from exc
    local = subscription_upsert(customer=m.customer, data=updated)
    if (
        updated.status or ""
    ).lower() == Subscription.SUSPENDED and was != Subscription.SUSPENDED:
        local.suspended_by_partnerhub_at = timezone.now()
        local.save(update_fields=["suspended_by_partnerhub_at"])
    return ADVANCE


STEP_FUNCTIONS: dict[str, Callable[[StepContext], StepOutcome]] = {
    MigrationState.PURCHASE: step_purchase,
    MigrationState.AWAIT_PROVISIONING: step_await_provisioning,
    MigrationState.PREFLIGHT: step_preflight,
    MigrationState.MOVE_LICENSES: step_move_licenses,
    MigrationState.VERIFY: step_verify,
    MigrationState.RETIRE_OLD: step_retire_old,
}


# ---------------------------------------------------------------- the runner


@dataclass
class StepReport:
    """What one call of `migration_run_step` did, for the task and for tests."""

    migration_id: int
    claimed: bool
    step: str = ""
    state: str = ""
    enqueue_after: float | None = None  # seconds; None: do not enqueue


def _audit_migration(
    m: Migration,
    action: str,
    message: str,
    outcome: str = Outcome.SUCCESS,
    **details: Any,
) -> None:
    audit_record(
        action=action,
        outcome=outcome,
        customer_tenant_id=str(m.customer.tenant_id),
        customer_name=m.customer.company_name,
        subscription_id=m.source_subscription.subscription_id,
        migration_id=m.pk,
        message=message,
        details=details,
    )


def _release(ctx: StepContext, **fields: Any) -> bool:
    """Persist the step's result and drop the lease; return False if it was lost."""
    now = timezone.now()
    updated = Migration.objects.filter(
        pk=ctx.migration.pk, lease_owner=ctx.owner
    ).update(lease_owner="", lease_expires_at=None, updated_at=now, **fields)
    for name, value in fields.items():
        setattr(ctx.migration, name, value)
    return updated == 1


def migration_run_step(
    *,
    migration_id: int,
    client: PartnerCenterClient | None = None,
    owner: str | None = None,
) -> StepReport:
    """Claim a migration, perform exactly one step (or part of one), persist it.

    Return what happened; `enqueue_after` says when the caller should send the next
    message. Never raises for Partner Center errors: they become waits (throttling,
    transient failures with backoff) or a failed / needs-customer-action state.
    """
    owner = owner or worker_identity()
    migration = migration_claim(migration_id=migration_id, owner=owner)
    if migration is None:
        return StepReport(migration_id, claimed=False)
    own_client = client is None
    pc = client or partner_center_client(
        customer=migration.customer, migration_id=migration.pk
    )
    ctx = StepContext(migration, owner, pc)
    try:
        return _run_claimed(ctx)
    except LeaseLost:
        logger.warning("Lost the lease on migration %s mid-step", migration_id)
        return StepReport(migration_id, claimed=True, state="lease_lost")
    finally:
        if own_client:
            pc.close()


def _run_claimed(ctx: StepContext) -> StepReport:
    m = ctx.migration
    if m.state == MigrationState.QUEUED:
        ctx.save(state=MigrationState.PURCHASE)
    step = m.state
    report = StepReport(m.pk, claimed=True, step=step)
    try:
        outcome = STEP_FUNCTIONS[step](ctx)
    except Throttled as exc:
        # Honour Retry-After through the row: never sleep, never resend at once.
        seconds = max(1.0, float(exc.retry_after))
        _release(ctx, next_attempt_at=timezone.now() + timedelta(seconds=seconds))
        report.state = m.state
        report.enqueue_after = seconds if seconds <= COUNTDOWN_LIMIT_SECONDS else None
        return report
    except StepFailed as exc:
        _fail(ctx, step, exc.message, exc.code, exc.description)
        report.state = m.state
        return report
    except CustomerActionNeeded as exc:
        _needs_customer(ctx, exc)
        report.state = m.state
        return report
    except (TransientError, MalformedResponse) as exc:
        return _transient(ctx, step, report, exc)
    except AuthError as exc:
        if exc.transient:
            return _transient(ctx, step, report, exc)
        _fail(
            ctx,
            step,
            "Partner Center refused PartnerHub's credentials. An admin must fix the "
            "Partner Center connection settings, then retry.",
            "",
            exc.message,
        )
        report.state = m.state
        return report
    except PermanentError as exc:
        _fail(
            ctx,
            step,
            f"Partner Center refused a request while trying to "
            f"{STEP_VERBS.get(step, 'continue')}.",
            *_pc_error(exc),
        )
        report.state = m.state
        return report
    except PartnerCenterError as exc:
        return _transient(ctx, step, report, exc)
    except LeaseLost:
        raise
    except Exception as exc:
        logger.exception("Migration %s: unexpected error in step %s", m.pk, step)
        return _transient(ctx, step, report, exc)
    now = timezone.now()
    if outcome.kind == "wait":
        _release(ctx, next_attempt_at=now + timedelta(seconds=outcome.seconds))
        report.state = m.state
        if outcome.seconds <= COUNTDOWN_LIMIT_SECONDS:
            report.enqueue_after = outcome.seconds
        return report
    if outcome.kind == "continue":
        _release(ctx, next_attempt_at=None, attempts=0)
        report.state = m.state
        report.enqueue_after = 0.0
        return report
    position = STEPS.index(step)
    if position + 1 < len(STEPS):
        next_state = STEPS[position + 1]
        with transaction.atomic():
            if _release(
                ctx,
                state=next_state,
                attempts=0,
                next_attempt_at=None,
                error_message="",
                error_code="",
                error_description="",
            ):
                _audit_migration(
                    m,
                    "migration.step_completed",
                    f"{STEP_TITLES_DONE[step]}; next: {MigrationState(next_state).label}",
                    step=step,
                )
        report.state = next_state
        report.enqueue_after = 0.0
        return report
    with transaction.atomic():
        if _release(
            ctx,
            state=MigrationState.COMPLETED,
            attempts=0,
            next_attempt_at=None,
            finished_at=now,
            error_message="",
            error_code="",
            error_description="",
        ):
            _audit_migration(
                m,
                "migration.completed",
                f"Moved {m.source_subscription.display_name} to {m.target_offer_name}",
            )
            enqueue_customer_sync(m)
    report.state = MigrationState.COMPLETED
    return report


STEP_VERBS: dict[str, str] = {
    MigrationState.PURCHASE: "buy the new subscription",
    MigrationState.AWAIT_PROVISIONING: "check the new subscription",
    MigrationState.PREFLIGHT: "check seats and users",
    MigrationState.MOVE_LICENSES: "move licences",
    MigrationState.VERIFY: "read back licences",
    MigrationState.RETIRE_OLD: "retire the old subscription",
}
STEP_TITLES_DONE: dict[str, str] = {
    MigrationState.PURCHASE: "Bought the new subscription",
    MigrationState.AWAIT_PROVISIONING: "The new subscription is active",
    MigrationState.PREFLIGHT: "Seats and usage locations checked",
    MigrationState.MOVE_LICENSES: "Every licence moved",
    MigrationState.VERIFY: "Every user holds the new licence",
    MigrationState.RETIRE_OLD: "Old subscription retired",
}


def transient_cause(exc: BaseException) -> str:
    """Return, in plain words, why a call that may work next time did not."""
    if isinstance(exc, Throttled):
        return "Partner Center asked PartnerHub to slow down"
    if isinstance(exc, TransientError):
        status = exc.status
        if status is not None and status >= 500:
            return f"Partner Center answered with an error (HTTP {status})"
        if status == 202:
            return "Partner Center accepted the change but had not finished it"
        if status == 204:
            return "Partner Center made the change but its result could not be read"
        if "connection" in exc.message:
            return "The connection to Partner Center was lost"
        return "Partner Center did not answer in time"
    if isinstance(exc, MalformedResponse):
        return "Partner Center sent an answer PartnerHub could not read"
    if isinstance(exc, AuthError):
        return "Partner Center could not issue a sign-in token"
    return "An unexpected error stopped this step"


def transient_detail(exc: BaseException) -> tuple[str, str]:
    """Return Partner Center's code and a clean description of a transient error."""
    code = getattr(exc, "code", None)
    description = getattr(exc, "description", "") or ""
    if not description:
        description = getattr(exc, "message", "") or str(exc)
    return ("" if code is None else str(code), description[:1000])


def _transient(
    ctx: StepContext, step: str, report: StepReport, exc: BaseException
) -> StepReport:
    m = ctx.migration
    attempts = m.attempts + 1
    cause = transient_cause(exc)
    code, description = transient_detail(exc)
    if attempts >= MAX_TRANSIENT_ATTEMPTS:
        move = ctx.current_move
        if move is not None:
            # Show the user it stopped on as failed, not as still pending.
            move.status = LicenseMove.Status.FAILED
            move.error_message = (
                "Partner Center kept failing while moving this user's licence."
            )
            move.error_code = code
            move.error_description = description
            move.save(
                update_fields=[
                    "status",
                    "error_message",
                    "error_code",
                    "error_description",
                    "attempts",
                ]
            )
        _fail(
            ctx,
            step,
            f"Partner Center kept failing while trying to "
            f"{STEP_VERBS.get(step, 'continue')} ({attempts} attempts; last: "
            f"{cause}). Retry later.",
            code,
            description,
        )
        report.state = m.state
        return report
    seconds = backoff_seconds(attempts)
    _release(
        ctx,
        attempts=attempts,
        next_attempt_at=timezone.now() + timedelta(seconds=seconds),
        error_message=f"{cause}; trying again "
        f"(attempt {attempts + 1} of {MAX_TRANSIENT_ATTEMPTS}).",
        error_code=code,
        error_description=description,
    )
    report.state = m.state
    report.enqueue_after = seconds if seconds <= COUNTDOWN_LIMIT_SECONDS else None
    return report


def _fail(
    ctx: StepContext, step: str, message: str, code: str, description: str
) -> None:
    m = ctx.migration
    with transaction.atomic():
        if _release(
            ctx,
            state=MigrationState.FAILED,
            stopped_step=step,
            error_message=message,
            error_code=code,
            error_description=description,
            next_attempt_at=None,
            finished_at=timezone.now(),
        ):
            _audit_migration(
                m,
                "migration.failed",
                message,
                outcome=Outcome.FAILURE,
                step=step,
                code=code,
                description=description,
            )


def _needs_customer(ctx: StepContext, exc: CustomerActionNeeded) -> None:
    m = ctx.migration
    with transaction.atomic():
        if _release(
            ctx,
            state=MigrationState.NEEDS_CUSTOMER_ACTION,
            customer_action=exc.text,
            error_code=exc.code,
            error_description=exc.description,
            error_message="",
            next_attempt_at=None,
            finished_at=timezone.now(),
        ):
            _audit_migration(
                m, "migration.needs_customer_action", exc.text, outcome=Outcome.FAILURE
            )
            enqueue_customer_sync(m)
