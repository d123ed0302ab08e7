"""The customer list's progress poll answers only what changed since the page's
last poll, by each migration's version."""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from migrations_app.models import Migration
from migrations_app.selectors.migrations import migration_changes
from migrations_app.services.migrations import migration_cancel
from migrations_app.workflow.lease import StepContext, migration_claim
from tests.migrations_app.migration_support import (
    CONTOSO,
    FABRIKAM,
    LITWARE,
    NORTHWIND,
    TAILSPIN,
    start,
    step_once,
)

POLLER = re.compile(r'hx-get="(/migrations/progress/\?ids=[^"&]*)')


def _poll_url(page: str) -> str:
    [url] = POLLER.findall(page)
    return url


def test_the_poll_answers_204_while_no_shown_migration_changes(
    synced: Any, client: Client, operator: Any
) -> None:
    start(CONTOSO, operator)
    start(FABRIKAM, operator)
    client.force_login(operator)
    url = _poll_url(client.get(reverse("customer_list")).content.decode())

    response = client.get(url)

    assert response.status_code == 204
    assert response.content == b""


def test_the_poll_answers_only_the_rows_whose_migration_moved_on(
    synced: Any, sandbox: Any, client: Client, operator: Any
) -> None:
    [contoso] = start(CONTOSO, operator)
    [fabrikam] = start(FABRIKAM, operator)
    client.force_login(operator)
    url = _poll_url(client.get(reverse("customer_list")).content.decode())

    step_once(contoso)
    page = client.get(url).content.decode()

    assert f'id="migration-status-{contoso.customer_id}"' in page
    assert f'id="migration-status-{fabrikam.customer_id}"' not in page
    contoso.refresh_from_db()
    fabrikam.refresh_from_db()
    assert contoso.version > 0 and fabrikam.version == 0
    assert _poll_url(page) == (
        f"/migrations/progress/?ids={contoso.pk}.{contoso.version},{fabrikam.pk}.0"
    )
    assert client.get(_poll_url(page)).status_code == 204


def test_a_cancelled_migration_leaves_the_poll_and_its_row_says_so(
    synced: Any, client: Client, operator: Any
) -> None:
    [contoso] = start(CONTOSO, operator)
    [fabrikam] = start(FABRIKAM, operator)
    client.force_login(operator)
    url = _poll_url(client.get(reverse("customer_list")).content.decode())

    migration_cancel(migration=contoso, actor=operator)
    page = client.get(url).content.decode()

    status = page.split(f'id="migration-status-{contoso.customer_id}"')[1]
    assert "Cancelled" in status.split("</div>")[0]
    assert _poll_url(page) == f"/migrations/progress/?ids={fabrikam.pk}.0"


def test_every_save_and_release_of_a_claim_moves_the_version_on(
    synced: Any, operator: Any
) -> None:
    [migration] = start(CONTOSO, operator)
    claimed = migration_claim(migration_id=migration.pk, owner="w1")
    assert claimed is not None and claimed.version == 0
    ctx = StepContext(claimed, "w1", client=None)  # type: ignore[arg-type]

    ctx.save(error_message="Waiting")
    assert Migration.objects.get(pk=migration.pk).version == 1
    ctx.release(error_message="")
    assert Migration.objects.get(pk=migration.pk).version == 2


def test_a_poll_with_nothing_changed_takes_the_same_queries_for_many_ids(
    synced: Any, client: Client, operator: Any, django_assert_max_num_queries: Any
) -> None:
    migrations = [
        *start(CONTOSO, operator),
        *start(FABRIKAM, operator),
        *start(LITWARE, operator),
        *start(TAILSPIN, operator),
        *start(NORTHWIND, operator),
    ]
    client.force_login(operator)
    url = reverse("migration_progress")
    client.get(f"{url}?ids={migrations[0].pk}.0")  # the session is loaded once
    with CaptureQueriesContext(connection) as one:
        assert client.get(f"{url}?ids={migrations[0].pk}.0").status_code == 204

    with django_assert_max_num_queries(len(one.captured_queries)):
        ids = ",".join(f"{m.pk}.0" for m in migrations)
        assert client.get(f"{url}?ids={ids}").status_code == 204


def test_the_changes_selector_reports_unknown_versions_and_skips_missing_rows(
    synced: Any, operator: Any
) -> None:
    [contoso] = start(CONTOSO, operator)
    [fabrikam] = start(FABRIKAM, operator)

    changes = migration_changes(known={contoso.pk: None, fabrikam.pk: 0, 999999: 1})

    assert [(c.pk, c.version, c.running) for c in changes] == [(contoso.pk, 0, True)]
