"""The legacy offer catalogue."""

from __future__ import annotations

from collections.abc import Iterator

from partner_center.endpoints.base import Endpoints
from partner_center.models import Offer, ResourceCollection
from partner_center.wire import raw_seg

__all__ = ["CatalogEndpoints"]


class CatalogEndpoints(Endpoints):
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-offers-for-a-market
    def iter_offers(
        self,
        country: str | None = None,
        size: int = 100,
        *,
        correlation_id: str | None = None,
    ) -> Iterator[Offer]:
        """Return an iterator over the offers of a market, following offset pages."""
        country = country or self.country
        offset = 0
        first_ids: set[str] = set()
        while True:
            answer = self._call(
                "GET",
                "/offers",
                params=[
                    ("country", country),
                    ("offset", str(offset)),
                    ("size", str(size)),
                ],
                correlation_id=correlation_id,
            )
            page = self._parse(ResourceCollection[Offer], answer)
            if not page.items or page.items[0].id in first_ids:
                return
            first_ids.add(page.items[0].id)
            yield from page.items
            offset += len(page.items)
            has_next = page.links is not None and page.links.next is not None
            # A short page ends the list unless totalCount says there is more.
            if (
                len(page.items) < size
                and not has_next
                and (page.total_count is None or offset >= page.total_count)
            ):
                return

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-an-offer-by-id
    def get_offer(
        self,
        offer_id: str,
        country: str | None = None,
        *,
        correlation_id: str | None = None,
    ) -> Offer:
        """Return one offer; ``product.id`` is the Entra skuId of legacy offers."""
        return self._get(
            f"/offers/{raw_seg(offer_id)}",
            Offer,
            params=[("country", country or self.country)],
            correlation_id=correlation_id,
        )
