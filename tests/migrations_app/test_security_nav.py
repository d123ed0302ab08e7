"""What the top navigation offers to each role."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _nav(client: Client, url: str = "/customers/") -> str:
    html = client.get(url).content.decode()
    return html[html.index('<nav class="mainnav"') : html.index("</nav>")]


def test_an_admin_reaches_settings_and_users_and_roles_from_the_nav(
    client: Client, admin_user: Any
) -> None:
    client.force_login(admin_user)

    nav = _nav(client)

    assert 'href="/settings/"' in nav
    # Users & roles is PartnerHub's own page, not the stock admin.
    assert 'href="/settings/users/"' in nav and "Users &amp; roles" in nav


def test_the_settings_link_is_marked_active_on_the_settings_page(
    client: Client, admin_user: Any
) -> None:
    client.force_login(admin_user)

    nav = _nav(client, "/settings/")

    assert 'href="/settings/" class="active"' in nav


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_other_roles_see_neither_link(client: Client, role: str, request: Any) -> None:
    client.force_login(request.getfixturevalue(role))

    nav = _nav(client)

    assert "/settings/" not in nav
    assert "/admin/" not in nav


def test_the_admin_index_names_the_lockout_section_plainly(
    client: Client, admin_user: Any
) -> None:
    client.force_login(admin_user)

    html = client.get("/admin/").content.decode()

    assert "Sign-in lockouts" in html
