"""A typed client for the subset of the Partner Center REST API the product uses.

``PartnerCenterClient`` is one class assembled from one module per subject:
``transport.py`` (session, headers, retries, errors, hooks), ``endpoints/base.py``
(paging, 202 polling) and ``endpoints/*.py``: customers, subscriptions (read,
suspend, auto-renew, cancel, scheduled change), skus (the Entra skuId a
subscription grants), orders, carts, catalog (legacy offers), products (modern
catalogue), transitions, migrations (legacy → NCE) and users (licences). Build
one with ``partner_center.config.build_client`` or ``shared_client``.
"""

from __future__ import annotations

from partner_center.endpoints.carts import CartEndpoints
from partner_center.endpoints.customers import CustomerEndpoints
from partner_center.endpoints.orders import OrderEndpoints
from partner_center.endpoints.skus import EntraSku, EntraSkuEndpoints
from partner_center.endpoints.transitions import TransitionEndpoints
from partner_center.endpoints.users import UserEndpoints
from partner_center.records import CallRecord, Operation, WriteIntent

__all__ = ["CallRecord", "EntraSku", "Operation", "PartnerCenterClient", "WriteIntent"]


class PartnerCenterClient(
    CustomerEndpoints,
    EntraSkuEndpoints,
    OrderEndpoints,
    CartEndpoints,
    TransitionEndpoints,
    UserEndpoints,
):
    """A client for one Partner Center (or sandbox) API root, e.g. ``.../v1``.

    ``app_tokens`` serves every call that supports app-only auth; ``user_tokens``
    (app+user) serves the calls documented as App+User only: users, licences,
    subscribed SKUs and relationship requests. See ``transport.Transport`` for
    the constructor and what is retried.
    """
