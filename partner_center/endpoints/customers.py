"""Customers and reseller invitations."""

from __future__ import annotations

from collections.abc import Iterator

from partner_center.endpoints.base import Endpoints
from partner_center.models import Agreement, Customer, RelationshipRequest
from partner_center.records import Operation
from partner_center.wire import seg

__all__ = ["CustomerEndpoints"]


class CustomerEndpoints(Endpoints):
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-customers
    def iter_customers(
        self, size: int = 500, *, correlation_id: str | None = None
    ) -> Iterator[Customer]:
        """Return an iterator over every customer, following seek pages.

        Raise Throttled, TransientError, AuthError, PermanentError or
        MalformedResponse if a page cannot be read.
        """
        return self._iter_pages(
            "/customers",
            [("size", str(size))],
            Customer,
            correlation_id=correlation_id,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-customer-by-id
    def get_customer(
        self, tenant_id: str, *, correlation_id: str | None = None
    ) -> Customer:
        """Return the customer with this tenant ID.

        Raise NotFound if the tenant is not (yet) a customer of this partner.
        """
        return self._get(
            f"/customers/{seg(tenant_id)}", Customer, correlation_id=correlation_id
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-confirmation-of-customer-agreement
    # Reference: https://learn.microsoft.com/en-us/rest/api/partner-center/manage-customer-accounts/get-agreements
    def list_customer_agreements(
        self,
        tenant_id: str,
        agreement_type: str = "MicrosoftCustomerAgreement",
        *,
        correlation_id: str | None = None,
    ) -> list[Agreement]:
        """Return the agreement confirmations recorded for the customer.

        App+user only. ``agreement_type`` is always sent: without it Partner
        Center answers only Microsoft Cloud Agreement confirmations. An empty
        list means none is recorded. Raise AuthError without app+user tokens.
        """
        return list(
            self._iter_pages(
                f"/customers/{seg(tenant_id)}/agreements",
                [("agreementType", agreement_type)],
                Agreement,
                correlation_id=correlation_id,
                user=True,
            )
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/request-reseller-relationship
    def get_relationship_request(
        self, *, correlation_id: str | None = None
    ) -> RelationshipRequest:
        """Return the reseller invitation (``url``) to send to a new customer.

        Raise AuthError if no app+user token provider is configured.
        """
        return self._get(
            "/customers/relationshiprequests",
            RelationshipRequest,
            correlation_id=correlation_id,
            user=True,
            operation=Operation.RELATIONSHIP_REQUEST,
        )
