"""Render internal sandbox records as Partner Center JSON resources (camelCase)."""

from __future__ import annotations

from typing import Any

from sandbox import catalog, products

_SUBSCRIPTION_FIELDS = (
    "id",
    "offerId",
    "offerName",
    "friendlyName",
    "quantity",
    "unitType",
    "parentSubscriptionId",
    "creationDate",
    "effectiveStartDate",
    "commitmentEndDate",
    "status",
    "autoRenewEnabled",
    "isTrial",
    "hasPurchasableAddons",
    "billingType",
    "billingCycle",
    "termDuration",
    "contractType",
    "partnerId",
    "orderId",
    "suspensionReasons",
)


def link(uri: str, headers: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Return a Link object ``{uri, method: GET, headers}``."""
    return {"uri": uri, "method": "GET", "headers": headers or []}


def collection(
    items: list[dict[str, Any]],
    *,
    self_uri: str | None = None,
    total: int | None = None,
    extra: dict[str, Any] | None = None,
    links: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a ``Collection`` envelope around items."""
    body: dict[str, Any] = {
        "totalCount": len(items) if total is None else total,
        "items": items,
    }
    if extra:
        body.update(extra)
    all_links: dict[str, Any] = {}
    if self_uri is not None:
        all_links["self"] = link(self_uri)
    if links:
        all_links.update(links)
    if all_links:
        body["links"] = all_links
    body["attributes"] = {"objectType": "Collection"}
    return body


def customer(record: dict[str, Any], *, by_id: bool = False) -> dict[str, Any]:
    """Return the ``Customer`` resource; ``by_id`` adds allowDelegatedAccess."""
    cid = record["id"]
    body: dict[str, Any] = {
        "id": cid,
        "commerceId": record["commerceId"],
        "companyProfile": {
            "tenantId": cid,
            "domain": record["domain"],
            "companyName": record["companyName"],
            "address": {"country": record["country"]},
            "email": record["billingEmail"],
            "links": {"self": link(f"/v1/customers/{cid}/profiles/company")},
            "attributes": {"objectType": "CustomerCompanyProfile"},
        },
        "billingProfile": {
            "id": record["commerceId"],
            "firstName": record["billingFirstName"],
            "lastName": record["billingLastName"],
            "email": record["billingEmail"],
            "culture": record["culture"],
            "language": record["culture"].split("-")[0],
            "companyName": record["companyName"],
            "defaultAddress": {"country": record["country"]},
            "links": {"self": link(f"/v1/customers/{cid}/profiles/billing")},
            "attributes": {"objectType": "CustomerBillingProfile"},
        },
        "relationshipToPartner": record["relationshipToPartner"],
        "links": {"self": link(f"/v1/customers/{cid}")},
        "attributes": {"objectType": "Customer"},
    }
    if by_id:
        body["allowDelegatedAccess"] = True
    return body


def subscription(record: dict[str, Any]) -> dict[str, Any]:
    """Return the ``Subscription`` resource for an internal subscription record."""
    body = {k: record[k] for k in _SUBSCRIPTION_FIELDS if k in record}
    cid, sid = record["customerId"], record["id"]
    links = catalog_links(record["offerId"])
    links["self"] = link(f"/customers/{cid}/subscriptions/{sid}")
    parent = record.get("parentSubscriptionId")
    if parent:
        links["parentSubscription"] = link(f"/customers/{cid}/subscriptions/{parent}")
    body["links"] = links
    body["attributes"] = {"etag": record["etag"], "objectType": "Subscription"}
    # Any extra raw field merged through /_sandbox (e.g. an unknown status) shows.
    for key, value in record.items():
        if key not in body and key not in _INTERNAL_SUBSCRIPTION_KEYS:
            body[key] = value
    return body


_INTERNAL_SUBSCRIPTION_KEYS = frozenset(
    {
        "customerId",
        "skuId",
        "etag",
        "version",
        "refundBatches",
        "billing",
        "transitionStragglers",
    }
)


def catalog_links(offer_id: str) -> dict[str, Any]:
    """Return ``offer`` (legacy) or ``product``/``sku``/``availability`` links."""
    parts = offer_id.split(":")
    if len(parts) != 3:
        return {"offer": link(f"/offers/{offer_id}?country=US")}
    product, sku, availability = parts
    base = f"/products/{product}"
    return {
        "product": link(f"{base}?country=US"),
        "sku": link(f"{base}/skus/{sku}?country=US"),
        "availability": link(
            f"{base}/skus/{sku}/availabilities/{availability}?country=US"
        ),
    }


def _licence(sku_id: str) -> dict[str, Any] | None:
    """Return name, skuPartNumber and servicePlans of an Entra skuId, or None."""
    offer = catalog.offer_by_sku(sku_id)
    if offer is not None:
        return offer
    modern = products.by_entra(sku_id)
    if modern is None:
        return None
    return {
        "name": modern.title,
        "skuPartNumber": modern.part_number,
        "servicePlans": list(modern.service_plans),
    }


def known_sku_id(sku_id: str) -> str:
    """Return the catalogue's spelling of a skuId (lower case when unknown)."""
    offer = catalog.offer_by_sku(sku_id)
    if offer is not None:
        return str(offer["skuId"])
    modern = products.by_entra(sku_id)
    return modern.entra_sku_id if modern is not None else sku_id.strip().lower()


def provisioning_status(record: dict[str, Any]) -> dict[str, Any]:
    """Return the ``SubscriptionProvisioningStatus`` resource."""
    return {
        "skuId": record["skuId"],
        "status": "success",
        "quantity": record["quantity"],
        "endDate": record["commitmentEndDate"],
        "attributes": {"objectType": "SubscriptionProvisioningStatus"},
    }


def user(record: dict[str, Any]) -> dict[str, Any]:
    """Return the ``CustomerUser`` resource (licences are not part of it)."""
    cid, uid = record["customerId"], record["id"]
    return {
        "id": uid,
        "userPrincipalName": record["userPrincipalName"],
        "firstName": record["firstName"],
        "lastName": record["lastName"],
        "displayName": record["displayName"],
        "usageLocation": record.get("usageLocation"),
        "userDomainType": record.get("userDomainType", "none"),
        "state": record.get("state", "active"),
        "links": {"self": link(f"/customers/{cid}/users/{uid}")},
        "attributes": {"objectType": "CustomerUser"},
    }


def _product_sku(offer: dict[str, Any] | None, sku_id: str) -> dict[str, Any]:
    """Return the ``productSku`` object for a skuId."""
    return {
        "id": sku_id,
        "name": offer["name"] if offer else sku_id,
        "skuPartNumber": offer["skuPartNumber"] if offer else "UNKNOWN",
        "targetType": "User",
        "licenseGroupId": "group1",
    }


def _service_plans(offer: dict[str, Any] | None, status: str) -> list[dict[str, Any]]:
    """Return the service plans of an offer with a capability status."""
    if offer is None:
        return []
    return [
        {
            "displayName": plan["displayName"],
            "serviceName": plan["serviceName"],
            "id": plan["id"],
            "capabilityStatus": status,
            "targetType": plan["targetType"],
        }
        for plan in offer["servicePlans"]
    ]


def license_(sku_id: str) -> dict[str, Any]:
    """Return a user's ``License`` resource for one skuId."""
    offer = _licence(sku_id)
    sku = _product_sku(offer, sku_id)
    sku.pop("targetType")
    return {
        "servicePlans": _service_plans(offer, "Assigned"),
        "productSku": sku,
        "attributes": {"objectType": "License"},
    }


def subscribed_sku(sku_id: str, units: dict[str, int]) -> dict[str, Any]:
    """Return a ``SubscribedSku`` resource from computed units."""
    offer = _licence(sku_id)
    active, suspended, consumed = (
        units["active"],
        units["suspended"],
        units["consumed"],
    )
    warning = 0
    total = active + warning
    if active > 0:
        status = "Enabled"
    elif suspended > 0:
        status = "Suspended"
    else:
        status = "Deleted"
    return {
        "availableUnits": max(0, total - consumed),
        "activeUnits": active,
        "consumedUnits": consumed,
        "suspendedUnits": suspended,
        "totalUnits": total,
        "warningUnits": warning,
        "productSku": _product_sku(offer, sku_id),
        "servicePlans": _service_plans(offer, "Enabled"),
        "capabilityStatus": status,
        "attributes": {"objectType": "SubscribedSku"},
    }


def order(record: dict[str, Any]) -> dict[str, Any]:
    """Return the ``Order`` resource for an internal order record."""
    cid, oid = record["customerId"], record["id"]
    items = []
    for item in record["lineItems"]:
        line: dict[str, Any] = {
            "lineItemNumber": item["lineItemNumber"],
            "offerId": item["offerId"],
            "friendlyName": item.get("friendlyName"),
            "quantity": item["quantity"],
        }
        for key in ("termDuration", "billingCycle", "partnerIdOnRecord"):
            if item.get(key):
                line[key] = item[key]
        line["transactionType"] = item.get("transactionType", "new")
        line["links"] = {
            k: v for k, v in catalog_links(item["offerId"]).items() if k != "offer"
        }
        sub_id = item.get("subscriptionId")
        if sub_id:
            line["subscriptionId"] = sub_id
            line["links"]["subscription"] = link(
                f"/customers/{cid}/subscriptions/{sub_id}"
            )
        items.append(line)
    return {
        "id": oid,
        "referenceCustomerId": record["referenceCustomerId"],
        "billingCycle": record["billingCycle"],
        "currencyCode": record.get("currencyCode", "USD"),
        "currencySymbol": "$",
        "lineItems": items,
        "creationDate": record["creationDate"],
        "status": record["status"],
        "transactionType": "UserPurchase",
        "links": {
            "provisioningStatus": link(
                f"/customers/{cid}/orders/{oid}/provisioningstatus"
            ),
            "self": link(f"/customers/{cid}/orders/{oid}"),
        },
        "attributes": {"objectType": "Order"},
    }


def order_provisioning(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the per-line-item provisioning status items of an order."""
    rows = []
    for item in record["lineItems"]:
        done = bool(item.get("subscriptionId"))
        rows.append(
            {
                "lineItemNumber": item["lineItemNumber"],
                "status": "fulfilled" if done else "unfulfilled",
                "quantityProvisioningInformation": [
                    {
                        "quantity": item["quantity"],
                        "status": "fulfilled" if done else "prefulfillmentPending",
                    }
                ],
                "attributes": {"objectType": "OrderLineItemProvisioningStatus"},
            }
        )
    return rows
