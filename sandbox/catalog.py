"""The sandbox offer catalogue: retired Dynamics SKUs, their Dynamics 365 targets and
a few ordinary current offers.

Everything here is plain data, deterministic across runs and machines: offer ids and
skuIds come from ``uuid5`` on a fixed namespace (except the well-known Office 365 ids,
which use their real values). Tests and other code may import ``OFFERS`` and the
lookup helpers directly.
"""

from __future__ import annotations

import uuid
from typing import Any

#: Fixed namespace for every deterministic id in the sandbox catalogue.
CATALOG_NAMESPACE = uuid.UUID("5b1f3c2e-8d4a-4f7e-9a61-2c0d7e9b4a10")

AX_ENTERPRISE = "Dynamics AX Enterprise"
AX_TASK = "Dynamics AX Task"
AX_TASK_SELF_SERVICE = "Dynamics AX Task/self service"
AX_DEVICE = "Dynamics AX Device"
CRM_ENTERPRISE = "Dynamics CRM Online Enterprise"
CRM_PROFESSIONAL = "Dynamics CRM Online Professional"
CRM_BASIC = "Dynamics CRM Online Basic"
CRM_ESSENTIAL = "Dynamics CRM Online Essential"
CRM_FIELD_SERVICE = "Dynamics CRM Online Field Service add-on"
CRM_PROJECT_SERVICE = "Dynamics CRM Online Project Service Automation add-on"

D365_UNIFIED_OPERATIONS = "Dynamics 365 for Unified Operations"
D365_PLAN = "Dynamics 365 Plan"
D365_ACTIVITY = "Dynamics 365 for Activity"
D365_TEAM_MEMBERS = "Dynamics 365 for Team Members"
D365_OPERATIONS_DEVICE = "Dynamics 365 for Operations Device"
D365_CUSTOMER_ENGAGEMENT = "Dynamics 365 Enterprise Customer Engagement Plan"
D365_SALES = "Dynamics 365 for Sales"
D365_CUSTOMER_SERVICE = "Dynamics 365 for Customer Service"
D365_FIELD_SERVICE = "Dynamics 365 for Field Service"
D365_PROJECT_SERVICE = "Dynamics 365 for Project Service Automation"

O365_E3 = "Office 365 E3"
O365_E1 = "Office 365 E1"
M365_BUSINESS_BASIC = "Microsoft 365 Business Basic"
EXCHANGE_PLAN1 = "Exchange Online Plan 1"

AX_RETIRED: tuple[str, ...] = (AX_ENTERPRISE, AX_TASK, AX_TASK_SELF_SERVICE, AX_DEVICE)
CRM_RETIRED: tuple[str, ...] = (
    CRM_ENTERPRISE,
    CRM_PROFESSIONAL,
    CRM_BASIC,
    CRM_ESSENTIAL,
    CRM_FIELD_SERVICE,
    CRM_PROJECT_SERVICE,
)
RETIRED_NAMES: tuple[str, ...] = AX_RETIRED + CRM_RETIRED
CURRENT_NAMES: tuple[str, ...] = (O365_E3, O365_E1, M365_BUSINESS_BASIC, EXCHANGE_PLAN1)

#: Retired SKU -> Dynamics 365 targets, in the order of DOMAIN.md's table.
RETIRED_TARGETS: dict[str, tuple[str, ...]] = {
    AX_ENTERPRISE: (D365_UNIFIED_OPERATIONS, D365_PLAN),
    AX_TASK: (D365_ACTIVITY,),
    AX_TASK_SELF_SERVICE: (D365_TEAM_MEMBERS,),
    AX_DEVICE: (D365_OPERATIONS_DEVICE,),
    CRM_ENTERPRISE: (D365_CUSTOMER_ENGAGEMENT,),
    CRM_PROFESSIONAL: (D365_CUSTOMER_ENGAGEMENT, D365_SALES, D365_CUSTOMER_SERVICE),
    CRM_BASIC: (
        D365_TEAM_MEMBERS,
        D365_SALES,
        D365_CUSTOMER_SERVICE,
        D365_CUSTOMER_ENGAGEMENT,
    ),
    CRM_ESSENTIAL: (D365_TEAM_MEMBERS,),
    CRM_FIELD_SERVICE: (D365_CUSTOMER_ENGAGEMENT, D365_FIELD_SERVICE),
    CRM_PROJECT_SERVICE: (D365_CUSTOMER_ENGAGEMENT, D365_PROJECT_SERVICE),
}
TARGET_NAMES: tuple[str, ...] = (
    D365_UNIFIED_OPERATIONS,
    D365_PLAN,
    D365_ACTIVITY,
    D365_TEAM_MEMBERS,
    D365_OPERATIONS_DEVICE,
    D365_CUSTOMER_ENGAGEMENT,
    D365_SALES,
    D365_CUSTOMER_SERVICE,
    D365_FIELD_SERVICE,
    D365_PROJECT_SERVICE,
)

# name -> (skuPartNumber, category, service plans as (serviceName, displayName)).
_DEFINITIONS: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    AX_ENTERPRISE: (
        "AX_ENTERPRISE_USER",
        "Dynamics AX",
        (("AX_ENTERPRISE", "Dynamics AX Enterprise"),),
    ),
    AX_TASK: ("AX_TASK_USER", "Dynamics AX", (("AX_TASK", "Dynamics AX Task"),)),
    AX_TASK_SELF_SERVICE: (
        "AX_SELF-SERVE_USER",
        "Dynamics AX",
        (("AX_SELF_SERVE", "Dynamics AX Task/self service"),),
    ),
    AX_DEVICE: ("AX_DEVICE", "Dynamics AX", (("AX_DEVICE", "Dynamics AX Device"),)),
    CRM_ENTERPRISE: (
        "CRMENTERPRISE",
        "Dynamics CRM Online",
        (("CRMENTERPRISE", "Dynamics CRM Online Enterprise"),),
    ),
    CRM_PROFESSIONAL: (
        "CRMSTANDARD",
        "Dynamics CRM Online",
        (
            ("CRMSTANDARD", "Dynamics CRM Online Professional"),
            ("MDM_SALES_COLLABORATION", "Sales collaboration"),
        ),
    ),
    CRM_BASIC: (
        "CRMPLAN2",
        "Dynamics CRM Online",
        (("CRMPLAN2", "Dynamics CRM Online Basic"),),
    ),
    CRM_ESSENTIAL: (
        "CRMPLAN1",
        "Dynamics CRM Online",
        (("CRMPLAN1", "Dynamics CRM Online Essential"),),
    ),
    CRM_FIELD_SERVICE: (
        "CRM_FIELD_SERVICE_ADDON",
        "Dynamics CRM Online",
        (("CRM_FIELD_SERVICE", "Field Service add-on"),),
    ),
    CRM_PROJECT_SERVICE: (
        "CRM_PSA_ADDON",
        "Dynamics CRM Online",
        (("CRM_PSA", "Project Service Automation add-on"),),
    ),
    D365_UNIFIED_OPERATIONS: (
        "DYN365_UNIFIED_OPERATIONS",
        "Dynamics 365",
        (("D365_UO_PLAN", "Dynamics 365 for Unified Operations"),),
    ),
    D365_PLAN: (
        "DYN365_PLAN1",
        "Dynamics 365",
        (
            ("DYN365_ENTERPRISE_P1", "Dynamics 365 Plan"),
            ("FLOW_DYN_P2", "Flow for Dynamics 365"),
        ),
    ),
    D365_ACTIVITY: (
        "DYN365_OPS_ACTIVITY",
        "Dynamics 365",
        (("D365_OPS_ACTIVITY", "Dynamics 365 for Activity"),),
    ),
    D365_TEAM_MEMBERS: (
        "DYN365_TEAM_MEMBERS",
        "Dynamics 365",
        (("DYN365_TEAM_MEMBERS", "Dynamics 365 for Team Members"),),
    ),
    D365_OPERATIONS_DEVICE: (
        "DYN365_OPS_DEVICE",
        "Dynamics 365",
        (("D365_OPS_DEVICE", "Dynamics 365 for Operations Device"),),
    ),
    D365_CUSTOMER_ENGAGEMENT: (
        "DYN365_ENTERPRISE_PLAN1",
        "Dynamics 365",
        (
            ("DYN365_ENTERPRISE_P1_CE", "Customer Engagement Plan"),
            ("FLOW_DYN_APPS", "Flow for Dynamics 365"),
        ),
    ),
    D365_SALES: (
        "DYN365_ENTERPRISE_SALES",
        "Dynamics 365",
        (("DYN365_ENTERPRISE_SALES", "Dynamics 365 for Sales"),),
    ),
    D365_CUSTOMER_SERVICE: (
        "DYN365_ENTERPRISE_CUSTOMER_SERVICE",
        "Dynamics 365",
        (("DYN365_ENTERPRISE_CUSTOMER_SERVICE", "Dynamics 365 for Customer Service"),),
    ),
    D365_FIELD_SERVICE: (
        "DYN365_ENTERPRISE_FIELD_SERVICE",
        "Dynamics 365",
        (("DYN365_ENTERPRISE_FIELD_SERVICE", "Dynamics 365 for Field Service"),),
    ),
    D365_PROJECT_SERVICE: (
        "DYN365_ENTERPRISE_PROJECT_SERVICE",
        "Dynamics 365",
        (("DYN365_ENTERPRISE_PROJECT_SERVICE", "Project Service Automation"),),
    ),
    O365_E3: (
        "ENTERPRISEPACK",
        "Office 365",
        (
            ("EXCHANGE_S_ENTERPRISE", "Exchange Online (Plan 2)"),
            ("SHAREPOINTENTERPRISE", "SharePoint Online (Plan 2)"),
            ("OFFICESUBSCRIPTION", "Microsoft 365 Apps for enterprise"),
        ),
    ),
    O365_E1: (
        "STANDARDPACK",
        "Office 365",
        (
            ("EXCHANGE_S_STANDARD", "Exchange Online (Plan 1)"),
            ("SHAREPOINTSTANDARD", "SharePoint Online (Plan 1)"),
        ),
    ),
    M365_BUSINESS_BASIC: (
        "O365_BUSINESS_ESSENTIALS",
        "Microsoft 365",
        (
            ("EXCHANGE_S_STANDARD", "Exchange Online (Plan 1)"),
            ("TEAMS1", "Microsoft Teams"),
        ),
    ),
    EXCHANGE_PLAN1: (
        "EXCHANGESTANDARD",
        "Exchange",
        (("EXCHANGE_S_STANDARD", "Exchange Online (Plan 1)"),),
    ),
}

# Well-known real ids (Partner Center docs / Entra) for the ordinary current offers:
# name -> (offer id, skuId).
_KNOWN_IDS: dict[str, tuple[str, str]] = {
    O365_E3: (
        "796B6B5F-613C-4E24-A17C-EBA730D49C02",
        "6fd2c87f-b296-42f0-b197-1e91e994b900",
    ),
    O365_E1: (
        "91FD106F-4B2C-4938-95AC-F54F74E9A239",
        "18181a46-0d4e-45cd-891e-60aabd171b4e",
    ),
    M365_BUSINESS_BASIC: (
        uuid.uuid5(CATALOG_NAMESPACE, "offer:" + M365_BUSINESS_BASIC).hex,
        "3b555118-da6a-4418-894f-7df1e2096870",
    ),
    EXCHANGE_PLAN1: (
        uuid.uuid5(CATALOG_NAMESPACE, "offer:" + EXCHANGE_PLAN1).hex,
        "4b9405b0-7788-4568-add1-99614e613b69",
    ),
}

MINIMUM_QUANTITY = 1
MAXIMUM_QUANTITY = 10000


def _offer_id(name: str) -> str:
    """Return the deterministic upper-case offer GUID for an offer name."""
    if name in _KNOWN_IDS:
        raw = _KNOWN_IDS[name][0]
        return str(uuid.UUID(raw)).upper()
    return str(uuid.uuid5(CATALOG_NAMESPACE, "offer:" + name)).upper()


def _sku_id(name: str) -> str:
    """Return the deterministic lower-case skuId for an offer name."""
    if name in _KNOWN_IDS:
        return _KNOWN_IDS[name][1]
    return str(uuid.uuid5(CATALOG_NAMESPACE, "sku:" + name))


def _build_offer(name: str, rank: int) -> dict[str, Any]:
    """Return the catalogue entry (plain dict) for one offer name."""
    part_number, category, plans = _DEFINITIONS[name]
    retired = name in RETIRED_NAMES
    return {
        "id": _offer_id(name),
        "name": name,
        "description": (
            f"{name} (retired: no longer available for purchase)"
            if retired
            else f"{name} subscription"
        ),
        "skuId": _sku_id(name),
        "skuPartNumber": part_number,
        "category": category,
        "rank": rank,
        "retired": retired,
        "isAvailableForPurchase": not retired,
        "isAddOn": name in (CRM_FIELD_SERVICE, CRM_PROJECT_SERVICE),
        "isAutoRenewable": not retired,
        "minimumQuantity": MINIMUM_QUANTITY,
        "maximumQuantity": MAXIMUM_QUANTITY,
        "billing": "license",
        "unit": "Licenses",
        "targets": list(RETIRED_TARGETS.get(name, ())),
        "servicePlans": [
            {
                "id": str(uuid.uuid5(CATALOG_NAMESPACE, f"plan:{name}:{service}")),
                "serviceName": service,
                "displayName": display,
                "targetType": "User",
            }
            for service, display in plans
        ],
    }


#: Every offer in the sandbox catalogue, in listing order.
OFFERS: tuple[dict[str, Any], ...] = tuple(
    _build_offer(name, rank)
    for rank, name in enumerate(RETIRED_NAMES + TARGET_NAMES + CURRENT_NAMES, start=1)
)

_BY_NAME: dict[str, dict[str, Any]] = {o["name"]: o for o in OFFERS}
_BY_ID: dict[str, dict[str, Any]] = {o["id"].lower(): o for o in OFFERS}
_BY_SKU: dict[str, dict[str, Any]] = {o["skuId"].lower(): o for o in OFFERS}


def offer_by_name(name: str) -> dict[str, Any]:
    """Return the catalogue entry with this exact name.

    Raise KeyError if there is none.
    """
    return _BY_NAME[name]


def offer_by_id(offer_id: str) -> dict[str, Any] | None:
    """Return the catalogue entry for an offer id (case-insensitive), or None."""
    return _BY_ID.get(offer_id.strip().lower())


def offer_by_sku(sku_id: str) -> dict[str, Any] | None:
    """Return the catalogue entry granting this skuId (case-insensitive), or None."""
    return _BY_SKU.get(sku_id.strip().lower())


def offer_json(offer: dict[str, Any], country: str = "US") -> dict[str, Any]:
    """Return the Partner Center ``Offer`` resource JSON for a catalogue entry."""
    offer_id = offer["id"]
    category_id = offer["category"].lower().replace(" ", "_")
    return {
        "id": offer_id,
        "name": offer["name"],
        "description": offer["description"],
        "minimumQuantity": offer["minimumQuantity"],
        "maximumQuantity": offer["maximumQuantity"],
        "rank": offer["rank"],
        "uri": f"/offers/{offer_id}",
        "locale": "en-US",
        "country": country,
        "category": {
            "id": category_id,
            "name": offer["category"],
            "rank": 10,
            "locale": "en-US",
            "country": country,
            "attributes": {"objectType": "OfferCategory"},
        },
        "limitUnitOfMeasure": "None",
        "limit": 0,
        "prerequisiteOffers": [],
        "isAddOn": offer["isAddOn"],
        "hasAddOns": False,
        "isAvailableForPurchase": offer["isAvailableForPurchase"],
        "billing": offer["billing"],
        "supportedBillingCycles": ["annual", "monthly"],
        "isAutoRenewable": offer["isAutoRenewable"],
        "upgradeTargetOffers": [],
        "conversionTargetOffers": [],
        "reselleeQualifications": [],
        "resellerQualifications": [],
        "salesGroupId": category_id,
        "isTrial": False,
        "product": {"id": offer["skuId"], "name": offer["name"], "unit": offer["unit"]},
        "unitType": offer["unit"],
        "links": {
            "learnMore": {
                "uri": "https://go.microsoft.com/fwlink/?LinkId=620629",
                "method": "GET",
                "headers": [],
            },
            "self": {
                "uri": f"/offers/{offer_id}?country={country}",
                "method": "GET",
                "headers": [],
            },
        },
        "attributes": {"objectType": "Offer"},
    }
