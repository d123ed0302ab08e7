"""Pydantic models for the Partner Center resources the product reads and writes.

See ``base.py`` for how lenient parsing is and which ids are normalised.
``from partner_center.models import Subscription`` and ``models.Subscription``
work for every model, whichever module defines it.
"""

from partner_center.models.base import (
    ApiFault,
    KeyValuePair,
    Link,
    Links,
    PCModel,
    ResourceAttributes,
    ResourceCollection,
    is_guid,
    normalise_id,
)
from partner_center.models.catalog import Offer, OfferCategory, OfferProduct
from partner_center.models.customers import (
    CompanyProfile,
    Customer,
    CustomerUser,
    License,
    LicenseAssignment,
    LicenseUpdate,
    LicenseWarning,
    ProductSku,
    RelationshipRequest,
    ServicePlan,
    SubscribedSku,
)
from partner_center.models.orders import Order, OrderLineItem
from partner_center.models.subscriptions import (
    ProductType,
    RefundOption,
    Subscription,
    SubscriptionProvisioningStatus,
)

__all__ = [
    "ApiFault",
    "CompanyProfile",
    "Customer",
    "CustomerUser",
    "KeyValuePair",
    "License",
    "LicenseAssignment",
    "LicenseUpdate",
    "LicenseWarning",
    "Link",
    "Links",
    "Offer",
    "OfferCategory",
    "OfferProduct",
    "Order",
    "OrderLineItem",
    "PCModel",
    "ProductSku",
    "ProductType",
    "RefundOption",
    "RelationshipRequest",
    "ResourceAttributes",
    "ResourceCollection",
    "ServicePlan",
    "SubscribedSku",
    "Subscription",
    "SubscriptionProvisioningStatus",
    "is_guid",
    "normalise_id",
]
