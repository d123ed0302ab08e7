"""The modern catalogue: products, SKUs and availabilities (§6.2), partner-wide and
customer-scoped.

Where the documents are silent (UNCONFIRMED, see sandbox/README.md): a SKU's Entra
skuId is in ``dynamicAttributes.skuId`` and its end-of-sale state in
``dynamicAttributes.isEndOfSale``; an end-of-sale SKU's availability answers
``isPurchasable: false``.
"""

from __future__ import annotations

from typing import Any

from sandbox import products, render, rules
from sandbox.api.common import Route, customer_or_404
from sandbox.products import Sku
from sandbox.state import SandboxState
from sandbox.web import ApiError, Request, Response

TARGET_VIEWS = ("onlineservices", "azure", "software", "azurereservations")
_TERM_TEXT = {"P1M": "One-Month commitment", "P1Y": "One-Year commitment"}


def product_json(sku: Sku, country: str) -> dict[str, Any]:
    """Return the ``Product`` resource of a SKU's product."""
    base = f"/products/{sku.product_id}"
    return {
        "id": sku.product_id,
        "title": sku.product_title,
        "description": f"{sku.product_title} ({sku.category})",
        "productType": {"id": "OnlineServices", "displayName": "OnlineServices"},
        "isMicrosoftProduct": True,
        "publisherName": "Microsoft Corporation",
        "links": {
            "skus": render.link(f"{base}/skus?country={country}"),
            "self": render.link(f"{base}?country={country}"),
        },
        "attributes": {"objectType": "Product"},
    }


def sku_json(sku: Sku, country: str) -> dict[str, Any]:
    """Return the ``Sku`` resource."""
    base = f"/products/{sku.product_id}/skus/{sku.sku_id}"
    return {
        "id": sku.sku_id,
        "productId": sku.product_id,
        "title": sku.title,
        "description": f"{sku.title} (new commerce, license-based)",
        "minimumQuantity": sku.minimum_quantity,
        "maximumQuantity": sku.maximum_quantity,
        "isTrial": False,
        "supportedBillingCycles": sorted({cycle for _, cycle in sku.terms}),
        "purchasePrerequisites": ["MicrosoftCustomerAgreement"],
        "inventoryVariables": [],
        "provisioningVariables": [],
        "actions": ["Refund"],
        "dynamicAttributes": {
            "isMicrosoftProduct": True,
            "isAddon": sku.is_addon,
            "prerequisiteSkus": [f"{p}" for p in sku.prerequisites],
            "upgradeTargetOffers": list(sku.transitions),
            "skuId": sku.entra_sku_id,
            "skuPartNumber": sku.part_number,
            "isEndOfSale": sku.end_of_sale,
        },
        "links": {
            "availabilities": render.link(f"{base}/availabilities?country={country}"),
            "self": render.link(f"{base}?country={country}"),
        },
        "attributes": {"objectType": "Sku"},
    }


def availability_json(sku: Sku, country: str) -> dict[str, Any]:
    """Return the ``Availability`` resource (terms with their cancellation policy)."""
    base = f"/products/{sku.product_id}/skus/{sku.sku_id}/availabilities"
    return {
        "id": sku.availability_id,
        "productId": sku.product_id,
        "skuId": sku.sku_id,
        "catalogItemId": sku.catalog_item_id,
        "defaultCurrency": {"code": "USD", "symbol": "$"},
        "segment": "commercial",
        "country": country,
        "isPurchasable": not sku.end_of_sale,
        "isRenewable": True,
        "product": product_json(sku, country),
        "sku": sku_json(sku, country),
        "terms": [
            {
                "duration": term,
                "description": _TERM_TEXT.get(term, "Three-Year commitment")
                + f" for {cycle} billing",
                "billingCycle": cycle,
                "cancellationPolicies": [
                    {
                        "refunds": [
                            {"type": "Full", "sequenceId": 1, "expiresAfter": "P7D"}
                        ]
                    }
                ],
            }
            for term, cycle in sku.terms
        ],
        "includedQuantityOptions": [],
        "links": {
            "self": render.link(f"{base}/{sku.availability_id}?country={country}")
        },
        "attributes": {"objectType": "Availability"},
    }


def _country(state: SandboxState, request: Request, cid: str | None) -> str:
    """Return the country: the query's, or the customer's for customer routes."""
    if cid is None:
        return rules.country(request)
    customer = customer_or_404(state, cid)
    return (request.query.get("country") or customer["country"]).upper()


def _sku_or_404(product_id: str, sku_id: str | None = None) -> Sku:
    """Return a product's first (or the named) SKU, or raise 404."""
    skus = products.skus_of(product_id)
    if not skus:
        raise ApiError(404, 1000, f"Product {product_id} was not found.")
    if sku_id is None:
        return skus[0]
    found = products.find(product_id, sku_id)
    if found is None:
        raise ApiError(404, 1000, f"Sku {sku_id} was not found.")
    return found


def list_products(
    state: SandboxState, request: Request, cid: str | None = None
) -> Response:
    """GET /products?country=&targetView=OnlineServices."""
    country = _country(state, request, cid)
    view = (request.query.get("targetview") or "").lower()
    if view not in TARGET_VIEWS:
        raise ApiError(400, 800002, "Invalid request input: targetView is required.")
    items = []
    if view == "onlineservices":
        items = [
            product_json(products.skus_of(p)[0], country)
            for p in products.product_ids()
        ]
    return Response(200, render.collection(items))


def get_product(
    state: SandboxState, request: Request, pid: str, cid: str | None = None
) -> Response:
    """GET /products/{productId}?country=."""
    country = _country(state, request, cid)
    return Response(200, product_json(_sku_or_404(pid), country))


def list_skus(
    state: SandboxState, request: Request, pid: str, cid: str | None = None
) -> Response:
    """GET /products/{productId}/skus?country=."""
    country = _country(state, request, cid)
    _sku_or_404(pid)
    items = [sku_json(s, country) for s in products.skus_of(pid)]
    return Response(200, render.collection(items))


def get_sku(
    state: SandboxState, request: Request, pid: str, sid: str, cid: str | None = None
) -> Response:
    """GET /products/{productId}/skus/{skuId}?country=."""
    country = _country(state, request, cid)
    return Response(200, sku_json(_sku_or_404(pid, sid), country))


def list_availabilities(
    state: SandboxState, request: Request, pid: str, sid: str, cid: str | None = None
) -> Response:
    """GET …/skus/{skuId}/availabilities?country=."""
    country = _country(state, request, cid)
    sku = _sku_or_404(pid, sid)
    return Response(200, render.collection([availability_json(sku, country)]))


def get_availability(
    state: SandboxState,
    request: Request,
    pid: str,
    sid: str,
    aid: str,
    cid: str | None = None,
) -> Response:
    """GET …/skus/{skuId}/availabilities/{availabilityId}?country=."""
    country = _country(state, request, cid)
    sku = _sku_or_404(pid, sid)
    if sku.availability_id.lower() != aid.lower():
        raise ApiError(404, 1000, f"Availability {aid} was not found.")
    return Response(200, availability_json(sku, country))


_SKU = "/products/{pid}/skus/{sid}"
ROUTES: list[Route] = [
    (prefix + path, {"GET": handler})
    for prefix in ("", "/customers/{cid}")
    for path, handler in (
        ("/products", list_products),
        ("/products/{pid}", get_product),
        ("/products/{pid}/skus", list_skus),
        (_SKU, get_sku),
        (_SKU + "/availabilities", list_availabilities),
        (_SKU + "/availabilities/{aid}", get_availability),
    )
]
