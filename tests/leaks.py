"""The end-of-session check that no process a test started outlives the suite.

Loaded by `tests/conftest.py` (hooks re-exported there). At configure time every
pytest process (the only one, or the xdist controller and each worker) becomes a
child subreaper, so a process whose parent died (the beat a SIGKILLed Celery
worker leaves, a double-forked daemon) is re-parented to it rather than to init;
SIGTERM is turned into KeyboardInterrupt, so a terminated run still tears its
fixtures down (an xdist controller passes the signal on to its workers).

When the session ends, after every fixture's finaliser has run, each pytest
process looks for live processes under it. Any it finds fails the run: the check
names them in a failed report `processes left running` (an xdist worker hands
its list to the controller, which reports it), then ends them and their groups.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from types import FrameType
from typing import Any

import pytest
from _pytest.reports import TestReport

from tests.processes import Proc, become_subreaper, descendants, end_all

LEAK_NODEID = "tests/leaks.py::processes left running"
# How long finished fixtures' processes get to exit before they count as left.
SETTLE_SECONDS = 5.0
_WORKEROUTPUT_KEY = "partnerhub_leaked_processes"
_leaked: list[str] = []


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _xdist_worker_pids() -> frozenset[int]:
    """Return the pids of this controller's live xdist workers (direct children
    running execnet's bootstrap)."""
    mine = os.getpid()
    return frozenset(
        p.pid
        for p in descendants(mine)
        if p.ppid == mine and "sys.stdin.readline()" in p.command
    )


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Pass SIGTERM on to xdist workers, then interrupt as Ctrl-C would."""
    for pid in _xdist_worker_pids():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    """Become a subreaper and tear down on SIGTERM (main thread only)."""
    become_subreaper()
    # Outside the main thread the signal cannot be handled: left as it is.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, _on_sigterm)


def left_running(settle: float = SETTLE_SECONDS) -> list[Proc]:
    """Return the live processes under this pytest process, xdist workers aside.

    Wait up to `settle` seconds for them to exit first.
    """
    deadline = time.monotonic() + settle
    while True:
        found = descendants(os.getpid(), skip=_xdist_worker_pids())
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Collect what an xdist worker found left running."""
    output = getattr(node, "workeroutput", None) or {}
    _leaked.extend(output.get(_WORKEROUTPUT_KEY, []))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run, naming them, if processes started by tests are still alive.

    Runs after the session's fixtures are torn down (trylast). Ends what it finds.
    """
    found = left_running()
    if found:
        end_all(found)
    worker = getattr(session.config, "workerinput", {}).get("workerid")
    where = f"[{worker}] " if worker else ""
    lines = [where + proc.describe() for proc in found]
    if _is_xdist_worker(session.config):
        session.config.workeroutput[_WORKEROUTPUT_KEY] = lines  # type: ignore[attr-defined]
        return
    lines = _leaked + lines
    _leaked.clear()
    if not lines:
        return
    report = TestReport(
        nodeid=LEAK_NODEID,
        location=("tests/leaks.py", 0, "processes left running"),
        keywords={},
        outcome="failed",
        longrepr=(
            "These processes, started by the tests, were still running after every "
            "fixture had finished (now ended):\n" + "\n".join(lines)
        ),
        when="call",
    )
    session.config.hook.pytest_runtest_logreport(report=report)
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
