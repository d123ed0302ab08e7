"""Users, their licences, licence updates and subscribed SKUs (§8)."""

from __future__ import annotations

from typing import Any

from sandbox import render, rules
from sandbox.api.common import (
    USER_PAGE_CAP,
    Route,
    customer_or_404,
    json_object,
    seek_page,
    user_or_404,
)
from sandbox.state import SandboxState
from sandbox.web import ApiError, Request, Response

#: GDAP roles that let a partner read a customer's users and their licences.
READ_ROLES = frozenset(
    {
        "Directory Readers",
        "Global Reader",
        "License Administrator",
        "User Administrator",
        "Directory Writers",
    }
)
#: GDAP roles that let a partner change users' licences.
WRITE_ROLES = frozenset(
    {"License Administrator", "User Administrator", "Directory Writers"}
)
# Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-available-licenses
#: GDAP roles that let a partner read the subscribed SKUs (seat counts).
SKU_READ_ROLES = frozenset(
    {
        "Directory Readers",
        "Global Reader",
        "User Administrator",
        "License Administrator",
    }
)


def _refusal(style: str, customer: dict[str, Any], roles: list[str]) -> ApiError:
    """Return the 403 one refusal style answers (see settings.GDAP_REFUSAL_STYLES)."""
    if style == "no_relationship":
        return ApiError(403, 20002, "No relationship between caller and account")
    if style == "no_code":
        # Reference: https://github.com/microsoft/Partner-Center-PowerShell/issues/141
        return ApiError(
            403,
            None,
            "The supplied role does not have the rights to perform the requested "
            "operation",
        )
    return ApiError(
        403,
        2032,
        "Access denied",
        [
            f"GranularAdminAccessException : the partner's GDAP relationship with "
            f"customer {customer['id']} grants {sorted(roles) or 'no roles'}."
        ],
    )


def gdap_allows(
    state: SandboxState, cid: str, needed: frozenset[str], operation: str
) -> None:
    """Raise a 403 unless the customer's GDAP roles include one of ``needed``.

    A customer without ``gdapRoles`` grants every role. The refusal's style is
    the customer's ``gdapRefusal`` (a style, or a map of operation to style),
    else setting ``gdap_refusal``.
    """
    customer = customer_or_404(state, cid)
    roles = customer.get("gdapRoles")
    if roles is None or set(roles) & needed:
        return
    chosen = customer.get("gdapRefusal")
    if isinstance(chosen, dict):
        chosen = chosen.get(operation)
    style = str(chosen or state.settings.get("gdap_refusal") or "no_code")
    raise _refusal(style, customer, list(roles))


def list_users(state: SandboxState, request: Request, cid: str) -> Response:
    """GET /customers/{cid}/users?size=N with seek paging (cap 100)."""
    customer = customer_or_404(state, cid)
    gdap_allows(state, cid, READ_ROLES, "users")
    users = state.users.get(cid.lower(), {})
    body = seek_page(
        state,
        request,
        list(users),
        scope=f"users:{cid.lower()}",
        cap=USER_PAGE_CAP,
        base_uri=f"/v1/customers/{customer['id']}/users",
        render_one=lambda k: render.user(users[k]),
    )
    return Response(200, body)


def get_user(state: SandboxState, request: Request, cid: str, uid: str) -> Response:
    """GET /customers/{cid}/users/{uid}."""
    gdap_allows(state, cid, READ_ROLES, "users")
    return Response(200, render.user(user_or_404(state, cid, uid)))


def user_licenses(
    state: SandboxState, request: Request, cid: str, uid: str
) -> Response:
    """GET …/users/{uid}/licenses[?licenseGroupIds=Group1]."""
    gdap_allows(state, cid, READ_ROLES, "licenses")
    user = user_or_404(state, cid, uid)
    groups = (request.query.get("licensegroupids") or "group1").lower()
    skus = user["licenses"] if "group1" in groups else []
    return Response(200, render.collection([render.license_(s) for s in skus]))


def _no_free_seat(cid: str, sku: str) -> ApiError:
    """Return the documented 400/60012 'run out of licenses' error."""
    return ApiError(
        400,
        60012,
        "We're sorry, it looks like you've run out of licenses. Buy more "
        "licenses, and then try again.",
        [
            f"LicenseQuotaExceededException : Subscription with Account "
            f"{cid} and SKU {sku} does not have any available licenses left."
        ],
    )


def license_updates(
    state: SandboxState, request: Request, cid: str, uid: str
) -> Response:
    """POST …/users/{uid}/licenseupdates: assign and remove in one call."""
    gdap_allows(state, cid, WRITE_ROLES, "licenseupdates")
    user = user_or_404(state, cid, uid)
    body = json_object(request, "LicenseUpdate")
    assign = rules.license_list(body.get("licensestoassign"), "licensesToAssign")
    remove = rules.license_list(body.get("licensestoremove"), "licensesToRemove")
    if not assign and not remove:
        raise ApiError(
            400,
            800002,
            "Invalid request input: licensesToAssign or licensesToRemove is required.",
        )
    held = {s.lower() for s in user["licenses"]}
    for sku in remove:
        if sku.lower() not in held:
            raise ApiError(
                400,
                60000,
                f"The customer license migration failed: user {user['id']} does "
                f"not have a license for SKU {sku} to remove.",
                [
                    "LicenseNotAssignedException : User does not have a "
                    "corresponding license."
                ],
            )
    new = [sku for sku in assign if sku.lower() not in held]
    if new and not user.get("usageLocation"):
        raise ApiError(
            400,
            60000,
            f"License assignment cannot be done for user {user['id']} with an "
            "invalid usage location. Set the user's usageLocation, then try again.",
            [
                "InvalidUsageLocationException : License assignment failed because "
                "the user has no usage location."
            ],
        )
    units = state.sku_units(cid)
    for sku in new:
        row = units.get(sku.lower(), {"active": 0, "consumed": 0})
        if row["active"] - row["consumed"] < 1:
            raise _no_free_seat(cid, sku)
    removing = {s.lower() for s in remove}
    user["licenses"] = [s for s in user["licenses"] if s.lower() not in removing]
    for sku in new:
        user["licenses"].append(render.known_sku_id(sku))
    result: dict[str, Any] = {
        "licensesToAssign": [{"skuId": sku, "excludedPlans": None} for sku in assign],
        "licensesToRemove": remove,
        "licenseWarnings": [],
        "attributes": {"objectType": "LicenseUpdate"},
    }
    return Response(201, result)


def subscribed_skus(state: SandboxState, request: Request, cid: str) -> Response:
    """GET /customers/{cid}/subscribedskus: units per skuId (GDAP directory role)."""
    gdap_allows(state, cid, SKU_READ_ROLES, "subscribedskus")
    groups = (request.query.get("licensegroupids") or "group1").lower()
    units = state.sku_units(cid) if "group1" in groups else {}
    items = [render.subscribed_sku(sku, row) for sku, row in units.items()]
    return Response(200, render.collection(items))


ROUTES: list[Route] = [
    ("/customers/{cid}/users", {"GET": list_users}),
    ("/customers/{cid}/users/{uid}", {"GET": get_user}),
    ("/customers/{cid}/users/{uid}/licenses", {"GET": user_licenses}),
    ("/customers/{cid}/users/{uid}/licenseupdates", {"POST": license_updates}),
    ("/customers/{cid}/subscribedskus", {"GET": subscribed_skus}),
]
