"""Keep a sandbox's state in a JSON file so a restarted sandbox carries on.

``load(path)`` returns the saved state; ``Persister.flush()`` writes the state
atomically (a temporary file in the same folder, fsync, rename) whenever it has
changed (``state.dirty``). Settings, fault rules and the request log are not saved:
the command line sets the settings again.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sandbox.state import SandboxState

FORMAT_VERSION = 1
#: Most recent de-duplicated writes kept in the file (replays survive a restart).
SAVED_DEDUP = 5000
_DATA = (
    "customers",
    "invitations",
    "subscriptions",
    "users",
    "orders",
    "carts",
    "transitions",
    "access_tokens",
    "refresh_tokens",
)


class StateFileError(Exception):
    """The state file cannot be read as a sandbox state."""


def snapshot(state: SandboxState) -> dict[str, Any]:
    """Return the persistent part of a state as JSON-ready data (lock held)."""
    data: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "customer_count": state.customer_count,
        "seed": state.seed,
        "clock_offset": state.clock_offset,
        "dedup": [
            [list(key), {**value, "body": value["body"].decode("utf-8")}]
            for key, value in list(state.dedup.items())[-SAVED_DEDUP:]
        ],
    }
    for name in _DATA:
        data[name] = getattr(state, name)
    return data


def save(state: SandboxState, path: Path) -> None:
    """Write the state to ``path`` atomically (lock held)."""
    payload = json.dumps(snapshot(state), separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path: Path) -> SandboxState:
    """Return the state saved in ``path``.

    Raise StateFileError when the file is not a sandbox state of this version.
    """
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise StateFileError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise StateFileError(
            f"{path} is not a sandbox state file (version {FORMAT_VERSION})"
        )
    try:
        state = SandboxState(int(data["customer_count"]), int(data["seed"]))
        state.clock_offset = float(data["clock_offset"])
        for name in _DATA:
            value = data[name]
            if not isinstance(value, dict):
                raise TypeError(name)
            setattr(state, name, value)
        state.dedup = OrderedDict(
            (
                tuple(key),
                {
                    **value,
                    "body": value["body"].encode("utf-8"),
                    "headers": [tuple(h) for h in value["headers"]],
                },
            )
            for key, value in data["dedup"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"{path} is damaged: {exc}") from exc
    return state


class Persister:
    """Save a state to its file whenever it changed."""

    def __init__(self, state: SandboxState, path: Path) -> None:
        """Keep ``state`` in ``path``."""
        self.state = state
        self.path = path

    def flush(self) -> None:
        """Save the state if it changed since the last save."""
        with self.state.lock:
            if self.state.dirty:
                save(self.state, self.path)
                self.state.dirty = False
