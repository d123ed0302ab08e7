"""The chaos run's report as text: figures first, then every broken invariant."""

from __future__ import annotations

from typing import Any


def _line(name: str, value: Any) -> str:
    return f"  {name:<52} {value}"


def render(report: dict[str, Any]) -> str:
    """Return the printed report of a chaos run."""
    if "migrations" not in report:
        return "chaos run stopped before it could report (see the messages above)"
    t = report.get("throughput") or {}
    lines = ["", "chaos run", *_run_lines(report), *_safety_lines(report)]
    lines += _throughput_lines(report, t)
    lines += _broken_lines(report)
    return "\n".join(lines)


def _run_lines(report: dict[str, Any]) -> list[str]:
    """Return what ran: the database, the migrations, the faults and the kills."""
    fired: dict[str, int] = {}
    for rule in report.get("faults", []):
        key = f"{rule['action']} {rule['method']}"
        fired[key] = fired.get(key, 0) + int(rule.get("fired") or 0)
    return [
        _line("database", report.get("database")),
        _line(
            "customers seeded / migrations started",
            f"{report['customers']} / "
            f"{report['migrations']} ({report.get('users_planned', 0)} users)",
        ),
        _line("seconds until every migration ended", report["seconds"]),
        _line(
            "worker SIGKILLs / Redis restarts",
            f"{report['kills']} / {report['redis_restarts']}",
        ),
        _line(
            "processes that exited by themselves",
            report.get("unexpected_exits") or "none",
        ),
        _line(
            "faults fired", ", ".join(f"{k} {v}" for k, v in fired.items()) or "none"
        ),
        _line("terminal states", report.get("terminal_states")),
        _line("by commerce", report.get("by_commerce")),
        _line("licence moves", report.get("moves", {})),
    ]


def _safety_lines(report: dict[str, Any]) -> list[str]:
    """Return the money-and-licence figures each invariant is checked on."""
    return [
        _line(
            "orders per migration (orders: migrations)",
            report.get("orders_per_migration"),
        ),
        _line("untracked orders", report.get("orders_untracked")),
        _line(
            "old subscriptions retired / early",
            "{} / {}".format(
                report.get("old_subscriptions_retired"), report.get("early_retirements")
            ),
        ),
        _line("NCE subscriptions suspended", report.get("nce_suspended")),
        _line("planned users without any licence", report.get("users_without_licence")),
        _line(
            "completed-migration users without the new licence",
            report.get("completed_users_without_new_licence"),
        ),
        _line(
            "applied writes / without exactly one event",
            "{} / {}".format(
                report.get("writes_applied"),
                report.get("writes_without_exactly_one_event"),
            ),
        ),
        _line(
            "applied writes after audited failed attempts (same id)",
            report.get("applied_writes_after_audited_failed_attempts"),
        ),
        _line(
            "success events for writes never applied",
            report.get("success_events_without_applied_write"),
        ),
        _line("pending writes left open", report.get("pending_writes_left")),
        _line(
            "audit_verify",
            f"exit {report['audit_verify']['exit_code']}: "
            f"{report['audit_verify']['message'][:100]}",
        ),
    ]


def _throughput_lines(report: dict[str, Any], t: dict[str, Any]) -> list[str]:
    """Return the calls, the time against the rate-limit bound and the failures."""
    lines = [
        _line(
            "calls in the migration phase",
            f"{t.get('calls')} ({t.get('calls_per_migration')} per migration)",
        ),
        _line(
            "time / rate-limit bound",
            f"{t.get('seconds')} s / "
            f"{t.get('bound_seconds')} s = {t.get('ratio_to_bound')}x",
        ),
        _line(
            "429 from the rate limit / injected",
            f"{t.get('429_from_rate_limit')} / {t.get('429_injected')}",
        ),
        _line("peak RSS MiB (process trees)", report.get("peak_rss_mib")),
    ]
    for kind, number in (t.get("calls_by_kind") or {}).items():
        lines.append(_line(f"  calls: {kind}"[:52], number))
    for reason in report.get("failure_reasons", [])[:5]:
        lines.append(
            _line(
                f"  {reason['migrations']} x at {reason['step']}",
                reason["message"][:90],
            )
        )
    return lines


def _broken_lines(report: dict[str, Any]) -> list[str]:
    """Return the broken invariants with examples, or that every one held."""
    broken = report.get("broken") or {}
    if not broken:
        return ["", "every invariant held"]
    lines = ["", f"BROKEN ({len(broken)}):"]
    for name, examples in broken.items():
        lines.append(f"  - {name}: {examples[:3]}")
    return lines
