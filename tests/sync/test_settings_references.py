"""The invoice defaults in an organisation's settings (``PUT /xero/connections/{id}/settings``)
must be records imported from THAT organisation: accounts, tax rates and branding themes.
The API refuses anything else with a message naming the field and the fix, and says to
import first when nothing is imported yet. The settings page goes through the same check
(tests/web/pages/test_org_settings.py)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from ledgerbridge.db import Database
from ledgerbridge.sync.models import RecordType, XeroReference
from ledgerbridge.xero.models import XeroConnection
from tests.xero.conftest import give_consent

AU = "Demo Company (AU)"
NZ = "Demo Company (NZ)"


def _connect(admin: TestClient, browser: TestClient, database: Database) -> dict[str, str]:
    authorize_url = admin.post("/api/v1/xero/connect").json()["authorize_url"]
    admin.get(give_consent(browser, authorize_url, [AU, NZ]).callback)
    with database.session() as session:
        return {c.tenant_name: c.id for c in session.scalars(select(XeroConnection))}


def _url(connection_id: str) -> str:
    return f"/api/v1/xero/connections/{connection_id}/settings"


def _fields(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def _theme_id(database: Database, connection_id: str) -> str:
    with database.session() as session:
        return (
            session.scalars(
                select(XeroReference.xero_id).where(
                    XeroReference.connection_id == connection_id,
                    XeroReference.record_type == RecordType.BRANDING_THEME,
                )
            ).first()
            or ""
        )


def test_the_api_refuses_invoice_defaults_not_imported_from_that_organisation(
    owner_api: TestClient, xero_browser: TestClient, database: Database, run_jobs: Callable[[], int]
) -> None:
    ids = _connect(owner_api, xero_browser, database)
    au_url = _url(ids[AU])

    # Nothing imported yet: say to import first, and store nothing.
    first = _fields(owner_api.put(au_url, json={"revenue_account_code": "200", "interval_minutes": 30}))
    assert set(first) == {"revenue_account_code"}
    assert (
        f"'200' was not imported from {AU}. No accounts have been imported from it yet"
        in (first["revenue_account_code"])
    )
    assert f"/api/v1/xero/connections/{ids[AU]}/imports" in first["revenue_account_code"]
    assert owner_api.get(au_url).json()["interval_minutes"] == 60  # all or nothing

    started = owner_api.post(
        f"/api/v1/xero/connections/{ids[AU]}/imports",
        json={"record_types": ["account", "tax_rate", "branding_theme"]},
    )
    assert started.status_code == 202, started.text
    assert run_jobs() == 1
    theme = _theme_id(database, ids[AU])
    assert theme

    # A code the organisation does not have names the field, the organisation and choices.
    unknown = owner_api.put(au_url, json={"revenue_account_code": "999"})
    detail = unknown.json()["detail"]
    assert detail.startswith(
        f"revenue_account_code: '999' was not imported from {AU}. Choose one of its accounts:"
    )
    assert "200 (" in _fields(unknown)["revenue_account_code"]
    bank = _fields(owner_api.put(au_url, json={"expense_account_code": "090"}))
    assert f"'090' is a bank account of {AU}" in bank["expense_account_code"]
    # Every bad default at once.
    several = _fields(
        owner_api.put(
            au_url,
            json={
                "default_tax_type": "NOPE",
                "branding_theme_id": "not-a-theme",
                "revenue_account_code": "200",
            },
        )
    )
    assert set(several) == {"default_tax_type", "branding_theme_id"}
    assert "Choose one of its tax rates:" in several["default_tax_type"]
    assert "OUTPUT (" in several["default_tax_type"]
    assert "Choose one of its branding themes:" in several["branding_theme_id"]
    stored = owner_api.get(au_url).json()
    assert (stored["revenue_account_code"], stored["default_tax_type"], stored["branding_theme_id"]) == (
        None,
        None,
        None,
    )

    chosen = {
        "revenue_account_code": "200",
        "expense_account_code": "400",
        "default_tax_type": "OUTPUT",
        "branding_theme_id": theme,
    }
    saved = owner_api.put(au_url, json=chosen)
    assert saved.status_code == 200, saved.text
    assert {k: saved.json()[k] for k in chosen} == chosen

    # What AU imported means nothing for NZ, which imported nothing.
    nz = _fields(owner_api.put(_url(ids[NZ]), json={"revenue_account_code": "200"}))
    assert (
        f"'200' was not imported from {NZ}. No accounts have been imported from it yet"
        in nz["revenue_account_code"]
    )

    # A saved value stays acceptable once Xero no longer has it (saving other settings
    # must not lose it), while a new value is checked.
    with database.session() as session:
        session.execute(
            update(XeroReference)
            .where(XeroReference.connection_id == ids[AU], XeroReference.code == "200")
            .values(status="DELETED")
        )
    again = owner_api.put(au_url, json={**chosen, "interval_minutes": 30})
    assert again.status_code == 200, again.text
    assert again.json()["revenue_account_code"] == "200"
    moved = _fields(owner_api.put(au_url, json={"expense_account_code": "200"}))
    assert set(moved) == {"expense_account_code"}
    assert f"'200' was not imported from {AU}." in moved["expense_account_code"]
    cleared = owner_api.put(au_url, json={"revenue_account_code": None})
    assert cleared.status_code == 200 and cleared.json()["revenue_account_code"] is None
