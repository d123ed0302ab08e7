"""Every browser test starts with the rows the data migrations write, whatever ran first.

A transactional test empties every table when it ends; the browser tests must not
depend on which test ran before them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from migrations_app.models import AuditChainHead, SkuMapping, SkuMappingTarget

pytestmark = pytest.mark.e2e

Login = Callable[[Page, str], None]
CATALOGUE: list[tuple[str, str, list[str]]] = importlib.import_module(
    "migrations_app.migrations.0002_roles_and_sku_catalogue"
).CATALOGUE
MODERN: list[Any] = importlib.import_module(
    "migrations_app.migrations.0009_seed_new_commerce_mappings"
).MODERN_CATALOGUE


@pytest.mark.parametrize("turn", ["first", "after another browser test"])
def test_every_browser_test_starts_with_the_roles_and_the_sku_catalogue(
    page: Page, login: Login, viewer: Any, turn: str
) -> None:
    assert set(Group.objects.values_list("name", flat=True)) == {
        "viewer",
        "operator",
        "admin",
    }
    assert AuditChainHead.objects.filter(pk=1).exists()
    modern = [
        (line, retired, [t for alt in alts for t in alt])
        for line, retired, _, alts in MODERN
    ]
    assert SkuMapping.objects.count() == len(CATALOGUE) + len(modern)
    assert SkuMappingTarget.objects.count() == sum(
        len(t) for _, _, t in [*CATALOGUE, *modern]
    )

    login(page, "viewer")
    page.goto("/sku-mappings/")

    rows = page.locator("table.mappings tbody tr")
    expect(rows).to_have_count(len(CATALOGUE) + len(modern))
    for line, retired, targets in [*CATALOGUE, *modern]:
        row = rows.filter(has_text=retired).first
        expect(row).to_contain_text(line)
        for target in targets:
            name = target[0] if isinstance(target, tuple) else target
            expect(row).to_contain_text(name)
