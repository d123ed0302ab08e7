"""The Entra-like token endpoints and the bearer-token check of ``/v1`` calls.

Access tokens are JWT-shaped (``header.claims.signature``, HS256 with a sandbox key)
so a client can read their claims: ``idtyp`` ``app`` or ``user``, and for user
tokens ``amr`` (with ``mfa`` unless setting ``user_tokens_mfa`` is off). Every user
grant returns a new refresh token; with setting ``refresh_token_grace_seconds`` set,
redeeming a refresh token that was already redeemed more than that long ago answers
``invalid_grant`` (AADSTS700082).

With ``require_mfa`` (the default: Partner Center enforces MFA on app+user calls
since April 2026) a sign-in without MFA is refused where setting ``mfa_refusal``
says: ``partner_center`` issues the token and ``/v1`` calls with it answer 401
"Authentication failed. MFA required." code 10001; ``aadsts50076``, ``aadsts50078``
(the MFA presented has expired) and ``aadsts50079`` refuse the user grant itself
with that Entra code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from sandbox.records import PARTNER_TENANT_ID, iso
from sandbox.state import SandboxState
from sandbox.web import ApiError, Request, Response

CLIENT_ID = "sandbox-app"
CLIENT_SECRET = "sandbox-secret"
TOKEN_LIFETIME = 3600
GRANTS = ("client_credentials", "refresh_token", "authorization_code")
_SIGNING_KEY = b"sandbox-token-signing-key"


def _oauth_error(status: int, error: str, description: str) -> Response:
    """Return an OAuth error answer ``{error, error_description}``."""
    return Response(status, {"error": error, "error_description": description})


def _b64(data: bytes) -> str:
    """Return unpadded base64url text."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(claims: dict[str, Any]) -> str:
    """Return a signed JWT-shaped token for the claims."""
    header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(_SIGNING_KEY, f"{header}.{body}".encode(), hashlib.sha256)
    return f"{header}.{body}.{_b64(signature.digest())}"


# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
# Reference: https://github.com/microsoft/Partner-Center-PowerShell/issues/259
_MFA_TEXT = {
    50076: "Due to a configuration change made by your administrator, or because "
    "you moved to a new location, you must use multi-factor authentication to "
    "access '{resource}'.",
    50078: "Presented multi-factor authentication has expired due to policies "
    "configured by your administrator, you must refresh your multi-factor "
    "authentication to access '{resource}'.",
    50079: "Due to a configuration change made by your administrator, or because "
    "you moved to a new location, you must enroll in multi-factor authentication "
    "to access '{resource}'.",
}


def _mfa_refused(code: int, resource: str) -> Response:
    """Return Entra's refusal of a user grant that lacks (fresh) MFA.

    Entra sends these as ``invalid_grant`` with a ``suberror``; which ``error``
    value a refresh-token grant gets is not documented, so the harsher one (the
    one a client could mistake for an expired refresh token) is sent.
    """
    now = datetime.now(UTC)
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    text = _MFA_TEXT[code].format(resource=resource or CLIENT_ID)
    return Response(
        400,
        {
            "error": "invalid_grant",
            "error_description": f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\n"
            f"Correlation ID: {correlation}\r\n"
            f"Timestamp: {now.strftime('%Y-%m-%d %H:%M:%SZ')}",
            "error_codes": [code],
            "suberror": "basic_action",
            "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        },
    )


def _invalid_grant(issued: float | None) -> Response:
    """Return Entra's answer to a refresh token that can no longer be redeemed."""
    now = datetime.now(UTC)
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    when = iso(datetime.fromtimestamp(issued, UTC)) if issued else "an earlier time"
    description = (
        "AADSTS700082: The refresh token has expired due to inactivity. The token "
        f"was issued on {when} and was replaced by a newer refresh token; use the "
        "latest one, or sign in again.\r\n"
        f"Trace ID: {trace}\r\nCorrelation ID: {correlation}\r\n"
        f"Timestamp: {now.strftime('%Y-%m-%d %H:%M:%SZ')}"
    )
    return Response(
        400,
        {
            "error": "invalid_grant",
            "error_description": description,
            "error_codes": [700082],
            "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": "https://login.microsoftonline.com/error?code=700082",
        },
    )


class TokenService:
    """Issue access and refresh tokens and check the bearer token of API calls."""

    def __init__(self, state: SandboxState) -> None:
        """Keep tokens in ``state`` (``access_tokens``, ``refresh_tokens``)."""
        self.state = state

    def serve(self, request: Request) -> Response:
        """Answer ``POST /{tenant}/oauth2/token`` (v1) and ``…/oauth2/v2.0/token``."""
        if request.method != "POST":
            return Response(405, {"error": "invalid_request"})
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        client_id, client_secret = self._client(request, form)
        grant = form.get("grant_type", "")
        if grant not in GRANTS:
            return _oauth_error(
                400, "unsupported_grant_type", f"grant_type {grant!r} is not supported."
            )
        if not client_id:
            return _oauth_error(400, "invalid_request", "client_id missing.")
        if client_id != CLIENT_ID:
            return _oauth_error(
                400, "unauthorized_client", f"Application {client_id!r} was not found."
            )
        if client_secret != CLIENT_SECRET:
            return _oauth_error(
                401, "invalid_client", "Invalid client secret provided."
            )
        if grant == "refresh_token" and not form.get("refresh_token"):
            return _oauth_error(400, "invalid_request", "refresh_token is required.")
        if grant == "authorization_code" and not form.get("code"):
            return _oauth_error(400, "invalid_request", "code is required.")
        with self.state.lock:
            return self._issue(request, form, grant)

    def _issue(self, request: Request, form: dict[str, str], grant: str) -> Response:
        """Return a token answer (state lock held); rotate the refresh token."""
        now = time.time()
        settings = self.state.settings
        user = grant != "client_credentials"
        mfa = bool(settings["user_tokens_mfa"])
        record: dict[str, Any] | None = None
        if grant == "refresh_token":
            old = form["refresh_token"]
            record = self.state.refresh_tokens.get(old)
            grace = settings["refresh_token_grace_seconds"]
            replaced = record.get("replacedAt") if record else None
            if replaced is not None and grace is not None and now - replaced >= grace:
                return _invalid_grant(record.get("issued") if record else None)
            if record is None:
                record = {"issued": None, "replacedAt": None, "mfa": mfa}
                self.state.refresh_tokens[old] = record
            mfa = bool(record.get("mfa", mfa)) and mfa
        refusal = str(settings["mfa_refusal"])
        if user and not mfa and settings["require_mfa"] and refusal != "partner_center":
            # Refused before the refresh token rotates: it stays usable.
            return _mfa_refused(
                int(refusal.removeprefix("aadsts")),
                form.get("resource") or form.get("scope") or "",
            )
        if record is not None and record.get("replacedAt") is None:
            record["replacedAt"] = now
        self.state.access_tokens = {
            t: a for t, a in self.state.access_tokens.items() if a["expires"] > now
        }
        claims: dict[str, Any] = {
            "aud": form.get("resource") or form.get("scope") or "",
            "iss": f"https://sts.windows.net/{PARTNER_TENANT_ID}/",
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + TOKEN_LIFETIME,
            "appid": CLIENT_ID,
            "tid": PARTNER_TENANT_ID,
            "idtyp": "user" if user else "app",
            "jti": uuid.uuid4().hex,
        }
        if user:
            claims["amr"] = ["pwd", "mfa"] if mfa else ["pwd"]
            claims["scp"] = "user_impersonation"
            claims["upn"] = "admin@partner.onmicrosoft.com"
        token = _jwt(claims)
        self.state.access_tokens[token] = {
            "expires": now + TOKEN_LIFETIME,
            "kind": claims["idtyp"],
            "mfa": mfa if user else None,
        }
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
        self.state.dirty = True
        if user:
            fresh = "sbx-refresh." + uuid.uuid4().hex
            self.state.refresh_tokens[fresh] = {
                "issued": now,
                "replacedAt": None,
                "mfa": mfa,
            }
            body["refresh_token"] = fresh
        return Response(200, body)

    @staticmethod
    def _client(
        request: Request, form: dict[str, str]
    ) -> tuple[str | None, str | None]:
        """Return (client_id, client_secret) from the form or HTTP Basic auth."""
        client_id = form.get("client_id")
        client_secret = form.get("client_secret")
        basic = request.header("authorization")
        if basic and basic.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(basic[6:]).decode()
                client_id, _, client_secret = decoded.partition(":")
            except (ValueError, UnicodeDecodeError):
                pass
        return client_id, client_secret

    def authorise(self, request: Request) -> None:
        """Raise ApiError 401 unless the request carries a live issued bearer token
        (with an MFA claim for user tokens when ``require_mfa`` is on)."""
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, 800001, "Partner Token missing in request context")
        with self.state.lock:
            issued = self.state.access_tokens.get(token.strip())
            require_mfa = bool(self.state.settings["require_mfa"])
        if issued is None or issued["expires"] < time.time():
            raise ApiError(
                401,
                400,
                "Access denied: the bearer token is invalid or has expired.",
                headers=[("WWW-Authenticate", "Bearer")],
            )
        if require_mfa and issued["kind"] == "user" and not issued["mfa"]:
            # Reference: https://github.com/microsoft/Partner-Center-DotNet-Samples/issues/59
            # Reference: https://github.com/microsoft/Partner-Center-PowerShell/issues/331
            raise ApiError(
                401,
                10001,
                "Authentication failed. MFA required.",
                headers=[("WWW-Authenticate", 'Bearer error="insufficient_claims"')],
            )
