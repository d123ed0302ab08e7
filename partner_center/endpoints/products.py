"""The modern catalogue: products, SKUs and availabilities (§6.2).

Every call can be scoped to a customer (``customer_id``), which narrows the answer
to what that customer may buy. ``target_segment`` (commercial, education,
government, nonprofit) filters SKUs and availabilities.
"""

from __future__ import annotations

from collections.abc import Iterator

from partner_center.endpoints.base import Endpoints
from partner_center.models import Availability, Product, Sku
from partner_center.transport import Params
from partner_center.wire import raw_seg, seg

__all__ = ["ProductEndpoints"]

ONLINE_SERVICES = "OnlineServices"


class ProductEndpoints(Endpoints):
    def _catalog_root(self, customer_id: str | None) -> str:
        return f"/customers/{seg(customer_id)}" if customer_id else ""

    def _market(
        self, country: str | None, target_segment: str | None, customer_id: str | None
    ) -> Params:
        # Customer-scoped calls take the customer's own country.
        params: Params = [] if customer_id else [("country", country or self.country)]
        if target_segment:
            params.append(("targetSegment", target_segment))
        return params

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-products
    def iter_products(
        self,
        target_view: str = ONLINE_SERVICES,
        *,
        country: str | None = None,
        target_segment: str | None = None,
        customer_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Iterator[Product]:
        """Return an iterator over the products of ``target_view``, across pages.

        ``OnlineServices`` holds new-commerce and legacy licence-based products.
        """
        params = [
            ("targetView", target_view),
            *self._market(country, target_segment, customer_id),
        ]
        return self._iter_pages(
            f"{self._catalog_root(customer_id)}/products",
            params,
            Product,
            correlation_id=correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-product-by-id
    def get_product(
        self,
        product_id: str,
        *,
        country: str | None = None,
        customer_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Product:
        """Return one product (e.g. ``CFQ7TTC0LH18``)."""
        return self._get(
            f"{self._catalog_root(customer_id)}/products/{raw_seg(product_id)}",
            Product,
            params=self._market(country, None, customer_id),
            correlation_id=correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-skus-for-a-product
    def list_skus(
        self,
        product_id: str,
        *,
        country: str | None = None,
        target_segment: str | None = None,
        customer_id: str | None = None,
        correlation_id: str | None = None,
    ) -> list[Sku]:
        """Return the SKUs of a product."""
        path = f"{self._catalog_root(customer_id)}/products/{raw_seg(product_id)}/skus"
        return list(
            self._iter_pages(
                path,
                self._market(country, target_segment, customer_id),
                Sku,
                correlation_id=correlation_id,
            )
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-sku-by-id
    def get_sku(
        self,
        product_id: str,
        sku_id: str,
        *,
        country: str | None = None,
        customer_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Sku:
        """Return one SKU; ``entra_sku_id`` is set if the catalogue names one."""
        root = self._catalog_root(customer_id)
        return self._get(
            f"{root}/products/{raw_seg(product_id)}/skus/{raw_seg(sku_id)}",
            Sku,
            params=self._market(country, None, customer_id),
            correlation_id=correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-availabilities-for-a-sku
    def list_availabilities(
        self,
        product_id: str,
        sku_id: str,
        *,
        country: str | None = None,
        target_segment: str | None = None,
        customer_id: str | None = None,
        correlation_id: str | None = None,
    ) -> list[Availability]:
        """Return where and how a SKU can be bought; ``catalog_item_id`` buys it.

        The catalogue item id "can change over time": read it at purchase time.
        """
        root = self._catalog_root(customer_id)
        path = (
            f"{root}/products/{raw_seg(product_id)}/skus/{raw_seg(sku_id)}"
            "/availabilities"
        )
        return list(
            self._iter_pages(
                path,
                self._market(country, target_segment, customer_id),
                Availability,
                correlation_id=correlation_id,
            )
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-an-availability-by-id
    def get_availability(
        self,
        product_id: str,
        sku_id: str,
        availability_id: str,
        *,
        country: str | None = None,
        customer_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Availability:
        """Return one availability, with its ``terms`` (duration and billing)."""
        root = self._catalog_root(customer_id)
        path = (
            f"{root}/products/{raw_seg(product_id)}/skus/{raw_seg(sku_id)}"
            f"/availabilities/{raw_seg(availability_id)}"
        )
        return self._get(
            path,
            Availability,
            params=self._market(country, None, customer_id),
            correlation_id=correlation_id,
        )
