"""Where a view may send the browser back to: `next`, checked once for every view."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, raw: str | None, fallback: str = "") -> str:
    """Return `raw` if it is a path on this site, else `fallback`.

    Only a path that starts with one "/" is accepted: a URL-pattern name, a
    scheme, a host or a protocol-relative "//host" is not, so `redirect()` never
    reverses it (a NoReverseMatch after the action ran) nor leaves the site.
    """
    candidate = (raw or "").strip()
    if (
        candidate.startswith("/")
        and not candidate.startswith(("//", "/\\"))
        and "\\" not in candidate
        and url_has_allowed_host_and_scheme(
            candidate,
            allowed_hosts={request.get_host()},
            require_https=request.is_secure(),
        )
    ):
        return candidate
    return fallback


def next_url(request: HttpRequest, fallback: str) -> str:
    """Return the request's `next` (POST, else GET) if it is safe, else `fallback`."""
    raw = request.POST.get("next") or request.GET.get("next")
    return safe_next(request, raw, fallback)
