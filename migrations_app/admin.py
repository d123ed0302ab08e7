"""The Django admin: users, roles and lockouts for the admin role; every change audited.

The site admits the admin role (not `is_staff`), uses PartnerHub's own sign-in page
(so lockout and sign-in auditing apply), answers 403 to signed-in users without the
role, and records every add, change and delete in the audit log.
"""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from migrations_app.models import BIGINT_MAX, AuditEvent, AuditVerification
from migrations_app.roles import ADMIN, ROLES, has_role
from migrations_app.services.audit import audit_record, client_ip


def _audit_admin(
    request: HttpRequest, operation: str, obj: Model, change: Any = None
) -> None:
    opts = obj._meta
    details: dict[str, Any] = {
        "model": f"{opts.app_label}.{opts.model_name}",
        "object_id": str(obj.pk),
        "object": str(obj)[:200],
    }
    if change:
        details["change"] = change
    audit_record(
        action=f"admin.{operation}",
        actor=request.user,
        message=f"{operation.capitalize()} {opts.verbose_name} “{str(obj)[:200]}” "
        "in the admin.",
        ip_address=client_ip(request),
        details=details,
    )


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Reject ids no database column can hold before they reach a query."""

    def _check_values(self, value: Any) -> Any:
        for pk in value:
            text = str(pk).strip()
            if not text.isdecimal() or not 0 < int(text) <= BIGINT_MAX:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": text[:40]},
                )
        return super()._check_values(value)  # type: ignore[misc]


class RoleAdmin(admin.ModelAdmin):
    """Allow the admin role everything the class does not forbid; audit each write."""

    read_only = False
    # Read-only models may still allow deleting (lifting a lockout, for instance).
    deletable = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, ADMIN)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role(request.user, ADMIN)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return not self.read_only and has_role(request.user, ADMIN)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self.read_only and has_role(request.user, ADMIN)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (not self.read_only or self.deletable) and has_role(request.user, ADMIN)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # PostgreSQL refuses a NUL byte in text parameters with a DataError; no
        # filter or search needs one, so answer as the admin does to any filter it
        # cannot apply: the unfiltered list with "?e=1".
        if any(
            "\x00" in value for values in request.GET.lists() for value in values[1]
        ):
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
        return super().changelist_view(request, extra_context)

    def formfield_for_manytomany(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        kwargs.setdefault("form_class", BoundedModelMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        _audit_admin(request, "added", obj, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        _audit_admin(request, "changed", obj, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        for obj in queryset:
            _audit_admin(request, "deleted", obj)
        return super().log_deletions(request, queryset)


admin.site.unregister(User)
admin.site.unregister(Group)


class OneRoleUserChangeForm(UserChangeForm):
    """The admin's user form: at most one of the role groups, never several."""

    def clean_groups(self) -> Any:
        groups = self.cleaned_data.get("groups")
        roles = [group.name for group in groups or [] if group.name in ROLES]
        if len(roles) > 1:
            raise ValidationError(
                "A user has one role: choose viewer, operator or admin, not "
                f"{' and '.join(roles)}. Users & roles sets it in one click."
            )
        return groups


@admin.register(User)
class PartnerHubUserAdmin(RoleAdmin, UserAdmin):
    form = OneRoleUserChangeForm
    list_display = ("username", "email", "role_names", "is_active", "last_login")
    list_filter = ("is_active", "groups")

    @admin.display(description="Roles")
    def role_names(self, obj: User) -> str:
        return ", ".join(group.name for group in obj.groups.all())

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")


@admin.register(Group)
class PartnerHubGroupAdmin(RoleAdmin, GroupAdmin):  # type: ignore[misc]
    pass


for model, base in (
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    # Sign-in records are facts: viewable only. Deleting an attempt lifts a lockout.
    admin.site.register(
        model,
        type(
            f"PartnerHub{base.__name__}",
            (RoleAdmin, base),
            {"read_only": True, "deletable": model is AccessAttempt},
        ),
    )


@admin.register(AuditEvent)
class AuditEventAdmin(RoleAdmin):
    """The audit log is append-only: viewable here, never editable."""

    read_only = True
    list_display = ("id", "created_at", "actor", "action", "outcome", "customer_name")
    list_filter = ("outcome",)
    search_fields = ("=actor", "=action", "=customer_tenant_id", "=pc_request_id")
    show_full_result_count = False
    ordering = ("-id",)


@admin.register(AuditVerification)
class AuditVerificationAdmin(RoleAdmin):
    read_only = True
    list_display = ("checked_at", "ok", "events_checked", "first_broken_event_id")
    ordering = ("-checked_at",)


# The admin index and breadcrumbs name django-axes' section by what it holds.
apps.get_app_config("axes").verbose_name = "Sign-in lockouts"
