"""Fixtures for the product app's tests: a sandbox already synced into the database."""

from __future__ import annotations

from typing import Any

import pytest

from migrations_app.models import SyncRun
from migrations_app.services.sync import sync_run


@pytest.fixture
def synced(sandbox: Any, db: Any) -> SyncRun:
    """Return the SyncRun of one full sync of the freshly reset sandbox."""
    run = sync_run()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


@pytest.fixture
def sandbox_dump(sandbox: Any) -> dict[str, Any]:
    """Return the sandbox's whole state as it is now."""
    return sandbox.state()
