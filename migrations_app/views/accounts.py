"""Sign in, sign out, health. (`/` is the renewal desk, in `migrations_app.views.desk`.)"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from migrations_app.services.audit import client_ip
from migrations_app.services.signin import (
    signin_address_failed,
    signin_address_held,
    signin_hold_minutes,
)


class SignInForm(AuthenticationForm):
    """Django's sign-in form, saying which field was left empty."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = "Enter your username."
        self.fields["password"].error_messages["required"] = "Enter your password."

    def clean(self) -> dict[str, Any]:
        """Refuse an address with too many failures, then check the password.

        Raise ValidationError for a held address (counted as a failed sign-in,
        so it is audited and django-axes sees it) or wrong credentials.
        """
        address = client_ip(self.request) if self.request is not None else None
        if signin_address_held(address):
            username = self.cleaned_data.get("username", "")
            user_login_failed.send(
                sender=__name__,
                credentials={"username": username},
                request=self.request,
            )
            raise ValidationError(
                "Too many failed sign-ins from your address; try again in "
                f"{signin_hold_minutes()} minutes.",
                code="address_held",
            )
        try:
            return super().clean()
        except ValidationError:
            signin_address_failed(address)
            raise


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Return a tiny JSON body so load balancers can tell the web process is up."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
