"""Partner Center values as the tables store and show them: ids normalised, text and
numbers clipped to their columns, dates and terms in the portal's words.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models

from partner_center import models as pc

SUSPENSION_DEPROVISION_DAYS = 120
NCE_PRODUCT_TYPE = "OnlineServicesNCE"
# Partner Center writes a far-future commitment end date (e.g. 9999-12-10) on a
# subscription that has no end: shown as no end date, never "Expires on 9999".
FAR_FUTURE_YEAR = 9999
_TERM = re.compile(r"P(\d+)([DMY])")
_CATALOG_PATH = re.compile(
    r"/products/(?P<product>[^/?]+)(?:/skus/(?P<sku>[^/?]+))?"
    r"(?:/availabilities/(?P<availability>[^/?]+))?",
    re.I,
)
# PostgreSQL's bigint and integer ceilings: larger numbers from Partner Center are
# clipped rather than failing a whole customer's sync.
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


def normalise_guid(value: str | None) -> str:
    """Return a Partner Center GUID as stored: trimmed and lower case."""
    return (value or "").strip().lower()


def normalise_offer_id(value: str | None) -> str:
    """Return an offer or catalogue id as stored: trimmed and upper case.

    Legacy offer ids are documented as upper-case GUIDs, new-commerce ids as
    upper-case `product:sku:availability` codes.
    """
    return (value or "").strip().upper()


def clip(model: type[models.Model], name: str, value: Any) -> str:
    """Return `value` as text that fits the column (NUL bytes dropped, "" for None)."""
    if value is None:
        return ""
    text = str(value).replace("\x00", "")
    limit = getattr(model._meta.get_field(name), "max_length", None)
    return text[:limit] if limit else text


def clip_int(value: Any, *, ceiling: int = INT_MAX) -> int:
    """Return a whole number within the column's range (0 when missing)."""
    if value is None:
        return 0
    number = int(value)
    return max(-ceiling - 1, min(ceiling, number))


def date_text(value: datetime) -> str:
    """Return a date as the portal writes it: "Mar 5, 2027"."""
    return f"{value:%b} {value.day}, {value:%Y}"


def term_text(duration: str | None) -> str:
    """Return an ISO-8601 term as the portal says it: "monthly", "1 year", "3 years".

    An unusual value is returned as sent; a missing one as "".
    """
    value = (duration or "").strip().upper()
    match = _TERM.fullmatch(value)
    if match is None:
        return value
    number, unit = int(match.group(1)), match.group(2)
    if unit == "M" and number == 1:
        return "monthly"
    word = {"D": "day", "M": "month", "Y": "year"}[unit]
    return f"{number} {word}" + ("" if number == 1 else "s")


def catalog_ids(item: pc.Subscription) -> tuple[str, str, str]:
    """Return the (productId, skuId, availabilityId) of a new-commerce subscription.

    From its `offerId` (`product:sku:availability`), else from its `links`
    (`product`, `sku`, `availability`); ("", "", "") for a legacy one.
    """
    parts = item.catalog_parts
    if parts is not None:
        product, sku, availability = parts
    else:
        links = item.link_uris
        product = sku = availability = ""
        for name in ("availability", "sku", "product"):
            match = _CATALOG_PATH.search(links.get(name, ""))
            if match is not None:
                product = match.group("product") or ""
                sku = match.group("sku") or ""
                availability = match.group("availability") or ""
                break
    return (
        normalise_offer_id(product),
        normalise_offer_id(sku),
        normalise_offer_id(availability),
    )


def indirect_reseller(partner_id: str) -> str:
    """Return the indirect reseller of record a partnerId names ("" if it is ours).

    A subscription's partnerId is the MPN id of its indirect reseller of record
    (partner-center-api.md §3.2), never a sign that another partner owns it:
    another partner's or channel's subscriptions are not listed at all.
    """
    value = normalise_guid(partner_id)
    own = {normalise_guid(p) for p in settings.PARTNER_CENTER_OWN_PARTNER_IDS}
    return "" if not value or value in own else value
