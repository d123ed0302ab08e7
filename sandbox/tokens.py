"""The Entra-like token endpoints and the bearer-token check of ``/v1`` calls."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from sandbox.web import ApiError, Request, Response

CLIENT_ID = "sandbox-app"
CLIENT_SECRET = "sandbox-secret"
TOKEN_LIFETIME = 3600
GRANTS = ("client_credentials", "refresh_token", "authorization_code")


def _oauth_error(status: int, error: str, description: str) -> Response:
    """Return an OAuth error answer ``{error, error_description}``."""
    return Response(status, {"error": error, "error_description": description})


class TokenService:
    """Issue access tokens and check the bearer token of API calls."""

    def __init__(self) -> None:
        """Create an empty token store."""
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}

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
        token = "sbx." + uuid.uuid4().hex + uuid.uuid4().hex
        with self._lock:
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
        """Raise ApiError 401 unless the request carries a live issued bearer token."""
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, 800001, "Partner Token missing in request context")
        with self._lock:
            expiry = self._tokens.get(token.strip())
        if expiry is None or expiry < time.time():
            raise ApiError(
                401,
                400,
                "Access denied: the bearer token is invalid or has expired.",
                headers=[("WWW-Authenticate", "Bearer")],
            )
