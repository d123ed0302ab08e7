"""The first-contact report: what PartnerHub could read of each customer.

Built only from what the sync stored (no Partner Center call), so an admin can
point PartnerHub at a live tenant read-only, let one sync run, and see per
customer whether its subscriptions and users were readable, which GDAP roles
are missing, whether the sign-in carried MFA, whether a Microsoft Customer
Agreement is recorded and what a migration would do, before allowing writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrations_app.models import Customer

# Rows shown at most; a larger tenant list is summarised by the counts.
REPORT_LIMIT = 500


@dataclass(frozen=True)
class FirstContactRow:
    """One customer's line of the report, in words."""

    customer: Customer
    subscriptions: str
    users: str
    gdap_missing: str
    agreement: str
    migration: str

    @property
    def ready(self) -> bool:
        """Return True if nothing stands in the way of a migration."""
        c = self.customer
        return (
            not c.sync_error
            and c.synced_at is not None
            and not c.gdap_missing
            and c.agreement_recorded is not False
        )


@dataclass(frozen=True)
class FirstContactReport:
    rows: list[FirstContactRow]
    # "present", "missing" or "unknown": the app+user token's MFA claim.
    mfa_state: str
    customers: int
    ready: int

    @property
    def truncated(self) -> bool:
        return self.customers > len(self.rows)


def _subscriptions(c: Customer) -> str:
    if c.sync_error:
        return f"not readable: {c.sync_error}"
    if c.synced_at is None:
        return "not read yet (run a sync)"
    return "readable"


def _users(c: Customer) -> str:
    if c.gdap_missing:
        return "refused (GDAP)"
    if c.users_read_at is None:
        return "not read yet" if not c.sync_error else "not read"
    return f"readable ({c.user_count} users)"


def _agreement(c: Customer) -> str:
    if c.agreement_recorded is None:
        return "not read yet (needs an app+user sign-in)"
    if c.agreement_recorded:
        return "recorded"
    return (
        "not recorded: a purchase would be refused (13605) until the customer "
        "accepts it or the partner attests it"
    )


def _migration(c: Customer) -> str:
    if not c.retired_count:
        return "nothing to migrate"
    what = f"{c.retired_count} subscription{'s' if c.retired_count != 1 else ''}"
    if c.gdap_missing:
        return f"{what} on retired SKUs; cannot start until GDAP grants a role"
    if c.agreement_recorded is False:
        return (
            f"{what} on retired SKUs; a transition can run, a purchase would "
            "wait for the customer agreement"
        )
    return f"{what} on retired SKUs would move (see the customer's plan)"


def first_contact_report(*, mfa_state: str) -> FirstContactReport:
    """Return the report for every customer (two queries, whatever their number)."""
    customers = Customer.objects.order_by("company_name", "id")
    rows = [
        FirstContactRow(
            customer=c,
            subscriptions=_subscriptions(c),
            users=_users(c),
            gdap_missing=c.gdap_missing,
            agreement=_agreement(c),
            migration=_migration(c),
        )
        for c in customers[:REPORT_LIMIT]
    ]
    total = customers.count() if len(rows) == REPORT_LIMIT else len(rows)
    return FirstContactReport(
        rows=rows,
        mfa_state=mfa_state,
        customers=total,
        ready=sum(1 for r in rows if r.ready),
    )
