"""What the sandbox does wrong during a chaos run, through its own fault rules.

Every rule fires with a probability drawn per (method, path, attempt), so a retry
of a refused call draws again and a run is reproducible for a given seed.
"""

from __future__ import annotations

from typing import Any

import requests

# Partner Center writes the engine makes on the buy path.
WRITE_PATHS = {
    "order": ("POST", r"/orders$"),
    "cart": ("POST", r"/carts$"),
    "checkout": ("POST", r"/checkout$"),
    "licence move": ("POST", r"/licenseupdates$"),
    "retire (PATCH)": ("PATCH", r"/subscriptions/[^/]+$"),
}


def fault_rules(rate: float, seed: int, timeout_ms: int) -> list[dict[str, Any]]:
    """Return the rules of a run whose base fault probability is `rate`.

    Reads: 429 with Retry-After (rate) and 500 (rate / 2). Writes: 503 with
    Retry-After before the work (rate), "committed, response dropped" (rate) and
    "committed, answer held past the client's timeout" (rate / 4).
    """
    if rate <= 0:
        return []
    # Each rule draws with a seed of its own: rules sharing one would all fire on
    # the same calls (the draw hashes seed, method, path and attempt only).
    common = {"count": None, "seed": seed}
    rules: list[dict[str, Any]] = [
        {
            "method": "GET",
            "path": r"^/v1/",
            "action": "429",
            "probability": rate,
            "retry_after": 1,
            **common,
        },
        {
            "method": "GET",
            "path": r"^/v1/",
            "action": "500",
            "probability": rate / 2,
            **common,
        },
    ]
    for method, path in WRITE_PATHS.values():
        rules += [
            {
                "method": method,
                "path": path,
                "action": "503",
                "probability": rate,
                "retry_after": 1,
                **common,
            },
            {
                "method": method,
                "path": path,
                "action": "drop_response",
                "probability": rate,
                **common,
            },
            {
                "method": method,
                "path": path,
                "action": "timeout",
                "probability": rate / 4,
                "delay_ms": timeout_ms,
                **common,
            },
        ]
    for number, rule in enumerate(rules):
        rule["seed"] = seed * 1000 + number
    return rules


class SandboxControl:
    """The sandbox's `/_sandbox` control endpoints over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()

    def settings(self, **values: Any) -> None:
        self.session.post(
            f"{self.url}/_sandbox/settings", json=values, timeout=30
        ).raise_for_status()

    def add_fault(self, rule: dict[str, Any]) -> None:
        self.session.post(
            f"{self.url}/_sandbox/faults", json=rule, timeout=30
        ).raise_for_status()

    def faults(self) -> list[dict[str, Any]]:
        answer = self.session.get(f"{self.url}/_sandbox/faults", timeout=30)
        answer.raise_for_status()
        body = answer.json()
        return list(body.get("faults", body) if isinstance(body, dict) else body)

    def clear_faults(self) -> None:
        self.session.delete(
            f"{self.url}/_sandbox/faults", timeout=30
        ).raise_for_status()

    def state(self) -> dict[str, Any]:
        answer = self.session.get(f"{self.url}/_sandbox/state", timeout=300)
        answer.raise_for_status()
        return dict(answer.json())
