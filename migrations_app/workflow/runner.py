"""Claim a migration, run exactly one step (or part of one), persist it, let go.

The database row is the record of truth. Every step is safe to run twice: writes
carry an MS-RequestId stored before sending, and a step that may have been
interrupted reads Partner Center's state back before writing again. What an error
means for the migration is decided in one table, `OUTCOMES`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from migrations_app.models import LicenseMove, MigrationState, Outcome
from migrations_app.workflow import registry
from migrations_app.workflow.enqueue import enqueue_customer_sync
from migrations_app.workflow.events import audit_migration, migration_completed
from migrations_app.workflow.lease import StepContext, migration_claim, worker_identity
from migrations_app.workflow.outcomes import (
    CustomerActionNeeded,
    LeaseLost,
    StepFailed,
    StepOutcome,
    pc_error,
)
from migrations_app.workflow.pc import partner_center_client
from migrations_app.workflow.settings import (
    COUNTDOWN_LIMIT_SECONDS,
    MAX_TRANSIENT_ATTEMPTS,
    backoff_seconds,
)
from partner_center.client import PartnerCenterClient
from partner_center.errors import (
    AgreementNotAccepted,
    AuthError,
    GdapAccessDenied,
    MalformedResponse,
    MfaRequired,
    NoRelationship,
    PartnerCenterError,
    PermanentError,
    RefreshTokenExpired,
    Throttled,
    TransientError,
    WritesDisabled,
)

logger = logging.getLogger(__name__)


@dataclass
class StepReport:
    """What one call of `migration_run_step` did, for the task and for tests."""

    migration_id: int
    claimed: bool
    step: str = ""
    state: str = ""
    enqueue_after: float | None = None  # seconds; None: do not enqueue


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
        ctx.save(state=registry.first_step(m).key)
    current = registry.step(m.state)
    report = StepReport(m.pk, claimed=True, step=current.key)
    try:
        outcome = current.run(ctx)
    except LeaseLost:
        raise
    except Exception as exc:
        handler = _handler_for(exc)
        if handler is _unexpected:
            logger.exception(
                "Migration %s: unexpected error in step %s", m.pk, current.key
            )
        handler(ctx, current.key, report, exc)
        report.state = m.state
        return report
    _apply(ctx, current.key, report, outcome)
    return report


# ---------------------------------------------------------------- outcomes of steps


def _apply(
    ctx: StepContext, key: str, report: StepReport, outcome: StepOutcome
) -> None:
    m = ctx.migration
    now = timezone.now()
    if outcome.kind == "wait":
        ctx.release(next_attempt_at=now + timedelta(seconds=outcome.seconds))
        report.state = m.state
        if outcome.seconds <= COUNTDOWN_LIMIT_SECONDS:
            report.enqueue_after = outcome.seconds
        return
    if outcome.kind == "continue":
        ctx.release(next_attempt_at=None, attempts=0)
        report.state = m.state
        report.enqueue_after = 0.0
        return
    following = registry.next_step(m, key)
    cleared = {
        "attempts": 0,
        "next_attempt_at": None,
        "error_message": "",
        "error_code": "",
        "error_description": "",
    }
    if following is not None:
        with transaction.atomic():
            if ctx.release(state=following.key, **cleared):
                audit_migration(
                    m,
                    "migration.step_completed",
                    f"{registry.step(key).done}; next: {following.label}",
                    step=key,
                )
        report.state = following.key
        report.enqueue_after = 0.0
        return
    with transaction.atomic():
        if ctx.release(state=MigrationState.COMPLETED, finished_at=now, **cleared):
            audit_migration(
                m,
                "migration.completed",
                (
                    f"Provisioned {m.quantity} seats of {m.target_offer_name} in "
                    "CSP; no licence moved"
                    if m.is_provisioning
                    else f"Moved {m.source_name} to {m.target_offer_name}"
                ),
            )
            enqueue_customer_sync(m)
            migration_completed.send(sender=type(m), migration=m)
    report.state = MigrationState.COMPLETED


# ---------------------------------------------------------------- outcomes of errors

Handler = Callable[[StepContext, str, StepReport, BaseException], None]


def _throttled(
    ctx: StepContext, key: str, report: StepReport, exc: BaseException
) -> None:
    """Honour Retry-After through the row: never sleep, never resend at once."""
    assert isinstance(exc, Throttled)
    seconds = max(1.0, float(exc.retry_after))
    ctx.release(next_attempt_at=timezone.now() + timedelta(seconds=seconds))
    report.enqueue_after = seconds if seconds <= COUNTDOWN_LIMIT_SECONDS else None


def _step_failed(
    ctx: StepContext, key: str, report: StepReport, exc: BaseException
) -> None:
    assert isinstance(exc, StepFailed)
    _fail(ctx, key, exc.message, exc.code, exc.description)


def _customer_action(
    ctx: StepContext, key: str, report: StepReport, exc: BaseException
) -> None:
    assert isinstance(exc, CustomerActionNeeded)
    m = ctx.migration
    with transaction.atomic():
        if ctx.release(
            state=MigrationState.NEEDS_CUSTOMER_ACTION,
            customer_action=exc.text,
            error_code=exc.code,
            error_description=exc.description,
            error_message="",
            next_attempt_at=None,
            finished_at=timezone.now(),
        ):
            audit_migration(
                m, "migration.needs_customer_action", exc.text, outcome=Outcome.FAILURE
            )
            enqueue_customer_sync(m)


def _auth(ctx: StepContext, key: str, report: StepReport, exc: BaseException) -> None:
    assert isinstance(exc, AuthError)
    if isinstance(exc, MfaRequired | RefreshTokenExpired):
        # The error says what an admin must do (sign in with MFA, consent again).
        text = f"{exc.message} Nothing more was sent; retry once that is done."
    else:
        text = (
            "Partner Center refused PartnerHub's credentials. An admin must fix the "
            "Partner Center connection settings, then retry."
        )
    _fail(ctx, key, text, "", exc.message)


def _access(ctx: StepContext, key: str, report: StepReport, exc: BaseException) -> None:
    """A missing agreement, relationship or GDAP role: someone must grant it.

    A customer agreement that is not recorded (13605) is for the customer (or
    the partner attesting it) to settle: the migration ends as needing the
    customer's action, not as failed.
    """
    assert isinstance(exc, AgreementNotAccepted | GdapAccessDenied | NoRelationship)
    m = ctx.migration
    # Nothing bought, and no send whose outcome is unknown (a refused send is
    # proven not applied by a read-back before it gets here).
    settled = not m.bought and m.purchase_sent_at is None
    if isinstance(exc, AgreementNotAccepted) and exc.party == "customer" and settled:
        # Closed only when nothing was (or may have been) bought; otherwise it
        # stays failed and open, so a retry reconciles what was bought.
        _customer_action(
            ctx,
            key,
            report,
            CustomerActionNeeded(
                f"{exc.message} Nothing was bought.",
                *pc_error(exc),
            ),
        )
        return
    # The error's message already ends by saying to try again once it is granted.
    _fail(
        ctx,
        key,
        f"{exc.message} Nothing was changed by this step.",
        *pc_error(exc),
    )


def _read_only(
    ctx: StepContext, key: str, report: StepReport, exc: BaseException
) -> None:
    """Read-only mode refused a write before it was sent: stop, buy nothing."""
    assert isinstance(exc, WritesDisabled)
    _fail(ctx, key, exc.message, "read_only", "")


def _refused(
    ctx: StepContext, key: str, report: StepReport, exc: BaseException
) -> None:
    _fail(
        ctx,
        key,
        f"Partner Center refused a request while trying to {registry.step(key).verb}.",
        *pc_error(exc),
    )


def _unexpected(
    ctx: StepContext, key: str, report: StepReport, exc: BaseException
) -> None:
    _transient(ctx, key, report, exc)


def _transient(
    ctx: StepContext, key: str, report: StepReport, exc: BaseException
) -> None:
    """Back off and try again; fail once one call has kept failing.

    The count starts afresh when a unit of work (one user's move or read-back)
    finished during this claim, so a long step with isolated failures is never
    failed by their sum: only one call that keeps failing fails it.
    """
    m = ctx.migration
    attempts = 1 if ctx.progress else m.attempts + 1
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
            key,
            f"Partner Center kept failing while trying to {registry.step(key).verb} "
            f"({attempts} attempts; last: {cause}). Retry later.",
            code,
            description,
        )
        return
    # The service's own Retry-After (a 503's) sets the first wait; a call that
    # keeps failing backs off further, never sooner than it asked.
    asked = getattr(exc, "retry_after", None)
    seconds = backoff_seconds(attempts)
    if asked is not None:
        asked_seconds = max(1.0, float(asked))
        seconds = asked_seconds if attempts == 1 else max(asked_seconds, seconds)
    ctx.release(
        attempts=attempts,
        next_attempt_at=timezone.now() + timedelta(seconds=seconds),
        error_message=f"{cause}; trying again "
        f"(attempt {attempts + 1} of {MAX_TRANSIENT_ATTEMPTS}).",
        error_code=code,
        error_description=description,
    )
    report.enqueue_after = seconds if seconds <= COUNTDOWN_LIMIT_SECONDS else None


# Checked in order: the first type the error is an instance of decides.
OUTCOMES: tuple[tuple[type[BaseException], Handler], ...] = (
    (Throttled, _throttled),
    (StepFailed, _step_failed),
    (CustomerActionNeeded, _customer_action),
    (TransientError, _transient),
    (MalformedResponse, _transient),
    (AuthError, _auth),
    (WritesDisabled, _read_only),
    (AgreementNotAccepted, _access),
    (GdapAccessDenied, _access),
    (NoRelationship, _access),
    (PermanentError, _refused),
    (PartnerCenterError, _transient),
    (Exception, _unexpected),
)


def _handler_for(exc: BaseException) -> Handler:
    for kind, handler in OUTCOMES:
        if isinstance(exc, kind):
            return handler
    return _unexpected


def _fail(
    ctx: StepContext, key: str, message: str, code: str, description: str
) -> None:
    m = ctx.migration
    with transaction.atomic():
        if ctx.release(
            state=MigrationState.FAILED,
            stopped_step=key,
            error_message=message,
            error_code=code,
            error_description=description,
            next_attempt_at=None,
            finished_at=timezone.now(),
        ):
            audit_migration(
                m,
                "migration.failed",
                message,
                outcome=Outcome.FAILURE,
                step=key,
                code=code,
                description=description,
            )


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
