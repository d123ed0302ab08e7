"""Customer pages: the list, one customer (and its migration panel's poll), and the
Partner Center refresh."""

from django.urls import URLPattern

from migrations_app.views.customers import detail, listing, sync
from migrations_app.views.customers.detail import (
    REREAD_PATIENCE,
    customer_detail,
    customer_migration_panel,
    customer_panel_update,
)
from migrations_app.views.customers.filters import CustomerFilterForm
from migrations_app.views.customers.listing import customer_export, customer_list
from migrations_app.views.customers.sync import (
    customer_refresh,
    sync_request,
    sync_status,
)

urlpatterns: list[URLPattern] = [
    *listing.urlpatterns,
    *detail.urlpatterns,
    *sync.urlpatterns,
]

__all__ = [
    "REREAD_PATIENCE",
    "CustomerFilterForm",
    "customer_detail",
    "customer_export",
    "customer_list",
    "customer_migration_panel",
    "customer_panel_update",
    "customer_refresh",
    "sync_request",
    "sync_status",
    "urlpatterns",
]
