"""Hostile input never commits an action and then fails, and never gives a 500.

`next` is checked before an action runs; ids past a 64-bit column are a 404.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from migrations_app.models import AuditEvent, Migration, MigrationState
from tests.migrations_app.url_table import build_world

pytestmark = pytest.mark.django_db

HUGE = "9" * 5000
BAD_NEXTS = ["abc", "0", "None", "//evil.example/x", "https://evil.example/", "\\\\x"]


@pytest.fixture
def world(viewer: Any, operator: Any, admin_user: Any) -> Any:
    return build_world({"viewer": viewer, "operator": operator, "admin": admin_user})


def signed_in(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize("bad", BAD_NEXTS)
@pytest.mark.parametrize("action", ["migration_cancel", "migration_retry"])
def test_a_next_that_is_not_a_path_falls_back_to_the_migration_page(
    world: Any, operator: Any, action: str, bad: str
) -> None:
    migration = world.objects["migration"]

    response = signed_in(operator).post(
        reverse(action, args=[migration.pk]), {"next": bad}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("migration_detail", args=[migration.pk])


def test_a_same_site_path_is_kept_as_next(world: Any, operator: Any) -> None:
    migration = world.objects["migration"]
    back = reverse("customer_list") + "?q=Contoso"

    response = signed_in(operator).post(
        reverse("migration_cancel", args=[migration.pk]), {"next": back}
    )

    assert response.status_code == 302
    assert response["Location"] == back
    assert AuditEvent.objects.filter(action="migration.cancelled").count() == 1


@pytest.mark.parametrize("bad", ["abc", "0"])
def test_resume_with_a_bad_next_resumes_once_and_redirects(
    world: Any, operator: Any, bad: str
) -> None:
    migration = world.objects["migration"]
    Migration.objects.filter(pk=migration.pk).update(
        state="await_provisioning",
        next_attempt_at=timezone.now() + timezone.timedelta(minutes=5),
    )

    response = signed_in(operator).post(
        reverse("migration_resume", args=[migration.pk]), {"next": bad}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("migration_detail", args=[migration.pk])
    assert AuditEvent.objects.filter(action="migration.resumed").count() == 1


def test_the_plan_post_while_a_migration_runs_with_a_bad_next_redirects(
    world: Any, operator: Any
) -> None:
    migration = world.objects["migration"]
    Migration.objects.filter(pk=migration.pk).update(state=MigrationState.QUEUED)
    customer = world.objects["customer"]
    url = reverse("migration_plan", args=[customer.tenant_id])
    subscription = world.objects["subscription"]

    response = signed_in(operator).post(
        url, {"next": "abc", f"{subscription.subscription_id}-include": "on"}
    )

    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response["Location"].startswith("/")


def test_the_progress_poll_ignores_an_id_of_five_thousand_digits(
    world: Any, viewer: Any
) -> None:
    migration = world.objects["migration"]
    response = signed_in(viewer).get(
        reverse("migration_progress"), {"ids": f"{HUGE},{migration.pk}"}
    )
    assert response.status_code == 200


def test_the_progress_poll_keeps_a_bad_next_out_of_its_forms(
    world: Any, viewer: Any
) -> None:
    response = signed_in(viewer).get(
        reverse("migration_progress"), {"ids": "1", "next": "https://evil.example/"}
    )
    assert response.status_code == 200
    assert b"evil.example" not in response.content


@pytest.mark.parametrize(
    "since",
    [
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
    ],
)
def test_sync_status_with_an_extreme_since_is_not_a_500(
    viewer: Any, since: str
) -> None:
    response = signed_in(viewer).get(reverse("sync_status"), {"since": since})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/migrations/{huge}/",
        "/migrations/{huge}/cancel/",
        "/migrations/{huge}/retry/",
        "/migrations/{huge}/resume/",
        "/migrations/9223372036854775808/",
        "/sku-mappings/{huge}/edit/",
        "/sku-mappings/{huge}/delete/",
        "/invitations/{huge}/withdraw/",
    ],
)
def test_an_id_past_a_bigint_is_a_404(world: Any, admin_user: Any, path: str) -> None:
    client = signed_in(admin_user)
    url = path.format(huge=HUGE)
    response = client.post(url) if url.endswith(("l/", "y/", "e/", "w/")) else None
    response = client.get(url) if response is None else response
    assert response.status_code == 404


def test_the_largest_bigint_is_a_plain_404_and_not_an_error(
    world: Any, viewer: Any
) -> None:
    response = signed_in(viewer).get("/migrations/9223372036854775807/")
    assert response.status_code == 404


def test_every_numeric_id_in_hub_urls_uses_the_bigint_converter() -> None:
    from django.urls import get_resolver

    from migrations_app.converters import BigIntConverter

    seen = 0
    for pattern in get_resolver("migrations_app.urls").url_patterns:
        converters = getattr(pattern.pattern, "converters", {})
        for name, converter in converters.items():
            assert type(converter).__name__ != "IntConverter", (
                pattern.pattern,
                name,
            )
            if isinstance(converter, BigIntConverter):
                seen += 1
    assert seen >= 5


@pytest.mark.parametrize(
    "url",
    [
        "/admin/auth/user/{huge}/change/",
        "/admin/auth/user/{huge}/delete/",
        "/admin/auth/user/{huge}/password/",
        "/admin/auth/user/{huge}/history/",
        "/admin/auth/group/{huge}/change/",
        "/admin/migrations_app/auditevent/{huge}/change/",
        "/admin/axes/accessattempt/{huge}/change/",
        "/admin/auth/user/?id={huge}",
        "/admin/auth/user/?groups__id__exact={huge}",
        "/admin/auth/user/?id__exact={huge}",
        "/admin/auth/user/?groups={huge}",
        "/admin/migrations_app/auditevent/?id={huge}",
        "/admin/migrations_app/auditevent/?id__gte={huge}",
        "/admin/migrations_app/auditevent/?q={huge}",
    ],
)
def test_the_admin_answers_a_five_thousand_digit_id_without_a_500(
    world: Any, admin_user: Any, url: str
) -> None:
    response = signed_in(admin_user).get(url.format(huge=HUGE))
    assert response.status_code in (200, 302, 400, 404), response.status_code


@pytest.mark.parametrize(
    "query",
    [
        "q=a%00b",
        "groups__id__exact=1%00",
        "is_active__exact=%00",
        "username=%00",
        "username__startswith=a%00",
        "email__icontains=%00",
    ],
)
def test_a_nul_byte_in_an_admin_changelist_filter_is_not_a_500(
    world: Any, admin_user: Any, query: str
) -> None:
    for url in (
        "/admin/auth/user/",
        "/admin/migrations_app/auditevent/",
        "/admin/auth/group/",
    ):
        response = signed_in(admin_user).get(f"{url}?{query}")
        assert response.status_code in (200, 302, 400), (url, response.status_code)


def test_a_five_thousand_digit_group_in_the_user_form_is_a_form_error(
    world: Any, admin_user: Any
) -> None:
    response = signed_in(admin_user).post(
        "/admin/auth/user/add/",
        {"username": "x", "password1": "", "password2": "", "groups": HUGE},
    )
    assert response.status_code in (200, 302)
