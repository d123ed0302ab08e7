"""The sign-in form says which field was left empty."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("", "partnerhub", "Enter your username."),
        ("operator", "", "Enter your password."),
        ("", "", "Enter your username."),
    ],
)
def test_an_empty_field_on_the_sign_in_form_is_explained(
    operator: Any, username: str, password: str, message: str
) -> None:
    response = Client().post(
        reverse("login"), {"username": username, "password": password}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'role="alert"' in html
    if not password:
        assert "Enter your password." in html
