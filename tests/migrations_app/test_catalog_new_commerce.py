"""SKU mappings for today's changes: product/SKU ids, alternatives of targets every
user gets, create and delete from the UI (audited), retired targets flagged, and
suggestions from the catalogue's end-of-sale and successor data."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from migrations_app.models import AuditEvent, Customer, SkuMapping
from migrations_app.models.catalog import ProductSku
from migrations_app.selectors.migrations import customer_migration_summaries
from migrations_app.services.catalog import (
    MappingInvalid,
    sku_mapping_create,
    sku_mapping_update,
)
from sandbox import products as p

ALPINE = "Alpine Ski House"


def retired_count(name: str) -> int:
    customer = Customer.objects.get(company_name=name)
    summaries = customer_migration_summaries(customer_ids=[customer.pk])
    return summaries[customer.pk].retired_count


def test_an_admin_creates_a_mapping_with_a_bundle_and_an_alternative_and_it_is_audited(
    synced: Any, client: Client, admin_user: Any
) -> None:
    assert retired_count(ALPINE) == 0
    client.force_login(admin_user)
    response = client.post(
        reverse("sku_mapping_new"),
        {
            "product_line": "Office 365",
            "retired_offer_id": p.sku(p.O365_E1).catalog_item_id,
            "target_0": p.M365_E3_NO_TEAMS,
            "alternative_0": "1",
            "target_1": p.TEAMS_ENTERPRISE,
            "alternative_1": "1",
            "target_2": p.O365_E3,
            "alternative_2": "2",
        },
    )

    assert response.status_code == 302
    mapping = SkuMapping.objects.get(retired_offer_id=p.O365_E1)
    assert mapping.retired_name == "Office 365 E1"
    assert mapping.product_line == "Office 365"
    assert mapping.is_one_to_many
    assert [[t.target_offer_id for t in g] for g in mapping.alternatives()] == [
        [p.M365_E3_NO_TEAMS, p.TEAMS_ENTERPRISE],
        [p.O365_E3],
    ]
    event = AuditEvent.objects.get(action="sku_mapping.created")
    assert event.actor == "admin"
    assert event.message == (
        "Created the SKU mapping of Office 365 E1: Microsoft 365 E3 (no Teams) + "
        "Microsoft Teams Enterprise or Office 365 E3"
    )
    assert [t["alternative"] for t in event.details["after"]["targets"]] == [0, 0, 1]
    # Its NCE subscriptions are retired everywhere at once.
    assert retired_count(ALPINE) == 1
    page = client.get(reverse("sku_mapping_list")).content.decode()
    assert "Every user gets all of:" in page


def test_an_admin_deletes_a_mapping_only_after_confirming_and_it_is_audited(
    synced: Any, client: Client, admin_user: Any
) -> None:
    mapping = SkuMapping.objects.get(retired_name="Microsoft 365 E3")
    assert retired_count("Proseware Inc") == 1
    client.force_login(admin_user)
    url = reverse("sku_mapping_delete", args=[mapping.pk])
    assert "Delete the mapping of Microsoft 365 E3?" in client.get(url).content.decode()
    assert client.post(url, {}).status_code == 200
    assert SkuMapping.objects.filter(pk=mapping.pk).exists()

    assert client.post(url, {"confirm": "yes"}).status_code == 302

    assert not SkuMapping.objects.filter(pk=mapping.pk).exists()
    event = AuditEvent.objects.get(action="sku_mapping.deleted")
    assert event.details["before"]["retired_offer_id"] == p.M365_E3
    assert retired_count("Proseware Inc") == 0


def test_an_edit_groups_legacy_targets_into_one_alternative(
    synced: Any, admin_user: Any
) -> None:
    ax = SkuMapping.objects.get(retired_name="Dynamics AX Enterprise")
    ids = [t.target_offer_id for t in ax.targets.all()]

    sku_mapping_update(
        mapping=ax,
        retired_offer_id=ax.retired_offer_id,
        target_offer_ids=ids,
        alternatives=[1, 1],
        actor=admin_user,
    )

    ax.refresh_from_db()
    assert [len(g) for g in ax.alternatives()] == [2]
    event = AuditEvent.objects.get(action="sku_mapping.updated")
    assert [t["alternative"] for t in event.details["before"]["targets"]] == [0, 1]
    assert [t["alternative"] for t in event.details["after"]["targets"]] == [0, 0]


@pytest.mark.parametrize(
    ("retired", "targets", "message"),
    [
        (p.M365_E3, [p.TEAMS_ENTERPRISE], "already has a mapping: Microsoft 365 E3"),
        (p.O365_E1, [p.PROJECT_PLAN3], "is itself retired (end of sale"),
        (p.O365_E1, [p.M365_E5], "is itself a retired SKU and cannot be a target"),
        (p.TEAMS_ENTERPRISE, [p.O365_E3], "a retired SKU cannot also be a target"),
        ("", [p.O365_E3], "Pick the retired SKU."),
    ],
)
def test_a_new_mapping_is_refused_when_it_would_break_the_catalogue(
    synced: Any, admin_user: Any, retired: str, targets: list[str], message: str
) -> None:
    with pytest.raises(MappingInvalid) as refused:
        sku_mapping_create(
            product_line="",
            retired_offer_id=retired,
            target_offer_ids=targets,
            actor=admin_user,
        )
    assert any(message in e for e in refused.value.errors), refused.value.errors
    assert not AuditEvent.objects.filter(action="sku_mapping.created").exists()


def test_a_target_that_has_since_been_retired_is_flagged(
    synced: Any, client: Client, viewer: Any
) -> None:
    ProductSku.objects.filter(key=p.M365_E3_NO_TEAMS).update(
        is_end_of_sale=True, is_purchasable=False
    )
    client.force_login(viewer)
    page = client.get(reverse("sku_mapping_list")).content.decode()
    assert "Itself retired: end of sale in the catalogue" in page
    assert reverse("sku_mapping_new") not in page
    assert "/delete/" not in page


def test_the_catalogue_suggests_mappings_for_end_of_sale_skus_with_their_successors(
    synced: Any, client: Client, admin_user: Any
) -> None:
    SkuMapping.objects.filter(retired_name="Microsoft 365 E5").delete()
    client.force_login(admin_user)

    response = client.get(reverse("sku_mapping_list"))

    suggested = {s.retired.key: s for s in response.context["suggestions"]}
    assert set(suggested) == {p.M365_E5, p.PROJECT_PLAN3}
    assert [i.key for i in suggested[p.M365_E5].successors] == [p.M365_E5_NO_TEAMS]
    assert suggested[p.PROJECT_PLAN3].successors == []
    link = f"{reverse('sku_mapping_new')}?retired={p.M365_E5}&amp;target={p.M365_E5_NO_TEAMS}"
    assert link.replace(":", "%3A") in response.content.decode()
    form = client.get(
        reverse("sku_mapping_new"), {"retired": p.M365_E5, "target": p.M365_E5_NO_TEAMS}
    ).content.decode()
    assert f'<option value="{p.M365_E5}" selected>' in form
    assert f'<option value="{p.M365_E5_NO_TEAMS}" selected>' in form
