"""Licences a customer holds beyond this partner's subscriptions: other channels.

Subscriptions bought through another partner, Open, EA or directly never appear
in this partner's subscription list; they show only as units in the tenant's
`subscribedskus`. What a SKU's active units exceed this partner's active
subscriptions granting it was bought elsewhere (DOMAIN.md, "Other channels").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from migrations_app.models import Offer, SubscribedSku, Subscription
from migrations_app.models.catalog import ProductSku, catalogue_key, is_modern_key


@dataclass(frozen=True)
class OtherChannelLicences:
    """Units of one skuId held beyond this partner's subscriptions."""

    sku_id: str
    name: str
    units: int


def subscription_sku_ids(subscriptions: Iterable[Subscription]) -> dict[int, str]:
    """Return the Entra skuId each subscription grants, by pk, where known.

    Two queries: the synced legacy offers and new-commerce SKUs they name.
    """
    subs = list(subscriptions)
    keys = {s.pk: catalogue_key(s.catalogue_key) for s in subs}
    modern = {k for k in keys.values() if is_modern_key(k)}
    legacy = {k for k in keys.values() if k and not is_modern_key(k)}
    entra: dict[str, str] = {}
    if modern:
        skus = ProductSku.objects.filter(key__in=modern).exclude(entra_sku_id="")
        entra |= dict(skus.values_list("key", "entra_sku_id"))
    if legacy:
        offers = Offer.objects.filter(offer_id__in=legacy).exclude(product_id="")
        entra |= dict(offers.values_list("offer_id", "product_id"))
    return {pk: entra[key].lower() for pk, key in keys.items() if key in entra}


def other_channel_licences(
    subscriptions: Iterable[Subscription],
    skus: Iterable[SubscribedSku],
    *,
    granted: dict[int, str] | None = None,
) -> list[OtherChannelLicences]:
    """Return the SKUs whose active units exceed this partner's subscriptions.

    Counted conservatively: the seats of an active subscription whose skuId is
    unknown could grant any SKU, so they are taken off every SKU's excess.
    `granted` (from `subscription_sku_ids`) saves its queries when many
    customers are counted at once.
    """
    subs = [s for s in subscriptions if s.status.strip().lower() == "active"]
    if granted is None:
        granted = subscription_sku_ids(subs)
    ours: dict[str, int] = defaultdict(int)
    unknown = 0
    for sub in subs:
        sku = granted.get(sub.pk)
        if sku:
            ours[sku] += max(0, sub.quantity)
        else:
            unknown += max(0, sub.quantity)
    found = []
    for row in skus:
        units = row.active_units - ours[row.sku_id.lower()] - unknown
        if units > 0:
            found.append(
                OtherChannelLicences(
                    row.sku_id, row.name or row.sku_part_number or row.sku_id, units
                )
            )
    return found


def other_channel_instruction(
    company: str, licences: list[OtherChannelLicences]
) -> str:
    """Return what the customer must do about licences bought elsewhere (seed 2)."""
    what = ", ".join(f"{lic.units} {lic.name}" for lic in licences)
    return (
        f"{company} also holds licences bought through another channel ({what}). "
        "PartnerHub cannot change them: the customer must cancel them through the "
        "partner or channel they were bought from, or let them expire. Cancelled "
        "subscriptions are not refunded, so cancel them near their end date."
    )
