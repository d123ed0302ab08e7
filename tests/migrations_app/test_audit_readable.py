"""The audit log reads like the customer activity: plain words, short ids, a
select of actions, bad filters explained without hiding rows, and Verify now."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from migrations_app.models import AuditVerification
from migrations_app.services.audit import KNOWN_ACTIONS, audit_record
from migrations_app.tasks.audit import verify_audit_chain
from tests.factories import CustomerFactory, CustomerUserFactory

pytestmark = pytest.mark.django_db

TENANT = "4f7c1a52-93a4-4e2a-9d0e-5a1c3d3b0c11"
USER_ID = "0b6e2f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
REQUEST_ID = "9d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a"


@dataclass(frozen=True)
class Call:
    method: str = "POST"
    path: str = f"/customers/{TENANT}/users/{USER_ID}/licenseupdates"
    status: int | None = 201
    request_id: str = REQUEST_ID
    correlation_id: str = "c0ffee00-0000-4000-8000-000000000001"
    duration_ms: float = 120.0
    error_code: str | None = None
    operation: str = "licence_update"


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _licence_move() -> None:
    customer = CustomerFactory(tenant_id=TENANT, company_name="Contoso")
    CustomerUserFactory(customer=customer, user_id=USER_ID, display_name="Zoe Taylor")
    audit_record(
        action="partner_center.write",
        customer_name="Contoso",
        migration_id=7,
        message=f"POST /customers/{TENANT}/users/{USER_ID}/licenseupdates → 201",
        call=Call(),
    )


def test_a_partner_center_write_is_in_plain_words(viewer: Any) -> None:
    _licence_move()

    html = signed_in(viewer).get(reverse("audit_list")).content.decode()

    assert "Licence moved for Zoe Taylor" in html


def test_guids_are_shortened_with_the_full_value_on_hover_and_copy(
    viewer: Any,
) -> None:
    _licence_move()

    html = signed_in(viewer).get(reverse("audit_list")).content.decode()

    # Every GUID shown as text is the short form; the whole one is in attributes.
    text = re.sub(r"<[^>]+>", " ", html)
    assert REQUEST_ID not in text and USER_ID not in text
    assert f'title="{REQUEST_ID}" data-copy="{REQUEST_ID}"' in html
    assert "9d3c2b1a\u2026" in html
    assert f'data-copy="{USER_ID}"' in html


def test_the_action_filter_is_a_select_of_the_known_actions(viewer: Any) -> None:
    html = signed_in(viewer).get(reverse("audit_list")).content.decode()

    select = re.search(
        r'<select id="id_action" name="action">(.*?)</select>', html, re.S
    )
    assert select is not None
    for action, label in KNOWN_ACTIONS.items():
        assert f'<option value="{action}">{label}</option>' in select.group(1)


def test_a_bad_migration_id_is_explained_and_the_other_rows_still_show(
    viewer: Any,
) -> None:
    audit_record(action="login", actor_label="viewer", message="Signed in.")

    response = signed_in(viewer).get(reverse("audit_list"), {"migration": "nine"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Migration id was ignored: Enter a whole number." in html
    assert "Signed in" in html


def test_admins_verify_now_through_a_worker_and_see_the_result(
    admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    audit_record(action="login", actor_label="admin")
    client = signed_in(admin_user)
    assert "Verify now" in client.get(reverse("audit_list")).content.decode()

    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = client.post(reverse("audit_verify"), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Verifying the audit chain" in response.content.decode()
    assert [c.name for c in sent] == ["migrations_app.tasks.verify_audit_chain"]
    assert not AuditVerification.objects.exists()
    poll = re.search(r'hx-get="([^"]+)"', response.content.decode())
    assert poll is not None
    waiting = client.get(poll.group(1).replace("&amp;", "&")).content.decode()
    assert "Verifying the audit chain" in waiting

    verify_audit_chain()  # what the worker runs for that message

    done = client.get(poll.group(1).replace("&amp;", "&")).content.decode()
    assert "intact" in done and "hx-get" not in done


def test_only_admins_may_ask_for_a_verification(operator: Any) -> None:
    response = signed_in(operator).post(reverse("audit_verify"))

    assert response.status_code == 403
    assert (
        "Verify now"
        not in signed_in(operator).get(reverse("audit_list")).content.decode()
    )
