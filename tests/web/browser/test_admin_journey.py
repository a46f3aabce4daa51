"""A new admin's whole journey in a real browser (Debian's Chromium via Playwright): sign
in, connect two sandbox organisations through the sandbox's own consent page, import
everything, change settings, track time, build an invoice from it and send it via Xero,
export a timesheet to Payroll AU, read the sync log, disconnect. Each step that reaches
Xero is checked in the sandbox's own records, not only on our pages.

The queued jobs are run by the test (``run_queued_jobs``) where a worker would run them.
"""

# ruff: noqa: F811 - pytest passes the imported fixtures by name
from __future__ import annotations

import re
import time
from datetime import date
from decimal import Decimal
from typing import Any

from ledgerbridge.sandbox.models import Organisation
from ledgerbridge.sandbox.seeding import DEMO_EMAIL, DEMO_PASSWORD
from tests.factories import PASSWORD
from tests.web.browser.test_journey import (  # noqa: F401 - fixtures shared with the first journey
    AU,
    NZ,
    Stack,
    browser,
    playwright_sync,
    run_queued_jobs,
    shoot,
    stack,
)


def _org(stack: Stack, name: str) -> Organisation:
    return next(org for org in stack.sandbox.orgs.values() if org.name == name)


def _weekly_employee(org: Organisation) -> tuple[dict[str, Any], date]:
    """A weekly-paid employee with no timesheet yet, and the first day of their calendar."""
    calendar = next(c for c in org.iter_records("PayrollCalendars") if c["CalendarType"] == "WEEKLY")
    busy = {t["EmployeeID"] for t in org.iter_records("Timesheets")}
    employee = next(
        e
        for e in org.iter_records("Employees")
        if e["PayrollCalendarID"] == calendar["PayrollCalendarID"] and e["EmployeeID"] not in busy
    )
    start = calendar["StartDate"]
    return employee, start if isinstance(start, date) else date.fromisoformat(str(start)[:10])


def choose(select: Any, text: str) -> None:
    """Pick the option whose label contains ``text`` (labels carry extra detail)."""
    value = select.locator("option", has_text=text).first.get_attribute("value")
    select.select_option(value=value)


def test_a_new_admin_connects_imports_invoices_and_exports_timesheets(stack: Stack, browser: object) -> None:
    expect = playwright_sync.expect
    started = time.monotonic()
    context = browser.new_context(viewport={"width": 1200, "height": 860})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(20_000)
    status = page.get_by_role("status")

    # --- sign in
    page.goto(stack.base_url + "/integrations")
    page.get_by_label("Email address").fill(stack.seeded.owner_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(stack.base_url + "/integrations")

    # --- connect two organisations through the sandbox's sign-in and consent pages
    page.get_by_role("button", name="Connect").click()
    page.get_by_label("Email address").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label(AU).check()
    page.get_by_label(NZ).check()
    page.get_by_role("button", name="Allow access").click()
    expect(status).to_have_text(f"Connected to Xero: {AU}, {NZ}.")
    au_card = page.locator(f'[data-organisation="{AU}"]')

    # --- import everything from AU, with the live progress bar
    au_card.get_by_role("link", name=f"Imports from {AU}").click()
    expect(page.get_by_role("heading", name=f"Imports from {AU}")).to_be_visible()
    page.get_by_role("button", name="Import everything").click()
    expect(page.get_by_role("progressbar", name="Progress")).to_be_visible()
    assert run_queued_jobs(stack) >= 1
    expect(page.get_by_role("heading", name=re.compile("Latest import"))).to_be_visible()
    expect(page.locator(".import-run")).to_contain_text(re.compile("Succeeded|succeeded|created"))
    shoot(page, "imports")

    # --- settings: the lists come from what was imported; a bad value is named, then fixed
    page.goto(stack.base_url + "/integrations")
    au_card.get_by_role("link", name=f"Settings for {AU}").click()
    offset = page.get_by_label(re.compile("Due-date offset"))
    offset.fill("-3")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#due_date_offset_days-error, .field-error").first).to_be_visible()
    expect(offset).to_have_value("-3")  # what was typed is kept
    page.get_by_label(re.compile("Revenue account")).select_option(index=1)
    offset.fill("14")
    page.get_by_role("button", name="Save settings").click()
    expect(status).to_have_text(f"Settings saved for {AU}.")
    shoot(page, "settings")

    # --- Force sync: the client goes to Xero as a contact, Xero's invoices come in
    page.goto(stack.base_url + "/integrations")
    au_card.get_by_role("button", name=f"Force sync {AU}").click()
    expect(status).to_contain_text(f"Sync queued for {AU}")
    run_queued_jobs(stack)
    au = _org(stack, AU)
    assert any(c.get("Name") == "Bondi Surf Co" for c in au.iter_records("Contacts"))

    # --- track time: Mia's hours on the client's project, on the first day of a weekly pay period
    employee, day = _weekly_employee(au)
    page.get_by_role("link", name="Time", exact=True).click()
    page.get_by_label("Member").select_option(label="Mia Chen")
    page.get_by_role("button", name="Show").click()
    page.get_by_label("Date").fill(day.isoformat())
    choose(page.get_by_label("Project and task"), "Design")
    page.get_by_label("Hours").fill("7.5")
    page.get_by_label("Work type").select_option(label="Ordinary hours")
    page.get_by_role("button", name="Add entry").click()
    expect(status).to_be_visible()
    page.goto(f"{stack.base_url}/time?member={stack.seeded.employee_id}&week={day.isoformat()}")
    expect(page.locator("main")).to_contain_text("7.50")
    shoot(page, "time")
    page.get_by_role("button", name=re.compile("Approve week")).click()  # only approved hours are invoiced
    expect(status).to_be_visible()

    # --- an invoice from those hours, previewed, created, sent via Xero
    page.get_by_role("link", name="Invoices", exact=True).click()
    page.goto(stack.base_url + "/invoices/new")
    page.get_by_label("Client (for a sales invoice)").select_option(label="Bondi Surf Co")
    page.get_by_label("From", exact=True).fill(day.isoformat())
    page.get_by_label("To", exact=True).fill(day.isoformat())
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name=re.compile("Preview: invoice to Bondi Surf Co"))).to_be_visible()
    page.get_by_role("button", name="Create invoice").click()
    expect(page.get_by_role("heading", name=re.compile(r"INV-\d+"))).to_be_visible()
    number = re.search(r"INV-\d+", page.get_by_role("heading", level=1).inner_text())
    assert number is not None
    page.get_by_role("button", name="Send via Xero").click()
    expect(status).to_contain_text(re.compile("queued|Queued|goes to Xero"))
    run_queued_jobs(stack)
    page.reload()
    expect(page.locator("main")).to_contain_text(f"In Xero as {number.group(0)}")
    shoot(page, "invoice")
    sent = [i for i in au.iter_records("Invoices") if i.get("InvoiceNumber") == number.group(0)]
    bondi = next(c["ContactID"] for c in au.iter_records("Contacts") if c.get("Name") == "Bondi Surf Co")
    assert len(sent) == 1, sent
    assert sent[0]["_ContactID"] == bondi  # the sandbox keeps the contact by id
    assert Decimal(str(sent[0]["SubTotal"])) == Decimal("1200.00")  # 7.5 h at the project's 160

    # --- timesheets to Payroll AU: period, mappings, check, send
    page.get_by_role("link", name="Timesheets", exact=True).click()
    page.get_by_label("Organisation", exact=True).select_option(label=AU)
    page.get_by_label("A day in the pay period").fill(day.isoformat())
    page.get_by_role("button", name="Next: mappings").click()
    name = f"{employee['FirstName']} {employee['LastName']}"
    choose(page.get_by_label("Employee for Mia Chen"), name)
    choose(page.get_by_label("Earnings rate for Ordinary hours"), "Ordinary Hours")
    page.get_by_role("button", name="Save and check the timesheets").click()
    expect(page.get_by_role("heading", name="3. Check before sending")).to_be_visible()
    shoot(page, "timesheets-preview")
    page.get_by_role("button", name=re.compile(r"Send \d+ timesheets? to Xero")).click()
    expect(page.get_by_role("heading", name="What happened")).to_be_visible()
    sheets = [t for t in au.iter_records("Timesheets") if t["EmployeeID"] == employee["EmployeeID"]]
    assert len(sheets) == 1
    hours = sum(float(u) for line in sheets[0]["TimesheetLines"] for u in line["NumberOfUnits"])
    assert hours == 7.5

    # --- the sync log shows what ran
    page.get_by_role("link", name="Sync log", exact=True).click()
    expect(page.locator("table.runs tbody tr").first).to_be_visible()
    expect(page.locator("table.runs")).to_contain_text(AU)

    # --- disconnect NZ, with its confirmation
    page.get_by_role("link", name="Integrations", exact=True).click()
    nz_card = page.locator(f'[data-organisation="{NZ}"]')
    nz_card.get_by_role("link", name=f"Disconnect {NZ}").click()
    page.get_by_role("button", name=f"Disconnect {NZ}").click()
    expect(status).to_have_text("Disconnected successfully")
    context.close()
    print(f"\nwhole admin journey took {time.monotonic() - started:.1f} s")
