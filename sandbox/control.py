"""The unauthenticated ``/_sandbox`` control endpoints (see sandbox/README.md)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from sandbox import provisioning, render
from sandbox.faults import FaultBook, public
from sandbox.records import iso
from sandbox.seed import build_state
from sandbox.settings import describe_fidelity, validate_fidelity
from sandbox.state import SandboxState, bump_etag, validate_settings
from sandbox.terms import parse_iso
from sandbox.web import Request, Response, TokenBucket

ControlHandler = Callable[..., Response]


def _body(request: Request) -> dict[str, Any]:
    """Return the JSON object body of a control call ({} when empty)."""
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except ValueError as exc:
        raise ValueError(f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


class Control:
    """Answer ``/_sandbox/...``: reset, state, settings, faults, scenario tweaks."""

    def __init__(
        self, state: SandboxState, faults: FaultBook, bucket: TokenBucket
    ) -> None:
        """Wire the control endpoints to the state, fault book and rate bucket."""
        self.state = state
        self.faults = faults
        self.bucket = bucket
        self._routes: list[tuple[re.Pattern[str], str, ControlHandler]] = [
            (re.compile(p), m, h)
            for p, m, h in (
                (r"/_sandbox/reset", "POST", self.reset),
                (r"/_sandbox/state", "GET", self.dump),
                (r"/_sandbox/settings", "GET|POST", self.settings),
                (r"/_sandbox/fidelity", "GET|POST|DELETE", self.fidelity),
                (r"/_sandbox/faults", "GET|POST|DELETE", self.fault_rules),
                (r"/_sandbox/invitations/(?P<tid>[^/]+)/accept", "POST", self.accept),
                (r"/_sandbox/clock", "GET|POST", self.clock),
                (r"/_sandbox/customers/(?P<cid>[^/]+)", "PATCH", self.merge_customer),
                (r"/_sandbox/customers/(?P<cid>[^/]+)/users", "POST", self.add_users),
                (
                    r"/_sandbox/customers/(?P<cid>[^/]+)/"
                    r"(?P<kind>subscriptions|users)/(?P<rid>[^/]+)",
                    "PATCH",
                    self.merge,
                ),
            )
        ]

    def serve(self, request: Request) -> Response:
        """Return the answer of one control call (400 for a bad body or value)."""
        try:
            body = _body(request)
            for pattern, methods, handler in self._routes:
                match = pattern.fullmatch(request.path)
                if match is None:
                    continue
                if request.method not in methods.split("|"):
                    return Response(405, {"error": f"use {methods.replace('|', ', ')}"})
                return handler(request.method, body, **match.groupdict())
            return Response(
                404, {"error": f"no control endpoint {request.method} {request.path}"}
            )
        except (ValueError, TypeError) as exc:
            return Response(400, {"error": str(exc)})

    def reset(self, method: str, body: dict[str, Any]) -> Response:
        """POST /_sandbox/reset: reseed; clear faults, request log and dedup."""
        with self.state.lock:
            customers = int(body.get("customers", self.state.customer_count))
            seed = int(body.get("seed", self.state.seed))
        fresh = build_state(customers, seed)
        with self.state.lock:
            self.state.replace_data(fresh)
            self.faults.reseed(seed)
        self.bucket.reset()
        return Response(
            200,
            {
                "customers": customers,
                "seed": seed,
                "invitations": len(fresh.invitations),
            },
        )

    def dump(self, method: str, body: dict[str, Any]) -> Response:
        """GET /_sandbox/state: the whole state as JSON."""
        with self.state.lock:
            provisioning.settle(self.state)
            payload = json.dumps(self.state.dump(), separators=(",", ":"))
        return Response(200, payload.encode())

    def settings(self, method: str, body: dict[str, Any]) -> Response:
        """GET or POST (merge) /_sandbox/settings."""
        with self.state.lock:
            if method == "POST":
                changes = validate_settings(body)
                self.state.settings.update(changes)
                if "rate_limit_per_minute" in changes:
                    self.bucket.reset()
            return Response(200, dict(self.state.settings))

    def fidelity(self, method: str, body: dict[str, Any]) -> Response:
        """GET, POST (merge) or DELETE (back to the start values) the fidelity switches.

        The answer names each switch's value, and under ``switches`` its allowed
        answers, strictest answer and whether the behaviour is confirmed.
        """
        with self.state.lock:
            if method == "POST":
                self.state.settings.update(validate_fidelity(body))
            elif method == "DELETE":
                self.state.settings.update(self.state.fidelity_start)
            switches = describe_fidelity()
            values = {name: self.state.settings[name] for name in switches}
            return Response(200, {"fidelity": values, "switches": switches})

    def fault_rules(self, method: str, body: dict[str, Any]) -> Response:
        """GET, POST (add a rule) or DELETE (clear) /_sandbox/faults."""
        with self.state.lock:
            if method == "GET":
                return Response(200, {"faults": [public(f) for f in self.state.faults]})
            if method == "DELETE":
                self.state.faults.clear()
                return Response(200, {"faults": []})
            rule = self.faults.new_rule(body)
            self.state.faults.append(rule)
            return Response(201, public(rule))

    def accept(self, method: str, body: dict[str, Any], tid: str) -> Response:
        """POST /_sandbox/invitations/{tenantId}/accept."""
        with self.state.lock:
            record = self.state.accept_invitation(tid)
            if record is None:
                return Response(404, {"error": "unknown invitation tenant"})
            self.state.dirty = True
            return Response(200, render.customer(record, by_id=True))

    def clock(self, method: str, body: dict[str, Any]) -> Response:
        """GET the sandbox clock, or POST to set (``now``), advance (``days``,
        ``hours``, ``minutes``, ``seconds``) or ``reset`` it; due renewals, expiries
        and provisioning run at once and are listed in the answer."""
        with self.state.lock:
            report: dict[str, Any] = {}
            if method == "POST":
                self.state.clock_offset = _clock_offset(self.state, body)
                self.state.next_due = None
                self.state.dirty = True
                report = provisioning.settle(self.state)
            return Response(
                200,
                {
                    "now": iso(self.state.now()),
                    "offsetSeconds": self.state.clock_offset,
                    **report,
                },
            )

    def merge_customer(self, method: str, body: dict[str, Any], cid: str) -> Response:
        """PATCH /_sandbox/customers/{cid}: merge raw fields (e.g. ``mcaAccepted``)."""
        with self.state.lock:
            record = self.state.customers.get(
                cid.lower()
            ) or self.state.invitations.get(cid.lower())
            if record is None:
                return Response(404, {"error": f"unknown customer {cid}"})
            body.pop("id", None)
            record.update(body)
            self.state.dirty = True
            return Response(200, dict(record))

    def add_users(self, method: str, body: dict[str, Any], cid: str) -> Response:
        """POST /_sandbox/customers/{cid}/users: add ``count`` users (large tenants).

        Body: ``{"count": N, "licenses": [skuId, ...], "usageLocation": "US"}``.
        Each new user holds the given skuIds; the answer lists their ids.
        """
        unknown = set(body) - {"count", "licenses", "usageLocation"}
        if unknown:
            raise ValueError(f"unknown keys: {sorted(unknown)}")
        count = body.get("count")
        if (
            isinstance(count, bool)
            or not isinstance(count, int)
            or not 0 < count <= 20000
        ):
            raise ValueError("count must be a whole number from 1 to 20000")
        licenses = body.get("licenses", [])
        if not isinstance(licenses, list) or not all(
            isinstance(x, str) for x in licenses
        ):
            raise ValueError("licenses must be a list of skuIds")
        with self.state.lock:
            customer = self.state.customers.get(cid.lower())
            if customer is None:
                return Response(404, {"error": f"unknown customer {cid}"})
            store = self.state.users.setdefault(cid.lower(), {})
            domain = customer.get("domain") or "example.com"
            start = len(store)
            ids = []
            for number in range(start, start + count):
                uid = str(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"{cid.lower()}/user/{number}")
                )
                store[uid] = {
                    "id": uid,
                    "customerId": customer["id"],
                    "userPrincipalName": f"user{number}@{domain}",
                    "firstName": "User",
                    "lastName": str(number),
                    "displayName": f"User {number}",
                    "usageLocation": body.get("usageLocation", "US"),
                    "userDomainType": "none",
                    "state": "active",
                    "licenses": [x.lower() for x in licenses],
                }
                ids.append(uid)
            return Response(201, {"ids": ids})

    def merge(
        self, method: str, body: dict[str, Any], cid: str, kind: str, rid: str
    ) -> Response:
        """PATCH /_sandbox/customers/{cid}/{subscriptions|users}/{id}: merge fields."""
        with self.state.lock:
            store = (
                self.state.subscriptions
                if kind == "subscriptions"
                else self.state.users
            )
            record = store.get(cid.lower(), {}).get(rid.lower())
            if record is None:
                return Response(404, {"error": f"unknown {kind[:-1]} {rid}"})
            for key in ("id", "customerId"):
                body.pop(key, None)
            record.update(body)
            if kind == "subscriptions" and "etag" not in body:
                bump_etag(record)
            self.state.next_due = None
            self.state.dirty = True
            return Response(200, dict(record))


_UNITS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def _clock_offset(state: SandboxState, body: dict[str, Any]) -> float:
    """Return the clock offset a POST /_sandbox/clock body asks for.

    Raise ValueError for an unknown key or a bad value.
    """
    unknown = set(body) - {"now", "reset", *_UNITS}
    if unknown:
        raise ValueError(f"unknown clock keys: {sorted(unknown)}")
    if body.get("reset"):
        return 0.0
    if "now" in body:
        target = parse_iso(str(body["now"]))
        return target.timestamp() - time.time()
    step = sum(float(body.get(k, 0)) * seconds for k, seconds in _UNITS.items())
    return state.clock_offset + step
