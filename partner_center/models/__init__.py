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
from partner_center.models.carts import (
    Cart,
    CartCheckoutResult,
    CartError,
    CartLineItem,
    OrderError,
    RenewsTo,
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
from partner_center.models.products import (
    Availability,
    AvailabilityTerm,
    Currency,
    ItemType,
    Product,
    Sku,
)
from partner_center.models.subscriptions import (
    ProductTerm,
    ProductType,
    RefundableQuantity,
    RefundOption,
    ScheduledNextTermInstructions,
    Subscription,
    SubscriptionProvisioningStatus,
)
from partner_center.models.transitions import (
    EligibilityDetail,
    TargetSubscriptionEligibility,
    Transition,
    TransitionEligibility,
    TransitionError,
    TransitionEvent,
    TransitionHistory,
)

__all__ = [
    "ApiFault",
    "Availability",
    "AvailabilityTerm",
    "Cart",
    "CartCheckoutResult",
    "CartError",
    "CartLineItem",
    "CompanyProfile",
    "Currency",
    "Customer",
    "CustomerUser",
    "EligibilityDetail",
    "ItemType",
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
    "OrderError",
    "OrderLineItem",
    "PCModel",
    "Product",
    "ProductSku",
    "ProductTerm",
    "ProductType",
    "RefundOption",
    "RefundableQuantity",
    "RelationshipRequest",
    "RenewsTo",
    "ResourceAttributes",
    "ResourceCollection",
    "ScheduledNextTermInstructions",
    "ServicePlan",
    "Sku",
    "SubscribedSku",
    "Subscription",
    "SubscriptionProvisioningStatus",
    "TargetSubscriptionEligibility",
    "Transition",
    "TransitionEligibility",
    "TransitionError",
    "TransitionEvent",
    "TransitionHistory",
    "is_guid",
    "normalise_id",
]
