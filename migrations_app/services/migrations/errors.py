"""What an operator's action on a migration can be refused with."""

from __future__ import annotations

from collections.abc import Sequence


class MigrationAlreadyRunning(Exception):
    """Raised when a subscription in the plan already has an open migration."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        super().__init__(f"A migration is already running for {', '.join(self.names)}.")


class MigrationNotAllowed(Exception):
    """Raised when an action does not fit the migration's current state."""
