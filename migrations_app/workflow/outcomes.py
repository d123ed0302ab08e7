"""What a step can decide, and the exceptions that end a step early."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StepOutcome:
    """What one step decided: advance, continue, or wait."""

    kind: str  # advance | continue | wait
    seconds: float = 0.0
    reason: str = ""


ADVANCE = StepOutcome("advance")
CONTINUE = StepOutcome("continue")


def wait(seconds: float, reason: str) -> StepOutcome:
    """Return an outcome that runs the same step again after `seconds`."""
    return StepOutcome("wait", seconds=seconds, reason=reason)


def _code(code: Any) -> str:
    return "" if code is None else str(code)


class LeaseLost(Exception):
    """Raised when another worker (or a cancel) took the migration from this claim."""


class StepFailed(Exception):
    """Raised by a step that cannot go on without a person; says why in plain words."""

    def __init__(self, message: str, code: Any = "", description: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = _code(code)
        self.description = description


class CustomerActionNeeded(Exception):
    """Raised when only the customer can finish the job; `text` says what to do."""

    def __init__(self, text: str, code: Any = "", description: str = "") -> None:
        super().__init__(text)
        self.text = text
        self.code = _code(code)
        self.description = description


def pc_error(exc: Any) -> tuple[str, str]:
    """Return Partner Center's error code and description of a refused call."""
    return (_code(getattr(exc, "code", None)), getattr(exc, "description", "") or "")
