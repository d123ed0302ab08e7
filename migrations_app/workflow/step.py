"""What the registry knows of a step: everything the runner, retry and pages need."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migrations_app.models import Migration
    from migrations_app.workflow.lease import StepContext
    from migrations_app.workflow.outcomes import StepOutcome


@dataclass(frozen=True)
class Step:
    """One step of a migration path.

    `key` is stored in `Migration.state` while the step runs; `label` is that
    state's name ("Buying the new subscription"); `title` heads the step in a
    timeline ("Buy the new subscription"); `done` is logged when it finishes;
    `verb` completes "while trying to …"; `run` performs (part of) the step;
    `describe(migration, finished)` is its line in a timeline; `retry_from`
    names the step a retry of a migration failed here resumes at.
    """

    key: str
    label: str
    title: str
    done: str
    verb: str
    run: Callable[[StepContext], StepOutcome]
    describe: Callable[[Migration, bool], str]
    retry_from: Callable[[Migration], str] | None = None
