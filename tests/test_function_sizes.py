"""Functions, not files, stay small: no function in app code over 80 lines.

Counted from the `def` line (decorators excluded) to the function's last line,
docstring and comments included. Database migrations are generated and left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("partnerhub", "migrations_app", "partner_center", "sandbox", "bench")
LIMIT = 80


def function_lengths() -> list[tuple[int, str]]:
    """Return (lines, "path:line name") for every function in app code, longest first."""
    found: list[tuple[int, str]] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts[1:-1]:
                continue
            tree = ast.parse(path.read_text(), filename=str(relative))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = (node.end_lineno or node.lineno) - node.lineno + 1
                    found.append((lines, f"{relative}:{node.lineno} {node.name}"))
    return sorted(found, reverse=True)


def test_the_walk_sees_the_app_functions() -> None:
    names = {where.split()[-1] for _, where in function_lengths()}
    assert {"migration_claim", "migration_run_step", "main"} <= names


def test_no_app_function_is_longer_than_80_lines() -> None:
    too_long = [
        f"{where} is {lines} lines"
        for lines, where in function_lengths()
        if lines > LIMIT
    ]
    assert too_long == []


if __name__ == "__main__":
    for lines, where in function_lengths()[:10]:
        print(lines, where)
