"""Every URL PartnerHub serves, with the decision taken for each role.

The role matrix, the CSRF and CSP checks and the bad-input test all walk
`get_resolver()` and look each URL up here, so a URL without a decision fails them.

Expected outcomes are exact status codes, or LOGIN for a redirect to the sign-in
page. Roles are (anonymous, viewer, operator, admin).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from migrations_app.models import (
    AuditVerification,
    BulkRun,
    BulkRunCustomer,
    Migration,
    MigrationSchedule,
    MigrationState,
    ResellerInvitation,
    SkuMapping,
    StartWhen,
)
from migrations_app.services.audit import audit_record
from tests.factories import CustomerFactory, SubscriptionFactory

LOGIN = "login"
ROLES = ("anonymous", "viewer", "operator", "admin")

Outcome = int | str


@dataclass(frozen=True)
class Rule:
    """What each role gets from one method on one URL, and what to fuzz there."""

    anonymous: Outcome
    viewer: Outcome
    operator: Outcome
    admin: Outcome
    # Query-string (GET) or form (POST) fields the view reads; the bad-input test
    # sends arbitrary values in them.
    fields: tuple[str, ...] = ()

    def expected(self, role: str) -> Outcome:
        return getattr(self, role)


def rule(
    anonymous: Outcome,
    viewer: Outcome,
    operator: Outcome,
    admin: Outcome,
    fields: tuple[str, ...] = (),
) -> Rule:
    return Rule(anonymous, viewer, operator, admin, fields)


AUDIT_FILTERS = (
    "customer",
    "actor",
    "action",
    "migration",
    "outcome",
    "request_id",
    "date_from",
    "date_to",
)
CUSTOMER_FILTERS = (
    "q",
    "retired",
    "expires_within",
    "status",
    "sort",
    "page",
    "renews_within",
    "cancellable",
    "suspended",
    "migration",
)
BULK_OPTIONS = ("when", "start_on", "days_before", "retire", "path", "page")
NOT_ALLOWED = rule(405, 405, 405, 405)
SIGNED_IN_NOT_ALLOWED = rule(LOGIN, 405, 405, 405)


def read_page(
    fields: tuple[str, ...] = (), post: Rule = SIGNED_IN_NOT_ALLOWED
) -> dict[str, Rule]:
    """A GET page every role may read; visitors sign in first; POST is refused."""
    return {"GET": rule(LOGIN, 200, 200, 200, fields), "POST": post}


def admin_pages(get: int, post: int, fields: tuple[str, ...] = ()) -> dict[str, Rule]:
    """A page of the admin site: only the admin role gets past the door."""
    return {
        "GET": rule(LOGIN, 403, 403, get, fields),
        "POST": rule(LOGIN, 403, 403, post),
    }


def admin_model(
    app: str, model: str, *, read_only: bool, deletable: bool = False
) -> dict[str, dict[str, Rule]]:
    """Return the decisions for one model registered in the admin site.

    Signed-in users without the admin role get 403 everywhere; visitors are sent to
    sign in. The admin role may add, change and delete unless the model is read-only
    (then add and delete answer 403 unless deleting is allowed, and the change page
    only shows the object). An empty POST changes nothing: the add and change forms
    come back with errors, the delete page asks for confirmation.
    """
    write = 403 if read_only else 200
    delete = 200 if (deletable or not read_only) else 403
    name = f"admin:{app}_{model}"
    return {
        f"{name}_changelist": admin_pages(200, 200, ("q", "o", "p", "e", "all")),
        f"{name}_add": admin_pages(write, write),
        f"{name}_history": admin_pages(200, 200),
        f"{name}_delete": admin_pages(delete, delete),
        f"{name}_change": admin_pages(200, write),
        # The bare object URL redirects to its change page.
        f"admin/{app}/{model}/<path:object_id>/": admin_pages(302, 302),
    }


# url name (or route, for unnamed patterns) -> method -> Rule
TABLE: dict[str, dict[str, Rule]] = {
    # The renewal desk: everyone reads and exports it; visitors sign in first.
    "home": read_page(),
    "desk_retired": read_page(("v",)),
    "desk_export": read_page(),
    "healthz": {"GET": rule(200, 200, 200, 200), "POST": NOT_ALLOWED},
    "login": {
        "GET": rule(200, 302, 302, 302),
        "POST": rule(200, 302, 302, 302, ("username", "password", "next")),
    },
    "logout": {"GET": NOT_ALLOWED, "POST": rule(LOGIN, LOGIN, LOGIN, LOGIN)},
    # Customers and sync.
    "customer_list": read_page(CUSTOMER_FILTERS),
    "customer_export": read_page(CUSTOMER_FILTERS),
    "customer_detail": read_page(),
    "sync_status": read_page(("since",)),
    # One customer's refresh: operators queue it; nobody calls Partner Center here.
    "customer_refresh": {
        "GET": rule(LOGIN, 403, 405, 405),
        "POST": rule(LOGIN, 403, 302, 302, ("next",)),
    },
    "sync_request": {
        "GET": rule(LOGIN, 403, 405, 405),
        "POST": rule(LOGIN, 403, 302, 302),
    },
    # Migrations: viewers watch; operators plan, start, retry, resume and cancel.
    "migration_list": read_page(("state", "page"), post=NOT_ALLOWED),
    "migration_export": read_page(("state",), post=NOT_ALLOWED),
    "migration_progress": read_page(("ids", "next"), post=NOT_ALLOWED),
    "migration_detail": read_page(post=NOT_ALLOWED),
    "migration_customer_panel": read_page(("running", "synced"), post=NOT_ALLOWED),
    "migration_plan": {
        "GET": rule(LOGIN, 200, 200, 200),
        "POST": rule(LOGIN, 403, 200, 200, ("next",)),
    },
    # Provisioning after an invitation: everyone reads the plan; operators start.
    "provisioning_plan": {
        "GET": rule(LOGIN, 200, 200, 200),
        "POST": rule(LOGIN, 403, 200, 200, ("next",)),
    },
    "migration_retry": {"GET": NOT_ALLOWED, "POST": rule(LOGIN, 403, 302, 302)},
    "migration_resume": {"GET": NOT_ALLOWED, "POST": rule(LOGIN, 403, 302, 302)},
    "migration_cancel": {"GET": NOT_ALLOWED, "POST": rule(LOGIN, 403, 302, 302)},
    "migration_refund": {"GET": NOT_ALLOWED, "POST": rule(LOGIN, 403, 302, 302)},
    # Bulk runs: everyone previews and watches; operators start or schedule.
    "bulk_list": read_page(post=NOT_ALLOWED),
    "bulk_preview": read_page(
        ("customer", "all", *CUSTOMER_FILTERS, *BULK_OPTIONS), post=NOT_ALLOWED
    ),
    "bulk_start": {
        "GET": NOT_ALLOWED,
        "POST": rule(LOGIN, 403, 200, 200, ("customer", *BULK_OPTIONS)),
    },
    "bulk_detail": read_page(("page",), post=NOT_ALLOWED),
    # Scheduled migrations: everyone reads; operators move and cancel them.
    "schedule_list": read_page(post=NOT_ALLOWED),
    "schedule_edit": {
        "GET": NOT_ALLOWED,
        "POST": rule(LOGIN, 403, 302, 302, ("start_at",)),
    },
    "schedule_cancel": {"GET": NOT_ALLOWED, "POST": rule(LOGIN, 403, 302, 302)},
    # Invitations: everyone reads; operators fetch the link, record and withdraw.
    "invitation_list": {
        "GET": rule(LOGIN, 200, 200, 200),
        "POST": NOT_ALLOWED,
    },
    "invitation_create": {
        "GET": NOT_ALLOWED,
        "POST": rule(
            LOGIN, 403, 200, 200, ("company_name", "domain", "contact_email", "note")
        ),
    },
    "invitation_link_request": {
        "GET": rule(LOGIN, 403, 405, 405),
        "POST": rule(LOGIN, 403, 302, 302),
    },
    "invitation_link_status": read_page(),
    "invitation_withdraw": {
        "GET": rule(LOGIN, 403, 405, 405),
        "POST": rule(LOGIN, 403, 302, 302),
    },
    # SKU mappings: everyone reads, admins create, edit and delete.
    "sku_mapping_list": read_page(post=NOT_ALLOWED),
    "sku_mapping_new": {
        "GET": rule(LOGIN, 403, 403, 200, ("retired", "target", "product_line")),
        "POST": rule(
            LOGIN,
            403,
            403,
            200,
            (
                "retired_offer_id",
                "product_line",
                "retired_name",
                "target_0",
                "alternative_0",
            ),
        ),
    },
    "sku_mapping_edit": {
        "GET": rule(LOGIN, 403, 403, 200),
        "POST": rule(
            LOGIN,
            403,
            403,
            200,
            ("retired_offer_id", "target_0", "target_1", "alternative_0"),
        ),
    },
    # Only a POST that confirms deletes; the walk's empty POST is asked again.
    "sku_mapping_delete": {
        "GET": rule(LOGIN, 403, 403, 200),
        "POST": rule(LOGIN, 403, 403, 200),
    },
    # Audit and settings.
    "audit_list": read_page((*AUDIT_FILTERS, "before", "after"), post=NOT_ALLOWED),
    "audit_export": read_page(AUDIT_FILTERS, post=NOT_ALLOWED),
    # Verify now: admins queue a walk over the chain; everyone sees its result.
    "audit_verify": {
        "GET": rule(LOGIN, 403, 403, 405),
        "POST": rule(LOGIN, 403, 403, 302),
    },
    "audit_verification_status": read_page(("after",), post=NOT_ALLOWED),
    # Users & roles: admins only. Posts without a valid choice change nothing.
    "user_list": {"GET": rule(LOGIN, 403, 403, 200), "POST": NOT_ALLOWED},
    "user_add": {
        "GET": rule(LOGIN, 403, 403, 405),
        "POST": rule(LOGIN, 403, 403, 200, ("username", "email", "role", "password")),
    },
    "user_role": {
        "GET": rule(LOGIN, 403, 403, 405),
        "POST": rule(LOGIN, 403, 403, 302, ("role",)),
    },
    "user_active": {
        "GET": rule(LOGIN, 403, 403, 405),
        "POST": rule(LOGIN, 403, 403, 302, ("active",)),
    },
    # Read-only: the values come from the environment.
    "settings_page": {"GET": rule(LOGIN, 403, 403, 200), "POST": NOT_ALLOWED},
    # The admin site.
    "admin:index": admin_pages(200, 200),
    "admin:login": {
        "GET": rule(LOGIN, 403, 403, 302),
        "POST": rule(LOGIN, 403, 403, 302),
    },
    "admin:logout": {
        "GET": rule(LOGIN, 403, 403, 405),
        "POST": rule(LOGIN, 403, 403, LOGIN),
    },
    "admin:password_change": admin_pages(200, 200),
    "admin:password_change_done": admin_pages(200, 405),
    # Autocomplete answers 403 without the parameters naming a model and field.
    "admin:autocomplete": admin_pages(403, 405),
    "admin:jsi18n": admin_pages(200, 405),
    # Users have no public page to jump to.
    "admin:view_on_site": admin_pages(404, 404),
    "admin:app_list": admin_pages(200, 200),
    "admin/(?P<url>.*)$": admin_pages(404, 404),
    "admin:auth_user_password_change": admin_pages(200, 200),
    **admin_model("auth", "user", read_only=False),
    **admin_model("auth", "group", read_only=False),
    **admin_model("axes", "accessattempt", read_only=True, deletable=True),
    **admin_model("axes", "accesslog", read_only=True),
    **admin_model("axes", "accessfailurelog", read_only=True),
    **admin_model("migrations_app", "auditevent", read_only=True),
    **admin_model("migrations_app", "auditverification", read_only=True),
}


@dataclass
class World:
    """One of every object the URLs point at."""

    objects: dict[str, Any] = field(default_factory=dict)

    def kwargs(self, name: str, route: str, keys: list[str]) -> dict[str, Any]:
        """Return sample URL arguments for the pattern `name`."""
        values: dict[str, Any] = {}
        for key in keys:
            if key == "tenant_id":
                values[key] = self.objects["customer"].tenant_id
            elif key == "pk" and name.startswith("sku_mapping"):
                values[key] = self.objects["mapping"].pk
            elif key == "pk" and name.startswith("invitation"):
                values[key] = self.objects["invitation"].pk
            elif key == "pk" and name.startswith("user_"):
                values[key] = self.objects["auth_user"].pk
            elif key == "pk" and name.startswith("bulk_"):
                values[key] = self.objects["bulk_run"].pk
            elif key == "pk" and name.startswith("schedule_"):
                values[key] = self.objects["schedule"].pk
            elif key == "pk":
                values[key] = self.objects["migration"].pk
            elif key in {"object_id", "id"} and name.startswith("admin"):
                model = name.removeprefix("admin:").removeprefix("admin/")
                model = model.replace("/", "_")
                if model == "view_on_site":
                    model = "auth_user_"
                for candidate, obj in self.objects.items():
                    if model.startswith(candidate + "_"):
                        values[key] = obj.pk
                if key not in values:
                    raise AssertionError(f"{name}: add its model's object to World")
            elif key == "app_label":
                values[key] = "migrations_app"
            elif key == "content_type_id":
                values[key] = ContentType.objects.get_for_model(User).pk
            elif key == "url":
                values[key] = "no-such-page/"
            else:
                raise AssertionError(
                    f"{name} ({route}): add a sample value for <{key}> to World.kwargs"
                )
        return values


def build_world(users: dict[str, Any]) -> World:
    """Create the objects every URL of the table can point at."""
    customer = CustomerFactory(
        tenant_id=uuid.UUID("4f7c1a52-93a4-4e2a-9d0e-5a1c3d3b0c11"),
        company_name="Contoso",
    )
    subscription = SubscriptionFactory(customer=customer)
    migration = Migration.objects.create(
        customer=customer,
        source_subscription=subscription,
        source_offer_id=subscription.offer_id,
        target_offer_id="TARGET-OFFER",
        target_offer_name="Dynamics 365 for Sales",
        quantity=5,
        state=MigrationState.FAILED,
        stopped_step="purchase",
        error_message="The order was refused.",
    )
    bulk_run = BulkRun.objects.create(customers_total=1)
    BulkRunCustomer.objects.create(bulk_run=bulk_run, customer=customer)
    schedule = MigrationSchedule.objects.create(
        customer=customer,
        when=StartWhen.ON_DATE,
        start_on=timezone.now() + timedelta(days=3),
        start_at=timezone.now() + timedelta(days=3),
    )
    invitation = ResellerInvitation.objects.create(
        company_name="Trey Research", domain="treyresearch.onmicrosoft.com"
    )
    event = audit_record(action="login", actor_label="viewer")
    verification = AuditVerification.objects.create(ok=True, events_checked=1)
    attempt = AccessAttempt.objects.create(
        username="someone",
        ip_address="203.0.113.9",
        user_agent="test",
        path_info="/accounts/login/",
        get_data="",
        post_data="",
        failures_since_start=1,
    )
    log = AccessLog.objects.create(
        username="viewer", ip_address="203.0.113.9", user_agent="test"
    )
    failure = AccessFailureLog.objects.create(
        username="someone",
        ip_address="203.0.113.9",
        user_agent="test",
        path_info="/accounts/login/",
        locked_out=False,
    )
    return World(
        objects={
            "customer": customer,
            "subscription": subscription,
            "migration": migration,
            "bulk_run": bulk_run,
            "schedule": schedule,
            "mapping": SkuMapping.objects.order_by("pk").first(),
            "invitation": invitation,
            "auth_user": users["viewer"],
            "auth_group": Group.objects.get(name="viewer"),
            "axes_accessattempt": attempt,
            "axes_accesslog": log,
            "axes_accessfailurelog": failure,
            "migrations_app_auditevent": event,
            "migrations_app_auditverification": verification,
            "expires": timezone.now() + timedelta(days=1),
        }
    )


@dataclass(frozen=True)
class Endpoint:
    """One URL pattern: its table key, a sample URL and the arguments it needs."""

    key: str
    route: str
    keys: list[str]
    view: Any = None

    def url(self, world: World) -> str:
        kwargs = world.kwargs(self.key, self.route, self.keys)
        if not self.key.startswith("admin/"):
            return reverse(self.key, kwargs=kwargs)
        if self.key == "admin/(?P<url>.*)$":
            return "/admin/no-such-page/"
        # An unnamed admin route: fill its <converter:name> placeholders.
        return "/" + re.sub(
            r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), self.route
        )


def _walk(
    patterns: list[Any], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), namespace, entry


def endpoints() -> list[Endpoint]:
    """Return every URL pattern of the project, admin included."""
    found = []
    for route, namespace, pattern in _walk(get_resolver().url_patterns):
        key = f"{namespace}{pattern.name}" if pattern.name else route
        keys = list(pattern.pattern.regex.groupindex)
        found.append(Endpoint(key=key, route=route, keys=keys, view=pattern.callback))
    return found


def cases() -> list[tuple[Endpoint, str]]:
    """Return (endpoint, method) for every URL pattern and both methods.

    Raise AssertionError naming every URL the table has no decision for.
    """
    found = endpoints()
    missing = [e.route for e in found if e.key not in TABLE]
    assert not missing, (
        f"New URL without a decision: add it to tests/migrations_app/url_table.py TABLE: {missing}"
    )
    stale = set(TABLE) - {e.key for e in found}
    assert not stale, f"TABLE names URLs that no longer exist: {sorted(stale)}"
    return [(e, method) for e in found for method in ("GET", "POST")]
