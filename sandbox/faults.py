"""Fault rules: which ``/v1`` calls get an injected failure, and which one.

Rules live in ``state.faults`` (plain dicts, shown by ``GET /_sandbox/faults`` and
the state dump). ``match`` is called with the state lock held.
"""

from __future__ import annotations

import random
import re
from typing import Any

from sandbox.web import Request

#: Actions answered before the handler runs (nothing is written).
PRE_ACTIONS = ("429", "500", "503")
#: Actions applied after the handler ran (the write is committed).
POST_ACTIONS = ("timeout", "drop_response", "malformed_json")
ACTIONS = PRE_ACTIONS + POST_ACTIONS


class FaultBook:
    """Validate new rules and find the rule that fires for a call."""

    def __init__(self, seed: int) -> None:
        """Create the book with a random source seeded for repeatable draws."""
        self.rng = random.Random(seed)
        self._ids = 0

    def reseed(self, seed: int) -> None:
        """Restart the random source (on reset)."""
        self.rng = random.Random(seed)

    def new_rule(self, body: dict[str, Any]) -> dict[str, Any]:
        """Return a rule built from a control request body.

        Raise ValueError for an unknown action, a bad regex or a bad number.
        """
        action = str(body.get("action", ""))
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}")
        path = str(body.get("path") or ".*")
        try:
            re.compile(path)
        except re.error as exc:
            raise ValueError(f"bad path regex: {exc}") from exc
        count = body.get("count", 1)
        probability = float(body.get("probability", 1.0))
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        self._ids += 1
        return {
            "id": self._ids,
            "method": str(body.get("method") or "*").upper(),
            "path": path,
            "action": action,
            "count": None if count is None else int(count),
            "probability": probability,
            "fired": 0,
        }

    def match(self, faults: list[dict[str, Any]], request: Request) -> str | None:
        """Return the action of the first rule that fires for this call, or None.

        A rule whose ``count`` runs out is removed from ``faults``.
        """
        for rule in list(faults):
            method = (rule.get("method") or "*").upper()
            if method not in ("*", request.method):
                continue
            if not re.search(rule["path"], request.path):
                continue
            if self.rng.random() >= float(rule.get("probability", 1.0)):
                continue
            rule["fired"] = int(rule.get("fired", 0)) + 1
            if rule.get("count") is not None:
                rule["count"] = int(rule["count"]) - 1
                if rule["count"] <= 0:
                    faults.remove(rule)
            return str(rule["action"])
        return None
