"""The modern (new commerce) catalogue: products, SKUs and availabilities (§6.2).

Plain data, deterministic everywhere. A catalog item id is
``productId:skuId:availabilityId``. Each SKU carries the Entra skuId (the GUID users'
licences carry) of the licence it grants, whether it is end of sale, and the SKUs a
subscription of it can transition to. Real Entra skuIds are used where they are well
known; the others are ``uuid5`` values.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.catalog import CATALOG_NAMESPACE

#: (termDuration, billingCycle) combinations of an ordinary seat SKU.
SEAT_TERMS: tuple[tuple[str, str], ...] = (
    ("P1M", "monthly"),
    ("P1Y", "monthly"),
    ("P1Y", "annual"),
    ("P3Y", "annual"),
    ("P3Y", "triennial"),
)
#: Terms of SKUs sold yearly only (Dynamics 365 attach licences, Teams Enterprise).
YEAR_TERMS: tuple[tuple[str, str], ...] = (("P1Y", "monthly"), ("P1Y", "annual"))


@dataclass(frozen=True)
class Sku:
    """One purchasable SKU of a product with its single availability."""

    product_id: str
    sku_id: str
    availability_id: str
    title: str
    product_title: str
    entra_sku_id: str
    part_number: str
    plans: tuple[tuple[str, str], ...]
    category: str = "Microsoft 365"
    end_of_sale: bool = False
    is_addon: bool = False
    #: Product ids of which the customer must hold (or buy with it) a subscription.
    prerequisites: tuple[str, ...] = ()
    #: ``productId:skuId`` of the SKUs a subscription can transition to.
    transitions: tuple[str, ...] = ()
    terms: tuple[tuple[str, str], ...] = SEAT_TERMS
    minimum_quantity: int = 1
    maximum_quantity: int = 10000
    service_plans: tuple[dict[str, str], ...] = field(default=(), compare=False)

    @property
    def key(self) -> str:
        """Return ``productId:skuId``."""
        return f"{self.product_id}:{self.sku_id}"

    @property
    def catalog_item_id(self) -> str:
        """Return ``productId:skuId:availabilityId``."""
        return f"{self.product_id}:{self.sku_id}:{self.availability_id}"


def _entra(title: str) -> str:
    """Return a deterministic Entra skuId for a SKU without a well-known one."""
    return str(uuid.uuid5(CATALOG_NAMESPACE, "entra:" + title))


M365_E3 = "CFQ7TTC0LFLX:0001"
M365_E3_NO_TEAMS = "CFQ7TTC0MBMD:0001"
M365_E5 = "CFQ7TTC0KZCR:0001"
M365_E5_NO_TEAMS = "CFQ7TTC0MBMF:0001"
TEAMS_ENTERPRISE = "CFQ7TTC0MBMC:0001"
O365_E1 = "CFQ7TTC0LF8Q:0001"
O365_E3 = "CFQ7TTC0LF8R:0001"
BUSINESS_BASIC = "CFQ7TTC0LH18:0001"
BUSINESS_STANDARD = "CFQ7TTC0LDPB:0001"
BUSINESS_PREMIUM = "CFQ7TTC0LCHC:0002"
EXCHANGE_PLAN1 = "CFQ7TTC0LH16:0001"
D365_CE_PLAN = "CFQ7TTC0LH0R:0001"
D365_SALES_ENTERPRISE = "CFQ7TTC0LH2H:0001"
D365_CUSTOMER_SERVICE_ATTACH = "CFQ7TTC0LHWB:0004"
D365_UO_PLAN = "CFQ7TTC0LH0Q:0001"
D365_FINANCE = "CFQ7TTC0LH2X:0001"
D365_SCM_ATTACH = "CFQ7TTC0LHWH:0003"
D365_TEAM_MEMBERS = "CFQ7TTC0LH3T:0001"
PROJECT_PLAN3 = "CFQ7TTC0HDPZ:0002"

_EXO = ("EXCHANGE_S_ENTERPRISE", "Exchange Online (Plan 2)")
_SPO = ("SHAREPOINTENTERPRISE", "SharePoint Online (Plan 2)")
_APPS = ("OFFICESUBSCRIPTION", "Microsoft 365 Apps for enterprise")
_TEAMS = ("TEAMS1", "Microsoft Teams")

# key, availability id, SKU title, Entra skuId, part number, plans, options
_ROWS: tuple[tuple[Any, ...], ...] = (
    (M365_E3, "CFQ7TTC0K8RZ", "Microsoft 365 E3", "05e9a617-0261-4cee-bb44-138d3ef5d965",
     "SPE_E3", (_EXO, _SPO, _APPS, _TEAMS),
     {"end_of_sale": True, "transitions": (M365_E3_NO_TEAMS, M365_E5_NO_TEAMS)}),
    (M365_E3_NO_TEAMS, "CFQ7TTC0NT3D", "Microsoft 365 E3 (no Teams)",
     "dcf0408c-aaec-446c-afd4-43e3683943ea", "Microsoft_365_E3_(no_Teams)",
     (_EXO, _SPO, _APPS), {"transitions": (M365_E5_NO_TEAMS,)}),
    (M365_E5, "CFQ7TTC0K71H", "Microsoft 365 E5", "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
     "SPE_E5", (_EXO, _SPO, _APPS, _TEAMS),
     {"end_of_sale": True, "transitions": (M365_E5_NO_TEAMS,)}),
    (M365_E5_NO_TEAMS, "CFQ7TTC0NT5F", "Microsoft 365 E5 (no Teams)",
     "18a4bd3f-0b5b-4887-b04f-61dd0ee15f5e", "Microsoft_365_E5_(no_Teams)",
     (_EXO, _SPO, _APPS), {}),
    (TEAMS_ENTERPRISE, "CFQ7TTC0NT1C", "Microsoft Teams Enterprise",
     "7e31c0d9-9551-471d-836f-32ee72be4a01", "Microsoft_Teams_Enterprise_New",
     (_TEAMS,), {"terms": YEAR_TERMS}),
    (O365_E1, "CFQ7TTC0K39X", "Office 365 E1", "18181a46-0d4e-45cd-891e-60aabd171b4e",
     "STANDARDPACK", (("EXCHANGE_S_STANDARD", "Exchange Online (Plan 1)"), _TEAMS),
     {"category": "Office 365", "transitions": (O365_E3, M365_E3_NO_TEAMS)}),
    (O365_E3, "CFQ7TTC0KCSV", "Office 365 E3", "6fd2c87f-b296-42f0-b197-1e91e994b900",
     "ENTERPRISEPACK", (_EXO, _SPO, _APPS, _TEAMS),
     {"category": "Office 365", "transitions": (M365_E3_NO_TEAMS,)}),
    (BUSINESS_BASIC, "CFQ7TTC0K971", "Microsoft 365 Business Basic",
     "3b555118-da6a-4418-894f-7df1e2096870", "O365_BUSINESS_ESSENTIALS",
     (("EXCHANGE_S_STANDARD", "Exchange Online (Plan 1)"), _TEAMS),
     {"transitions": (BUSINESS_STANDARD, BUSINESS_PREMIUM), "maximum_quantity": 300}),
    (BUSINESS_STANDARD, "CFQ7TTC0K9TS", "Microsoft 365 Business Standard",
     "f245ecc8-75af-4f8e-b61f-27d8114de5f3", "O365_BUSINESS_PREMIUM",
     (("EXCHANGE_S_STANDARD", "Exchange Online (Plan 1)"), _APPS, _TEAMS),
     {"transitions": (BUSINESS_PREMIUM,), "maximum_quantity": 300}),
    (BUSINESS_PREMIUM, "CFQ7TTC0K9TT", "Microsoft 365 Business Premium",
     "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "SPB",
     (("EXCHANGE_S_STANDARD", "Exchange Online (Plan 1)"), _APPS, _TEAMS,
      ("INTUNE_A", "Microsoft Intune")), {"maximum_quantity": 300}),
    (EXCHANGE_PLAN1, "CFQ7TTC0K8R9", "Exchange Online (Plan 1)",
     "4b9405b0-7788-4568-add1-99614e613b69", "EXCHANGESTANDARD",
     (("EXCHANGE_S_STANDARD", "Exchange Online (Plan 1)"),), {"category": "Exchange"}),
    (D365_CE_PLAN, "CFQ7TTC0KXN6", "Dynamics 365 Customer Engagement Plan",
     "ea126fc5-a19e-42e2-a731-da9d437bffcf", "DYN365_ENTERPRISE_PLAN1",
     (("DYN365_ENTERPRISE_P1", "Dynamics 365 Customer Engagement Plan"),),
     {"category": "Dynamics 365", "end_of_sale": True, "terms": YEAR_TERMS}),
    (D365_SALES_ENTERPRISE, "CFQ7TTC0KXQ3", "Dynamics 365 Sales Enterprise",
     "1e1a282c-9c54-43a2-9310-98ef728faace", "DYN365_ENTERPRISE_SALES",
     (("DYN365_ENTERPRISE_SALES", "Dynamics 365 for Sales"),),
     {"category": "Dynamics 365", "terms": YEAR_TERMS}),
    (D365_CUSTOMER_SERVICE_ATTACH, "CFQ7TTC0KXR1",
     "Dynamics 365 Customer Service Enterprise Attach to Qualifying Dynamics 365 Base "
     "Offer", "eb18b715-ea9d-4290-9994-2ebf4b5042d2", "D365_CUSTOMER_SERVICE_ENT_ATTACH",
     (("D365_CSS_ATTACH", "Dynamics 365 for Customer Service (attach)"),),
     {"category": "Dynamics 365", "terms": YEAR_TERMS, "is_addon": True,
      "prerequisites": ("CFQ7TTC0LH2H", "CFQ7TTC0LH2X", "CFQ7TTC0LH0R")}),
    (D365_UO_PLAN, "CFQ7TTC0KXN7", "Dynamics 365 Unified Operations Plan",
     _entra("Dynamics 365 Unified Operations Plan"), "DYN365_UNF_OPS_PLAN",
     (("D365_UO_PLAN", "Dynamics 365 Unified Operations Plan"),),
     {"category": "Dynamics 365", "end_of_sale": True, "terms": YEAR_TERMS}),
    (D365_FINANCE, "CFQ7TTC0KXS2", "Dynamics 365 Finance", _entra("Dynamics 365 Finance"),
     "D365_FINANCE", (("D365_FINANCE", "Dynamics 365 Finance"),),
     {"category": "Dynamics 365", "terms": YEAR_TERMS}),
    (D365_SCM_ATTACH, "CFQ7TTC0KXS5",
     "Dynamics 365 Supply Chain Management Attach to Qualifying Dynamics 365 Base Offer",
     _entra("Dynamics 365 Supply Chain Management Attach"), "D365_SCM_ATTACH",
     (("D365_SCM_ATTACH", "Dynamics 365 Supply Chain Management (attach)"),),
     {"category": "Dynamics 365", "terms": YEAR_TERMS, "is_addon": True,
      "prerequisites": ("CFQ7TTC0LH2X", "CFQ7TTC0LH0Q")}),
    (D365_TEAM_MEMBERS, "CFQ7TTC0KXT8", "Dynamics 365 Team Members",
     "7ac9fe77-66b7-4e5e-9e46-10eed1cff547", "DYN365_TEAM_MEMBERS",
     (("DYN365_TEAM_MEMBERS", "Dynamics 365 for Team Members"),),
     {"category": "Dynamics 365", "terms": YEAR_TERMS}),
    (PROJECT_PLAN3, "CFQ7TTC0KBW4", "Project Plan 3 (Project Online Professional)",
     "53818b1b-4a27-454b-8896-0dba576410e6", "PROJECTPROFESSIONAL",
     (("PROJECT_PROFESSIONAL", "Project Online Professional"),),
     {"category": "Project", "end_of_sale": True}),
)  # fmt: skip


def _build(row: tuple[Any, ...]) -> Sku:
    """Return the Sku of one catalogue row."""
    key, availability, title, entra, part, plans, options = row
    product_id, sku_id = key.split(":")
    return Sku(
        product_id=product_id,
        sku_id=sku_id,
        availability_id=availability,
        title=title,
        product_title=title,
        entra_sku_id=entra,
        part_number=part,
        plans=plans,
        service_plans=tuple(
            {
                "id": str(uuid.uuid5(CATALOG_NAMESPACE, f"plan:{title}:{service}")),
                "serviceName": service,
                "displayName": display,
                "targetType": "User",
            }
            for service, display in plans
        ),
        **options,
    )


#: Every SKU of the modern catalogue, in listing order.
SKUS: tuple[Sku, ...] = tuple(_build(row) for row in _ROWS)
_BY_KEY = {s.key.lower(): s for s in SKUS}
_BY_ENTRA = {s.entra_sku_id.lower(): s for s in SKUS}


def sku(key: str) -> Sku:
    """Return the SKU for ``productId:skuId``. Raise KeyError if unknown."""
    return _BY_KEY[key.lower()]


def find(product_id: str, sku_id: str) -> Sku | None:
    """Return the SKU of a product by ids (case-insensitive), or None."""
    return _BY_KEY.get(f"{product_id}:{sku_id}".lower())


def by_catalog_item(catalog_item_id: str) -> Sku | None:
    """Return the SKU of a ``productId:skuId:availabilityId``, or None."""
    parts = catalog_item_id.strip().split(":")
    if len(parts) != 3:
        return None
    found = find(parts[0], parts[1])
    if found is None or found.availability_id.lower() != parts[2].lower():
        return None
    return found


def by_entra(sku_id: str) -> Sku | None:
    """Return the modern SKU granting an Entra skuId, or None."""
    return _BY_ENTRA.get(sku_id.strip().lower())


def product_ids() -> list[str]:
    """Return every product id once, in listing order."""
    return list(dict.fromkeys(s.product_id for s in SKUS))


def skus_of(product_id: str) -> list[Sku]:
    """Return the SKUs of a product (case-insensitive id)."""
    return [s for s in SKUS if s.product_id.lower() == product_id.lower()]
