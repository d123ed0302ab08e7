"""Users, their licences and the tenant's subscribed SKUs (all app+user only)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

from partner_center.classify import (
    LICENCE_CHANGE_ROLES,
    SUBSCRIBED_SKU_ROLES,
    USER_READ_ROLES,
)
from partner_center.endpoints.base import Endpoints
from partner_center.models import (
    CustomerUser,
    License,
    LicenseUpdate,
    SubscribedSku,
    normalise_id,
)
from partner_center.records import Operation
from partner_center.wire import seg

__all__ = ["UserEndpoints"]


class UserEndpoints(Endpoints):
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-all-user-accounts-for-a-customer
    def iter_users(
        self,
        customer_id: str,
        size: int = 100,
        *,
        correlation_id: str | None = None,
    ) -> Iterator[CustomerUser]:
        """Return an iterator over the customer's users, following seek pages.

        App+user only; raise AuthError if no app+user token provider is configured.
        """
        return self._iter_pages(
            f"/customers/{seg(customer_id)}/users",
            [("size", str(size))],
            CustomerUser,
            correlation_id=correlation_id,
            user=True,
            roles=USER_READ_ROLES,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-user-account-by-id
    def get_user(
        self, customer_id: str, user_id: str, *, correlation_id: str | None = None
    ) -> CustomerUser:
        """Return one user of the customer (app+user only)."""
        return self._get(
            f"/customers/{seg(customer_id)}/users/{seg(user_id)}",
            CustomerUser,
            correlation_id=correlation_id,
            user=True,
            roles=USER_READ_ROLES,
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/check-which-licenses-are-assigned-to-a-user
    def get_user_licenses(
        self, customer_id: str, user_id: str, *, correlation_id: str | None = None
    ) -> list[License]:
        """Return the licences the user holds (app+user only)."""
        path = f"/customers/{seg(customer_id)}/users/{seg(user_id)}/licenses"
        return list(
            self._iter_pages(
                path,
                [],
                License,
                correlation_id=correlation_id,
                user=True,
                roles=USER_READ_ROLES,
            )
        )

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/assign-licenses-to-a-user
    def update_user_licenses(
        self,
        customer_id: str,
        user_id: str,
        assign: Sequence[str],
        remove: Sequence[str],
        request_id: str | uuid.UUID,
        *,
        correlation_id: str | None = None,
    ) -> LicenseUpdate:
        """Return the result of assigning and removing skuIds in one call (201).

        Raise PermanentError with code 60012 if the new SKU has no free seats.
        """
        request_id = self._require_request_id(request_id)
        path = f"/customers/{seg(customer_id)}/users/{seg(user_id)}/licenseupdates"
        body = {
            "licensesToAssign": [{"skuId": normalise_id(sku)} for sku in assign],
            "licensesToRemove": [normalise_id(sku) for sku in remove],
            "attributes": {"objectType": "LicenseUpdate"},
        }
        answer = self._call(
            "POST",
            path,
            body=body,
            request_id=request_id,
            correlation_id=correlation_id,
            user=True,
            operation=Operation.LICENCE_UPDATE,
            roles=LICENCE_CHANGE_ROLES,
        )
        return self._finish_write(answer, LicenseUpdate, None)

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-available-licenses
    def list_subscribed_skus(
        self, customer_id: str, *, correlation_id: str | None = None
    ) -> list[SubscribedSku]:
        """Return seat counts per skuId for the customer (app+user only).

        Needs a GDAP directory role: raise GdapAccessDenied naming them if the
        relationship grants none.
        """
        return list(
            self._iter_pages(
                f"/customers/{seg(customer_id)}/subscribedskus",
                [],
                SubscribedSku,
                correlation_id=correlation_id,
                user=True,
                roles=SUBSCRIBED_SKU_ROLES,
            )
        )
