"""The SKU mapping catalogue: everyone reads it, admins edit it."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_http_methods

from hub.models import Offer, SkuMapping
from hub.roles import ADMIN, VIEWER, role_required
from hub.services.audit import client_ip
from hub.services.catalog import (
    MappingInvalid,
    catalogue_index,
    sku_mapping_update,
)

# Empty target slots shown under the current targets, to add new ones.
EXTRA_TARGET_SLOTS = 2
MAX_TARGET_SLOTS = 20
# The largest primary key the databases store (a signed 64-bit integer).
MAX_ID = 2**63 - 1


@require_GET
@role_required(VIEWER)
def sku_mapping_list(request: HttpRequest) -> HttpResponse:
    """List each retired SKU, the offer it is bound to and its ordered targets."""
    index = catalogue_index(all_offers=True)
    rows = []
    for mapping in index.mappings:
        retired = index.offer(mapping.retired_offer_id, mapping.retired_name)
        targets = [
            (target, index.offer(target.target_offer_id, target.target_name))
            for target in mapping.targets.all()
        ]
        rows.append({"mapping": mapping, "retired": retired, "targets": targets})
    return render(
        request,
        "catalog/list.html",
        {"rows": rows, "offer_count": len(index.offers_by_id)},
    )


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def sku_mapping_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a mapping's retired offer and ordered target offers (admins)."""
    if pk > MAX_ID:
        raise Http404("No such mapping.")
    mapping = get_object_or_404(SkuMapping.objects.prefetch_related("targets"), pk=pk)
    offers = list(Offer.objects.order_by("name", "offer_id"))
    errors: list[str] = []
    if request.method == "POST":
        retired_offer_id = request.POST.get("retired_offer_id", "")[:128]
        targets = [
            request.POST.get(f"target_{n}", "")[:128] for n in range(MAX_TARGET_SLOTS)
        ]
        try:
            sku_mapping_update(
                mapping=mapping,
                retired_offer_id=retired_offer_id,
                target_offer_ids=targets,
                actor=request.user,
                ip_address=client_ip(request),
            )
        except MappingInvalid as exc:
            errors = exc.errors
        else:
            messages.success(request, f"Saved the mapping of {mapping.retired_name}.")
            return redirect("sku_mapping_list")
        selected_targets = [t for t in targets if t]
    else:
        retired_offer_id = mapping.retired_offer_id
        selected_targets = [
            t.target_offer_id for t in mapping.targets.all() if t.target_offer_id
        ]
    slots = selected_targets + [""] * EXTRA_TARGET_SLOTS
    return render(
        request,
        "catalog/edit.html",
        {
            "mapping": mapping,
            "offers": offers,
            "retired_offer_id": retired_offer_id,
            "slots": list(enumerate(slots[:MAX_TARGET_SLOTS])),
            "unbound_targets": [
                t.target_name for t in mapping.targets.all() if not t.target_offer_id
            ],
            "errors": errors,
        },
    )


urlpatterns: list[URLPattern] = [
    path("sku-mappings/", sku_mapping_list, name="sku_mapping_list"),
    path("sku-mappings/<int:pk>/edit/", sku_mapping_edit, name="sku_mapping_edit"),
]
