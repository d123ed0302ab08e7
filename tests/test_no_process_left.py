"""No process a test starts outlives the suite: the end-of-session check fails a
run that leaves one, and an interrupted run still ends its processes (the worker
kill's own check is in tests/migrations_app/test_migration_worker_kill.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests import processes

ROOT = Path(__file__).resolve().parents[1]
INNER_CONFTEST = """
from tests.leaks import pytest_configure, pytest_sessionfinish, pytest_testnodedown
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _inner_run(folder: Path, test_source: str) -> subprocess.Popen[str]:
    """Start pytest on `test_source` in `folder` with the suite's leak check."""
    (folder / "conftest.py").write_text(INNER_CONFTEST)
    (folder / "test_inner.py").write_text(test_source)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(ROOT)
    return processes.start(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + ["-p", "no:django", "-p", "no:xdist", "-p", "no:randomly", str(folder)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_file(path: Path, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def test_a_run_that_leaves_a_process_running_fails_and_names_it(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "leaked.pid"
    inner = _inner_run(
        tmp_path,
        "import subprocess\n\n"
        "def test_it_forks_a_sleeper_and_forgets_it():\n"
        f"    subprocess.run(['sh', '-c', 'sleep 307 & echo $! > {pid_file}'],"
        " check=True)\n",
    )
    try:
        output, _ = inner.communicate(timeout=120)
    finally:
        processes.end(inner)
    leaked = int(pid_file.read_text())

    assert inner.returncode == 1, output
    assert "processes left running" in output, output
    assert f"pid {leaked} " in output and "sleep 307" in output, output
    assert "1 failed, 1 passed" in output, output
    assert not _alive(leaked)


def test_a_run_that_ends_what_it_starts_passes(tmp_path: Path) -> None:
    inner = _inner_run(
        tmp_path,
        "from tests import processes\n\n"
        "def test_it_starts_a_sleeper_and_ends_its_group():\n"
        "    sleeper = processes.start(['sh', '-c', 'sleep 308 & sleep 309'])\n"
        "    processes.end(sleeper, grace=2)\n",
    )
    try:
        output, _ = inner.communicate(timeout=120)
    finally:
        processes.end(inner)

    assert inner.returncode == 0, output
    assert "processes left running" not in output
    assert "1 passed" in output


def test_sigterm_to_the_run_still_ends_the_processes_its_fixtures_started(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "server.pid"
    inner = _inner_run(
        tmp_path,
        "import time\n\nimport pytest\n\nfrom tests import processes\n\n"
        "@pytest.fixture\n"
        "def server():\n"
        "    started = processes.start(['sleep', '311'])\n"
        f"    open({str(pid_file)!r}, 'w').write(str(started.pid))\n"
        "    try:\n"
        "        yield started\n"
        "    finally:\n"
        "        processes.end(started, grace=2)\n\n"
        "def test_it_waits_to_be_interrupted(server):\n"
        "    time.sleep(300)\n",
    )
    try:
        server = int(_wait_for_file(pid_file, 60))
        assert _alive(server)
        inner.terminate()
        output, _ = inner.communicate(timeout=60)
    finally:
        processes.end(inner)

    assert inner.returncode == 2, output  # interrupted, as after Ctrl-C
    assert not _alive(server), output
    assert "processes left running" not in output
