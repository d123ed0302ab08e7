"""Claim a migration with a conditional UPDATE, keep the lease, let it go.

Only the worker holding the lease may write the row: every write is guarded by
`lease_owner`, and a claim that lost its lease (another worker, a cancel) stops.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from migrations_app.models import LicenseMove, Migration
from migrations_app.models.migration import MigrationQuerySet
from migrations_app.workflow.outcomes import LeaseLost
from partner_center.client import PartnerCenterClient


def lease_seconds() -> float:
    """Return how long a claim holds a migration before others may take it."""
    return float(settings.PARTNERHUB_MIGRATION_LEASE_SECONDS)


def step_budget_seconds() -> float:
    """Return how long one claim may keep working before handing over."""
    return min(60.0, lease_seconds() / 2)


def worker_identity() -> str:
    """Return a lease owner name unique to this claim."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def migration_claim(
    *, migration_id: int, owner: str, lease: float | None = None
) -> Migration | None:
    """Take the lease on a migration that has work due; return it, or None.

    One conditional UPDATE: the row must be running, its lease free or expired,
    and its next attempt (if any) due. Only one worker can win.
    """
    claimed = Migration.objects.filter(pk=migration_id).take_lease(
        owner, lease or lease_seconds()
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
        # Units of work (a user moved, a user read back) finished during this
        # claim: a transient failure after one of them starts a fresh budget.
        self.progress = 0

    def _held(self) -> MigrationQuerySet:
        return Migration.objects.filter(pk=self.migration.pk).held_by(self.owner)

    @property
    def tenant(self) -> str:
        return str(self.migration.customer.tenant_id)

    def save(self, **fields: Any) -> None:
        """Persist fields on the migration while this claim still holds the lease.

        Every save moves the row's `version` on, so pages polling it see the change.
        Raise LeaseLost otherwise.
        """
        updated = self._held().change(**fields)
        if updated != 1:
            raise LeaseLost(f"Migration {self.migration.pk} is no longer ours")
        for name, value in fields.items():
            setattr(self.migration, name, value)

    def renew_lease(self) -> None:
        """Extend the lease (long steps call this between Partner Center calls)."""
        self.save(lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds()))

    def progressed(self) -> None:
        """Record that a unit of work finished: the retry budget starts afresh."""
        self.progress += 1

    def out_of_time(self) -> bool:
        return time.monotonic() - self.started > step_budget_seconds()

    def release(self, **fields: Any) -> bool:
        """Persist the step's result and drop the lease; return False if it was lost."""
        updated = self._held().change_and_release(**fields)
        for name, value in fields.items():
            setattr(self.migration, name, value)
        return updated == 1
