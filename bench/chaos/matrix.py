"""The chaos fidelity matrix: one run per plausible answer of each open behaviour.

`--fidelity strictest` (the default) runs every sandbox fidelity switch at its
strictest answer. `--fidelity matrix` runs that cell and then, for each switch
the docs leave UNCONFIRMED, one cell per other plausible answer (the rest kept
strictest), each a whole chaos run of its own; the invariants must hold in every
cell. `--fidelity name=value,name=value` runs one chosen cell.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sandbox.settings import FIDELITY, parse_fidelity

STRICTEST = "strictest"
MATRIX = "matrix"


def cell_pairs(text: str) -> list[str]:
    """Return the name=value pairs of one cell (`strictest`: none).

    Raise ValueError for an unknown switch or value.
    """
    if text == STRICTEST:
        return []
    pairs = [p for p in text.split(",") if p]
    parse_fidelity(pairs)
    return pairs


def cells() -> list[list[str]]:
    """Return the matrix: the strictest cell, then one per other plausible answer."""
    found: list[list[str]] = [[]]
    for name, switch in FIDELITY.items():
        if switch.confirmed:
            continue
        for value in switch.plausible:
            if value != switch.strictest:
                found.append([f"{name}={value}"])
    return found


def run_matrix(argv: list[str], json_path: Path) -> int:
    """Run every cell as its own chaos run; write their findings; 0 if all held."""
    rest = _without_fidelity(argv)
    report: dict[str, Any] = {"cells": [], "broken": {}}
    for number, pairs in enumerate(cells()):
        name = ",".join(pairs) or STRICTEST
        path = json_path.with_name(f"{json_path.stem}-cell{number}.json")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.chaos",
                *rest,
                f"--fidelity={name}",
                f"--json={path}",
            ],
            check=False,
        )
        cell = json.loads(path.read_text()) if path.exists() else {}
        broken = cell.get("broken", {"the run wrote no report": [done.returncode]})
        report["cells"].append(
            {
                "fidelity": name,
                "exit_code": done.returncode,
                "broken": broken,
                "terminal_states": cell.get("terminal_states"),
                "orders_untracked": cell.get("orders_untracked"),
                "failure_reasons": cell.get("failure_reasons"),
            }
        )
        if broken:
            report["broken"][name] = broken
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    for cell in report["cells"]:
        held = "held" if not cell["broken"] else f"BROKEN {sorted(cell['broken'])}"
        print(f"{cell['fidelity']}: {held}")
    return 1 if report["broken"] else 0


def _without_fidelity(argv: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--fidelity":
            skip = True
            continue
        if arg.startswith(("--fidelity=", "--json")):
            continue
        out.append(arg)
    return out
