"""Customers, their users, licences, subscribed SKUs and reseller invitations."""

from __future__ import annotations

from typing import Annotated, Any

from partner_center.models.base import (
    AnyList,
    Code,
    EnumStr,
    Guid,
    GuidList,
    LenientDatetime,
    Links,
    NoneAsEmpty,
    OptGuid,
    PCModel,
    ResourceAttributes,
    StrList,
)

__all__ = [
    "Agreement",
    "AgreementContact",
    "CompanyProfile",
    "Customer",
    "CustomerUser",
    "License",
    "LicenseAssignment",
    "LicenseUpdate",
    "LicenseWarning",
    "ProductSku",
    "RelationshipRequest",
    "ServicePlan",
    "SubscribedSku",
]


class CompanyProfile(PCModel):
    tenant_id: OptGuid = None
    domain: str | None = None
    company_name: str | None = None
    email: str | None = None
    address: dict[str, Any] | None = None
    links: Links | None = None
    attributes: ResourceAttributes | None = None


class Customer(PCModel):
    """A customer tenant; ``id`` is the customer's tenant ID (lower case)."""

    id: Guid
    commerce_id: OptGuid = None
    company_profile: CompanyProfile | None = None
    billing_profile: dict[str, Any] | None = None
    relationship_to_partner: EnumStr = None
    allow_delegated_access: bool | None = None
    associated_partner_id: OptGuid = None
    custom_domains: StrList = []
    links: Links | None = None
    attributes: ResourceAttributes | None = None


class CustomerUser(PCModel):
    id: Guid
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
    id: OptGuid = None
    display_name: str | None = None
    service_name: str | None = None
    capability_status: EnumStr = None
    target_type: EnumStr = None


class ProductSku(PCModel):
    """A licensable product; ``id`` is the Entra skuId used by ``licenseupdates``."""

    id: OptGuid = None
    name: str | None = None
    sku_part_number: str | None = None
    target_type: EnumStr = None
    license_group_id: EnumStr = None


class License(PCModel):
    """A licence held by a user."""

    product_sku: ProductSku | None = None
    service_plans: Annotated[list[ServicePlan], NoneAsEmpty] = []
    attributes: ResourceAttributes | None = None

    @property
    def sku_id(self) -> str | None:
        """Return the skuId of this licence."""
        return self.product_sku.id if self.product_sku else None


class SubscribedSku(PCModel):
    """Seat counts of one skuId across every subscription of the tenant.

    Licences bought through another partner or channel count here too, which is
    the only place they show.
    """

    available_units: int | None = None
    active_units: int | None = None
    consumed_units: int | None = None
    suspended_units: int | None = None
    total_units: int | None = None
    warning_units: int | None = None
    product_sku: ProductSku | None = None
    service_plans: Annotated[list[ServicePlan], NoneAsEmpty] = []
    capability_status: EnumStr = None
    attributes: ResourceAttributes | None = None

    @property
    def sku_id(self) -> str | None:
        """Return the skuId these counts are for."""
        return self.product_sku.id if self.product_sku else None


class LicenseAssignment(PCModel):
    sku_id: OptGuid = None
    excluded_plans: GuidList | None = None


class LicenseWarning(PCModel):
    code: Code = None
    message: str | None = None
    service_plans: AnyList = []


class LicenseUpdate(PCModel):
    """The answer to ``licenseupdates``; warnings list plans that were not applied."""

    licenses_to_assign: Annotated[list[LicenseAssignment], NoneAsEmpty] = []
    licenses_to_remove: GuidList = []
    license_warnings: Annotated[list[LicenseWarning], NoneAsEmpty] = []
    attributes: ResourceAttributes | None = None


class RelationshipRequest(PCModel):
    """The reseller invitation link to send to a prospective customer."""

    url: str | None = None
    attributes: ResourceAttributes | None = None


class AgreementContact(PCModel):
    """The customer's user who accepted an agreement."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone_number: str | None = None


class Agreement(PCModel):
    """A recorded confirmation that the customer accepted an agreement.

    ``type`` is kept as sent (``MicrosoftCustomerAgreement``,
    ``MicrosoftCloudAgreement`` or a type introduced later).
    """

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/agreement-resources
    type: str | None = None
    template_id: str | None = None
    date_agreed: LenientDatetime = None
    agreement_link: str | None = None
    user_id: str | None = None
    primary_contact: AgreementContact | None = None
    attributes: ResourceAttributes | None = None

    @property
    def is_customer_agreement(self) -> bool:
        """Return True if this is a Microsoft Customer Agreement."""
        return (self.type or "").strip().lower() == "microsoftcustomeragreement"
