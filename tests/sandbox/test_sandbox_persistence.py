"""A sandbox with ``--state-file`` saves every change atomically and a restarted
one carries on where it was; it listens on loopback unless told otherwise."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from sandbox import catalog
from sandbox.seed import CONTOSO, LAMNA
from sandbox.server import SandboxServer
from tests import processes

ROOT = Path(__file__).resolve().parents[2]
TARGET = catalog.offer_by_name(catalog.D365_UNIFIED_OPERATIONS)["id"]
ORDER = {"lineItems": [{"lineItemNumber": 0, "offerId": TARGET, "quantity": 15}]}
AX = catalog.offer_by_name(catalog.AX_ENTERPRISE)["skuId"]


def test_a_restarted_sandbox_carries_on_where_it_was(
    start: Callable[..., SandboxServer],
    make_api: Callable[..., Any],
    tmp_path: Path,
) -> None:
    path = tmp_path / "sandbox-state.json"
    first = start(
        customers=12,
        seed=7,
        state_file=path,
        duplicate_request_id="replay",
        order_listing_delay_seconds=0,
    )
    api = make_api(first)
    tenant = api.scenario(CONTOSO)
    cid, user = tenant["id"], tenant["users"][0]
    headers = {"MS-RequestId": str(uuid.uuid4())}
    order = api.post(f"/customers/{cid}/orders", json=ORDER, headers=headers).json()
    api.post(
        f"/customers/{cid}/users/{user['id']}/licenseupdates",
        json={"licensesToRemove": [AX]},
    )
    api.control("POST", "/clock", {"days": 3})
    api.control("POST", f"/invitations/{api.scenario(LAMNA)['id']}/accept")
    before = api.dump()
    first.stop()

    second = start(
        customers=40,
        seed=99,
        state_file=path,
        duplicate_request_id="replay",
        order_listing_delay_seconds=0,
    )
    after = make_api(second)
    dump = after.dump()
    for key in ("customers", "invitations", "subscriptions", "users", "orders"):
        assert dump[key] == before[key], key
    assert dump["clock"]["offsetSeconds"] == before["clock"]["offsetSeconds"]
    replay = after.post(f"/customers/{cid}/orders", json=ORDER, headers=headers)
    assert replay.json()["id"] == order["id"]
    assert len(after.get(f"/customers/{cid}/orders").json()["items"]) == 2
    old_token = requests.get(
        f"{second.url}/v1/customers?size=1",
        headers={"Authorization": f"Bearer {api.token}"},
        timeout=10,
    )
    assert old_token.status_code == 200


def test_every_change_is_saved_at_once_and_atomically(
    start: Callable[..., SandboxServer],
    make_api: Callable[..., Any],
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    api = make_api(start(state_file=path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tenant = api.scenario(CONTOSO)
    for person in tenant["users"][:3]:
        api.post(
            f"/customers/{tenant['id']}/users/{person['id']}/licenseupdates",
            json={"licensesToRemove": [AX]},
        )
        saved = json.loads(path.read_text())
        users = saved["users"][tenant["id"].lower()]
        assert AX not in users[person["id"].lower()]["licenses"]
    api.control("POST", "/clock", {"hours": 5})
    assert json.loads(path.read_text())["clock_offset"] == 5 * 3600
    api.control("POST", "/reset", {"customers": 9, "seed": 3})
    saved = json.loads(path.read_text())
    assert (saved["customer_count"], saved["seed"], saved["clock_offset"]) == (9, 3, 0)
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def _run(*args: str) -> subprocess.Popen[str]:
    """Start ``python -m sandbox`` with arguments."""
    return processes.start(
        [sys.executable, "-m", "sandbox", "--port", "0", "--quiet", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


def test_the_command_line_keeps_its_state_file_and_listens_on_loopback(
    tmp_path: Path,
) -> None:
    path = tmp_path / "var" / "sandbox.json"
    process = _run("--customers", "10", "--state-file", str(path))
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert match, first
        assert str(path) in first
        requests.post(f"{match.group(0)}/_sandbox/clock", json={"days": 2}, timeout=10)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    finally:
        processes.end(process)
    assert json.loads(path.read_text())["clock_offset"] == 2 * 86400


def test_a_damaged_state_file_stops_the_command_line_with_a_message(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    process = _run("--state-file", str(path))
    try:
        _, errors = process.communicate(timeout=20)
    finally:
        processes.end(process)
    assert process.returncode == 2
    assert f"cannot read {path}" in errors
    assert path.read_text() == "{not json"
