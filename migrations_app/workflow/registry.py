"""Every step and path the engine knows, in one place.

A path is the ordered list of steps a migration walks. Adding a step means one
module in `migrations_app.workflow.steps` (ending with its `STEP` entry) and one line here.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrations_app.models import (
    Migration,
    MigrationPath,
    MigrationState,
)
from migrations_app.workflow.step import Step
from migrations_app.workflow.steps import (
    moves,
    preflight,
    provisioning,
    purchase,
    renewal,
    retire,
    same_licence,
    schedule,
    transition,
    verify,
)

# One entry per MigrationPath (a test checks none is missing).
PATHS: dict[str, tuple[Step, ...]] = {
    MigrationPath.BUY: (
        purchase.STEP,
        provisioning.STEP,
        preflight.STEP,
        moves.STEP,
        verify.STEP,
        retire.STEP,
    ),
    MigrationPath.TRANSITION: (transition.STEP, moves.STEP, verify.STEP),
    MigrationPath.SCHEDULED: (schedule.STEP, renewal.STEP, moves.STEP, verify.STEP),
    # Licences bought through another channel, bought again in CSP: the same
    # SKU, so nothing to move and nothing of this partner's to retire.
    MigrationPath.PROVISION: (purchase.STEP, provisioning.STEP, same_licence.STEP),
}

STEPS: dict[str, Step] = {}
for _path in PATHS.values():
    for _step in _path:
        STEPS.setdefault(_step.key, _step)


def _check_step_keys() -> None:
    """Raise ValueError if a step key is also a lifecycle state (queued, failed…)."""
    for key in STEPS:
        if key in MigrationState.values:
            raise ValueError(f"{key!r} is a lifecycle state, not a step")


_check_step_keys()


def state_label(state: str) -> str:
    """Return the reseller's words for a migration state (the raw value if unknown).

    A lifecycle state has its model label; a step key its step's label.
    """
    if state in MigrationState.values:
        return str(MigrationState(state).label)
    found = STEPS.get(state)
    return found.label if found is not None else state


def step(key: str) -> Step:
    """Return the step stored as `key`; raise KeyError for an unknown one."""
    return STEPS[key]


def path_of(m: Migration) -> tuple[Step, ...]:
    """Return the steps migration `m` walks (the buy path for an unknown one)."""
    return PATHS.get(m.path, PATHS[MigrationPath.BUY])


def first_step(m: Migration) -> Step:
    return path_of(m)[0]


def next_step(m: Migration, key: str) -> Step | None:
    """Return the step after `key` on `m`'s path, or None after the last."""
    keys = [s.key for s in path_of(m)]
    position = keys.index(key)
    return path_of(m)[position + 1] if position + 1 < len(keys) else None


def steps_done(m: Migration) -> int:
    """Return how many of the path's steps are behind this migration."""
    path = path_of(m)
    keys = [s.key for s in path]
    if m.state == MigrationState.COMPLETED:
        return len(keys)
    stopped = (MigrationState.FAILED, MigrationState.CANCELLED)
    # A failed or cancelled migration records in `stopped_step` where it stopped.
    current = m.stopped_step if m.state in stopped else m.state
    if current in keys:
        return keys.index(current)
    if m.state == MigrationState.NEEDS_CUSTOMER_ACTION:
        # Only the last step (retiring the old subscription) hands over.
        return len(keys) - 1
    if m.state == MigrationState.CANCELLED and m.bought:
        return 1
    return 0


def stopped_at_text(m: Migration) -> str:
    """Return the step a failed or cancelled migration stopped at, in words."""
    found = STEPS.get(m.stopped_step)
    return found.label.lower() if found else "a step"


def retry_step(m: Migration) -> Step:
    """Return the step a retry of failed migration `m` starts at."""
    found = STEPS.get(m.stopped_step)
    if found is None or found not in path_of(m):
        return first_step(m)
    if found.retry_from is not None:
        return STEPS[found.retry_from(m)]
    return found


@dataclass
class TimelineStep:
    key: str
    title: str
    status: str  # done, current, failed, action (customer must act), pending
    detail: str = ""


def timeline(m: Migration) -> list[TimelineStep]:
    """Return each step of `m`'s path with its status and a line of detail."""
    done = steps_done(m)
    rows: list[TimelineStep] = []
    for number, entry in enumerate(path_of(m)):
        finished = number < done
        if finished:
            status = "done"
        elif number == done and m.state == MigrationState.FAILED:
            status = "failed"
        elif number == done and m.state == MigrationState.NEEDS_CUSTOMER_ACTION:
            status = "action"
        elif number == done and m.is_running:
            status = "current"
        else:
            status = "pending"
        detail = entry.describe(m, finished)
        if (
            m.state == MigrationState.CANCELLED
            and not finished
            and not (number == 0 and m.purchase_request_id)
        ):
            detail = "Not done: migration cancelled."
        rows.append(TimelineStep(entry.key, entry.title, status, detail))
    return rows
