"""Contract fixtures: Microsoft's own examples, and the shape both sides must keep.

Each fixture under `fixtures/` is a JSON object with `_source` (the page or
repository path it was taken from), `_operation`, optionally `_edited` (what
was changed to make it parse, e.g. elided `{...}`), and `body`, the example
itself. Another area adds a fixture file and a test that parses it with the
client and checks the sandbox's answer with `assert_same_shape`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    """Return the example body of fixture `name` (a file in fixtures/, no suffix).

    Raise AssertionError if it names no source.
    """
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    assert str(data.get("_source", "")).startswith("https://"), name
    return dict(data["body"])


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def shape_problems(example: Any, answer: Any, path: str = "$") -> list[str]:
    """Return where `answer` departs from the shape of `example` (keys and types).

    Every key of an example object must be in the answer with a value of the same
    JSON type (a null in either is not compared); arrays are compared by their
    first elements. Keys only the answer has are allowed (the docs elide some).
    """
    if example is None or answer is None:
        return []
    if _kind(example) != _kind(answer):
        return [f"{path}: {_kind(answer)} where the example has {_kind(example)}"]
    if isinstance(example, dict):
        problems = []
        for key, value in example.items():
            if key not in answer:
                problems.append(f"{path}.{key}: missing")
                continue
            problems += shape_problems(value, answer[key], f"{path}.{key}")
        return problems
    if isinstance(example, list) and example and answer:
        return shape_problems(example[0], answer[0], f"{path}[0]")
    return []


def assert_same_shape(example: Any, answer: Any, *, optional: set[str]) -> None:
    """Assert `answer` keeps `example`'s shape, except the `optional` paths."""
    problems = [
        p for p in shape_problems(example, answer) if p.split(":")[0] not in optional
    ]
    assert not problems, problems
