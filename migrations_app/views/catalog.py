"""The SKU mapping catalogue: everyone reads it, admins create, edit and delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_http_methods

import migrations_app.converters  # noqa: F401  (registers the `bigint` path converter)
from migrations_app.models import SkuMapping
from migrations_app.roles import ADMIN, VIEWER, role_required
from migrations_app.selectors.catalog import sku_mapping_rows, sku_mapping_suggestions
from migrations_app.services.audit import client_ip
from migrations_app.services.catalog import (
    MappingInvalid,
    catalogue_index,
    sku_mapping_create,
    sku_mapping_delete,
    sku_mapping_update,
)

# Empty target slots shown under the current targets, to add new ones.
EXTRA_TARGET_SLOTS = 2
MAX_TARGET_SLOTS = 20
# The largest primary key the databases store (a signed 64-bit integer).


@require_GET
@role_required(VIEWER)
def sku_mapping_list(request: HttpRequest) -> HttpResponse:
    """List each retired SKU, what it is bound to, its alternatives and suggestions."""
    index = catalogue_index(all_offers=True)
    return render(
        request,
        "catalog/list.html",
        {
            "rows": sku_mapping_rows(index=index),
            "suggestions": sku_mapping_suggestions(index=index),
            "offer_count": len(index.offers_by_id) + len(index.skus_by_key),
        },
    )


def _posted_targets(request: HttpRequest) -> tuple[list[str], list[int | None]]:
    """Return the posted target ids and their alternative numbers, slot by slot."""
    targets = [
        request.POST.get(f"target_{n}", "")[:128] for n in range(MAX_TARGET_SLOTS)
    ]
    alternatives: list[int | None] = []
    for n in range(MAX_TARGET_SLOTS):
        raw = request.POST.get(f"alternative_{n}", "").strip()[:4]
        alternatives.append(int(raw) if raw.isascii() and raw.isdigit() else None)
    return targets, alternatives


def _slots(
    targets: list[str], alternatives: list[int | None]
) -> list[tuple[int, str, int | None]]:
    """Return (number, selected id, alternative number) for the form's slots."""
    pairs = [(t, a) for t, a in zip(targets, alternatives, strict=False) if t]
    pairs += [("", None)] * EXTRA_TARGET_SLOTS
    return [(n, t, a) for n, (t, a) in enumerate(pairs[:MAX_TARGET_SLOTS])]


def _form(
    request: HttpRequest,
    *,
    mapping: SkuMapping | None,
    retired_offer_id: str,
    product_line: str,
    retired_name: str,
    targets: list[str],
    alternatives: list[int | None],
    errors: list[str],
) -> HttpResponse:
    index = catalogue_index(all_offers=True)
    unbound = []
    if mapping is not None:
        unbound = [
            t.target_name for t in mapping.targets.all() if not t.target_offer_id
        ]
    return render(
        request,
        "catalog/edit.html",
        {
            "mapping": mapping,
            "items": index.items(),
            "retired_offer_id": retired_offer_id,
            "product_line": product_line,
            "retired_name": retired_name,
            "slots": _slots(targets, alternatives),
            "unbound_targets": unbound,
            "errors": errors,
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def sku_mapping_new(request: HttpRequest) -> HttpResponse:
    """Create a mapping (admins); `?retired=&target=` pre-fill it from a suggestion."""
    errors: list[str] = []
    if request.method == "POST":
        retired_offer_id = request.POST.get("retired_offer_id", "")[:128]
        product_line = request.POST.get("product_line", "")[:64]
        retired_name = request.POST.get("retired_name", "")[:255]
        targets, alternatives = _posted_targets(request)
        try:
            mapping = sku_mapping_create(
                product_line=product_line,
                retired_name=retired_name,
                retired_offer_id=retired_offer_id,
                target_offer_ids=targets,
                alternatives=alternatives,
                actor=request.user,
                ip_address=client_ip(request),
            )
        except MappingInvalid as exc:
            errors = exc.errors
        else:
            messages.success(request, f"Created the mapping of {mapping.retired_name}.")
            return redirect("sku_mapping_list")
    else:
        retired_offer_id = request.GET.get("retired", "")[:128]
        product_line = request.GET.get("product_line", "")[:64]
        retired_name = ""
        targets = [t[:128] for t in request.GET.getlist("target")[:MAX_TARGET_SLOTS]]
        alternatives = [None] * len(targets)
    return _form(
        request,
        mapping=None,
        retired_offer_id=retired_offer_id,
        product_line=product_line,
        retired_name=retired_name,
        targets=targets,
        alternatives=alternatives,
        errors=errors,
    )


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def sku_mapping_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a mapping's retired SKU and its targets in alternatives (admins)."""
    mapping = get_object_or_404(SkuMapping.objects.prefetch_related("targets"), pk=pk)
    errors: list[str] = []
    if request.method == "POST":
        retired_offer_id = request.POST.get("retired_offer_id", "")[:128]
        product_line = request.POST.get("product_line", mapping.product_line)[:64]
        targets, alternatives = _posted_targets(request)
        try:
            sku_mapping_update(
                mapping=mapping,
                retired_offer_id=retired_offer_id,
                target_offer_ids=targets,
                alternatives=alternatives,
                product_line=product_line,
                actor=request.user,
                ip_address=client_ip(request),
            )
        except MappingInvalid as exc:
            errors = exc.errors
        else:
            messages.success(request, f"Saved the mapping of {mapping.retired_name}.")
            return redirect("sku_mapping_list")
    else:
        retired_offer_id = mapping.retired_offer_id
        product_line = mapping.product_line
        bound = [t for t in mapping.targets.all() if t.target_offer_id]
        targets = [t.target_offer_id for t in bound]
        alternatives = [t.alternative + 1 for t in bound]
    return _form(
        request,
        mapping=mapping,
        retired_offer_id=retired_offer_id,
        product_line=product_line,
        retired_name=mapping.retired_name,
        targets=targets,
        alternatives=list(alternatives),
        errors=errors,
    )


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def sku_mapping_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask, then delete a mapping (admins): only a POST with `confirm=yes` deletes."""
    mapping = get_object_or_404(SkuMapping, pk=pk)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        name = mapping.retired_name
        sku_mapping_delete(
            mapping=mapping, actor=request.user, ip_address=client_ip(request)
        )
        messages.success(request, f"Deleted the mapping of {name}.")
        return redirect("sku_mapping_list")
    return render(request, "catalog/delete.html", {"mapping": mapping})


urlpatterns: list[URLPattern] = [
    path("sku-mappings/", sku_mapping_list, name="sku_mapping_list"),
    path("sku-mappings/new/", sku_mapping_new, name="sku_mapping_new"),
    path("sku-mappings/<bigint:pk>/edit/", sku_mapping_edit, name="sku_mapping_edit"),
    path(
        "sku-mappings/<bigint:pk>/delete/",
        sku_mapping_delete_view,
        name="sku_mapping_delete",
    ),
]
