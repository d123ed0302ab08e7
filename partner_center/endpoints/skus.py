"""Which Entra licence (skuId) a subscription grants, from whatever source says.

Users hold licences per Entra skuId, never per subscription; moving them needs the
skuId of both the old and the new subscription.
"""

from __future__ import annotations

from dataclasses import dataclass

from partner_center.endpoints.catalog import CatalogEndpoints
from partner_center.endpoints.products import ProductEndpoints
from partner_center.endpoints.subscriptions import SubscriptionEndpoints
from partner_center.errors import PermanentError
from partner_center.models import Subscription, is_guid, normalise_id

__all__ = ["EntraSku", "EntraSkuEndpoints"]


@dataclass(frozen=True)
class EntraSku:
    """The Entra skuId a subscription grants (lower case), and where it came from.

    ``source`` is ``provisioning_status``, ``legacy_offer``, ``catalog_sku`` or
    ``unknown`` (then ``sku_id`` is None: match ``subscribedskus`` by name, or
    ask the reseller).
    """

    sku_id: str | None
    source: str


class EntraSkuEndpoints(SubscriptionEndpoints, CatalogEndpoints, ProductEndpoints):
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-subscription-provisioning-status
    def entra_sku_for(
        self,
        customer_id: str,
        subscription: Subscription,
        *,
        correlation_id: str | None = None,
    ) -> EntraSku:
        """Return the Entra skuId ``subscription`` grants, trying each source.

        1. ``…/provisioningstatus`` ``skuId`` (documented for legacy; UNCONFIRMED
           for NCE, so a 4xx or a non-GUID answer falls through);
        2. a legacy offer's ``product.id``;
        3. an NCE SKU's catalogue attributes (``Sku.entra_sku_id``; UNCONFIRMED).

        Raise TransientError, Throttled or AuthError as the reads do; a refusal
        of one source only moves on to the next.
        """
        try:
            status = self.get_subscription_provisioning_status(
                customer_id, subscription.id, correlation_id=correlation_id
            )
        except PermanentError:
            status = None
        if status is not None and is_guid(status.sku_id):
            return EntraSku(normalise_id(str(status.sku_id)), "provisioning_status")
        if is_guid(subscription.offer_id):
            try:
                offer = self.get_offer(
                    str(subscription.offer_id), correlation_id=correlation_id
                )
            except PermanentError:
                offer = None
            if offer is not None and offer.product and is_guid(offer.product.id):
                return EntraSku(str(offer.product.id), "legacy_offer")
        parts = subscription.catalog_parts
        if parts is not None:
            try:
                sku = self.get_sku(
                    parts[0],
                    parts[1],
                    correlation_id=correlation_id,
                )
            except PermanentError:
                sku = None
            if sku is not None and sku.entra_sku_id:
                return EntraSku(sku.entra_sku_id, "catalog_sku")
        return EntraSku(None, "unknown")
