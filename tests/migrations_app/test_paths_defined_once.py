"""The paths a migration can walk are one list: the model, the registry, bulk
runs and the provisioning constraint all take them from MigrationPath."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from migrations_app.models import Migration, MigrationPath, PathChoice
from migrations_app.workflow import registry
from tests.factories import CustomerFactory


def test_the_registry_has_steps_for_every_path_and_no_other() -> None:
    assert set(registry.PATHS) == set(MigrationPath.values)
    assert all(registry.PATHS[path] for path in MigrationPath.values)


def test_the_migration_path_field_offers_exactly_the_paths() -> None:
    field = Migration._meta.get_field("path")
    assert list(field.choices or []) == list(MigrationPath.choices)
    assert field.default == MigrationPath.BUY


def test_a_bulk_run_that_always_buys_walks_the_buy_path() -> None:
    assert PathChoice.BUY.value == MigrationPath.BUY.value


def test_only_the_provisioning_path_may_lack_a_source_subscription(db: Any) -> None:
    customer = CustomerFactory()
    fields = {
        "customer": customer,
        "source_subscription": None,
        "source_offer_id": "",
        "source_sku_id": "c42b9cae-ea4f-4ab7-9717-81576235ccac",
        "target_offer_id": "cfq7ttc0lh18:0001",
        "target_offer_name": "Microsoft 365 Business Basic",
        "quantity": 1,
    }
    Migration.objects.create(path=MigrationPath.PROVISION, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Migration.objects.create(path=MigrationPath.BUY, **fields)
