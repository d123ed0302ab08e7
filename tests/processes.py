"""The processes tests start: each in a process group of its own, ended with it.

`start(command, ...)` is `subprocess.Popen` with `start_new_session=True`, so the
process and everything it forks (a Celery worker's embedded beat, a prefork pool,
Chromium under the Playwright driver) share one process group that no terminal
signal reaches by accident; `end(process)` sends that group SIGTERM, then SIGKILL
after a grace, and reaps the process. `kill(process)` is the SIGKILL a test uses
to play a machine dying: the whole group at once, as a crashed container takes
every process in it.

`descendants(pid)` lists the live processes under `pid` from /proc (Linux). The
suite's end-of-session check (`tests/leaks.py`) uses it after making the pytest
process a child subreaper, so a process whose parent died is re-parented to
pytest instead of init and is still found.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# prctl(2): make this process the reaper of its orphaned descendants.
PR_SET_CHILD_SUBREAPER = 36
DEFAULT_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Proc:
    """One process as /proc shows it: ids, state letter and command line."""

    pid: int
    ppid: int
    pgid: int
    state: str
    command: str

    def describe(self) -> str:
        return f"pid {self.pid} (group {self.pgid}, parent {self.ppid}): {self.command}"


def start(command: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
    """Return `command` started in a new session (and so a process group) of its own.

    Keyword arguments go to `subprocess.Popen`; `start_new_session` is always on.
    """
    popen["start_new_session"] = True
    return subprocess.Popen(list(command), **popen)


def signal_group(pgid: int, signum: int) -> bool:
    """Send `signum` to process group `pgid`; return False if the group is gone.

    Never signals the caller's own group (that would be pytest itself).
    """
    if pgid <= 1 or pgid == os.getpgrp():
        return False
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def group_members(pgid: int) -> list[Proc]:
    """Return the live (not zombie) processes of process group `pgid`."""
    return [p for p in processes() if p.pgid == pgid and p.state != "Z"]


def end(
    process: subprocess.Popen[Any],
    grace: float = DEFAULT_GRACE_SECONDS,
    first_signal: int = signal.SIGTERM,
) -> None:
    """End `process` and its whole process group: `first_signal` (SIGTERM), then
    SIGKILL after `grace` seconds.

    The process must have been started by `start` (its pid is its group id). Return
    once the process is reaped and no member of its group is left.
    """
    pgid = process.pid
    if process.poll() is None or group_members(pgid):
        signal_group(pgid, first_signal)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if process.poll() is not None and not group_members(pgid):
                break
            time.sleep(0.05)
    kill(process)


def kill(process: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """SIGKILL `process` and every member of its group, and reap the process.

    Raise RuntimeError if a member is still alive after `timeout` seconds.
    """
    pgid = process.pid
    deadline = time.monotonic() + timeout
    while True:
        signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.2)
        left = group_members(pgid)
        if process.returncode is not None and not left:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                "still alive after SIGKILL: "
                + "; ".join(p.describe() for p in left or [_proc_of(process)])
            )


def _proc_of(process: subprocess.Popen[Any]) -> Proc:
    return Proc(process.pid, os.getpid(), process.pid, "?", str(process.args))


def _read_proc(pid: int) -> Proc | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    # The command name sits in parentheses and may itself hold spaces or ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    return Proc(
        pid=pid,
        ppid=int(fields[1]),
        pgid=int(fields[2]),
        state=fields[0],
        command=command or f"[{name}]",
    )


def processes() -> Iterator[Proc]:
    """Yield every process /proc shows now."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _read_proc(int(entry))
            if found is not None:
                yield found


def descendants(pid: int, *, skip: frozenset[int] = frozenset()) -> list[Proc]:
    """Return the live processes under `pid` (not zombies), leaving out the
    subtrees rooted at the pids in `skip`."""
    by_parent: dict[int, list[Proc]] = {}
    for proc in processes():
        by_parent.setdefault(proc.ppid, []).append(proc)
    found: list[Proc] = []
    todo = [pid]
    while todo:
        for child in by_parent.get(todo.pop(), []):
            if child.pid in skip or child.pid == pid:
                continue
            if child.state != "Z":
                found.append(child)
            todo.append(child.pid)
    return found


def become_subreaper() -> bool:
    """Make the calling process the child subreaper of its descendants.

    Return False where the kernel refuses (not Linux, or too old).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def end_all(found: Sequence[Proc], grace: float = 3.0) -> list[Proc]:
    """End the processes in `found` and their groups; return those still alive.

    SIGTERM first, SIGKILL after `grace` seconds. A process in the caller's own
    group is signalled alone, never the group.
    """
    mine = os.getpgrp()
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        for proc in found:
            if proc.pgid != mine:
                signal_group(proc.pgid, signum)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(proc.pid, signum)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap_zombie_children()
            alive = [p for p in found if _alive(p.pid)]
            if not alive:
                return []
            time.sleep(0.05)
    return [p for p in found if _alive(p.pid)]


def _alive(pid: int) -> bool:
    proc = _read_proc(pid)
    return proc is not None and proc.state != "Z"


def _reap_zombie_children() -> None:
    """Reap the caller's zombie children that no Popen object waits for."""
    for proc in processes():
        if proc.ppid == os.getpid() and proc.state == "Z":
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, os.WNOHANG)
