"""URL patterns; each views module declares its own list, one URL per view."""

from __future__ import annotations

from django.urls import URLPattern

# Registers the `bigint` path converter before any views module declares a path.
import migrations_app.converters  # noqa: F401
from migrations_app.views import (
    accounts,
    audit,
    bulk,
    catalog,
    customers,
    desk,
    invitations,
    migrations,
    schedules,
    settings_pages,
    users,
)

urlpatterns: list[URLPattern] = [
    *accounts.urlpatterns,
    *desk.urlpatterns,
    *customers.urlpatterns,
    *invitations.urlpatterns,
    *bulk.urlpatterns,
    *schedules.urlpatterns,
    *migrations.urlpatterns,
    *catalog.urlpatterns,
    *audit.urlpatterns,
    *settings_pages.urlpatterns,
    *users.urlpatterns,
]
