"""PartnerHub URLs: every page lives in migrations_app."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("migrations_app.urls")),
]
