"""Migration pages: plan and Start, operate, watch, the list. Views only enqueue."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from migrations_app.models import (
    AuditEvent,
    LicenseMove,
    Migration,
    Offer,
    Subscription,
)
from migrations_app.selectors.migrations import customer_migration_summaries
from migrations_app.services.migrations import migration_cancel
from migrations_app.services.sync import sync_customer_refresh
from migrations_app.views.customers import REREAD_PATIENCE
from migrations_app.workflow.lease import migration_claim
from tests.factories import CustomerFactory, SubscriptionFactory
from tests.migrations_app.migration_support import (
    CONTOSO,
    FABRIKAM,
    LITWARE,
    NORTHWIND,
    TAILSPIN,
    WIDE_WORLD,
    advance_ids,
    catalogue,  # noqa: F401
    customer,
    drive,
    start,
    v1_request_count,
)


@pytest.fixture(autouse=True)
def _fast_polls(settings: Any) -> None:
    settings.PARTNERHUB_PROVISIONING_POLL_SECONDS = 0.1


def plan_url(name: str) -> str:
    return reverse("migration_plan", args=[customer(name).tenant_id])


def plan_form(name: str, **changes: Any) -> dict[str, Any]:
    """Return the Start form as the plan page renders it (defaults), with changes."""
    from migrations_app.domain.plan import migration_plan

    data: dict[str, Any] = {}
    for item in migration_plan(customer=customer(name)).items:
        target = item.default_target
        data[f"{item.key}-include"] = "on"
        data[f"{item.key}-target"] = target.value if target else ""
        data[f"{item.key}-quantity"] = str(item.default_quantity)
        data[f"{item.key}-retire_mode"] = "suspend"
    for key, value in changes.items():
        for name_ in list(data):
            if name_.endswith(f"-{key}"):
                if value is None:
                    del data[name_]
                else:
                    data[name_] = value
    return data


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# ---------------------------------------------------------------- the plan


def test_the_plan_shows_target_quantity_users_and_how_the_old_one_ends(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)
    before = v1_request_count(sandbox)

    response = client.get(plan_url(CONTOSO))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Dynamics AX Enterprise" in page
    assert "Dynamics 365 for Unified Operations" in page
    assert "Dynamics 365 Plan" in page
    assert 'value="15"' in page
    assert "Suspend now" in page
    assert re.search(r"Let it expire on [A-Z][a-z]{2} \d{1,2}, \d{4}", page)
    assert re.search(
        r"Suspending stops it now; the rest of its term is not refunded\. Letting "
        r"it expire keeps it until [A-Z][a-z]{2} \d{1,2}, \d{4}, then it ends\.",
        page,
    )
    moves = customer(CONTOSO).users.filter(licenses__isnull=False).distinct()
    assert page.count('class="sublist user-list"') == 1
    for user in moves:
        assert user.user_principal_name in page
    assert "Start migration" in page
    assert (
        'data-confirm="Buy the new subscriptions now? Partner Center starts billing '
        'them at once."' in page
    )
    assert v1_request_count(sandbox) == before


def test_the_plan_shows_the_reseller_of_record_and_no_foreign_warning(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)
    page = client.get(plan_url(NORTHWIND)).content.decode()
    assert "Sold through indirect reseller 9988776" in page
    assert "bought through another partner or channel" not in page


def test_the_plan_warns_about_users_without_a_usage_location(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)
    page = client.get(plan_url(WIDE_WORLD)).content.decode()
    assert "2 users have no usage location" in page
    assert "user(s)" not in page
    assert page.count('pill-warn">No usage location') >= 2


def test_start_is_refused_while_a_planned_user_has_no_usage_location(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)
    missing = customer(WIDE_WORLD).users.filter(
        usage_location="", licenses__isnull=False
    )
    upns = sorted({u.user_principal_name for u in missing})
    assert len(upns) >= 1

    response = client.post(plan_url(WIDE_WORLD), plan_form(WIDE_WORLD))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Cannot start:" in page
    assert "Set their usage location in the Microsoft 365 admin center" in page
    assert "Refresh the customer" in page
    for upn in upns:
        assert upn in page
    assert not Migration.objects.exists()


def test_a_target_that_is_not_purchasable_is_flagged_and_refused(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    Offer.objects.filter(name="Dynamics 365 for Unified Operations").update(
        is_available_for_purchase=False
    )
    client.force_login(operator)
    page = client.get(plan_url(CONTOSO)).content.decode()
    assert "Dynamics 365 for Unified Operations (not available for purchase)" in page
    # The first purchasable choice becomes the default.
    assert re.search(r'<option value="[^"]+" selected>Dynamics 365 Plan<', page)

    offer = Offer.objects.get(name="Dynamics 365 for Unified Operations")
    response = client.post(plan_url(CONTOSO), plan_form(CONTOSO, target=offer.offer_id))
    assert response.status_code == 200
    assert "Dynamics 365 for Unified Operations is not available for purchase." in (
        response.content.decode()
    )
    assert not Migration.objects.exists()


def test_an_unbound_target_is_flagged_on_the_plan(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    Offer.objects.filter(name="Dynamics 365 Plan").delete()
    from migrations_app.models import SkuMappingTarget

    SkuMappingTarget.objects.filter(target_name="Dynamics 365 Plan").update(
        target_offer_id=""
    )
    client.force_login(operator)
    page = client.get(plan_url(CONTOSO)).content.decode()
    assert "Dynamics 365 Plan (not in the synced offer catalogue)" in page


# ---------------------------------------------------------------- Start


def test_start_creates_the_batch_audits_it_and_only_enqueues(
    synced: Any,
    sandbox: Any,
    client: Client,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client.force_login(operator)
    next_url = reverse("customer_list") + "?q=Contoso"
    before = v1_request_count(sandbox)
    with django_capture_on_commit_callbacks() as sent:
        response = client.post(
            plan_url(CONTOSO), {**plan_form(CONTOSO), "next": next_url}
        )

    detail = reverse("customer_detail", args=[customer(CONTOSO).tenant_id])
    assert response.status_code == 302
    assert response["Location"] == f"{detail}#migration-panel"
    assert v1_request_count(sandbox) == before
    [migration] = Migration.objects.all()
    assert advance_ids(sent) == [migration.pk]
    assert migration.state == "queued" and migration.quantity == 15
    assert migration.created_by == operator
    assert migration.target_offer_name == "Dynamics 365 for Unified Operations"
    assert migration.license_moves.count() == 12
    event = AuditEvent.objects.get(action="migration.started")
    assert event.actor == "operator" and event.migration_id == migration.pk
    assert "Migration started for Contoso Ltd" in messages_of(response)[0]


def test_an_unsafe_next_url_is_ignored(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)
    response = client.post(
        plan_url(CONTOSO), {**plan_form(CONTOSO), "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("customer_detail", args=[customer(CONTOSO).tenant_id])
        + "#migration-panel"
    )
    page = client.get(
        plan_url(CONTOSO), {"next": "https://evil.example/"}
    ).content.decode()
    assert "evil.example" not in page


def test_start_refuses_fewer_seats_than_users_to_move(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)
    response = client.post(plan_url(CONTOSO), plan_form(CONTOSO, quantity="5"))
    assert response.status_code == 200
    assert "At least 12: that many users hold this licence" in response.content.decode()
    assert not Migration.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"quantity": "abc"},
        {"quantity": "-3"},
        {"quantity": "99999999999999999999"},
        {"target": "not-an-offer"},
        {"retire_mode": "explode"},
        {"quantity": None, "target": None, "retire_mode": None},
    ],
)
def test_junk_input_gets_form_errors_never_a_500(
    synced: Any, sandbox: Any, client: Client, operator: Any, changes: dict[str, Any]
) -> None:
    client.force_login(operator)
    response = client.post(plan_url(CONTOSO), plan_form(CONTOSO, **changes))
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert not Migration.objects.exists()


def test_leaving_every_subscription_out_says_so(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)
    response = client.post(plan_url(CONTOSO), plan_form(CONTOSO, include=None))
    assert response.status_code == 200
    assert "Choose at least one subscription to migrate." in response.content.decode()


def test_starting_again_says_a_migration_is_already_running(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)
    form = plan_form(CONTOSO)
    start(CONTOSO, operator)

    response = client.post(plan_url(CONTOSO), form)

    assert response.status_code == 302
    assert messages_of(response) == [
        "A migration is already running for Dynamics AX Enterprise."
    ]
    assert Migration.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("catalogue")
def test_twenty_concurrent_starts_make_exactly_one_migration(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    form = plan_form(CONTOSO)
    url = plan_url(CONTOSO)
    clients = []
    for _ in range(20):
        c = Client()
        c.force_login(operator)
        clients.append(c)
    barrier = threading.Barrier(20)
    results: list[tuple[int, list[str]]] = []
    errors: list[BaseException] = []

    def press_start(c: Client) -> None:
        try:
            barrier.wait(timeout=30)
            response = c.post(url, form)
            results.append((response.status_code, messages_of(response)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=press_start, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    assert Migration.objects.count() == 1, results
    assert LicenseMove.objects.count() == 12
    assert AuditEvent.objects.filter(action="migration.started").count() == 1
    assert sorted(code for code, _ in results) == [302] * 20
    refused = [m for _, ms in results for m in ms if "already running" in m]
    assert len(refused) == 19
    assert set(refused) == {
        "A migration is already running for Dynamics AX Enterprise."
    }


# ---------------------------------------------------------------- roles


def test_a_viewer_sees_the_plan_but_no_start_button_and_cannot_post(
    synced: Any, sandbox: Any, client: Client, viewer: Any, operator: Any
) -> None:
    client.force_login(viewer)
    response = client.get(plan_url(CONTOSO))
    assert response.status_code == 200
    assert "Start migration</button>" not in response.content.decode()
    assert client.post(plan_url(CONTOSO), plan_form(CONTOSO)).status_code == 403
    [migration] = start(CONTOSO, operator)
    for name in ("migration_retry", "migration_resume", "migration_cancel"):
        response = client.post(reverse(name, args=[migration.pk]))
        assert response.status_code == 403, name
    migration.refresh_from_db()
    assert migration.state == "queued"
    panel = client.get(reverse("migration_detail", args=[migration.pk]))
    assert panel.status_code == 200
    assert "Cancel migration" not in panel.content.decode()


# ---------------------------------------------------------------- operate


def _htmx(client: Client, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, data or {}, HTTP_HX_REQUEST="true")


def test_retry_only_enqueues_and_is_audited(
    synced: Any,
    sandbox: Any,
    client: Client,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    migration = drive(start(WIDE_WORLD, operator)[0])
    assert migration.state == "failed"
    client.force_login(operator)
    before = v1_request_count(sandbox)

    with django_capture_on_commit_callbacks() as sent:
        response = _htmx(
            client,
            reverse("migration_retry", args=[migration.pk]),
            {"scope": "customer"},
        )

    assert response.status_code == 200
    assert 'id="migration-panel"' in response.content.decode()
    assert advance_ids(sent) == [migration.pk]
    assert v1_request_count(sandbox) == before
    migration.refresh_from_db()
    assert migration.state == "purchase" and migration.error_message == ""
    assert AuditEvent.objects.filter(
        action="migration.retried", actor="operator", migration_id=migration.pk
    ).exists()


def test_resume_runs_a_waiting_migration_now_and_only_enqueues(
    synced: Any,
    sandbox: Any,
    client: Client,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    [migration] = start(CONTOSO, operator)
    Migration.objects.filter(pk=migration.pk).update(
        next_attempt_at=timezone.now() + timezone.timedelta(minutes=10)
    )
    client.force_login(operator)
    page = client.get(reverse("migration_detail", args=[migration.pk])).content.decode()
    assert "Resume now" in page
    before = v1_request_count(sandbox)
    with django_capture_on_commit_callbacks() as sent:
        response = client.post(reverse("migration_resume", args=[migration.pk]))
    assert response.status_code == 302
    assert advance_ids(sent) == [migration.pk]
    assert v1_request_count(sandbox) == before
    migration.refresh_from_db()
    assert migration.next_attempt_at is None


def test_cancelling_before_the_purchase_says_nothing_was_bought(
    synced: Any,
    sandbox: Any,
    client: Client,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    [migration] = start(CONTOSO, operator)
    client.force_login(operator)
    before = v1_request_count(sandbox)
    with django_capture_on_commit_callbacks() as sent:
        response = _htmx(
            client,
            reverse("migration_cancel", args=[migration.pk]),
            {"scope": "migration"},
        )
    assert response.status_code == 200
    assert sent == []
    assert v1_request_count(sandbox) == before
    assert "Nothing was bought and no licence was moved." in response.content.decode()
    migration.refresh_from_db()
    assert migration.state == "cancelled"
    # A cancelled migration frees the subscription for a new one.
    assert (
        customer_migration_summaries(customer_ids=[migration.customer_id])[
            migration.customer_id
        ].migratable_count
        == 1
    )


def test_cancelling_after_some_moves_states_what_was_bought_and_moved(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration, until=lambda m: m.state == "move_licenses")
    tenant = customer(CONTOSO).tenant_id
    sandbox.patch(
        f"/_sandbox/customers/{tenant}/subscriptions/{migration.new_subscription_id}",
        {"quantity": 5},
    )
    migration = drive(migration)
    assert migration.state == "failed"
    client.force_login(operator)

    response = _htmx(
        client, reverse("migration_cancel", args=[migration.pk]), {"scope": "customer"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert _redrawn(page) == SECTIONS
    assert (
        f"Bought 15 seats of Dynamics 365 for Unified Operations (subscription "
        f"{migration.new_subscription_id}), order {migration.order_id}." in page
    )
    assert "5 of 12 users moved to the new licence:" in page
    assert "The old subscription Dynamics AX Enterprise is left untouched." in page
    for move in migration.license_moves.filter(status="moved"):
        assert move.display_name in page
    event = AuditEvent.objects.get(action="migration.cancelled")
    assert "5 of 12 users moved" in event.message


def test_cancel_is_refused_while_a_step_is_running(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration_claim(migration_id=migration.pk, owner="busy-worker")
    client.force_login(operator)
    response = _htmx(
        client, reverse("migration_cancel", args=[migration.pk]), {"scope": "migration"}
    )
    assert response.status_code == 200
    assert "a step is running right now" in response.content.decode()
    migration.refresh_from_db()
    assert migration.state == "queued"


def test_operating_on_a_missing_migration_is_a_404(
    synced: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)
    assert client.post(reverse("migration_cancel", args=[999999])).status_code == 404
    assert client.get(reverse("migration_detail", args=[999999])).status_code == 404


# ---------------------------------------------------------------- watch


def test_the_progress_poll_swaps_running_rows_and_stops_when_all_are_done(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    [contoso] = start(CONTOSO, operator)
    [fabrikam] = start(FABRIKAM, operator)
    client.force_login(operator)
    url = reverse("migration_progress") + f"?ids={contoso.pk},{fabrikam.pk},junk"

    page = client.get(url).content.decode()
    for m in (contoso, fabrikam):
        assert (
            f'id="migration-status-{m.customer_id}" class="migration-status" hx-swap-oob="true"'
            in page
        )
    contoso.refresh_from_db()
    fabrikam.refresh_from_db()
    assert (
        f'hx-get="/migrations/progress/?ids={contoso.pk}.{contoso.version},'
        f'{fabrikam.pk}.{fabrikam.version}"'
    ) in page
    assert "<progress" in page

    drive(contoso)
    page = client.get(url).content.decode()
    assert (
        f'hx-get="/migrations/progress/?ids={fabrikam.pk}.{fabrikam.version}"' in page
    )
    status = page.split(f'id="migration-status-{contoso.customer_id}"')[1]
    assert "Completed" in status.split("</div>")[0]

    drive(fabrikam)
    page = client.get(url).content.decode()
    assert "hx-get" not in page and "hx-trigger" not in page
    assert 'id="migration-poller"' in page


def _subscriptions_cell(page: str, customer_pk: int) -> str:
    """Return the inside of a row's out-of-band Subscriptions cell in a poll answer."""
    opening = f'<ul id="subs-{customer_pk}" class="sublist" hx-swap-oob="true">'
    assert page.count(opening) == 1, page
    return page.split(opening)[1].split("</ul>")[0]


def _finish(migration: Migration) -> Subscription:
    """Complete a migration as the worker would leave the rows; return the new one."""
    now = timezone.now()
    Subscription.objects.filter(pk=migration.source_subscription_id).update(
        status="suspended", suspended_by_partnerhub_at=now
    )
    new = SubscriptionFactory(
        customer=migration.customer,
        offer_id=migration.target_offer_id,
        offer_name=migration.target_offer_name,
        quantity=migration.quantity,
        auto_renew_enabled=True,
        commitment_end_date=now + timedelta(days=365),
    )
    Migration.objects.filter(pk=migration.pk).update(state="completed", finished_at=now)
    return new


def test_a_row_whose_migration_ends_gets_its_new_subscription_labels_in_the_poll(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    client.force_login(operator)
    url = reverse("migration_progress") + f"?ids={migration.pk}"
    listed = client.get(reverse("customer_list")).content.decode()
    row = listed.split(f'<ul id="subs-{migration.customer_id}" class="sublist">')[1]
    assert "Expires on " in row.split("</ul>")[0]

    running = client.get(url).content.decode()
    assert f'id="subs-{migration.customer_id}"' not in running

    new = _finish(migration)
    page = client.get(url).content.decode()

    cell = _subscriptions_cell(page, migration.customer_id)
    old = Subscription.objects.get(pk=migration.source_subscription_id)
    assert old.label.startswith("Suspended · deprovisioned after ")
    assert new.label.startswith("Auto renews on ")
    assert old.label in cell and new.label in cell
    assert migration.target_offer_name in cell
    assert "Expires on" not in cell
    assert "hx-get" not in page


def test_the_poll_takes_no_more_queries_for_many_ended_rows_than_for_one(
    synced: Any,
    sandbox: Any,
    client: Client,
    operator: Any,
    django_assert_max_num_queries: Any,
) -> None:
    migrations = [
        *start(CONTOSO, operator),
        *start(FABRIKAM, operator),
        *start(LITWARE, operator),
        *start(TAILSPIN, operator),
        *start(NORTHWIND, operator),
    ]
    for migration in migrations:
        _finish(migration)
    client.force_login(operator)
    url = reverse("migration_progress")
    client.get(f"{url}?ids={migrations[0].pk}")  # the session is loaded once
    with CaptureQueriesContext(connection) as one:
        page = client.get(f"{url}?ids={migrations[0].pk}").content.decode()
    _subscriptions_cell(page, migrations[0].customer_id)

    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(
            f"{url}?ids={','.join(str(m.pk) for m in migrations)}"
        ).content.decode()

    for migration in migrations:
        assert "Auto renews on " in _subscriptions_cell(page, migration.customer_id)


def test_the_customer_list_has_one_poller_for_every_running_row(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    start(CONTOSO, operator)
    start(FABRIKAM, operator)
    client.force_login(operator)
    page = client.get(reverse("customer_list")).content.decode()
    assert page.count('hx-get="/migrations/progress/') == 1
    assert page.count('id="migration-poller"') == 1
    assert page.count("<progress") == 2
    tailspin = customer("Tailspin Toys")
    assert reverse("migration_plan", args=[tailspin.tenant_id]) in page


def test_a_viewer_sees_needs_migration_instead_of_the_migrate_button(
    synced: Any, sandbox: Any, client: Client, viewer: Any
) -> None:
    client.force_login(viewer)
    page = client.get(reverse("customer_list")).content.decode()
    assert "Needs migration" in page
    assert "/migrate/" not in page


def test_row_summaries_take_the_same_number_of_queries_for_many_customers(
    synced: Any, sandbox: Any, operator: Any, django_assert_max_num_queries: Any
) -> None:
    start(CONTOSO, operator)
    start(FABRIKAM, operator)
    few = [customer(CONTOSO).pk, customer(FABRIKAM).pk]
    for _ in range(30):
        cust = CustomerFactory()
        SubscriptionFactory.create_batch(2, customer=cust)
    many = list(customer(CONTOSO).__class__.objects.values_list("pk", flat=True))
    assert len(many) > 40
    with django_assert_max_num_queries(6):
        customer_migration_summaries(customer_ids=few)
    with django_assert_max_num_queries(6):
        summaries = customer_migration_summaries(customer_ids=many)
    assert summaries[few[0]].running and summaries[few[0]].hosts_poller
    assert not summaries[few[1]].hosts_poller


def _panel_poll_url(html: str) -> str:
    """Return the URL the customer page's migration panel polls ("" if it does not)."""
    panel = re.search(r'<section id="migration-panel"[^>]*>', html)
    assert panel is not None
    url = re.search(r'hx-get="([^"]+)"', panel.group(0))
    return unescape(url.group(1)) if url else ""


def _redrawn(html: str) -> list[str]:
    """Return the ids of the sections an answer swaps out of band."""
    return re.findall(r'id="([\w-]+)" hx-swap-oob="true"', html)


SECTIONS = [
    "customer-head",
    "customer-subscriptions",
    "customer-licences",
    "customer-users",
    "customer-audit",
]


def test_the_customer_panel_polls_until_the_ended_migration_is_re_read(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    client.force_login(operator)
    page = client.get(
        reverse("customer_detail", args=[customer(CONTOSO).tenant_id])
    ).content.decode()
    poll = _panel_poll_url(page)
    assert f"running={migration.pk}" in poll and 'hx-trigger="every 2s"' in page
    running = client.get(poll).content.decode()
    assert _panel_poll_url(running) == poll
    assert _redrawn(running) == []  # nothing below the panel changed

    drive(migration)
    ended = client.get(poll).content.decode()
    # The migration ended: the sections below say what the panel says...
    assert "Completed" in ended
    assert _redrawn(ended) == SECTIONS
    assert "Auto renews on" in ended
    assert "Suspended · deprovisioned after" in ended
    assert "DYN365_UNIFIED_OPERATIONS" not in ended  # only a re-read brings counts
    # ...and the panel polls on until the worker has re-read the customer.
    waiting = _panel_poll_url(ended)
    assert waiting and "running=&" in waiting
    assert _redrawn(client.get(waiting).content.decode()) == []

    sync_customer_refresh(customer=customer(CONTOSO), migration_id=migration.pk)
    reread = client.get(waiting).content.decode()
    assert _panel_poll_url(reread) == ""
    assert "hx-trigger" not in reread
    assert _redrawn(reread) == SECTIONS
    assert "DYN365_UNIFIED_OPERATIONS" in reread
    assert "Last synced" in reread


def test_the_customer_panel_stops_waiting_for_a_re_read_that_does_not_come(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    migration = drive(start(CONTOSO, operator)[0])
    client.force_login(operator)
    url = reverse("customer_detail", args=[customer(CONTOSO).tenant_id])
    assert _panel_poll_url(client.get(url).content.decode())

    Migration.objects.filter(pk=migration.pk).update(
        finished_at=timezone.now() - REREAD_PATIENCE - timedelta(seconds=1)
    )

    page = client.get(url).content.decode()
    assert _panel_poll_url(page) == ""
    assert "Completed" in page


def test_the_customer_page_shows_the_migration_panel(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    client.force_login(operator)
    page = client.get(
        reverse("customer_detail", args=[customer(CONTOSO).tenant_id])
    ).content.decode()
    assert 'id="migration-panel"' in page
    assert "Dynamics AX Enterprise → Dynamics 365 for Unified Operations" in page


def test_a_stopped_step_shows_plain_words_and_the_partner_center_code(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    migration = drive(migration, until=lambda m: m.state == "move_licenses")
    tenant = customer(CONTOSO).tenant_id
    sandbox.patch(
        f"/_sandbox/customers/{tenant}/subscriptions/{migration.new_subscription_id}",
        {"quantity": 5},
    )
    drive(migration)
    client.force_login(operator)
    page = client.get(reverse("migration_detail", args=[migration.pk])).content.decode()
    assert "Not enough licences" in page
    assert "Partner Center code 60012: We&#x27;re sorry" in page
    assert "No free seat left on the new subscription for this user." in page
    assert "Retry</button>" in page


def test_the_migration_list_filters_by_state_and_pages(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    [contoso] = start(CONTOSO, operator)
    [fabrikam] = start(FABRIKAM, operator)
    migration_cancel(migration=fabrikam, actor=operator)
    client.force_login(operator)

    page = client.get(reverse("migration_list")).content.decode()
    assert "Contoso Ltd" in page and "Fabrikam Inc" in page
    assert "operator" in page

    page = client.get(reverse("migration_list") + "?state=cancelled").content.decode()
    assert "Fabrikam Inc" in page and "Contoso Ltd" not in page
    page = client.get(reverse("migration_list") + "?state=running").content.decode()
    assert "Contoso Ltd" in page and "Fabrikam Inc" not in page
    response = client.get(reverse("migration_list") + "?state=bogus&page=zz")
    assert response.status_code == 200
    assert "Unknown state filter" in response.content.decode()


def test_ids_too_large_for_the_database_are_refused_not_a_500(
    synced: Any, client: Client, operator: Any, admin_user: Any
) -> None:
    client.force_login(operator)
    huge = "9" * 30
    assert client.get(f"/migrations/{huge}/").status_code == 404
    assert client.post(f"/migrations/{huge}/cancel/").status_code == 404
    response = client.get(f"/migrations/progress/?ids={huge},²,-1")
    assert response.status_code == 200
    assert "hx-get" not in response.content.decode()
    client.force_login(admin_user)
    assert client.get(f"/sku-mappings/{huge}/edit/").status_code == 404


def test_a_subscription_left_out_of_the_plan_is_not_validated(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    client.force_login(operator)
    customer(WIDE_WORLD).users.filter(usage_location="").update(usage_location="US")
    form = plan_form(WIDE_WORLD)
    keys = sorted({k.split("-")[0] for k in form})
    left_out = keys[1]
    del form[f"{left_out}-include"]
    form[f"{left_out}-quantity"] = "lots"
    form[f"{left_out}-target"] = "nonsense"

    response = client.post(plan_url(WIDE_WORLD), form)

    assert response.status_code == 302
    [migration] = Migration.objects.all()
    assert f"s{migration.source_subscription_id}" == keys[0]
