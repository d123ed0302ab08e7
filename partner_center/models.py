"""Pydantic models for the Partner Center resources the product reads and writes.

Parsing is deliberately lenient, because Partner Center adds fields and enum values
without notice (``"expired"`` in 2022, ``"disabled"`` in 2023):

- unknown fields are kept (``model_extra``), never dropped or rejected;
- enum-like fields (status, billingCycle, relationshipToPartner, ...) are plain
  strings, and integer enum values are kept as their decimal string;
- error and warning codes accept ints and strings (numeric strings become ints);
- datetimes accept ``Z``, offsets, no offset (taken as UTC), 7 fractional digits and
  far-future dates such as ``9999-12-10T00:00:00Z``; an empty or unreadable value
  becomes ``None`` instead of failing the whole response;
- a ``null`` list is read as an empty list.

Field names are snake_case in Python and camelCase on the wire.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.alias_generators import to_camel

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
]


def _lenient_datetime(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        # Python 3.11 accepts "Z" and truncates digits beyond microseconds.
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _enum_str(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    return value


def _int_or_str(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


LenientDatetime = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]
EnumStr = Annotated[str | None, BeforeValidator(_enum_str)]
_Str = Annotated[str, BeforeValidator(_enum_str)]
Code = Annotated[int | str | None, BeforeValidator(_int_or_str)]
StrList = Annotated[list[_Str], BeforeValidator(_none_as_empty)]
AnyList = Annotated[list[Any], BeforeValidator(_none_as_empty)]


class PCModel(BaseModel):
    """Base for every Partner Center model: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
    )


class KeyValuePair(PCModel):
    key: str
    value: Annotated[str | None, BeforeValidator(_enum_str)] = None


class Link(PCModel):
    """A link as Partner Center writes it: a URI plus the headers to send with it."""

    uri: str
    method: str = "GET"
    headers: Annotated[list[KeyValuePair], BeforeValidator(_none_as_empty)] = []


class Links(PCModel):
    """Links of a resource or collection; other link names are kept as extras."""

    self_link: Link | None = Field(default=None, alias="self")
    next: Link | None = None
    previous: Link | None = None


class ResourceAttributes(PCModel):
    object_type: str | None = None
    etag: str | None = None


T = TypeVar("T")


class ResourceCollection(PCModel, Generic[T]):
    """A collection envelope; seek-paged ones also carry ``continuationToken``."""

    total_count: int | None = None
    items: Annotated[list[T], BeforeValidator(_none_as_empty)] = []
    links: Links | None = None
    continuation_token: str | None = None
    attributes: ResourceAttributes | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_bare_array(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"items": data}
        return data


class ApiFault(PCModel):
    """An error body: ``{code, description, data, source}``.

    The 429 body ``{statusCode, message}`` also parses into it.
    """

    code: Code = None
    description: str | None = None
    data: AnyList = []
    source: str | None = None
    status_code: int | None = None
    message: str | None = None


class CompanyProfile(PCModel):
    tenant_id: str | None = None
    domain: str | None = None
    company_name: str | None = None
    email: str | None = None
    address: dict[str, Any] | None = None
    links: Links | None = None
    attributes: ResourceAttributes | None = None


class Customer(PCModel):
    """A customer tenant; ``id`` is the customer's tenant ID."""

    id: str
    commerce_id: str | None = None
    company_profile: CompanyProfile | None = None
    billing_profile: dict[str, Any] | None = None
    relationship_to_partner: EnumStr = None
    allow_delegated_access: bool | None = None
    associated_partner_id: str | None = None
    custom_domains: StrList = []
    links: Links | None = None
    attributes: ResourceAttributes | None = None


class ProductType(PCModel):
    id: str | None = None
    display_name: str | None = None
    sub_type: Any = None


class RefundOption(PCModel):
    type: EnumStr = None
    expires_at: LenientDatetime = None


class Subscription(PCModel):
    """A subscription, legacy (GUID ``offerId``) or NCE (``product:sku:availability``).

    ``status`` is kept as sent: ``active``, ``suspended``, ``expired``, ``disabled``
    or anything new.
    """

    id: str
    offer_id: str | None = None
    offer_name: str | None = None
    friendly_name: str | None = None
    product_type: ProductType | None = None
    entitlement_id: str | None = None
    quantity: int | None = None
    unit_type: str | None = None
    parent_subscription_id: str | None = None
    creation_date: LenientDatetime = None
    effective_start_date: LenientDatetime = None
    commitment_end_date: LenientDatetime = None
    commitment_end_date_time: LenientDatetime = None
    cancellation_allowed_until_date: LenientDatetime = None
    billing_cycle_end_date: LenientDatetime = None
    billing_cycle_end_date_time: LenientDatetime = None
    status: EnumStr = None
    auto_renew_enabled: bool | None = None
    billing_type: EnumStr = None
    billing_cycle: EnumStr = None
    term_duration: str | None = None
    renewal_term_duration: str | None = None
    has_purchasable_addons: bool | None = None
    is_trial: bool | None = None
    is_microsoft_product: bool | None = None
    actions: StrList = []
    partner_id: str | None = None
    suspension_reasons: StrList = []
    contract_type: EnumStr = None
    refund_options: Annotated[list[RefundOption], BeforeValidator(_none_as_empty)] = []
    order_id: str | None = None
    publisher_name: str | None = None
    promotion_id: str | None = None
    consumption_type: EnumStr = None
    attention_needed: bool | None = None
    action_taken: bool | None = None
    migrated_from_subscription_id: str | None = None
    scheduled_next_term_instructions: dict[str, Any] | None = None
    links: Links | None = None
    attributes: ResourceAttributes | None = None

    @property
    def etag(self) -> str | None:
        """Return the ETag of this copy, if Partner Center sent one."""
        return self.attributes.etag if self.attributes else None


class SubscriptionProvisioningStatus(PCModel):
    """Provisioning status of a subscription; ``sku_id`` is the Entra skuId."""

    sku_id: str | None = None
    status: EnumStr = None
    quantity: int | None = None
    end_date: LenientDatetime = None
    attributes: ResourceAttributes | None = None


class OrderLineItem(PCModel):
    """An order line item; also used to describe line items of a new order."""

    line_item_number: int | None = None
    offer_id: str | None = None
    subscription_id: str | None = None
    parent_subscription_id: str | None = None
    friendly_name: str | None = None
    quantity: int | None = None
    term_duration: str | None = None
    transaction_type: EnumStr = None
    partner_id_on_record: str | None = None
    provisioning_context: dict[str, Any] | None = None
    links: Links | None = None


class Order(PCModel):
    """An order; ``line_items[n].subscription_id`` appears once provisioned."""

    id: str
    reference_customer_id: str | None = None
    alternate_id: str | None = None
    billing_cycle: EnumStr = None
    currency_code: str | None = None
    currency_symbol: str | None = None
    line_items: Annotated[list[OrderLineItem], BeforeValidator(_none_as_empty)] = []
    creation_date: LenientDatetime = None
    status: EnumStr = None
    transaction_type: EnumStr = None
    links: Links | None = None
    attributes: ResourceAttributes | None = None


class OfferCategory(PCModel):
    id: str | None = None
    name: str | None = None
    rank: int | None = None
    locale: str | None = None
    country: str | None = None


class OfferProduct(PCModel):
    """The product of a legacy offer; ``id`` is the Entra skuId (see doc §6.1)."""

    id: str | None = None
    name: str | None = None
    unit: str | None = None


class Offer(PCModel):
    id: str
    name: str | None = None
    description: str | None = None
    minimum_quantity: int | None = None
    maximum_quantity: int | None = None
    rank: int | None = None
    uri: str | None = None
    locale: str | None = None
    country: str | None = None
    category: OfferCategory | None = None
    prerequisite_offers: StrList = []
    is_add_on: bool | None = None
    has_add_ons: bool | None = None
    is_available_for_purchase: bool | None = None
    billing: EnumStr = None
    supported_billing_cycles: StrList = []
    is_auto_renewable: bool | None = None
    upgrade_target_offers: StrList = []
    conversion_target_offers: StrList = []
    is_trial: bool | None = None
    sales_group_id: str | None = None
    limit: int | None = None
    limit_unit_of_measure: EnumStr = None
    product: OfferProduct | None = None
    unit_type: str | None = None
    links: Links | None = None
    attributes: ResourceAttributes | None = None


class CustomerUser(PCModel):
    id: str
    user_principal_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    usage_location: str | None = None
    user_domain_type: EnumStr = None
    state: EnumStr = None
    soft_deletion_time: LenientDatetime = None
    last_directory_sync_time: LenientDatetime = None
    links: Links | None = None
    attributes: ResourceAttributes | None = None


class ServicePlan(PCModel):
    id: str | None = None
    display_name: str | None = None
    service_name: str | None = None
    capability_status: EnumStr = None
    target_type: EnumStr = None


class ProductSku(PCModel):
    """A licensable product; ``id`` is the skuId used by ``licenseupdates``."""

    id: str | None = None
    name: str | None = None
    sku_part_number: str | None = None
    target_type: EnumStr = None
    license_group_id: EnumStr = None


class License(PCModel):
    """A licence held by a user."""

    product_sku: ProductSku | None = None
    service_plans: Annotated[list[ServicePlan], BeforeValidator(_none_as_empty)] = []
    attributes: ResourceAttributes | None = None

    @property
    def sku_id(self) -> str | None:
        """Return the skuId of this licence."""
        return self.product_sku.id if self.product_sku else None


class SubscribedSku(PCModel):
    """Seat counts of one skuId across every subscription of the tenant."""

    available_units: int | None = None
    active_units: int | None = None
    consumed_units: int | None = None
    suspended_units: int | None = None
    total_units: int | None = None
    warning_units: int | None = None
    product_sku: ProductSku | None = None
    service_plans: Annotated[list[ServicePlan], BeforeValidator(_none_as_empty)] = []
    capability_status: EnumStr = None
    attributes: ResourceAttributes | None = None

    @property
    def sku_id(self) -> str | None:
        """Return the skuId these counts are for."""
        return self.product_sku.id if self.product_sku else None


class LicenseAssignment(PCModel):
    sku_id: str | None = None
    excluded_plans: list[str] | None = None


class LicenseWarning(PCModel):
    code: Code = None
    message: str | None = None
    service_plans: AnyList = []


class LicenseUpdate(PCModel):
    """The answer to ``licenseupdates``; warnings list plans that were not applied."""

    licenses_to_assign: Annotated[
        list[LicenseAssignment], BeforeValidator(_none_as_empty)
    ] = []
    licenses_to_remove: StrList = []
    license_warnings: Annotated[
        list[LicenseWarning], BeforeValidator(_none_as_empty)
    ] = []
    attributes: ResourceAttributes | None = None


class RelationshipRequest(PCModel):
    """The reseller invitation link to send to a prospective customer."""

    url: str | None = None
    attributes: ResourceAttributes | None = None
