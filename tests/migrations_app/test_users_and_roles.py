"""Users & roles: a simple page for admins, one role per user, every change audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from migrations_app.models import AuditEvent
from migrations_app.roles import user_role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STRONG = "correct-horse-battery-staple-42"


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def roles_of(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def test_admins_see_every_user_with_one_role_choice(
    admin_user: Any, viewer: Any, operator: Any
) -> None:
    html = signed_in(admin_user).get(reverse("user_list")).content.decode()

    for user in (admin_user, viewer, operator):
        assert f'id="role-{user.pk}"' in html
    # Not the stock admin: no staff, superuser or raw permission fields.
    assert "Superuser" not in html and "Staff status" not in html
    assert "permissions" not in html.lower()


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_admins_reach_users_and_roles(request: Any, role: str) -> None:
    user = request.getfixturevalue(role)
    client = signed_in(user)

    assert client.get(reverse("user_list")).status_code == 403
    assert (
        client.post(reverse("user_role", args=[user.pk]), {"role": "admin"}).status_code
        == 403
    )
    assert roles_of(user) == [role]


def test_the_nav_links_users_and_roles_to_the_simple_page(admin_user: Any) -> None:
    html = signed_in(admin_user).get(reverse("audit_list")).content.decode()

    assert f'href="{reverse("user_list")}"' in html


def test_an_admin_adds_a_user_with_one_role_and_it_is_audited(admin_user: Any) -> None:
    response = signed_in(admin_user).post(
        reverse("user_add"),
        {
            "username": "zoe",
            "email": "zoe@example.com",
            "role": "operator",
            "password": STRONG,
        },
    )

    assert response.status_code == 302
    zoe = User.objects.get(username="zoe")
    assert roles_of(zoe) == ["operator"] and zoe.check_password(STRONG)
    assert not zoe.is_staff and not zoe.is_superuser
    event = AuditEvent.objects.get(action="user.added")
    assert (event.actor, event.details["role"]) == ("admin", "operator")


def test_a_weak_password_adds_nobody_and_says_why(admin_user: Any) -> None:
    response = signed_in(admin_user).post(
        reverse("user_add"), {"username": "zoe", "role": "viewer", "password": "123"}
    )

    assert response.status_code == 200
    assert "This password is too short" in response.content.decode()
    assert not User.objects.filter(username="zoe").exists()


def test_changing_a_role_replaces_the_old_one_and_is_audited(
    admin_user: Any, viewer: Any
) -> None:
    signed_in(admin_user).post(
        reverse("user_role", args=[viewer.pk]), {"role": "admin"}
    )

    viewer.refresh_from_db()
    assert roles_of(viewer) == ["admin"]
    event = AuditEvent.objects.get(action="user.role_changed")
    assert event.details == {
        "user_id": viewer.pk,
        "username": "viewer",
        "role": "admin",
        "before": ["viewer"],
    }


def test_a_user_holding_two_roles_ends_with_the_one_chosen(admin_user: Any) -> None:
    both = UserFactory(username="both", role="viewer")
    both.groups.add(Group.objects.get_or_create(name="admin")[0])
    both.is_superuser = True
    both.save()

    signed_in(admin_user).post(reverse("user_role", args=[both.pk]), {"role": "viewer"})

    both = User.objects.get(pk=both.pk)
    assert roles_of(both) == ["viewer"]
    assert user_role(both) == "viewer"


def test_the_admin_site_refuses_two_roles_for_one_user(
    admin_user: Any, viewer: Any
) -> None:
    client = signed_in(admin_user)
    url = reverse("admin:auth_user_change", args=[viewer.pk])
    groups = [Group.objects.get(name="viewer").pk, Group.objects.get(name="admin").pk]

    response = client.post(
        url,
        {
            "username": "viewer",
            "groups": groups,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 200
    assert "A user has one role" in response.content.decode()
    assert roles_of(viewer) == ["viewer"]


def test_deactivating_and_reactivating_a_user_is_audited(
    admin_user: Any, operator: Any
) -> None:
    client = signed_in(admin_user)

    client.post(reverse("user_active", args=[operator.pk]), {"active": "0"})
    operator.refresh_from_db()
    assert not operator.is_active
    client.post(reverse("user_active", args=[operator.pk]), {"active": "1"})
    operator.refresh_from_db()
    assert operator.is_active
    assert list(
        AuditEvent.objects.filter(action__startswith="user.").values_list(
            "action", flat=True
        )
    ) == ["user.reactivated", "user.deactivated"]


def test_the_last_admin_cannot_demote_or_deactivate_themself(admin_user: Any) -> None:
    client = signed_in(admin_user)

    client.post(reverse("user_role", args=[admin_user.pk]), {"role": "viewer"})
    client.post(reverse("user_active", args=[admin_user.pk]), {"active": "0"})

    admin_user.refresh_from_db()
    assert roles_of(admin_user) == ["admin"] and admin_user.is_active
    assert not AuditEvent.objects.filter(action__startswith="user.").exists()


def test_a_bad_role_changes_nothing(admin_user: Any, viewer: Any) -> None:
    response = signed_in(admin_user).post(
        reverse("user_role", args=[viewer.pk]), {"role": "superuser"}
    )

    assert response.status_code == 302
    assert roles_of(viewer) == ["viewer"]


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_a_request_reads_the_user_and_the_role_in_one_query(db: Any, role: str) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(username=f"one-{role}", role=role))
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/customers/").status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    with_role = [q for q in sql if '"auth_user"' in q and '"auth_group"' in q]
    groups_alone = [q for q in sql if '"auth_group"' in q and q not in with_role]
    assert len(with_role) == 1 and "EXISTS" in with_role[0]
    assert groups_alone == []


def test_a_demoted_user_loses_the_role_on_the_next_request(db: Any) -> None:
    from django.contrib.auth.models import Group
    from django.test import Client

    from tests.factories import UserFactory

    user = UserFactory(username="demoted", role="operator")
    client = Client()
    client.force_login(user)
    assert client.get("/migrations/scheduled/").status_code == 200
    user.groups.set([Group.objects.get(name="viewer")])
    page = client.get("/customers/?retired=1")
    assert page.status_code == 200
    assert client.post("/bulk/start/", {}).status_code == 403
