"""Browser fixtures: one Chromium per session, a fresh context per test.

Playwright's sync API runs an event loop in the test thread, which makes Django's
async-safety check refuse ORM calls from tests; the check is switched off here,
for the browser tests only. Tests get a live server through pytest-django's
`live_server` (and so a transactional database, emptied after each test).

Before every test in this folder, the rows the data migrations create (role
groups, audit chain head, SKU catalogue) are written again if missing, so no test
depends on what ran before it.

Fixtures for every browser test: `browser` (session), `page` (a new context per
test, base URL = the live server), `login(page, username)` and
`screenshot(page, name)` (full-page PNGs under var/test-artifacts/screenshots of
this checkout, or PARTNERHUB_SHOTS_DIR, for review). For the tests that watch
migrations run: `synced_sandbox` (synced, then slowed by `sandbox_latency_ms`) and
`worker` (a background thread doing `worker_jobs` each round, see
`tests/e2e/worker.py`); a module overrides `sandbox_latency_ms` or `worker_jobs`
to change what they do.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from migrations_app.models import SyncRun  # noqa: E402
from migrations_app.services.sync import sync_run  # noqa: E402
from tests.e2e.worker import Job, Worker, advance_due_migrations  # noqa: E402
from tests.migrations_app.migration_support import restore_migration_data  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "partnerhub"


def shots_dir(environ: Mapping[str, str]) -> Path:
    """Return where screenshots go: PARTNERHUB_SHOTS_DIR, else under the checkout.

    Under the checkout, so two checkouts on one host never overwrite each other's.
    """
    default = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
    return Path(environ.get("PARTNERHUB_SHOTS_DIR") or default / "screenshots")


SHOTS = shots_dir(os.environ)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder as an e2e test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    """Return one headless Chromium for the whole session."""
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(autouse=True)
def migration_data(transactional_db: Any) -> None:
    """Write the data migrations' rows before the test and its other fixtures run.

    Autouse, so it comes before fixtures that sync (binding the SKU mappings needs
    the catalogue) whatever order a test lists them in.
    """
    restore_migration_data()


@pytest.fixture
def page(browser: Browser, live_server: Any, migration_data: None) -> Iterator[Page]:
    """Return a page in a fresh browser context whose base URL is the live server."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait for the customer list."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/customers/**")


@pytest.fixture
def login() -> Callable[[Page, str], None]:
    """Return `login(page, username)`, which signs that user in."""
    return log_in


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """Return `screenshot(page, name)`, saving a full-page PNG for review."""

    def take(page: Page, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def sandbox_latency_ms() -> int:
    """Return the latency `synced_sandbox` gives each sandbox call once synced."""
    return 60


@pytest.fixture
def synced_sandbox(
    sandbox: Any, transactional_db: Any, settings: Any, sandbox_latency_ms: int
) -> Iterator[Any]:
    """Sync the sandbox; slow it a little so a running migration can be seen."""
    settings.PARTNERHUB_PROVISIONING_POLL_SECONDS = 0.3
    run = sync_run()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    sandbox.settings(latency_ms=sandbox_latency_ms)
    yield sandbox
    sandbox.settings(latency_ms=0)  # the sandbox keeps settings across resets


@pytest.fixture
def worker_jobs() -> list[Job]:
    """Return what the background worker does each round, in order."""
    return [advance_due_migrations]


@pytest.fixture
def worker(worker_jobs: list[Job]) -> Iterator[Worker]:
    """Run `worker_jobs` in a background thread until the test ends.

    Fail the test at teardown if a job raised.
    """
    running = Worker(worker_jobs)
    running.start()
    yield running
    running.stop()
    assert not running.failures, running.failures
