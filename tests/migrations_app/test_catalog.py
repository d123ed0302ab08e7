"""The SKU mapping catalogue: loaded from DOMAIN.md, bound by the sync, edited by admins."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from migrations_app.domain.plan import migration_plan
from migrations_app.models import AuditEvent, Offer, SkuMapping
from migrations_app.services.catalog import MappingInvalid, sku_mapping_update
from sandbox import catalog as sandbox_catalog
from tests.migrations_app.migration_support import CONTOSO, customer


def offer_id(name: str) -> str:
    return Offer.objects.get(name=name).offer_id


def mapping(name: str) -> SkuMapping:
    return SkuMapping.objects.get(retired_name=name)


def targets(name: str) -> list[str]:
    return list(mapping(name).targets.values_list("target_name", flat=True))


def test_the_catalogue_holds_the_domain_table_in_document_order(db: Any) -> None:
    seeds = SkuMapping.objects.filter(product_line__in=["Dynamics AX", "CRM Online"])
    assert seeds.count() == 10
    assert targets("Dynamics AX Enterprise") == [
        "Dynamics 365 for Unified Operations",
        "Dynamics 365 Plan",
    ]
    assert targets("Dynamics CRM Online Basic") == [
        "Dynamics 365 for Team Members",
        "Dynamics 365 for Sales",
        "Dynamics 365 for Customer Service",
        "Dynamics 365 Enterprise Customer Engagement Plan",
    ]
    assert targets("Dynamics CRM Online Essential") == ["Dynamics 365 for Team Members"]


def test_the_sync_binds_every_mapping_to_the_sandbox_offer_ids(
    synced: Any, sandbox: Any
) -> None:
    ax = mapping("Dynamics AX Enterprise")
    expected = sandbox_catalog.offer_by_name("Dynamics AX Enterprise")["id"]
    assert ax.retired_offer_id.lower() == expected.lower()
    for target in ax.targets.all():
        assert target.target_offer_id.lower() == (
            sandbox_catalog.offer_by_name(target.target_name)["id"].lower()
        )


def test_everyone_reads_the_mappings_and_only_admins_get_an_edit_link(
    synced: Any, client: Client, viewer: Any, admin_user: Any
) -> None:
    client.force_login(viewer)
    page = client.get(reverse("sku_mapping_list")).content.decode()
    assert "Dynamics AX Enterprise" in page
    assert "Dynamics 365 for Unified Operations" in page
    assert "/edit/" not in page
    client.force_login(admin_user)
    page = client.get(reverse("sku_mapping_list")).content.decode()
    assert (
        reverse("sku_mapping_edit", args=[mapping("Dynamics AX Enterprise").pk]) in page
    )


def test_operators_cannot_open_or_post_the_edit_page(
    synced: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)
    url = reverse("sku_mapping_edit", args=[mapping("Dynamics AX Enterprise").pk])
    assert client.get(url).status_code == 403
    assert (
        client.post(url, {"target_0": offer_id("Dynamics 365 Plan")}).status_code == 403
    )


def test_an_admin_reorders_targets_and_the_change_is_audited(
    synced: Any, sandbox: Any, client: Client, admin_user: Any
) -> None:
    ax = mapping("Dynamics AX Enterprise")
    client.force_login(admin_user)
    url = reverse("sku_mapping_edit", args=[ax.pk])
    page = client.get(url).content.decode()
    assert page.count("<select") == 1 + 2 + 2

    response = client.post(
        url,
        {
            "retired_offer_id": ax.retired_offer_id,
            "target_0": offer_id("Dynamics 365 Plan"),
            "target_1": "",
            "target_2": offer_id("Dynamics 365 for Unified Operations"),
        },
    )

    assert response.status_code == 302
    assert targets("Dynamics AX Enterprise") == [
        "Dynamics 365 Plan",
        "Dynamics 365 for Unified Operations",
    ]
    event = AuditEvent.objects.get(action="sku_mapping.updated")
    assert event.actor == "admin"
    assert event.details["before"]["targets"][0]["name"] == (
        "Dynamics 365 for Unified Operations"
    )
    assert event.details["after"]["targets"][0]["name"] == "Dynamics 365 Plan"
    [item] = migration_plan(customer=customer(CONTOSO)).items
    assert item.default_target is not None
    assert item.default_target.name == "Dynamics 365 Plan"


@pytest.mark.parametrize(
    ("target_names", "message"),
    [
        (
            ["Dynamics CRM Online Basic"],
            "is itself a retired SKU and cannot be a target",
        ),
        (["Dynamics AX Enterprise"], "cannot be a target of itself"),
        (["Dynamics 365 Plan", "Dynamics 365 Plan"], "may appear only once"),
        ([], "Pick at least one target offer."),
    ],
)
def test_the_edit_refuses_retired_repeated_or_missing_targets(
    synced: Any, admin_user: Any, target_names: list[str], message: str
) -> None:
    ax = mapping("Dynamics AX Enterprise")
    with pytest.raises(MappingInvalid) as refused:
        sku_mapping_update(
            mapping=ax,
            retired_offer_id=ax.retired_offer_id,
            target_offer_ids=[offer_id(n) for n in target_names],
            actor=admin_user,
        )
    assert any(message in e for e in refused.value.errors), refused.value.errors
    assert targets("Dynamics AX Enterprise")[0] == "Dynamics 365 for Unified Operations"
    assert not AuditEvent.objects.filter(action="sku_mapping.updated").exists()


def test_the_edit_refuses_a_target_that_is_not_purchasable(
    synced: Any, admin_user: Any
) -> None:
    Offer.objects.filter(name="Office 365 E1").update(is_available_for_purchase=False)
    ax = mapping("Dynamics AX Enterprise")
    with pytest.raises(MappingInvalid) as refused:
        sku_mapping_update(
            mapping=ax,
            retired_offer_id=ax.retired_offer_id,
            target_offer_ids=[offer_id("Office 365 E1")],
            actor=admin_user,
        )
    assert refused.value.errors == ["Office 365 E1 is not available for purchase."]


def test_the_edit_refuses_a_cycle_through_a_retired_offer_that_is_a_target(
    synced: Any, admin_user: Any
) -> None:
    # Making a target the retired offer of another mapping would let customers move
    # to a SKU that itself has to be moved: a chain, and with it a possible cycle.
    task = mapping("Dynamics AX Task")
    with pytest.raises(MappingInvalid) as refused:
        sku_mapping_update(
            mapping=task,
            retired_offer_id=offer_id("Dynamics 365 for Team Members"),
            target_offer_ids=[offer_id("Dynamics 365 for Activity")],
            actor=admin_user,
        )
    assert any(
        "Dynamics 365 for Team Members is a target of" in e
        for e in refused.value.errors
    )


def test_junk_in_the_edit_form_is_answered_with_errors_not_a_500(
    synced: Any, client: Client, admin_user: Any
) -> None:
    client.force_login(admin_user)
    url = reverse("sku_mapping_edit", args=[mapping("Dynamics AX Enterprise").pk])
    response = client.post(url, {"retired_offer_id": "zzz", "target_0": "x" * 500})
    assert response.status_code == 200
    page = response.content.decode()
    assert "The retired offer is not in the synced offer catalogue." in page
    assert "is not in the synced offer catalogue." in page
    assert client.get(reverse("sku_mapping_edit", args=[99999])).status_code == 404


@pytest.mark.parametrize("number", ["²", "١", "𝟚", "-1", "1.5"])
def test_a_non_ascii_or_odd_alternative_number_is_answered_not_a_500(
    synced: Any, client: Client, admin_user: Any, number: str
) -> None:
    client.force_login(admin_user)
    url = reverse("sku_mapping_edit", args=[mapping("Dynamics AX Enterprise").pk])
    response = client.post(url, {"target_0": "x", "alternative_0": number})
    assert response.status_code == 200
