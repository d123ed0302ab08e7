"""The admin app, served by PartnerHub's role-checked, audited admin site."""

from django.contrib.admin.apps import AdminConfig


class PartnerHubAdminConfig(AdminConfig):
    default_site = "migrations_app.admin_site.PartnerHubAdminSite"
