"""Fault rules: which ``/v1`` calls get an injected failure, and which one.

Rules live in ``state.faults`` (plain dicts, shown by ``GET /_sandbox/faults`` and
the state dump). ``match`` is called with the state lock held.

A rule matches a call by ``method`` and ``path`` (a regex searched in the path).
Matching calls are counted (per distinct path too); the rule fires from its
``nth`` match on (or, with ``per_path``, on the ``nth`` match of each distinct
path), subject to ``probability``, until it has fired ``count`` times. Probability
draws are a hash of (seed, method, path, attempt on that path), so the same calls
are picked whatever order concurrent callers arrive in.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sandbox.web import Request

#: Actions answered before the handler runs (nothing is written).
PRE_ACTIONS = ("429", "500", "503")
#: Actions applied after the handler ran (the write is committed).
POST_ACTIONS = ("timeout", "drop_response", "malformed_json")
ACTIONS = PRE_ACTIONS + POST_ACTIONS

_KEYS = frozenset(
    {
        "method",
        "path",
        "action",
        "count",
        "probability",
        "nth",
        "per_path",
        "retry_after",
        "delay_ms",
        "seed",
    }
)


def _optional_int(body: dict[str, Any], key: str, minimum: int) -> int | None:
    """Return ``body[key]`` as an int >= minimum, None when absent or null."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}")
    return value


def draw(seed: int, method: str, path: str, attempt: int) -> float:
    """Return a number in [0, 1) fixed by its arguments."""
    digest = hashlib.sha256(f"{seed}|{method}|{path}|{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class FaultBook:
    """Validate new rules and find the rule that fires for a call."""

    def __init__(self, seed: int) -> None:
        """Create the book; probability draws default to ``seed``."""
        self.seed = seed
        self._ids = 0

    def reseed(self, seed: int) -> None:
        """Use ``seed`` for the probability draws of rules added from now on."""
        self.seed = seed

    def new_rule(self, body: dict[str, Any]) -> dict[str, Any]:
        """Return a rule built from a control request body.

        Raise ValueError for an unknown key or action, a bad regex or a bad number.
        """
        unknown = set(body) - _KEYS
        if unknown:
            raise ValueError(f"unknown fault rule keys: {sorted(unknown)}")
        action = str(body.get("action", ""))
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}")
        path = str(body.get("path") or ".*")
        try:
            re.compile(path)
        except re.error as exc:
            raise ValueError(f"bad path regex: {exc}") from exc
        count = _optional_int(body, "count", 1) if "count" in body else 1
        probability = float(body.get("probability", 1.0))
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        seed = body.get("seed", self.seed)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError("seed must be an integer")
        self._ids += 1
        return {
            "id": self._ids,
            "method": str(body.get("method") or "*").upper(),
            "path": path,
            "action": action,
            "count": count,
            "probability": probability,
            "nth": _optional_int(body, "nth", 1) or 1,
            "per_path": bool(body.get("per_path", False)),
            "retry_after": _optional_int(body, "retry_after", 0),
            "delay_ms": _optional_int(body, "delay_ms", 0),
            "seed": seed,
            "matched": 0,
            "fired": 0,
            "fired_paths": [],
            "_by_path": {},
        }

    def match(
        self, faults: list[dict[str, Any]], request: Request
    ) -> dict[str, Any] | None:
        """Return the first rule that fires for this call, or None.

        A rule whose ``count`` runs out is removed from ``faults``.
        """
        for rule in list(faults):
            method = rule["method"]
            if method not in ("*", request.method):
                continue
            if not re.search(rule["path"], request.path):
                continue
            rule["matched"] += 1
            by_path: dict[str, int] = rule["_by_path"]
            attempt = by_path.get(request.path, 0) + 1
            by_path[request.path] = attempt
            if rule["per_path"]:
                if attempt != rule["nth"]:
                    continue
            elif rule["matched"] < rule["nth"]:
                continue
            probability = float(rule["probability"])
            if probability < 1.0 and (
                draw(rule["seed"], request.method, request.path, attempt) >= probability
            ):
                continue
            rule["fired"] += 1
            if len(rule["fired_paths"]) < 1000:
                rule["fired_paths"].append(request.path)
            if rule["count"] is not None:
                rule["count"] -= 1
                if rule["count"] <= 0:
                    faults.remove(rule)
            return rule
        return None


def public(rule: dict[str, Any]) -> dict[str, Any]:
    """Return a rule without its internal counters (for JSON answers)."""
    return {k: v for k, v in rule.items() if not k.startswith("_")}
