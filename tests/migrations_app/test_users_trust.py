"""Adding and deactivating users: Unicode look-alike names, and sessions that end."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from migrations_app.models import AuditEvent
from migrations_app.services.users import UsernameTaken, user_create, user_set_active
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STRONG = "correct-horse-battery-staple-42"


@pytest.mark.parametrize(
    ("existing", "look_alike"), [("1", "𝟏"), ("2", "²"), ("admin", "ａｄｍｉｎ")]
)
def test_a_name_that_normalises_to_an_existing_one_is_refused_with_a_message(
    admin_user: Any, existing: str, look_alike: str
) -> None:
    if existing != "admin":
        UserFactory(username=existing, role="viewer")
    client = Client()
    client.force_login(admin_user)

    response = client.post(
        reverse("user_add"),
        {"username": look_alike, "role": "viewer", "password": STRONG},
    )

    assert response.status_code == 200
    assert "Someone already has this username." in response.content.decode()
    assert User.objects.filter(username=existing).count() == 1


def test_the_service_compares_the_normalised_name_too(admin_user: Any) -> None:
    with pytest.raises(UsernameTaken):
        user_create(
            username="ａｄｍｉｎ",
            email="",
            role="viewer",
            password=STRONG,
            actor=admin_user,
        )


def test_a_new_look_alike_name_is_stored_normalised(admin_user: Any) -> None:
    user = user_create(
        username="ｚｏｅ", email="", role="viewer", password=STRONG, actor=admin_user
    )

    assert user.username == "zoe"


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get(reverse("customer_list")).status_code == 200
    return client


def test_deactivating_a_user_ends_their_sessions_and_reactivating_does_not_revive_them(
    admin_user: Any, viewer: Any
) -> None:
    browser = _signed_in(viewer)
    other_browser = _signed_in(viewer)

    user_set_active(user=viewer, active=False, actor=admin_user)
    user_set_active(user=viewer, active=True, actor=admin_user)

    for client in (browser, other_browser):
        response = client.get(reverse("customer_list"))
        assert response.status_code == 302
        assert reverse("login") in response["Location"]
    event = AuditEvent.objects.get(action="user.deactivated")
    assert event.details["sessions_ended"] == 2


def test_deactivating_in_the_admin_site_ends_the_sessions_too(viewer: Any) -> None:
    browser = _signed_in(viewer)

    viewer.is_active = False
    viewer.save()
    viewer.is_active = True
    viewer.save()

    assert browser.get(reverse("customer_list")).status_code == 302


def test_deactivating_someone_leaves_other_peoples_sessions(
    admin_user: Any, viewer: Any, operator: Any
) -> None:
    browser = _signed_in(operator)

    user_set_active(user=viewer, active=False, actor=admin_user)

    assert browser.get(reverse("customer_list")).status_code == 200
