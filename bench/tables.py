"""Results on disk: `bench/results/*.json` and the table in `bench/README.md`.

Every benchmark run writes one JSON file per suite; the chaos run writes
`chaos.json`. The table in the README is rebuilt from whatever files are there,
between two marker comments, so `make bench` and `make chaos` each refresh it.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
README = BENCH / "README.md"
BEGIN = "<!-- results: written by `make bench` / `make chaos`; edits are lost -->"
END = "<!-- /results -->"


def machine(database: str) -> dict[str, Any]:
    """Return what a figure was measured on."""
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "database": database,
    }


def peak_rss_mib() -> float:
    """Return this process's peak resident memory so far (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_suite(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def _suite_rows(payload: dict[str, Any]) -> list[str]:
    rows = []
    for r in payload.get("results", []):
        ratio = f"**{r['value']:,.2f}x**" if r["unit"] == "x" else ""
        value = "" if r["unit"] == "x" else f"{r['value']:,.2f} {r['unit']}".strip()
        name = r["name"].strip()
        indent = "  - " if r["name"].startswith("  ") else ""
        rows.append(f"| {indent}{name} | {value} | {ratio} | {r['target']} |")
    return rows


def _chaos_rows(c: dict[str, Any]) -> list[str]:
    t = c.get("throughput") or {}
    fired = sum(int(rule.get("fired") or 0) for rule in c.get("faults", []))
    states = ", ".join(f"{k} {v}" for k, v in (c.get("terminal_states") or {}).items())
    verify = c.get("audit_verify", {}).get("exit_code")
    broken = c.get("broken") or {}
    rows = [
        ("migrations / users", f"{c.get('migrations')} / {c.get('users_planned')}", ""),
        (
            "faults fired / worker SIGKILLs / Redis restarts",
            f"{fired} / {c.get('kills')} / {c.get('redis_restarts')}",
            "",
        ),
        ("terminal states", states, "all terminal"),
        (
            "orders per migration (orders: migrations)",
            str(c.get("orders_per_migration")),
            "<= 1 each",
        ),
        ("untracked orders", str(c.get("orders_untracked")), "0"),
        ("early retirements", str(c.get("early_retirements")), "0"),
        ("NCE subscriptions suspended", str(c.get("nce_suspended")), "0"),
        ("planned users without a licence", str(c.get("users_without_licence")), "0"),
        (
            "applied writes without exactly one audit event",
            f"{c.get('writes_without_exactly_one_event')} of {c.get('writes_applied')}",
            "0",
        ),
        ("audit_verify exit code", str(verify), "0"),
        (
            "time / rate-limit bound (calls / rate)",
            f"{t.get('seconds')} s / {t.get('bound_seconds')} s",
            f"**{t.get('ratio_to_bound')}x** (with faults and kills)",
        ),
        (
            "429 from the rate limit (not injected)",
            str(t.get("429_from_rate_limit")),
            "0",
        ),
        (
            "peak RSS, MiB (process trees)",
            ", ".join(f"{k} {v}" for k, v in (c.get("peak_rss_mib") or {}).items()),
            "",
        ),
        ("invariants broken", ", ".join(broken) or "none", "none"),
    ]
    return [f"| {a} | {b} | {target} |" for a, b, target in rows]


def render_readme_table() -> str:
    """Return the README's results section, built from `bench/results/*.json`."""
    lines = [BEGIN, ""]
    suites = sorted(p for p in RESULTS.glob("*.json") if p.stem != "chaos")
    first_machine: dict[str, Any] | None = None
    if suites:
        lines += [
            "| figure | measured | ratio | target (bound or baseline) |",
            "|---|---|---|---|",
        ]
        for path in suites:
            payload = json.loads(path.read_text())
            first_machine = first_machine or payload.get("machine")
            lines.append(
                f"| **{payload['suite']}** ({payload.get('finished_at')}) | | | |"
            )
            lines += _suite_rows(payload)
        lines.append("")
    chaos = RESULTS / "chaos.json"
    if chaos.exists():
        c = json.loads(chaos.read_text())
        o = c.get("options", {})
        lines += [
            f"**Chaos run** ({c.get('finished_at')}, {c.get('database')}): "
            f"{o.get('migrations')} migrations asked, {o.get('latency_ms')} ms latency, "
            f"fault rate {o.get('fault_rate')}, {o.get('rate_per_minute')}/min, "
            f"2 workers x {o.get('concurrency')} ({o.get('pool', 'prefork')}), "
            "kill every "
            f"{'-'.join(str(int(x)) for x in o.get('kill_interval', []))} s.",
            "",
            "| figure | measured | target |",
            "|---|---|---|",
            *_chaos_rows(c),
            "",
        ]
        first_machine = first_machine or c.get("machine")
    if first_machine:
        m = first_machine
        lines.append(
            f"Machine: {m.get('cores')} cores, {m.get('memory')}, Python "
            f"{m.get('python')}, {m.get('system')}, database {m.get('database')}."
        )
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_readme() -> None:
    """Replace the results section of bench/README.md (append one if missing)."""
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    section = render_readme_table()
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n## Latest results\n\n" + section + "\n"
    README.write_text(text)


if __name__ == "__main__":
    write_readme()
    sys.exit(0)
