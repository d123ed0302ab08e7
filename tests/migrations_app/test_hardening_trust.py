"""The last sharp edges: cached signed-in pages, sprayed passwords, a noisy admin
parameter, and seat counts in digits other than 0-9."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django import forms
from django.test import Client
from django.urls import reverse

from migrations_app.views.bulk import BulkStartForm
from migrations_app.views.customers.filters import CustomerFilterForm
from migrations_app.views.migrations.plan_form import PlanItemForm
from migrations_app.views.migrations.provision import ProvisionLineForm
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ARABIC_123 = "\u0661\u0662\u0663"
STRONG = "correct-horse-battery-staple-42"


def test_signed_in_html_pages_are_not_kept_in_the_browser_cache(viewer: Any) -> None:
    client = Client()
    client.force_login(viewer)

    for name in ("customer_list", "audit_list", "migration_list"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert "no-store" in response.get("Cache-Control", ""), name


def test_the_csv_exports_keep_their_own_no_store(viewer: Any) -> None:
    client = Client()
    client.force_login(viewer)

    response = client.get(reverse("audit_export"))

    assert "no-store" in response["Cache-Control"]


def _sign_in(address: str, username: str, password: str) -> Any:
    client = Client(REMOTE_ADDR=address)
    return client, client.post(
        reverse("login"), {"username": username, "password": password}
    )


def test_one_password_sprayed_over_many_usernames_is_stopped(settings: Any) -> None:
    settings.PARTNERHUB_SIGNIN_FAILURES_PER_ADDRESS = 5
    UserFactory(username="real", password=STRONG, role="viewer")
    for n in range(5):
        _sign_in("203.0.113.50", f"someone{n}", "Summer2026!")

    client, response = _sign_in("203.0.113.50", "real", STRONG)

    assert response.status_code == 200
    assert "Too many failed sign-ins from your address" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is not held back, and the per-username lockout still holds.
    client, response = _sign_in("198.51.100.20", "real", STRONG)
    assert response.status_code == 302


def test_a_bad_admin_to_field_logs_one_line_not_a_traceback(
    admin_user: Any, caplog: Any
) -> None:
    client = Client()
    client.force_login(admin_user)

    with caplog.at_level(logging.ERROR, logger="django.security"):
        response = client.get(
            reverse("admin:auth_user_changelist") + "?_to_field=password"
        )

    assert response.status_code == 400
    (record,) = [r for r in caplog.records if r.name.startswith("django.security")]
    handler = _configured_console()
    assert handler.filter(record)
    text = handler.format(record)
    assert len(text.splitlines()) == 1, text
    assert "_to_field" in text or "password" in text


def _configured_console() -> logging.Handler:
    """Return a handler built from settings.LOGGING's console entry."""
    from django.conf import settings

    handler = logging.StreamHandler()
    handler.set_name("console")
    config = settings.LOGGING
    for name in config["handlers"]["console"]["filters"]:
        spec = dict(config["filters"][name])
        factory = spec.pop("()")
        module, _, attr = factory.rpartition(".")
        handler.addFilter(getattr(__import__(module, fromlist=[attr]), attr)(**spec))
    handler.setFormatter(logging.Formatter(config["formatters"]["plain"]["format"]))
    return handler


def _count_fields() -> list[tuple[str, forms.Field]]:
    return [
        ("plan quantity", PlanItemForm.base_fields["quantity"]),
        ("provisioning seats", ProvisionLineForm.base_fields["seats"]),
        ("bulk days before", BulkStartForm.base_fields["days_before"]),
        ("expires within", CustomerFilterForm.base_fields["expires_within"]),
        ("renews within", CustomerFilterForm.base_fields["renews_within"]),
    ]


@pytest.mark.parametrize(
    "value", [ARABIC_123, "\uff11\uff12", "\u0967\u0968", "12\u0663"]
)
def test_every_count_refuses_digits_other_than_0_to_9_with_a_message(
    value: str,
) -> None:
    for name, field in _count_fields():
        with pytest.raises(forms.ValidationError) as refused:
            field.clean(value)
        assert "whole number" in refused.value.messages[0], name


def test_counts_in_0_to_9_are_still_read() -> None:
    for _name, field in _count_fields():
        assert field.clean("12") == 12
