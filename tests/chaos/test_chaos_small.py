"""The chaos suite, small: 30 migrations under faults, one worker kill, one Redis restart.

It runs the same harness as `make chaos` (`python -m bench.chaos`) in a process of
its own, with real web, beat, two workers, the sandbox and a private Redis, and
asserts the invariants the harness checks. Times are reported, never asserted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests import processes

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_thirty_migrations_keep_every_invariant_through_faults_a_kill_and_a_redis_restart(
    tmp_path: Path,
) -> None:
    report_path = tmp_path / "chaos.json"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    harness = processes.start(
        [
            sys.executable,
            "-m",
            "bench.chaos",
            "--migrations=30",
            "--fault-rate=0.05",
            "--latency-ms=20",
            "--kill-interval=8,12",
            "--max-kills=1",
            "--redis-restart-after=15",
            "--concurrency=2",
            "--deadline=240",
            "--fidelity=strictest",
            f"--json={report_path}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = harness.communicate(timeout=420)
    finally:
        # Interrupted as by Ctrl-C, the harness stops the processes it started
        # (each in a session of its own) before its group is killed.
        processes.end(harness, grace=60, first_signal=signal.SIGINT)
    done = subprocess.CompletedProcess(harness.args, harness.returncode, stdout, stderr)
    assert report_path.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["broken"] == {}, done.stdout[-4000:]
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert report["migrations"] == 30
    assert report["not_terminal"] == 0
    assert report["kills"] >= 1
    assert report["redis_restarts"] == 1
    assert sum(int(rule["fired"] or 0) for rule in report["faults"]) > 0
    assert report["orders_untracked"] == 0
    assert report["early_retirements"] == 0
    assert report["users_without_licence"] == 0
    assert report["writes_without_exactly_one_event"] == 0
    assert report["audit_verify"]["exit_code"] == 0
