"""Every human action, and every Partner Center write, leaves its audit event."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from migrations_app.models import (
    AuditEvent,
    Migration,
    MigrationState,
    Outcome,
    SkuMapping,
    SyncRun,
)
from migrations_app.services.audit import audit_chain_walk
from migrations_app.services.sync import sync_run
from tests.migrations_app.migration_support import CONTOSO, customer, drive, start
from tests.migrations_app.url_table import build_world

pytestmark = pytest.mark.django_db

IP = "198.51.100.23"


class _Forms(HTMLParser):
    """Collect each form's action and the values a browser would submit."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}})
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            if kind in {"submit", "button"}:
                return
            default = "on" if kind in {"checkbox", "radio"} else ""
            fields.setdefault(name, []).append(a.get("value", default))
        elif tag == "select" and name:
            self._select, self._first_option, self._selected = name, None, False
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                fields[self._select] = [value]
                self._selected = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            if not self._selected and self._first_option is not None:
                self.forms[-1]["fields"][self._select] = [self._first_option]
            self._select = None


def form_data(html: str, action: str) -> dict[str, list[str]]:
    """Return the values the form posting to `action` would submit as it stands."""
    parser = _Forms()
    parser.feed(html)
    for form in parser.forms:
        if form["action"] in {action, ""} and form["fields"]:
            return form["fields"]
    raise AssertionError(f"No form posts to {action}: {parser.forms}")


def latest(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-id").first()
    assert event is not None, f"no {action} event was recorded"
    return event


def signed_in(user: Any) -> Client:
    client = Client(REMOTE_ADDR=IP)
    client.force_login(user)
    return client


def test_signing_in_is_recorded(operator: Any) -> None:
    Client(REMOTE_ADDR=IP).post(
        reverse("login"), {"username": "operator", "password": "partnerhub"}
    )

    event = latest("login")
    assert (event.actor, event.actor_id, event.ip_address) == (
        "operator",
        operator.pk,
        IP,
    )


def test_signing_out_is_recorded(operator: Any) -> None:
    signed_in(operator).post(reverse("logout"))

    event = latest("logout")
    assert (event.actor, event.ip_address) == ("operator", IP)


def test_a_failed_sign_in_is_recorded_without_the_password(operator: Any) -> None:
    Client(REMOTE_ADDR=IP).post(
        reverse("login"), {"username": "operator", "password": "hunter2-guess"}
    )

    event = latest("login_failed")
    assert (event.actor, event.outcome, event.ip_address) == (
        "operator",
        Outcome.FAILURE,
        IP,
    )
    assert "hunter2-guess" not in str(AuditEvent.objects.values_list())


def test_a_lockout_is_recorded(operator: Any, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    client = Client(REMOTE_ADDR=IP)
    for _ in range(2):
        client.post(reverse("login"), {"username": "operator", "password": "x"})

    event = latest("lockout")
    assert (event.actor, event.outcome) == ("operator", Outcome.DENIED)


def test_requesting_a_sync_is_recorded(operator: Any) -> None:
    signed_in(operator).post(reverse("sync_request"))

    event = latest("sync.requested")
    assert (event.actor, event.ip_address) == ("operator", IP)


def test_a_sync_run_is_summarised_in_one_event_not_one_per_read(
    sandbox: Any, operator: Any
) -> None:
    run = sync_run(requested_by=operator)

    assert run.status == SyncRun.Status.SUCCEEDED
    events = list(AuditEvent.objects.exclude(action="login"))
    assert [e.action for e in events] == ["sync.completed"]
    assert events[0].actor == "operator"
    assert events[0].details["customers_seen"] == run.customers_seen
    assert events[0].details["calls_made"] == run.calls_made > 1


def test_starting_a_migration_from_the_plan_page_is_recorded(
    synced: Any, operator: Any
) -> None:
    cust = customer(CONTOSO)
    url = reverse("migration_plan", args=[cust.tenant_id])
    client = signed_in(operator)
    data = form_data(client.get(url).content.decode(), url)

    response = client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    migration = Migration.objects.get(customer=cust)
    event = latest("migration.started")
    assert (event.actor, event.migration_id, event.ip_address) == (
        "operator",
        migration.pk,
        IP,
    )
    assert event.customer_tenant_id == str(cust.tenant_id)
    assert event.subscription_id == migration.source_subscription.subscription_id


@pytest.fixture
def world(viewer: Any, operator: Any, admin_user: Any) -> Any:
    return build_world({"viewer": viewer, "operator": operator, "admin": admin_user})


def test_retrying_a_migration_is_recorded(world: Any, operator: Any) -> None:
    migration = world.objects["migration"]

    signed_in(operator).post(reverse("migration_retry", args=[migration.pk]))

    event = latest("migration.retried")
    assert (event.actor, event.migration_id) == ("operator", migration.pk)


def test_resuming_a_migration_is_recorded(world: Any, operator: Any) -> None:
    migration = world.objects["migration"]
    Migration.objects.filter(pk=migration.pk).update(
        state="await_provisioning",
        next_attempt_at=timezone.now() + timezone.timedelta(minutes=5),
    )

    signed_in(operator).post(reverse("migration_resume", args=[migration.pk]))

    event = latest("migration.resumed")
    assert (event.actor, event.migration_id) == ("operator", migration.pk)


def test_cancelling_a_migration_is_recorded(world: Any, operator: Any) -> None:
    migration = world.objects["migration"]

    signed_in(operator).post(reverse("migration_cancel", args=[migration.pk]))

    event = latest("migration.cancelled")
    assert (event.actor, event.migration_id) == ("operator", migration.pk)


def test_editing_a_sku_mapping_is_recorded(synced: Any, admin_user: Any) -> None:
    mapping = SkuMapping.objects.exclude(retired_offer_id="").order_by("pk").first()
    url = reverse("sku_mapping_edit", args=[mapping.pk])
    client = signed_in(admin_user)
    data = form_data(client.get(url).content.decode(), url)

    response = client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    event = latest("sku_mapping.updated")
    assert (event.actor, event.ip_address) == ("admin", IP)
    assert event.details["mapping_id"] == mapping.pk


def test_changing_a_users_role_in_the_admin_is_recorded(
    viewer: Any, admin_user: Any
) -> None:
    operators = Group.objects.get(name="operator")
    url = reverse("admin:auth_user_change", args=[viewer.pk])
    client = signed_in(admin_user)
    data = form_data(client.get(url).content.decode(), url)
    data["groups"] = [str(operators.pk)]

    response = client.post(url, data)

    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else ""
    )
    assert list(viewer.groups.values_list("name", flat=True)) == ["operator"]
    event = latest("admin.changed")
    assert (event.actor, event.ip_address) == ("admin", IP)
    assert event.details["model"] == "auth.user"
    assert event.details["object_id"] == str(viewer.pk)
    assert "groups" in str(event.details["change"]).lower()


def test_lifting_a_lockout_in_the_admin_is_recorded(
    world: Any, admin_user: Any
) -> None:
    attempt = world.objects["axes_accessattempt"]
    url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])

    response = signed_in(admin_user).post(url, {"post": "yes"})

    assert response.status_code == 302
    event = latest("admin.deleted")
    assert event.details["model"] == "axes.accessattempt"


def test_every_partner_center_write_of_a_migration_has_one_event(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration)
    assert migration.state == MigrationState.COMPLETED

    writes = [
        r
        for r in sandbox.state()["requests"]
        if r["method"] in {"POST", "PATCH", "PUT", "DELETE"}
    ]
    events = AuditEvent.objects.filter(action="partner_center.write")
    assert writes, "the migration made no write"
    assert sorted(r["ms_request_id"] for r in writes) == sorted(
        e.pc_request_id for e in events
    )
    for event in events:
        assert event.migration_id == migration.pk
        assert event.customer_tenant_id == str(migration.customer.tenant_id)
        assert event.pc_method in {"POST", "PATCH"}
        assert event.pc_path.startswith("/customers/")
        assert event.pc_status is not None and event.pc_status < 400
        assert event.pc_correlation_id
        assert event.pc_duration_ms is not None
    patch = events.get(pc_method="PATCH")
    assert patch.subscription_id == migration.source_subscription.subscription_id
    assert audit_chain_walk().ok
