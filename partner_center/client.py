"""A typed client for the subset of the Partner Center REST API the product uses.

``PartnerCenterClient`` is one class assembled from one module per subject:
``transport.py`` (session, headers, retries, errors, records), ``endpoints/base.py``
(paging, 202 polling) and ``endpoints/*.py`` (the operations). Build one with
``partner_center.config.build_client``.
"""

from __future__ import annotations

from partner_center.endpoints.catalog import CatalogEndpoints
from partner_center.endpoints.customers import CustomerEndpoints
from partner_center.endpoints.orders import OrderEndpoints
from partner_center.endpoints.subscriptions import SubscriptionEndpoints
from partner_center.endpoints.users import UserEndpoints
from partner_center.records import CallRecord, Operation, WriteIntent

__all__ = ["CallRecord", "Operation", "PartnerCenterClient", "WriteIntent"]


class PartnerCenterClient(
    CustomerEndpoints,
    SubscriptionEndpoints,
    OrderEndpoints,
    CatalogEndpoints,
    UserEndpoints,
):
    """A client for one Partner Center (or sandbox) API root, e.g. ``.../v1``.

    ``app_tokens`` serves every call that supports app-only auth; ``user_tokens``
    (app+user) serves the calls documented as App+User only: users, licences,
    subscribed SKUs and relationship requests. See ``transport.Transport`` for
    the constructor and what is retried.
    """
