"""Response headers for signed-in pages."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control


class NoStoreForSignedInMiddleware:
    """Tell browsers and proxies not to keep what a signed-in person was shown.

    Customer names, seat counts and the audit log would otherwise stay in the
    browser's cache after signing out (the back button, a shared machine). A
    response that set its own Cache-Control (the CSV exports) keeps it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if getattr(user, "is_authenticated", False) and not response.has_header(
            "Cache-Control"
        ):
            patch_cache_control(response, no_store=True, private=True)
        return response
