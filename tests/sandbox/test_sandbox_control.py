"""Token endpoints, /_sandbox control endpoints and the command-line process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from sandbox.seed import COHO_WINERY, CONTOSO, LAMNA
from tests import processes

ROOT = Path(__file__).resolve().parents[2]


def test_the_token_endpoints_issue_bearer_tokens(api: Any) -> None:
    v2 = requests.post(
        f"{api.url}/some-tenant/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-app",
            "client_secret": "sandbox-secret",
            "scope": "https://api.partnercenter.microsoft.com/.default",
        },
        timeout=5,
    )
    assert v2.status_code == 200
    body = v2.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert requests.get(f"{api.url}/v1/customers", headers=headers, timeout=5).ok

    refreshed = requests.post(
        f"{api.url}/some-tenant/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "sandbox-app",
            "client_secret": "sandbox-secret",
            "refresh_token": "anything-the-app-stored",
            "resource": "https://api.partnercenter.microsoft.com",
        },
        timeout=5,
    )
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"]


def test_a_wrong_secret_is_401_invalid_client(api: Any) -> None:
    response = requests.post(
        f"{api.url}/t/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-app",
            "client_secret": "wrong",
        },
        timeout=5,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_v1_calls_without_a_valid_token_are_401(api: Any) -> None:
    bare = requests.get(f"{api.url}/v1/customers", timeout=5)
    assert bare.status_code == 401 and bare.json()["source"] == "PartnerFD"
    forged = requests.get(
        f"{api.url}/v1/customers",
        headers={"Authorization": "Bearer made-up"},
        timeout=5,
    )
    assert forged.status_code == 401


def test_accepting_an_invitation_makes_the_tenant_a_listed_reseller_customer(
    api: Any,
) -> None:
    coho = api.scenario(COHO_WINERY)
    cid = coho["id"]
    assert api.get(f"/customers/{cid}").status_code == 404
    accepted = api.control("POST", f"/invitations/{cid}/accept")
    assert accepted.status_code == 200
    customer = api.get(f"/customers/{cid}").json()
    assert customer["relationshipToPartner"] == "reseller"
    listed = api.get("/customers?size=500").json()["items"]
    assert listed[-1]["id"] == cid
    dump = api.dump()
    assert cid in {c["id"] for c in dump["customers"] if not c["pendingInvitation"]}
    assert cid not in {c["id"] for c in dump["invitations"]}
    subs = api.get(f"/customers/{cid}/subscriptions").json()["items"]
    assert subs and all(s["partnerId"] == "9988776" for s in subs)
    assert api.control("POST", "/invitations/unknown-tenant/accept").status_code == 404


def test_the_state_dump_has_every_documented_key(api: Any) -> None:
    dump = api.dump()
    assert set(dump) >= {
        "customers",
        "invitations",
        "subscriptions",
        "users",
        "orders",
        "offers",
        "settings",
        "faults",
        "requests",
        "writes",
        "billing",
        "carts",
        "transitions",
        "products",
        "clock",
    }
    assert len(dump["customers"]) == 20 and len(dump["invitations"]) == 3
    assert {c["companyName"] for c in dump["invitations"]} >= {LAMNA}
    user = dump["users"][0]
    assert isinstance(user["licenses"], list)


def test_the_request_log_records_every_v1_call(api: Any) -> None:
    api.get("/customers?size=2", headers={"MS-RequestId": "req-1"})
    (entry,) = [r for r in api.dump()["requests"] if r["ms_request_id"] == "req-1"]
    assert entry["method"] == "GET" and entry["path"] == "/v1/customers"
    assert entry["query"] == "size=2" and entry["status"] == 200
    assert entry["replayed"] is False and entry["at"] and entry["ms_correlation_id"]


def test_reset_reseeds_and_clears_faults_logs_and_dedup(api: Any) -> None:
    api.fault(path="/customers", action="500", count=None)
    response = api.control("POST", "/reset", {"customers": 12, "seed": 2})
    assert response.status_code == 200
    dump = api.dump()
    assert len(dump["customers"]) == 12
    assert dump["faults"] == [] and dump["requests"] == []
    assert api.get("/customers?size=1").status_code == 200
    assert dump["customers"][0]["companyName"] == CONTOSO


def test_settings_merge_and_reject_unknown_keys(api: Any) -> None:
    merged = api.settings(latency_ms=0, page_end_style="error2000")
    assert merged["page_end_style"] == "error2000"
    assert merged["rate_limit_per_minute"] == 3000
    assert api.control("GET", "/settings").json() == merged
    assert api.control("POST", "/settings", {"nope": 1}).status_code == 400
    assert api.control("POST", "/settings", {"page_end_style": "x"}).status_code == 400


def test_the_command_line_serves_and_stops_cleanly_on_sigterm() -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = processes.start(
        [sys.executable, "-m", "sandbox", "--port", "0", "--customers", "12"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"http://[\d.]+:\d+", first)
        assert match, first
        url = match.group(0)
        token = requests.post(
            f"{url}/t/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "sandbox-app",
                "client_secret": "sandbox-secret",
            },
            timeout=5,
        ).json()["access_token"]
        listed = requests.get(
            f"{url}/v1/customers?size=3",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert listed.status_code == 200
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    finally:
        processes.end(process)
    assert process.returncode == 0
    assert "GET /v1/customers?size=3 200" in output
    assert token not in output and "Bearer" not in output
    assert "sandbox-secret" not in output
