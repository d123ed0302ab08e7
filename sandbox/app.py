"""The sandbox WSGI application: token endpoints, the Partner Center ``/v1`` subset
and the ``/_sandbox`` control endpoints.

Request pipeline for ``/v1`` calls: latency -> rate limit (429) -> bearer token (401)
-> fault rules (429/500/503 answered before any work) -> MS-RequestId de-duplication
of writes -> handler (under the state lock) -> post-handler faults (drop_response,
malformed_json, timeout) -> request log.
"""

from __future__ import annotations

import base64
import json
import random
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import parse_qsl, quote

from sandbox import catalog, render, rules
from sandbox.seed import build_state
from sandbox.state import (
    DEDUP_LIMIT,
    PARTNER_ID,
    PARTNER_TENANT_ID,
    SandboxState,
    bump_etag,
    iso,
    utcnow,
    validate_settings,
)
from sandbox.web import (
    JSON_TYPE,
    ApiError,
    Request,
    Response,
    TokenBucket,
    decode_token,
    encode_token,
    retry_after,
    snake_enum,
)

#: WSGI environ key a handler sets to close the socket without any response.
DROP_KEY = "sandbox.drop_connection"

CLIENT_ID = "sandbox-app"
CLIENT_SECRET = "sandbox-secret"
TOKEN_LIFETIME = 3600

CUSTOMER_PAGE_CAP = 500
USER_PAGE_CAP = 100
OFFER_PAGE_DEFAULT = 100

FAULT_ACTIONS = ("429", "500", "503", "timeout", "drop_response", "malformed_json")
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})

StartResponse = Callable[..., Any]
Handler = Callable[..., Response]

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _status_line(status: int) -> str:
    """Return ``"200 OK"`` style status text."""
    return f"{status} {_REASONS.get(status, 'Unknown')}"


def _now_stamp() -> str:
    """Return the current UTC time with milliseconds (request log)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms_cv() -> str:
    """Return a correlation vector shaped like Partner Center's MS-CV."""
    return base64.b64encode(uuid.uuid4().bytes[:12]).decode().rstrip("=") + ".0"


class SandboxApp:
    """The WSGI callable serving one ``SandboxState``."""

    def __init__(
        self,
        state: SandboxState,
        *,
        log_requests: bool = False,
        log_stream: IO[str] | None = None,
    ) -> None:
        """Create the app around ``state``; log one line per request if asked."""
        self.state = state
        self.log_requests = log_requests
        self.log_stream = log_stream or sys.stdout
        self._log_lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self._tokens_lock = threading.Lock()
        self.bucket = TokenBucket()
        self.fault_rng = random.Random(state.seed)
        self._fault_ids = 0
        self._routes = self._build_routes()

    # ================================================================== WSGI

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """Serve one WSGI request."""
        started = time.perf_counter()
        request = self._parse(environ)
        path = request.path
        if path == "/v1" or path.startswith("/v1/"):
            response, note = self._serve_api(request, environ)
        elif path.startswith("/_sandbox"):
            response, note = self._serve_control(request), ""
        elif re.fullmatch(r"/[^/]+/oauth2(/v2\.0)?/token/?", path):
            response, note = self._serve_token(request), ""
        else:
            response = self._error(ApiError(404, 1000, "Not found"))
            note = ""
        if self.log_requests:
            self._log_line(request, response, note, started)
        if environ.get(DROP_KEY):
            return []
        payload = response.payload()
        headers = [("Content-Type", JSON_TYPE), ("Content-Length", str(len(payload)))]
        headers.extend(response.headers)
        start_response(_status_line(response.status), headers)
        return [payload]

    def _parse(self, environ: dict[str, Any]) -> Request:
        """Return the Request for a WSGI environ."""
        headers: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").lower()] = value
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        path = environ.get("PATH_INFO") or "/"
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/")
        return Request(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=path,
            raw_query=environ.get("QUERY_STRING", ""),
            headers=headers,
            body=body,
        )

    def _log_line(
        self, request: Request, response: Response, note: str, started: float
    ) -> None:
        """Write one request line to the log stream (never headers or tokens)."""
        elapsed = (time.perf_counter() - started) * 1000
        target = request.path + (f"?{request.raw_query}" if request.raw_query else "")
        line = (
            f"{_now_stamp()} {request.method} {target} {response.status} "
            f"{elapsed:.1f}ms{(' ' + note) if note else ''}\n"
        )
        with self._log_lock:
            self.log_stream.write(line)
            self.log_stream.flush()

    @staticmethod
    def _error(error: ApiError) -> Response:
        """Return the Response for an ApiError."""
        return Response(error.status, error.body(), list(error.headers))

    # ================================================================== tokens

    def _serve_token(self, request: Request) -> Response:
        """Answer the Entra-like token endpoints (v1 and v2.0)."""
        if request.method != "POST":
            return Response(405, {"error": "invalid_request"})
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        client_id = form.get("client_id")
        client_secret = form.get("client_secret")
        basic = request.header("authorization")
        if basic and basic.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(basic[6:]).decode()
                client_id, _, client_secret = decoded.partition(":")
            except (ValueError, UnicodeDecodeError):
                pass
        grant = form.get("grant_type", "")
        if grant not in ("client_credentials", "refresh_token", "authorization_code"):
            return Response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": f"grant_type {grant!r} is not supported.",
                },
            )
        if not client_id:
            return Response(
                400,
                {"error": "invalid_request", "error_description": "client_id missing."},
            )
        if client_id != CLIENT_ID:
            return Response(
                400,
                {
                    "error": "unauthorized_client",
                    "error_description": f"Application {client_id!r} was not found.",
                },
            )
        if client_secret != CLIENT_SECRET:
            return Response(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "Invalid client secret provided.",
                },
            )
        if grant == "refresh_token" and not form.get("refresh_token"):
            return Response(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "refresh_token is required.",
                },
            )
        if grant == "authorization_code" and not form.get("code"):
            return Response(
                400,
                {"error": "invalid_request", "error_description": "code is required."},
            )
        token = "sbx." + uuid.uuid4().hex + uuid.uuid4().hex
        with self._tokens_lock:
            now = time.time()
            self._tokens = {t: e for t, e in self._tokens.items() if e > now}
            self._tokens[token] = now + TOKEN_LIFETIME
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": token,
        }
        if "/v2.0/" in request.path:
            body["scope"] = form.get("scope", "")
        else:
            body["resource"] = form.get("resource", "")
        if grant != "client_credentials":
            body["refresh_token"] = "sbx-refresh." + uuid.uuid4().hex
        return Response(200, body)

    def _authorised(self, request: Request) -> None:
        """Raise ApiError 401 unless the request carries a live issued bearer token."""
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, 800001, "Partner Token missing in request context")
        with self._tokens_lock:
            expiry = self._tokens.get(token.strip())
        if expiry is None or expiry < time.time():
            raise ApiError(
                401,
                400,
                "Access denied: the bearer token is invalid or has expired.",
                headers=[("WWW-Authenticate", "Bearer")],
            )

    # ================================================================== /v1

    def _serve_api(
        self, request: Request, environ: dict[str, Any]
    ) -> tuple[Response, str]:
        """Run a /v1 call through the whole pipeline; return (response, log note)."""
        state = self.state
        supplied_id = request.header("ms-requestid")
        request_id = supplied_id or str(uuid.uuid4())
        correlation_id = request.header("ms-correlationid") or str(uuid.uuid4())
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "query": request.raw_query,
            "status": None,
            "ms_request_id": request_id,
            "ms_correlation_id": correlation_id,
            "at": _now_stamp(),
            "replayed": False,
            "fault": None,
        }
        with state.lock:
            settings = dict(state.settings)
        if settings["latency_ms"] > 0:
            time.sleep(settings["latency_ms"] / 1000)

        response = self._pre_checks(request, settings, entry)
        post: str | None = None
        if response is None:
            response = self._run_handler(request, supplied_id, settings, entry)
            if entry["fault"] in ("drop_response", "malformed_json", "timeout"):
                post = entry["fault"]
        note = ""
        if post == "drop_response":
            environ[DROP_KEY] = True
            note = "(response dropped)"
        elif post == "malformed_json":
            payload = response.payload() or b'{"items": ['
            response = Response(200, payload[: max(1, len(payload) // 2)])
            note = "(malformed body)"
        response.headers.extend(
            [
                ("MS-RequestId", request_id),
                ("MS-CorrelationId", correlation_id),
                ("MS-CV", _ms_cv()),
                ("MS-ServerId", "sandbox"),
            ]
        )
        entry["status"] = response.status
        with state.lock:
            state.requests.append(entry)
        if post == "timeout":
            delay = settings["latency_ms"] / 1000 if settings["latency_ms"] > 0 else 30
            time.sleep(delay)
        return response, note

    def _pre_checks(
        self, request: Request, settings: dict[str, Any], entry: dict[str, Any]
    ) -> Response | None:
        """Return a rejection (429, 401, fault 429/5xx) or None to go on."""
        wait = self.bucket.take(int(settings["rate_limit_per_minute"]))
        if wait > 0:
            seconds = settings["retry_after_seconds"] or retry_after(wait)
            return self._throttled(int(seconds))
        try:
            self._authorised(request)
        except ApiError as exc:
            return self._error(exc)
        action = self._match_fault(request)
        entry["fault"] = action
        if action == "429":
            seconds = settings["retry_after_seconds"] or 1
            return self._throttled(int(seconds))
        if action == "500":
            return self._error(ApiError(500, 800003, "Unexpected service error"))
        if action == "503":
            return self._error(
                ApiError(
                    503,
                    503,
                    "The service is temporarily unavailable. Try again later.",
                    headers=[("Retry-After", "1")],
                )
            )
        return None

    @staticmethod
    def _throttled(seconds: int) -> Response:
        """Return the documented 429 answer."""
        return Response(
            429,
            {
                "statusCode": 429,
                "message": f"Rate limit is exceeded. Try again in {seconds} seconds.",
            },
            [("Retry-After", str(seconds))],
        )

    def _match_fault(self, request: Request) -> str | None:
        """Return the action of the first fault rule that fires for this call."""
        with self.state.lock:
            for rule in list(self.state.faults):
                method = (rule.get("method") or "*").upper()
                if method not in ("*", request.method):
                    continue
                if not re.search(rule["path"], request.path):
                    continue
                if self.fault_rng.random() >= float(rule.get("probability", 1.0)):
                    continue
                rule["fired"] = int(rule.get("fired", 0)) + 1
                if rule.get("count") is not None:
                    rule["count"] = int(rule["count"]) - 1
                    if rule["count"] <= 0:
                        self.state.faults.remove(rule)
                return str(rule["action"])
        return None

    def _run_handler(
        self,
        request: Request,
        supplied_id: str | None,
        settings: dict[str, Any],
        entry: dict[str, Any],
    ) -> Response:
        """Dispatch under the state lock, with MS-RequestId de-duplication."""
        state = self.state
        dedup = request.method in WRITE_METHODS and supplied_id is not None
        key = (supplied_id or "", request.method, request.path.lower())
        with state.lock:
            if dedup and key in state.dedup:
                entry["replayed"] = True
                if settings["duplicate_request_id"] == "conflict":
                    return self._error(
                        ApiError(
                            409,
                            800060,
                            "Your order is in progress. Please check your order "
                            "history for recent orders in few minutes",
                        )
                    )
                stored = state.dedup[key]
                return Response(
                    stored["status"], stored["body"], list(stored["headers"])
                )
            try:
                response = self._dispatch(request)
            except ApiError as exc:
                response = self._error(exc)
            except Exception:  # a sandbox bug must still answer a PC error body
                traceback.print_exc(file=sys.stderr)
                response = self._error(
                    ApiError(500, 800003, "Unexpected service error")
                )
            if dedup and response.status < 500:
                state.dedup[key] = {
                    "status": response.status,
                    "body": response.payload(),
                    "headers": list(response.headers),
                }
                while len(state.dedup) > DEDUP_LIMIT:
                    state.dedup.popitem(last=False)
            return response

    # ------------------------------------------------------------------ routing

    def _build_routes(self) -> list[tuple[re.Pattern[str], dict[str, Handler]]]:
        """Return the /v1 route table: (path regex, {method: handler})."""
        seg = r"(?P<{}>[^/]+)"
        cust = "/customers/" + seg.format("cid")
        table: list[tuple[str, dict[str, Handler]]] = [
            ("/customers", {"GET": self.list_customers}),
            ("/customers/relationshiprequests", {"GET": self.relationship_request}),
            (cust, {"GET": self.get_customer}),
            (cust + "/subscriptions", {"GET": self.list_subscriptions}),
            (
                cust + "/subscriptions/" + seg.format("sid"),
                {"GET": self.get_subscription, "PATCH": self.patch_subscription},
            ),
            (
                cust + "/subscriptions/" + seg.format("sid") + "/provisioningstatus",
                {"GET": self.subscription_provisioning},
            ),
            (cust + "/orders", {"GET": self.list_orders, "POST": self.create_order}),
            (cust + "/orders/" + seg.format("oid"), {"GET": self.get_order}),
            (
                cust + "/orders/" + seg.format("oid") + "/provisioningstatus",
                {"GET": self.order_provisioning},
            ),
            (cust + "/users", {"GET": self.list_users}),
            (cust + "/users/" + seg.format("uid"), {"GET": self.get_user}),
            (
                cust + "/users/" + seg.format("uid") + "/licenses",
                {"GET": self.user_licenses},
            ),
            (
                cust + "/users/" + seg.format("uid") + "/licenseupdates",
                {"POST": self.license_updates},
            ),
            (cust + "/subscribedskus", {"GET": self.subscribed_skus}),
            ("/offers", {"GET": self.list_offers}),
            ("/offers/" + seg.format("offer"), {"GET": self.get_offer}),
        ]
        return [(re.compile(f"^/v1{path}$", re.IGNORECASE), m) for path, m in table]

    def _dispatch(self, request: Request) -> Response:
        """Return the handler's response for a /v1 path (state lock held)."""
        for pattern, methods in self._routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            handler = methods.get(request.method)
            if handler is None:
                raise ApiError(
                    405,
                    405,
                    f"The requested resource does not support http method "
                    f"'{request.method}'.",
                )
            return handler(request, **match.groupdict())
        raise ApiError(404, 1000, "Not found")

    # ------------------------------------------------------------------ helpers

    def _customer(self, cid: str) -> dict[str, Any]:
        """Return a listed customer record or raise 404/60003."""
        record = self.state.customer(cid)
        if record is None:
            raise ApiError(404, 60003, f"Tenant not found: {cid}")
        return record

    def _subscription(self, cid: str, sid: str) -> dict[str, Any]:
        """Return a subscription record of a listed customer or raise 404."""
        self._customer(cid)
        record = self.state.subscription(cid, sid)
        if record is None:
            raise ApiError(404, 20003, f"Subscription with id {sid} not found.")
        return record

    def _user(self, cid: str, uid: str) -> dict[str, Any]:
        """Return a user record of a listed customer or raise 404/60002."""
        self._customer(cid)
        record = self.state.user(cid, uid)
        if record is None:
            raise ApiError(404, 60002, f"User object Id is not found: {uid}")
        return record

    @staticmethod
    def _int_param(request: Request, name: str, default: int) -> int:
        """Return a non-negative integer query parameter or raise 400/800002."""
        raw = request.query.get(name.lower())
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise ApiError(
                400, 800002, f"Invalid request input: {name} must be an integer."
            ) from exc
        if value < 0:
            raise ApiError(400, 800002, f"Invalid request input: {name} must be >= 0.")
        return value

    def _seek_page(
        self,
        request: Request,
        keys: list[str],
        *,
        scope: str,
        cap: int,
        base_uri: str,
        render_one: Callable[[str], dict[str, Any]],
        extra_query: str = "",
    ) -> dict[str, Any]:
        """Return one seek-paged Collection (customers, users) per §1.5 / §2.1."""
        size = self._int_param(request, "size", cap) or cap
        size = min(size, cap)
        seek = (request.query.get("seekoperation") or "").lower()
        if seek == "next":
            token = request.header("ms-continuationtoken")
            if token is None:
                raise ApiError(
                    400,
                    800002,
                    "Invalid request input: seekOperation=Next requires the "
                    "MS-ContinuationToken header.",
                )
            offset = decode_token(token, scope)
        elif seek in ("", "first"):
            offset = 0
        else:
            raise ApiError(
                400, 800002, f"Invalid request input: seekOperation {seek!r}."
            )
        style = self.state.settings["page_end_style"]
        if seek == "next" and offset >= len(keys) and style == "error2000":
            raise ApiError(400, 2000, "No more records: all items were returned.")
        page = keys[offset : offset + size]
        next_offset = offset + len(page)
        query = f"size={size}{extra_query}"
        body = render.collection(
            [render_one(k) for k in page], self_uri=f"{base_uri}?{query}"
        )
        if next_offset < len(keys) or style == "error2000":
            token = encode_token(scope, next_offset)
            body["continuationToken"] = token
            body["links"]["next"] = render.link(
                f"{base_uri}?{query}&seekOperation=Next",
                [{"key": "MS-ContinuationToken", "value": token}],
            )
        # Keep the documented key order: continuationToken before links.
        ordered = {"totalCount": body["totalCount"], "items": body["items"]}
        if "continuationToken" in body:
            ordered["continuationToken"] = body["continuationToken"]
        ordered["links"] = body["links"]
        ordered["attributes"] = body["attributes"]
        return ordered

    # ------------------------------------------------------------------ customers

    def list_customers(self, request: Request) -> Response:
        """GET /customers?size=N with seek paging and an optional name filter."""
        state = self.state
        keys = state.customer_ids()
        extra = ""
        raw_filter = request.query.get("filter")
        if raw_filter:
            keys = self._filter_customers(keys, raw_filter)
            extra = "&filter=" + quote(raw_filter, safe="")
        scope = "customers" if not raw_filter else f"customers:{raw_filter}"
        body = self._seek_page(
            request,
            keys,
            scope=scope,
            cap=CUSTOMER_PAGE_CAP,
            base_uri="/v1/customers",
            render_one=lambda k: render.customer(state.customers[k]),
            extra_query=extra,
        )
        return Response(200, body)

    def _filter_customers(self, keys: list[str], raw: str) -> list[str]:
        """Return customer keys matching a SimpleFieldFilter JSON (starts_with)."""
        try:
            spec = {k.lower(): v for k, v in json.loads(raw).items()}
            field = str(spec["field"]).lower()
            value = str(spec["value"]).lower()
        except (ValueError, KeyError, AttributeError, TypeError) as exc:
            raise ApiError(400, 800002, "Invalid request input: filter.") from exc
        attr = {"companyname": "companyName", "domain": "domain"}.get(field)
        if attr is None:
            raise ApiError(400, 3000, f"Invalid property: {spec['field']}")
        return [
            k
            for k in keys
            if str(self.state.customers[k][attr]).lower().startswith(value)
        ]

    def get_customer(self, request: Request, cid: str) -> Response:
        """GET /customers/{id} (404 for unknown and pending-invitation tenants)."""
        return Response(200, render.customer(self._customer(cid), by_id=True))

    def relationship_request(self, request: Request) -> Response:
        """GET /customers/relationshiprequests: the reseller invitation link."""
        url = (
            "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"
            f"&partnerId={PARTNER_TENANT_ID}&msppId=0&DAP=false"
            "#/BillingAccounts/partner-invitation"
        )
        return Response(
            200, {"url": url, "attributes": {"objectType": "RelationshipRequest"}}
        )

    # ------------------------------------------------------------------ subscriptions

    def list_subscriptions(self, request: Request, cid: str) -> Response:
        """GET /customers/{cid}/subscriptions[?order_id=][&mpn_id=]."""
        self._customer(cid)
        subs = self.state.subscriptions_of(cid)
        order_id = request.query.get("order_id")
        if order_id:
            subs = [
                s for s in subs if str(s.get("orderId", "")).lower() == order_id.lower()
            ]
        mpn_id = request.query.get("mpn_id")
        if mpn_id:
            subs = [s for s in subs if s.get("partnerId") == mpn_id]
        uri = f"/customers/{cid}/subscriptions"
        if request.raw_query:
            uri += f"?{request.raw_query}"
        return Response(
            200, render.collection([render.subscription(s) for s in subs], self_uri=uri)
        )

    def get_subscription(self, request: Request, cid: str, sid: str) -> Response:
        """GET /customers/{cid}/subscriptions/{sid}."""
        return Response(200, render.subscription(self._subscription(cid, sid)))

    def subscription_provisioning(
        self, request: Request, cid: str, sid: str
    ) -> Response:
        """GET …/subscriptions/{sid}/provisioningstatus (the skuId link)."""
        return Response(200, render.provisioning_status(self._subscription(cid, sid)))

    def patch_subscription(self, request: Request, cid: str, sid: str) -> Response:
        """PATCH …/subscriptions/{sid}: status, autoRenewEnabled, quantity, name."""
        sub = self._subscription(cid, sid)
        if sub.get("partnerId") not in (PARTNER_ID, "", None):
            raise ApiError(
                403,
                20002,
                f"The partner id {PARTNER_ID} has no commerce relationship with the "
                f"customer id {cid}.",
            )
        if_match = request.header("if-match")
        if if_match is not None and rules.bare_etag(if_match) != sub["etag"]:
            raise ApiError(400, 2055, "Etag is no longer valid")
        body = request.json()
        if not isinstance(body, dict):
            raise ApiError(400, 800002, "Invalid request input: expected an object.")
        changes = rules.subscription_changes(sub, body)
        current = str(sub.get("status"))
        if changes:
            rules.check_subscription_update(self.state, sub, current, changes)
        for key, value in changes.items():
            sub[key] = value
        if "status" in changes:
            sub["suspensionReasons"] = (
                ["CustomerCancellation"] if changes["status"] == "suspended" else []
            )
        bump_etag(sub)
        return Response(200, render.subscription(sub))

    # ------------------------------------------------------------------ orders

    def list_orders(self, request: Request, cid: str) -> Response:
        """GET /customers/{cid}/orders."""
        self._customer(cid)
        self.state.materialise(cid)
        orders = self.state.orders.get(cid.lower(), {}).values()
        return Response(
            200,
            render.collection(
                [render.order(o) for o in orders], self_uri=f"/customers/{cid}/orders"
            ),
        )

    def get_order(self, request: Request, cid: str, oid: str) -> Response:
        """GET /customers/{cid}/orders/{oid} (subscriptionId once provisioned)."""
        return Response(200, render.order(self._order(cid, oid)))

    def order_provisioning(self, request: Request, cid: str, oid: str) -> Response:
        """GET …/orders/{oid}/provisioningstatus."""
        rows = render.order_provisioning(self._order(cid, oid))
        return Response(200, render.collection(rows))

    def _order(self, cid: str, oid: str) -> dict[str, Any]:
        """Return an order record (after provisioning) or raise 404/20000."""
        self._customer(cid)
        self.state.materialise(cid)
        record = self.state.orders.get(cid.lower(), {}).get(oid.lower())
        if record is None:
            raise ApiError(404, 20000, f"Order Id not found: {oid}")
        return record

    def create_order(self, request: Request, cid: str) -> Response:
        """POST /customers/{cid}/orders: validate, store pending, provision later."""
        customer = self._customer(cid)
        body = request.json()
        if not isinstance(body, dict):
            raise ApiError(400, 800002, "Invalid request input: expected an Order.")
        raw_items = body.get("lineitems")
        if not isinstance(raw_items, list) or not raw_items:
            raise ApiError(400, 800002, "Invalid request input: lineItems is required.")
        numbers = []
        for item in raw_items:
            if not isinstance(item, dict):
                raise ApiError(400, 800002, "Invalid request input: line item.")
            number = item.get("lineitemnumber")
            if isinstance(number, bool) or not isinstance(number, int):
                raise ApiError(
                    400,
                    800071,
                    "Line Item number should be from 0 to number of line items count",
                )
            numbers.append(number)
        if sorted(numbers) != list(range(len(raw_items))):
            raise ApiError(
                400,
                800071,
                "Line Item number should be from 0 to number of line items count",
            )
        items = [rules.order_line(item) for item in raw_items]
        cycle = body.get("billingcycle") or "monthly"
        if isinstance(cycle, int):
            cycle = {1: "monthly", 2: "annual", 3: "none", 4: "one_time"}.get(
                cycle, "monthly"
            )
        order_id = str(uuid.uuid4()).upper()
        delay = float(self.state.settings["provisioning_delay_seconds"])
        record: dict[str, Any] = {
            "id": order_id,
            "customerId": customer["id"],
            "referenceCustomerId": customer["id"],
            "billingCycle": snake_enum(str(cycle)),
            "currencyCode": "USD",
            "lineItems": sorted(items, key=lambda i: i["lineItemNumber"]),
            "creationDate": iso(utcnow()),
            "status": "pending",
            "provisionAt": time.time() + max(0.0, delay),
        }
        self.state.orders.setdefault(cid.lower(), {})[order_id.lower()] = record
        if delay <= 0:
            self.state.materialise(cid)
        return Response(
            201,
            render.order(record),
            [("Location", f"/customers/{customer['id']}/orders/{order_id}")],
        )

    # ------------------------------------------------------------------ users

    def list_users(self, request: Request, cid: str) -> Response:
        """GET /customers/{cid}/users?size=N with seek paging (cap 100)."""
        customer = self._customer(cid)
        users = self.state.users.get(cid.lower(), {})
        body = self._seek_page(
            request,
            list(users),
            scope=f"users:{cid.lower()}",
            cap=USER_PAGE_CAP,
            base_uri=f"/v1/customers/{customer['id']}/users",
            render_one=lambda k: render.user(users[k]),
        )
        return Response(200, body)

    def get_user(self, request: Request, cid: str, uid: str) -> Response:
        """GET /customers/{cid}/users/{uid}."""
        return Response(200, render.user(self._user(cid, uid)))

    def user_licenses(self, request: Request, cid: str, uid: str) -> Response:
        """GET …/users/{uid}/licenses[?licenseGroupIds=Group1]."""
        user = self._user(cid, uid)
        groups = (request.query.get("licensegroupids") or "group1").lower()
        skus = user["licenses"] if "group1" in groups else []
        return Response(200, render.collection([render.license_(s) for s in skus]))

    def license_updates(self, request: Request, cid: str, uid: str) -> Response:
        """POST …/users/{uid}/licenseupdates: assign and remove in one call."""
        user = self._user(cid, uid)
        body = request.json()
        if not isinstance(body, dict):
            raise ApiError(
                400, 800002, "Invalid request input: expected LicenseUpdate."
            )
        assign = rules.license_list(body.get("licensestoassign"), "licensesToAssign")
        remove = rules.license_list(body.get("licensestoremove"), "licensesToRemove")
        if not assign and not remove:
            raise ApiError(
                400,
                800002,
                "Invalid request input: licensesToAssign or licensesToRemove is "
                "required.",
            )
        held = {s.lower() for s in user["licenses"]}
        for sku in remove:
            if sku.lower() not in held:
                raise ApiError(
                    400,
                    60000,
                    f"The customer license migration failed: user {user['id']} does "
                    f"not have a license for SKU {sku} to remove.",
                    [
                        "LicenseNotAssignedException : User does not have a "
                        "corresponding license."
                    ],
                )
        new = [sku for sku in assign if sku.lower() not in held]
        if new and not user.get("usageLocation"):
            raise ApiError(
                400,
                60000,
                f"License assignment cannot be done for user {user['id']} with an "
                "invalid usage location. Set the user's usageLocation, then try again.",
                [
                    "InvalidUsageLocationException : License assignment failed because "
                    "the user has no usage location."
                ],
            )
        units = self.state.sku_units(cid)
        removing = {s.lower() for s in remove}
        for sku in new:
            row = units.get(sku.lower(), {"active": 0, "consumed": 0})
            if row["active"] - row["consumed"] < 1:
                raise ApiError(
                    400,
                    60012,
                    "We're sorry, it looks like you've run out of licenses. Buy more "
                    "licenses, and then try again.",
                    [
                        f"LicenseQuotaExceededException : Subscription with Account "
                        f"{cid} and SKU {sku} does not have any available licenses "
                        "left."
                    ],
                )
        user["licenses"] = [s for s in user["licenses"] if s.lower() not in removing]
        for sku in new:
            offer = catalog.offer_by_sku(sku)
            user["licenses"].append(offer["skuId"] if offer else sku.lower())
        result: dict[str, Any] = {
            "licensesToAssign": [
                {"skuId": sku, "excludedPlans": None} for sku in assign
            ],
            "licensesToRemove": remove,
            "licenseWarnings": [],
            "attributes": {"objectType": "LicenseUpdate"},
        }
        return Response(201, result)

    def subscribed_skus(self, request: Request, cid: str) -> Response:
        """GET /customers/{cid}/subscribedskus: units per skuId."""
        self._customer(cid)
        groups = (request.query.get("licensegroupids") or "group1").lower()
        units = self.state.sku_units(cid) if "group1" in groups else {}
        items = [render.subscribed_sku(sku, row) for sku, row in units.items()]
        return Response(200, render.collection(items))

    # ------------------------------------------------------------------ offers

    def list_offers(self, request: Request) -> Response:
        """GET /offers?country=US&offset=&size= (offset paging)."""
        country = rules.country(request)
        offset = self._int_param(request, "offset", 0)
        size = (
            self._int_param(request, "size", OFFER_PAGE_DEFAULT) or OFFER_PAGE_DEFAULT
        )
        size = min(size, CUSTOMER_PAGE_CAP)
        page = catalog.OFFERS[offset : offset + size]
        links: dict[str, Any] = {}
        if offset + size < len(catalog.OFFERS):
            links["next"] = render.link(
                f"/v1/offers?country={country}&offset={offset + size}&size={size}"
            )
        if offset > 0:
            links["previous"] = render.link(
                f"/v1/offers?country={country}&offset={max(0, offset - size)}"
                f"&size={size}"
            )
        body = render.collection(
            [catalog.offer_json(o, country) for o in page],
            self_uri=f"/v1/offers?country={country}&offset={offset}&size={size}",
            total=len(catalog.OFFERS),
            links=links,
        )
        return Response(200, body)

    def get_offer(self, request: Request, offer: str) -> Response:
        """GET /offers/{id}?country=US."""
        country = rules.country(request)
        if ":" in offer:
            raise ApiError(
                400,
                2100,
                f"The Offers API does not support item with id {offer}. Please try "
                "using the Products and/or SKUs APIs",
            )
        entry = catalog.offer_by_id(offer)
        if entry is None:
            raise ApiError(404, 1000, f"Offer {offer} not found")
        return Response(200, catalog.offer_json(entry, country))

    # ================================================================== /_sandbox

    def _serve_control(self, request: Request) -> Response:
        """Answer the unauthenticated /_sandbox control endpoints."""
        path, method = request.path, request.method
        try:
            body = self._control_body(request)
            if path == "/_sandbox/reset" and method == "POST":
                return self._reset(body)
            if path == "/_sandbox/state" and method == "GET":
                with self.state.lock:
                    payload = json.dumps(self.state.dump(), separators=(",", ":"))
                return Response(200, payload.encode())
            if path == "/_sandbox/settings" and method in ("GET", "POST"):
                return self._settings(method, body)
            if path == "/_sandbox/faults":
                return self._faults(method, body)
            match = re.fullmatch(r"/_sandbox/invitations/([^/]+)/accept", path)
            if match and method == "POST":
                with self.state.lock:
                    record = self.state.accept_invitation(match.group(1))
                    if record is None:
                        return Response(404, {"error": "unknown invitation tenant"})
                    return Response(200, render.customer(record, by_id=True))
            match = re.fullmatch(
                r"/_sandbox/customers/([^/]+)/(subscriptions|users)/([^/]+)", path
            )
            if match and method == "PATCH":
                return self._merge(match.group(1), match.group(2), match.group(3), body)
            return Response(404, {"error": f"no control endpoint {method} {path}"})
        except (ValueError, TypeError) as exc:
            return Response(400, {"error": str(exc)})

    @staticmethod
    def _control_body(request: Request) -> dict[str, Any]:
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

    def _reset(self, body: dict[str, Any]) -> Response:
        """POST /_sandbox/reset: reseed; clear faults, request log and dedup."""
        with self.state.lock:
            customers = int(body.get("customers", self.state.customer_count))
            seed = int(body.get("seed", self.state.seed))
        fresh = build_state(customers, seed)
        with self.state.lock:
            self.state.replace_data(fresh)
            self.fault_rng = random.Random(seed)
        self.bucket.reset()
        return Response(
            200,
            {
                "customers": customers,
                "seed": seed,
                "invitations": len(fresh.invitations),
            },
        )

    def _settings(self, method: str, body: dict[str, Any]) -> Response:
        """GET or POST (merge) /_sandbox/settings."""
        with self.state.lock:
            if method == "POST":
                changes = validate_settings(body)
                self.state.settings.update(changes)
                if "rate_limit_per_minute" in changes:
                    self.bucket.reset()
            return Response(200, dict(self.state.settings))

    def _faults(self, method: str, body: dict[str, Any]) -> Response:
        """GET, POST (add a rule) or DELETE (clear) /_sandbox/faults."""
        with self.state.lock:
            if method == "GET":
                return Response(200, {"faults": list(self.state.faults)})
            if method == "DELETE":
                self.state.faults.clear()
                return Response(200, {"faults": []})
            if method != "POST":
                return Response(405, {"error": "use GET, POST or DELETE"})
            action = str(body.get("action", ""))
            if action not in FAULT_ACTIONS:
                raise ValueError(f"action must be one of {FAULT_ACTIONS}")
            path = str(body.get("path") or ".*")
            try:
                re.compile(path)
            except re.error as exc:
                raise ValueError(f"bad path regex: {exc}") from exc
            count = body.get("count", 1)
            probability = float(body.get("probability", 1.0))
            if not 0.0 <= probability <= 1.0:
                raise ValueError("probability must be within 0..1")
            self._fault_ids += 1
            rule = {
                "id": self._fault_ids,
                "method": str(body.get("method") or "*").upper(),
                "path": path,
                "action": action,
                "count": None if count is None else int(count),
                "probability": probability,
                "fired": 0,
            }
            self.state.faults.append(rule)
            return Response(201, rule)

    def _merge(self, cid: str, kind: str, rid: str, body: dict[str, Any]) -> Response:
        """PATCH /_sandbox/customers/{cid}/{kind}/{id}: merge raw fields."""
        with self.state.lock:
            store = (
                self.state.subscriptions
                if kind == "subscriptions"
                else self.state.users
            )
            if kind == "subscriptions":
                self.state.materialise(cid)
            record = store.get(cid.lower(), {}).get(rid.lower())
            if record is None:
                return Response(404, {"error": f"unknown {kind[:-1]} {rid}"})
            for key in ("id", "customerId"):
                body.pop(key, None)
            record.update(body)
            if kind == "subscriptions" and "etag" not in body:
                bump_etag(record)
            return Response(200, dict(record))
