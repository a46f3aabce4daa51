"""An organisation's settings page: selects filled from what was imported from THAT
organisation, saving through the API's functions (read back from the database), field
messages for bad input with the values kept, members refused, other workspaces not found."""

# ruff: noqa: F811 - pytest passes the imported fixture by name
from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync.models import RecordType, SyncSettings, XeroReference
from ledgerbridge.xero.models import XeroConnection
from tests.factories import Seeded, seed_workspace
from tests.web.pages.conftest import csrf_of, post_form, sign_in
from tests.xero.conftest import give_consent, run_jobs  # noqa: F401 - fixture

AU, NZ = "Demo Company (AU)", "Demo Company (NZ)"


def connect(
    page: TestClient, xero_browser: TestClient, database: Database, pick: list[str]
) -> dict[str, str]:
    """Connect organisations through the Integrations page; their ids by name."""
    started = post_form(page, "/integrations", "/integrations/xero/connect")
    assert started.status_code == 303, started.text
    page.get(give_consent(xero_browser, started.headers["location"], pick).callback)
    with database.session() as session:
        return {c.tenant_name: c.id for c in session.scalars(select(XeroConnection))}


def import_from_page(page: TestClient, run_jobs: Callable[[], int], connection_id: str, what: str) -> str:
    """Press an Import button, run the queued job as the worker would; the run's id."""
    imports = f"/integrations/xero/{connection_id}/imports"
    started = post_form(page, imports, imports, {"record_type": what})
    assert started.status_code == 303, started.text
    assert run_jobs() == 1
    return started.headers["location"].split("?run=")[1]


def _form(page: TestClient, url: str, **changes: str) -> dict[str, str]:
    """The settings form as the page filled it, with some fields changed."""
    text = page.get(url).text
    data = {
        "csrf_token": csrf_of(text),
        "revenue_account_code": "",
        "expense_account_code": "",
        "default_tax_type": "",
        "branding_theme_id": "",
        "interval_minutes": "60",
        "due_date_offset_days": "14",
        "invoice_sending": "immediately",
        "invoice_status": "draft",
        "auto_sync.contact": "on",
        "auto_sync.invoice": "on",
    }
    return {**data, **changes}


def _stored(database: Database, connection_id: str) -> SyncSettings:
    with database.session() as session:
        settings = session.scalars(
            select(SyncSettings).where(SyncSettings.connection_id == connection_id)
        ).one()
        session.expunge(settings)
        return settings


def test_settings_offer_this_organisations_imports_and_save(
    owner_page: TestClient,
    xero_browser: TestClient,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: Callable[[], int],
) -> None:
    ids = connect(owner_page, xero_browser, database, [AU, NZ])
    integrations = owner_page.get("/integrations").text
    assert f'href="/integrations/xero/{ids[NZ]}/settings"' in integrations
    assert f'href="/integrations/xero/{ids[NZ]}/imports"' in integrations
    assert 'href="/settings/xero-app"' in integrations
    url = f"/integrations/xero/{ids[AU]}/settings"
    before = owner_page.get(url)
    assert before.status_code == 200
    assert "have not been imported yet" in before.text
    assert f'href="/integrations/xero/{ids[AU]}/imports"' in before.text

    import_from_page(owner_page, run_jobs, ids[AU], "all")
    with database.session() as session:
        accounts = {
            r.code: r.name
            for r in session.scalars(
                select(XeroReference).where(
                    XeroReference.connection_id == ids[AU], XeroReference.record_type == RecordType.ACCOUNT
                )
            )
            if r.code
        }
        theme = session.scalars(
            select(XeroReference).where(
                XeroReference.connection_id == ids[AU], XeroReference.record_type == RecordType.BRANDING_THEME
            )
        ).first()
    assert theme is not None and {"200", "400"} <= set(accounts)
    page = owner_page.get(url).text
    assert "have not been imported yet" not in page
    assert f'<option value="200">200 · {accounts["200"]}' in page
    assert '<option value="090">' not in page  # a bank account cannot code an invoice line
    assert f'<option value="{theme.xero_id}">{theme.name}</option>' in page
    # The NZ organisation imported nothing: its page offers no AU account.
    assert '<option value="200">' not in owner_page.get(f"/integrations/xero/{ids[NZ]}/settings").text

    saved = owner_page.post(
        url,
        data=_form(
            owner_page,
            url,
            revenue_account_code="200",
            expense_account_code="400",
            default_tax_type="OUTPUT",
            branding_theme_id=theme.xero_id,
            interval_minutes="30",
            due_date_offset_days="7",
            invoice_sending="weekly",
            invoice_status="authorised",
            auto_sync_new_members="on",
        ),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert f"Settings saved for {AU}." in owner_page.get(url).text
    stored = _stored(database, ids[AU])
    assert (stored.revenue_account_code, stored.expense_account_code) == ("200", "400")
    assert (stored.default_tax_type, stored.branding_theme_id) == ("OUTPUT", theme.xero_id)
    assert (stored.interval_minutes, stored.due_date_offset_days) == (30, 7)
    assert (stored.invoice_sending, stored.invoice_status) == ("weekly", "authorised")
    # Weekly sending queued the next send at once; the page says when.
    assert re.search(r"Next invoice send</dt><dd>\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", owner_page.get(url).text)
    assert stored.auto_sync_new_members is True
    # Unticked types are switched off; the ticked ones stay on.
    assert stored.auto_sync["contact"] is True and stored.auto_sync["invoice"] is True
    assert stored.auto_sync["payment"] is False and stored.auto_sync["item"] is False
    # The NZ organisation's settings are its own.
    assert owner_page.get(f"/integrations/xero/{ids[NZ]}/settings").status_code == 200
    assert _stored(database, ids[NZ]).revenue_account_code is None
    # The page shows what was saved.
    again = owner_page.get(url).text
    assert '<option value="200" selected>' in again and 'value="30"' in again


def test_bad_values_are_named_beside_their_fields_and_kept(
    owner_page: TestClient, xero_browser: TestClient, database: Database, run_jobs: Callable[[], int]
) -> None:
    ids = connect(owner_page, xero_browser, database, [AU, NZ])
    import_from_page(owner_page, run_jobs, ids[AU], "account")
    url = f"/integrations/xero/{ids[AU]}/settings"
    refused = owner_page.post(
        url,
        data=_form(
            owner_page,
            url,
            revenue_account_code="999",
            due_date_offset_days="-3",
            interval_minutes="2000",
            invoice_sending="hourly",
        ),
    )
    assert refused.status_code == 422
    text = refused.text
    assert f"Revenue account: &#39;999&#39; was not imported from {AU}." in text
    assert "Due-date offset: enter a whole number of days from 0 to 365." in text
    assert "Auto-sync interval: enter a whole number of minutes from 5 to 1440." in text
    assert "Send new invoices to Xero: choose immediately, weekly or monthly." in text
    assert 'value="-3"' in text and 'value="2000"' in text  # what was typed is kept
    assert '<option value="999" selected>' in text
    stored = _stored(database, ids[AU])
    assert (stored.revenue_account_code, stored.due_date_offset_days, stored.interval_minutes) == (
        None,
        14,
        60,
    )

    # An account of another organisation is unknown here too; a word is not a number.
    nz_url = f"/integrations/xero/{ids[NZ]}/settings"
    other = owner_page.post(
        nz_url, data=_form(owner_page, nz_url, revenue_account_code="200", interval_minutes="x")
    )
    assert other.status_code == 422
    assert f"Revenue account: &#39;200&#39; was not imported from {NZ}." in other.text
    assert "Auto-sync interval: enter a whole number of minutes" in other.text

    # A payroll calendar must be one imported from this organisation (the API's own check).
    payroll = owner_page.post(url, data=_form(owner_page, url, default_payroll_calendar_id="not-a-calendar"))
    assert payroll.status_code == 422
    assert "Default payroll calendar: no payroll calendar with id &#39;not-a-calendar&#39;" in payroll.text


def test_members_are_refused_and_other_workspaces_get_404(
    service: TestClient, owner_page: TestClient, xero_browser: TestClient, database: Database, seeded: Seeded
) -> None:
    ids = connect(owner_page, xero_browser, database, [AU])
    url = f"/integrations/xero/{ids[AU]}/settings"
    assert owner_page.get(url).status_code == 200  # the owner's visit stores the defaults
    owner_page.cookies.clear()

    sign_in(service, "member@harbour.example.com")
    refused = service.get(url)
    assert refused.status_code == 403
    assert "Only workspace owners and admins may do this." in refused.text
    assert "Revenue account" not in refused.text
    member_token = csrf_of(service.get("/integrations").text)
    assert service.post(url, data={"csrf_token": member_token, "interval_minutes": "5"}).status_code == 403
    assert _stored(database, ids[AU]).interval_minutes == 60

    service.cookies.clear()
    with database.session() as session:
        seed_workspace(session, "Other Studio Pty Ltd", slug="other")
    sign_in(service, "owner@other.example.com")
    missing = service.get(url)
    assert missing.status_code == 404
    assert "No Xero organisation with id" in missing.text
    other_token = csrf_of(service.get("/integrations").text)
    assert service.post(url, data={"csrf_token": other_token, "interval_minutes": "5"}).status_code == 404
