"""Reseller invitations: the link a worker fetches, recording, and acceptance by sync."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.messages import get_messages
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from migrations_app.models import (
    AuditEvent,
    Customer,
    CustomerUser,
    InvitationLink,
    ResellerInvitation,
    SyncRun,
)
from migrations_app.services.invitations import (
    LINK_PATIENCE,
    InvitationRefused,
    invitation_record,
    invitations_match_customers,
)
from migrations_app.services.sync import sync_run
from migrations_app.tasks.invitations import fetch_invitation_link
from sandbox import seed
from sandbox.state import PARTNER_TENANT_ID
from tests.conftest import SANDBOX_SEED

pytestmark = pytest.mark.django_db

PAGE = "/invitations/"
CREATE = "/invitations/new/"
SANDBOX_LINK = (
    "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"
    f"&partnerId={PARTNER_TENANT_ID}&msppId=0&DAP=false"
    "#/BillingAccounts/partner-invitation"
)


# ----------------------------------------------------------------- helpers


def pending_tenant(sandbox: Any, name: str) -> dict[str, Any]:
    """Return the sandbox's pending-invitation tenant with this company name."""
    tenant_id = seed.scenario_tenant_id(name, SANDBOX_SEED)
    [tenant] = [t for t in sandbox.state()["invitations"] if t["id"] == tenant_id]
    return tenant


def v1_calls(sandbox: Any) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in sandbox.state()["requests"]]


def queued_tasks() -> list[str]:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return [
        json.loads(raw)["headers"]["task"] for raw in broker.lrange("celery", 0, -1)
    ]


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def form(**values: str) -> dict[str, str]:
    data = {
        "company_name": "Trey Research",
        "domain": "treyresearch.onmicrosoft.com",
        "contact_email": "it@treyresearch.com",
        "note": "Moving from Open licensing.",
    }
    data.update(values)
    return data


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def invitation(domain: str, **values: Any) -> ResellerInvitation:
    values.setdefault("company_name", domain.split(".")[0].title())
    return ResellerInvitation.objects.create(domain=domain, **values)


# ------------------------------------------------------------ the link task


def test_the_link_task_stores_the_sandboxs_relationship_url(
    sandbox: Any, operator: Any
) -> None:
    assert fetch_invitation_link(requested_by_id=operator.pk) is True

    link = InvitationLink.objects.get()
    assert link.url == SANDBOX_LINK
    assert link.error == ""
    assert link.fetched_at is not None and link.attempted_at is not None
    assert v1_calls(sandbox) == ["GET /v1/customers/relationshiprequests"]
    event = AuditEvent.objects.get(action="invitation.link_fetched")
    assert event.actor == "operator" and event.outcome == "success"
    assert event.pc_method == "GET" and event.pc_status == 200
    assert event.pc_path == "/customers/relationshiprequests"
    assert event.pc_request_id == sandbox.state()["requests"][0]["ms_request_id"]


def test_a_failed_fetch_keeps_the_last_link_and_says_why_in_plain_words(
    sandbox: Any,
) -> None:
    fetch_invitation_link()
    sandbox.fault(method="GET", path="relationshiprequests", action="503", count=None)

    assert fetch_invitation_link() is False

    link = InvitationLink.objects.get()
    assert link.url == SANDBOX_LINK
    assert link.error.startswith("Partner Center did not answer in time")
    request_ids = [r["ms_request_id"] for r in sandbox.state()["requests"]]
    assert not any(rid in link.error for rid in request_ids)
    event = AuditEvent.objects.get(action="invitation.link_failed")
    assert event.outcome == "failure" and event.pc_status == 503
    assert link.error in event.message


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("429", "asked PartnerHub to slow down"),
        ("malformed_json", "sent an unreadable answer"),
    ],
)
def test_throttling_and_unreadable_answers_are_stored_as_plain_errors(
    sandbox: Any, action: str, words: str
) -> None:
    sandbox.fault(method="GET", path="relationshiprequests", action=action)

    fetch_invitation_link()

    link = InvitationLink.objects.get()
    assert words in link.error
    assert link.url == "" and link.fetched_at is None
    assert not link.waiting


def test_the_task_also_accepts_invitations_the_last_sync_can_explain(
    synced: Any, sandbox: Any
) -> None:
    contoso = Customer.objects.get(company_name=seed.CONTOSO)
    waiting = invitation(contoso.domain)

    fetch_invitation_link()

    waiting.refresh_from_db()
    assert waiting.status == "accepted" and waiting.customer == contoso


# --------------------------------------------------- the flow against the sandbox


def test_an_invitation_is_accepted_by_the_sync_after_the_customer_accepts(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    trey = pending_tenant(sandbox, seed.TREY_RESEARCH)
    client = signed_in(operator)
    calls_before = v1_calls(sandbox)

    response = client.post(
        reverse("invitation_create"),
        form(company_name=trey["companyName"], domain=trey["domain"]),
    )

    assert response.status_code == 302 and response["Location"] == PAGE
    assert v1_calls(sandbox) == calls_before
    recorded = ResellerInvitation.objects.get()
    assert recorded.status == "pending" and recorded.invited_by == operator
    event = AuditEvent.objects.get(action="invitation.recorded")
    assert event.actor == "operator" and event.ip_address == "127.0.0.1"
    assert trey["domain"] in event.message

    sync_run()
    recorded.refresh_from_db()
    assert recorded.status == "pending", "not accepted yet: still pending"

    sandbox.post(f"/_sandbox/invitations/{trey['id']}/accept", {})
    run = sync_run()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    recorded.refresh_from_db()
    customer = Customer.objects.get(tenant_id=trey["id"])
    assert recorded.status == "accepted"
    assert recorded.customer == customer
    assert recorded.accepted_at is not None
    accepted = AuditEvent.objects.get(action="invitation.accepted")
    assert accepted.customer_tenant_id == trey["id"]
    assert accepted.customer_name == seed.TREY_RESEARCH
    assert accepted.details["matched_by"] == "domain"
    assert accepted.actor == "system"

    page = client.get(PAGE).content.decode()
    assert reverse("customer_detail", args=[customer.tenant_id]) in page
    assert "Accepted" in page


def test_a_custom_domain_the_customers_users_sign_in_with_matches_too(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    lamna = pending_tenant(sandbox, seed.LAMNA)
    user = next(u for u in sandbox.state()["users"] if u["customerId"] == lamna["id"])
    sandbox.patch(
        f"/_sandbox/customers/{lamna['id']}/users/{user['id']}",
        {"userPrincipalName": "Grace@LamnaHealthcare.co.uk"},
    )
    recorded = invitation_record(
        company_name="Lamna", domain="lamnahealthcare.co.uk", actor=operator
    )

    sandbox.post(f"/_sandbox/invitations/{lamna['id']}/accept", {})
    sync_run()

    recorded.refresh_from_db()
    assert recorded.status == "accepted"
    assert recorded.customer == Customer.objects.get(tenant_id=lamna["id"])
    event = AuditEvent.objects.get(action="invitation.accepted")
    assert event.details["matched_by"] == "user domain"


def test_a_withdrawn_invitation_is_never_marked_accepted(
    synced: Any, sandbox: Any, operator: Any
) -> None:
    coho = pending_tenant(sandbox, seed.COHO_WINERY)
    recorded = invitation(coho["domain"], invited_by=operator)
    response = signed_in(operator).post(
        reverse("invitation_withdraw", args=[recorded.pk])
    )
    assert response.status_code == 302

    sandbox.post(f"/_sandbox/invitations/{coho['id']}/accept", {})
    sync_run()

    recorded.refresh_from_db()
    assert recorded.status == "withdrawn" and recorded.customer is None
    assert not AuditEvent.objects.filter(action="invitation.accepted").exists()


def test_only_a_reseller_relationship_counts_as_accepted(db: Any) -> None:
    Customer.objects.create(
        tenant_id="0b6f8a3e-5d0a-4f44-9a43-3f1c2a1d9e01",
        company_name="Advisor Only",
        domain="advisoronly.onmicrosoft.com",
        relationship_to_partner="advisor",
    )
    waiting = invitation("advisoronly.onmicrosoft.com")

    assert invitations_match_customers() == []
    waiting.refresh_from_db()
    assert waiting.status == "pending"


def test_acceptance_is_recorded_once_however_often_matching_runs(db: Any) -> None:
    customer = Customer.objects.create(
        tenant_id="5a0c4a43-9c2e-4a57-8f38-b3a4e8a3b111",
        company_name="Fourth Coffee",
        domain="FourthCoffee.onmicrosoft.com",
        relationship_to_partner="Reseller",
    )
    invitation("fourthcoffee.onmicrosoft.com")

    first = invitations_match_customers()
    second = invitations_match_customers()

    assert [i.customer for i in first] == [customer]
    assert second == []
    assert AuditEvent.objects.filter(action="invitation.accepted").count() == 1


def test_a_domain_several_customers_users_share_is_left_pending(db: Any) -> None:
    for n, tenant in enumerate(
        ["8d0f1e7c-0c1b-4f3e-9a55-6b7e8c9d0a01", "8d0f1e7c-0c1b-4f3e-9a55-6b7e8c9d0a02"]
    ):
        customer = Customer.objects.create(
            tenant_id=tenant,
            company_name=f"Shared {n}",
            domain=f"shared{n}.onmicrosoft.com",
            relationship_to_partner="reseller",
        )
        CustomerUser.objects.create(
            customer=customer, user_id=f"u{n}", user_principal_name=f"a{n}@shared.com"
        )
    waiting = invitation("shared.com")

    assert invitations_match_customers() == []
    waiting.refresh_from_db()
    assert waiting.status == "pending"


def test_a_failure_while_matching_never_fails_the_sync(sandbox: Any, db: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {ResellerInvitation._meta.db_table}")

    run = sync_run()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert Customer.objects.count() == len(sandbox.state()["customers"])
    assert AuditEvent.objects.filter(action="sync.completed").count() == 1


# ----------------------------------------------------------- recording, bad input


def test_the_domain_is_normalised_to_lower_case(operator: Any) -> None:
    client = signed_in(operator)

    client.post(CREATE, form(domain="  TreyResearch.OnMicrosoft.COM. "))

    assert ResellerInvitation.objects.get().domain == "treyresearch.onmicrosoft.com"


def test_an_international_domain_is_stored_in_its_ascii_form(operator: Any) -> None:
    signed_in(operator).post(CREATE, form(domain="bücher.example"))

    assert ResellerInvitation.objects.get().domain == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"domain": ""}, "Enter the customer&#x27;s domain."),
        ({"domain": "not a domain"}, "Enter a domain such as"),
        ({"domain": "localhost"}, "Enter a domain such as"),
        ({"domain": "it@contoso.com"}, "without a user name"),
        ({"domain": "https://contoso.com/"}, "without https://"),
        ({"domain": "x" * 300 + ".com"}, "at most 253 characters"),
        ({"company_name": "   "}, "Enter the customer&#x27;s company name."),
        ({"contact_email": "not-an-email"}, "Enter an email address"),
        ({"note": "n" * 2001}, "Keep the note under 2000 characters."),
    ],
)
def test_bad_input_comes_back_with_a_clear_message_and_writes_nothing(
    operator: Any, fields: dict[str, str], message: str
) -> None:
    client = signed_in(operator)
    events = AuditEvent.objects.count()

    response = client.post(CREATE, form(**fields))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ResellerInvitation.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_second_invitation_to_a_pending_domain_is_refused_clearly(
    operator: Any,
) -> None:
    client = signed_in(operator)
    client.post(CREATE, form())

    response = client.post(CREATE, form(domain="TREYRESEARCH.onmicrosoft.com"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "An invitation to treyresearch.onmicrosoft.com" in html
    assert "is already pending, recorded by operator" in html
    assert "Withdraw it first" in html
    assert ResellerInvitation.objects.count() == 1
    assert AuditEvent.objects.filter(action="invitation.recorded").count() == 1


def test_after_a_withdrawal_the_domain_can_be_invited_again(operator: Any) -> None:
    client = signed_in(operator)
    client.post(CREATE, form())
    first = ResellerInvitation.objects.get()
    client.post(reverse("invitation_withdraw", args=[first.pk]))

    response = client.post(CREATE, form(note="Sent again after a new contract."))

    assert response.status_code == 302
    statuses = sorted(ResellerInvitation.objects.values_list("status", flat=True))
    assert statuses == ["pending", "withdrawn"]


def test_the_database_refuses_two_pending_invitations_for_one_domain(db: Any) -> None:
    invitation("twice.example.com")
    invitation("twice.example.com", status="withdrawn")

    with pytest.raises(IntegrityError), transaction.atomic():
        invitation("twice.example.com")


def test_a_domain_that_is_already_a_reseller_customer_needs_no_invitation(
    synced: Any, operator: Any
) -> None:
    contoso = Customer.objects.get(company_name=seed.CONTOSO)

    response = signed_in(operator).post(CREATE, form(domain=contoso.domain))

    html = response.content.decode()
    assert response.status_code == 200
    assert "already your reseller customer" in html
    assert not ResellerInvitation.objects.exists()


def test_the_service_refuses_the_same_way(operator: Any) -> None:
    invitation_record(company_name="A", domain="a.example.com", actor=operator)

    with pytest.raises(InvitationRefused, match="already pending"):
        invitation_record(company_name="A", domain="A.example.com.", actor=operator)


# ------------------------------------------------------------------ withdraw


def test_an_operator_withdraws_a_pending_invitation(operator: Any) -> None:
    recorded = invitation("northwind.example.com", invited_by=operator)
    client = signed_in(operator)

    response = client.post(reverse("invitation_withdraw", args=[recorded.pk]))

    assert response.status_code == 302 and response["Location"] == PAGE
    recorded.refresh_from_db()
    assert recorded.status == "withdrawn" and recorded.withdrawn_by == operator
    assert recorded.withdrawn_at is not None
    event = AuditEvent.objects.get(action="invitation.withdrawn")
    assert event.actor == "operator" and "northwind.example.com" in event.message
    assert "Withdrew the invitation" in messages_of(response)[0]


def test_withdrawing_twice_or_an_accepted_one_changes_nothing(operator: Any) -> None:
    accepted = invitation("done.example.com", status="accepted")
    client = signed_in(operator)

    response = client.post(reverse("invitation_withdraw", args=[accepted.pk]))

    accepted.refresh_from_db()
    assert response.status_code == 302 and accepted.status == "accepted"
    assert "already accepted; nothing was changed" in messages_of(response)[0]
    assert not AuditEvent.objects.filter(action="invitation.withdrawn").exists()


def test_withdrawing_an_unknown_invitation_is_a_404(operator: Any) -> None:
    client = signed_in(operator)

    assert client.post("/invitations/999999/withdraw/").status_code == 404
    assert client.post(f"/invitations/{2**63}/withdraw/").status_code == 404


# --------------------------------------------------------------- roles


def test_a_viewer_reads_the_page_but_cannot_change_anything(viewer: Any) -> None:
    recorded = invitation("viewer.example.com")
    client = signed_in(viewer)

    page = client.get(PAGE).content.decode()
    assert "viewer.example.com" in page
    assert 'name="domain"' not in page
    assert reverse("invitation_link_request") not in page
    assert reverse("invitation_withdraw", args=[recorded.pk]) not in page

    assert client.post(CREATE, form()).status_code == 403
    assert client.post(reverse("invitation_link_request")).status_code == 403
    withdraw = reverse("invitation_withdraw", args=[recorded.pk])
    assert client.post(withdraw).status_code == 403
    recorded.refresh_from_db()
    assert recorded.status == "pending"
    assert not InvitationLink.objects.exists()
    assert ResellerInvitation.objects.count() == 1


def test_visitors_are_sent_to_sign_in(client: Client, db: Any) -> None:
    for response in (client.get(PAGE), client.post(CREATE, form())):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# --------------------------------------------------------------- the page


def test_the_empty_page_explains_the_three_steps(sandbox: Any, viewer: Any) -> None:
    response = signed_in(viewer).get(PAGE)

    html = response.content.decode()
    assert response.status_code == 200
    assert "No invitations yet." in html
    for words in (
        "<strong>1. Invite.</strong>",
        "2. The customer accepts; you provision.",
        "3. The old subscriptions expire.",
        "cancelled subscriptions are not refunded",
        "PartnerHub has not fetched your invitation link yet.",
    ):
        assert words in html
    assert 'class="active">Invitations</a>' in html
    assert v1_calls(sandbox) == []


def test_pending_invitations_come_first(operator: Any) -> None:
    now = timezone.now()
    invitation("old.example.com", invited_at=now - timedelta(days=9))
    invitation("accepted.example.com", status="accepted", invited_at=now)
    invitation(
        "withdrawn.example.com", status="withdrawn", invited_at=now - timedelta(days=2)
    )
    invitation("new.example.com", invited_at=now - timedelta(days=1))

    html = signed_in(operator).get(PAGE).content.decode()

    order = sorted(
        ["old", "accepted", "withdrawn", "new"],
        key=lambda name: html.index(f"{name}.example.com"),
    )
    # Pending ones first, newest first; then the others, newest first.
    assert order == ["new", "old", "accepted", "withdrawn"]


def test_the_page_query_count_does_not_grow_with_the_invitations(
    operator: Any, django_assert_max_num_queries: Any
) -> None:
    customer = Customer.objects.create(
        tenant_id="1c3e5a7b-2d4f-4a6b-8c0d-1e2f3a4b5c6d",
        company_name="Linked",
        domain="linked.onmicrosoft.com",
    )
    for n in range(30):
        invitation(f"c{n}.example.com", invited_by=operator, status="withdrawn")
        invitation(
            f"a{n}.example.com",
            invited_by=operator,
            status="accepted",
            customer=customer,
            accepted_at=timezone.now(),
        )
    client = signed_in(operator)

    with django_assert_max_num_queries(12):
        response = client.get(PAGE)

    assert response.status_code == 200


# ---------------------------------------------------- the link request and poll


def test_an_operators_link_request_is_audited_and_only_queued(
    sandbox: Any, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in(operator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("invitation_link_request"))

    assert response.status_code == 302 and response["Location"] == PAGE
    assert queued_tasks() == ["migrations_app.tasks.fetch_invitation_link"]
    assert v1_calls(sandbox) == []
    event = AuditEvent.objects.get(action="invitation.link_requested")
    assert event.actor == "operator" and event.ip_address == "127.0.0.1"
    assert InvitationLink.objects.get().waiting
    page = client.get(PAGE).content.decode()
    assert "Fetching…" in page and "data-poll" in page


def test_the_htmx_request_answers_with_a_polling_fragment_and_the_poll_stops(
    sandbox: Any, operator: Any, viewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in(operator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("invitation_link_request"), headers={"HX-Request": "true"}
        )

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="invitation-link"' in html
    assert 'hx-trigger="every 2s"' in html and "data-poll" in html
    status = reverse("invitation_link_status")
    watcher = signed_in(viewer)
    assert 'hx-trigger="every 2s"' in watcher.get(status).content.decode()

    fetch_invitation_link(requested_by_id=operator.pk)

    final = watcher.get(status).content.decode()
    assert "hx-trigger" not in final and "data-poll" not in final
    assert 'id="invitation-url"' in final and "readonly" in final
    assert f'value="{SANDBOX_LINK.replace("&", "&amp;")}"' in final
    assert "Text to send the customer" in final
    assert v1_calls(sandbox) == ["GET /v1/customers/relationshiprequests"]


def test_a_second_request_while_one_waits_queues_nothing_more(
    operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in(operator)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("invitation_link_request"))
        client.post(reverse("invitation_link_request"))

    assert queued_tasks() == ["migrations_app.tasks.fetch_invitation_link"]
    messages = AuditEvent.objects.filter(action="invitation.link_requested")
    assert messages.count() == 2
    assert "none queued" in messages.order_by("pk").last().message


def test_a_request_no_worker_picks_up_stops_polling_and_says_so(
    operator: Any, viewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    InvitationLink.objects.create(
        requested_at=timezone.now() - LINK_PATIENCE - timedelta(seconds=1)
    )
    client = signed_in(viewer)

    html = client.get(reverse("invitation_link_status")).content.decode()

    assert "hx-trigger" not in html
    assert "Is the Celery worker running?" in html
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(operator).post(reverse("invitation_link_request"))
    assert queued_tasks() == ["migrations_app.tasks.fetch_invitation_link"]


def test_a_failed_fetch_shows_its_error_and_a_way_to_try_again(
    sandbox: Any, operator: Any
) -> None:
    sandbox.fault(method="GET", path="relationshiprequests", action="429")
    fetch_invitation_link()

    html = signed_in(operator).get(PAGE).content.decode()

    assert "The invitation link could not be fetched." in html
    assert "asked PartnerHub to slow down" in html
    assert "Try again</button>" in html
    assert "hx-trigger" not in html


def test_a_very_long_list_says_how_many_are_not_shown(viewer: Any) -> None:
    ResellerInvitation.objects.bulk_create(
        ResellerInvitation(
            company_name=f"Old {n}", domain=f"old{n}.example.com", status="withdrawn"
        )
        for n in range(205)
    )

    html = signed_in(viewer).get(PAGE).content.decode()

    assert html.count('<tr id="invitation-') == 200
    assert "Showing the first 200 invitations, pending ones first; 5 older" in html
