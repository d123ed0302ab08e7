"""The admin site: the admin role gets in, everyone else signed in gets a 403."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from migrations_app.roles import ADMIN, has_role


class PartnerHubAdminSite(admin.AdminSite):
    site_header = "PartnerHub administration"
    site_title = "PartnerHub admin"
    index_title = "Users, roles and sign-in lockouts"

    def has_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, ADMIN)

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("login"))
            if not self.has_permission(request):
                raise PermissionDenied("The admin site needs the admin role.")
            return inner(request, *args, **kwargs)

        return guarded

    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Send visitors to PartnerHub's sign-in page, then back to the admin."""
        if request.user.is_authenticated:
            if not self.has_permission(request):
                raise PermissionDenied("The admin site needs the admin role.")
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        return redirect_to_login(
            reverse("admin:index", current_app=self.name), reverse("login")
        )
