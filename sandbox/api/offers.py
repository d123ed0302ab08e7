"""The legacy offer catalogue: ``/offers`` with offset paging (§6.1)."""

from __future__ import annotations

from typing import Any

from sandbox import catalog, render, rules
from sandbox.api.common import CUSTOMER_PAGE_CAP, Route, int_param
from sandbox.state import SandboxState
from sandbox.web import ApiError, Request, Response

OFFER_PAGE_DEFAULT = 100


def list_offers(state: SandboxState, request: Request) -> Response:
    """GET /offers?country=US&offset=&size= (offset paging)."""
    country = rules.country(request)
    offset = int_param(request, "offset", 0)
    size = int_param(request, "size", OFFER_PAGE_DEFAULT) or OFFER_PAGE_DEFAULT
    size = min(size, CUSTOMER_PAGE_CAP)
    page = catalog.OFFERS[offset : offset + size]
    links: dict[str, Any] = {}
    if offset + size < len(catalog.OFFERS):
        links["next"] = render.link(
            f"/v1/offers?country={country}&offset={offset + size}&size={size}"
        )
    if offset > 0:
        links["previous"] = render.link(
            f"/v1/offers?country={country}&offset={max(0, offset - size)}&size={size}"
        )
    body = render.collection(
        [catalog.offer_json(o, country) for o in page],
        self_uri=f"/v1/offers?country={country}&offset={offset}&size={size}",
        total=len(catalog.OFFERS),
        links=links,
    )
    return Response(200, body)


def get_offer(state: SandboxState, request: Request, offer: str) -> Response:
    """GET /offers/{id}?country=US (400/2100 for a modern catalog item id)."""
    country = rules.country(request)
    if ":" in offer:
        raise ApiError(
            400,
            2100,
            f"The Offers API does not support item with id {offer}. Please try "
            "using the Products and/or SKUs APIs",
        )
    entry = catalog.offer_by_id(offer)
    if entry is None:
        raise ApiError(404, 1000, f"Offer {offer} not found")
    return Response(200, catalog.offer_json(entry, country))


ROUTES: list[Route] = [
    ("/offers", {"GET": list_offers}),
    ("/offers/{offer}", {"GET": get_offer}),
]
