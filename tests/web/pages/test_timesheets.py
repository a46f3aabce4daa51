"""The timesheet export wizard against the sandbox: organisation and period, mappings saved
from the page, a preview naming every problem, a send that lands in the sandbox's payroll
with the right hours, a re-send that updates rather than duplicates, and the history.
Managers only; another workspace's organisation is a 404."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.payroll import mappings
from ledgerbridge.payroll.models import MappingKind, PayrollMapping
from ledgerbridge.work.models import Task
from tests.factories import seed_workspace
from tests.payroll.conftest import *  # noqa: F403 - the payroll fixture: AU connected, payroll data imported
from tests.payroll.conftest import Payroll
from tests.web.pages.conftest import csrf_of


@dataclass
class Week:
    monday: date
    employee: dict[str, Any]
    ana: str
    noah: str

    def period(self, day: date | None = None) -> dict[str, str]:
        return {"period_containing": (day or self.monday).isoformat()}


def submit(client: TestClient, on: str, action: str, data: dict[str, Any], **kwargs: Any) -> Any:
    token = csrf_of(client.get(on, **kwargs).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False, **kwargs)


def week(payroll: Payroll) -> Week:
    """Ana (to map to a weekly employee with no timesheets) with 8 h Monday and 1.5 h
    Tuesday, plus 2 h the next Tuesday (another pay period); Noah with hours and no employee."""
    monday: date = payroll.calendar("WEEKLY")["StartDate"]
    employee = next(e for e in payroll.employees_on("WEEKLY") if not payroll.has_timesheet(e))
    ana, noah = payroll.member("Ana Weekly"), payroll.member("Noah Unmapped")
    ordinary = payroll.seeded.work_type_id
    payroll.hours(ana, monday, 480, work_type_id=ordinary)
    payroll.hours(ana, monday + timedelta(days=1), 90, work_type_id=ordinary)
    payroll.hours(ana, monday + timedelta(days=8), 120, work_type_id=ordinary)
    payroll.hours(noah, monday, 60, work_type_id=ordinary)
    return Week(monday, employee, ana, noah)


def base(payroll: Payroll) -> str:
    return f"/timesheets/{payroll.connection_id}"


def map_on_the_page(payroll: Payroll, w: Week) -> Any:
    page = f"{base(payroll)}/mappings?period_containing={w.monday.isoformat()}"
    return submit(
        payroll.api,
        page,
        f"{base(payroll)}/mappings",
        {
            f"member:{w.ana}": w.employee["EmployeeID"],
            f"work_type:{payroll.seeded.work_type_id}": payroll.rate("Ordinary Hours"),
            "next": "preview",
            **w.period(),
        },
    )


def sheets_of(payroll: Payroll, w: Week) -> list[dict[str, Any]]:
    return payroll.timesheets_of(w.employee, w.monday)


def test_step_one_checks_the_organisation_and_period(payroll: Payroll) -> None:
    first = payroll.api.get("/timesheets")
    assert first.status_code == 200 and "Demo Company (AU)" in first.text
    bad = payroll.api.get(
        "/timesheets",
        params={"go": "1", "organisation": payroll.connection_id, "period_containing": "16/11/2026"},
    )
    assert bad.status_code == 422
    assert "Day in the pay period: enter a date like 2026-11-16" in bad.text
    assert 'value="16/11/2026"' in bad.text  # what was typed is kept
    backwards = payroll.api.get(
        "/timesheets",
        params={
            "go": "1",
            "organisation": payroll.connection_id,
            "period_containing": "",
            "start_date": "2026-11-20",
            "end_date": "2026-11-10",
        },
    )
    assert backwards.status_code == 422 and "To: give an end_date on or after start_date" in backwards.text
    good = payroll.api.get(
        "/timesheets",
        params={"go": "1", "organisation": payroll.connection_id, "period_containing": "2026-11-16"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert good.headers["location"] == f"{base(payroll)}/mappings?period_containing=2026-11-16"


def test_the_wizard_sends_a_timesheet_that_lands_in_payroll_and_a_resend_updates_it(payroll: Payroll) -> None:
    w = week(payroll)
    wizard = payroll.api.get(f"{base(payroll)}/mappings", params=w.period())
    assert wizard.status_code == 200 and "Ana Weekly" in wizard.text

    saved = map_on_the_page(payroll, w)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{base(payroll)}/preview?period_containing={w.monday.isoformat()}"
    with payroll.database.session() as session:
        rows = {(m.kind, m.local_id): m.xero_id for m in session.scalars(select(PayrollMapping))}
        assert rows[(MappingKind.MEMBER, w.ana)] == w.employee["EmployeeID"].lower()
        assert (MappingKind.MEMBER, w.noah) not in rows

    preview = payroll.api.get(saved.headers["location"])
    assert preview.status_code == 200
    text = html.unescape(preview.text)
    assert 'data-code="unmapped_member"' in text and "Noah Unmapped" in text
    assert "1 timesheet ready (9.50 hours)" in text
    assert sheets_of(payroll, w) == []  # a preview writes nothing

    sent = submit(
        payroll.api, saved.headers["location"], f"{base(payroll)}/send", {**w.period(), "status": "draft"}
    )
    assert sent.status_code == 200
    assert re.search(r'data-outcome="created"', sent.text)
    (sheet,) = sheets_of(payroll, w)
    assert sheet["Status"] == "DRAFT"
    assert sheet["Hours"] == Decimal("9.5")
    assert sheet["EndDate"] == w.monday + timedelta(days=6)

    # more hours, then the same period again, approved: the same timesheet is updated
    payroll.hours(w.ana, w.monday + timedelta(days=2), 60, work_type_id=payroll.seeded.work_type_id)
    again_preview = html.unescape(payroll.api.get(saved.headers["location"]).text)
    assert 'data-code="existing_timesheet"' in again_preview
    again = submit(
        payroll.api, saved.headers["location"], f"{base(payroll)}/send", {**w.period(), "status": "approved"}
    )
    assert 'data-outcome="updated"' in again.text
    (updated,) = sheets_of(payroll, w)
    assert updated["TimesheetID"] == sheet["TimesheetID"]
    assert (updated["Status"], updated["Hours"]) == ("APPROVED", Decimal("10.5"))

    history = payroll.api.get(f"{base(payroll)}/history")
    assert history.status_code == 200
    assert "10.50" in history.text and "(2 sends)" in history.text and "approved" in history.text


def test_a_range_names_hours_outside_the_pay_period_and_a_missing_rate(payroll: Payroll) -> None:
    w = week(payroll)
    map_on_the_page(payroll, w)
    overtime = payroll.work_type("Weekend penalty")  # no earnings rate of that name
    payroll.hours(w.ana, w.monday + timedelta(days=3), 30, work_type_id=overtime)
    preview = payroll.api.get(
        f"{base(payroll)}/preview",
        params={"start_date": w.monday.isoformat(), "end_date": (w.monday + timedelta(days=13)).isoformat()},
    )
    assert preview.status_code == 200
    assert 'data-code="outside_period"' in preview.text
    assert 'data-code="missing_earnings_rate"' in preview.text
    assert "Nothing is ready to send." in preview.text


def test_a_wrong_mapping_comes_back_beside_its_select(payroll: Payroll) -> None:
    w = week(payroll)
    page = f"{base(payroll)}/mappings?period_containing={w.monday.isoformat()}"
    wrong = submit(
        payroll.api,
        page,
        f"{base(payroll)}/mappings",
        {f"member:{w.ana}": "00000000-0000-0000-0000-000000000001", **w.period()},
    )
    assert wrong.status_code == 422
    assert f'id="member:{w.ana}-error"' in wrong.text
    assert "was imported from this organisation" in wrong.text


def test_managers_only_and_only_their_own_organisations(payroll: Payroll) -> None:
    member = {"Authorization": f"Bearer {payroll.seeded.member_token}"}
    assert payroll.api.get("/timesheets", headers=member).status_code == 403
    assert payroll.api.get(f"{base(payroll)}/mappings", headers=member).status_code == 403
    with payroll.database.session() as session:
        other = seed_workspace(session, "Other Pty Ltd", slug="other")
    outsider = {"Authorization": f"Bearer {other.owner_token}"}
    assert payroll.api.get(f"{base(payroll)}/mappings", headers=outsider).status_code == 404
    assert payroll.api.get(f"{base(payroll)}/history", headers=outsider).status_code == 404


def test_projects_and_tasks_for_tracking_page_by_50_and_a_refusal_stays_on_its_page(payroll: Payroll) -> None:
    """Every tracking select lists every option, so hundreds of tasks are shown a page at a
    time; saving changes only the selects sent, and a refusal comes back on the same page."""
    with payroll.database.session() as session:
        tasks = [
            Task(
                workspace_id=payroll.seeded.workspace_id,
                project_id=payroll.seeded.project_id,
                name=f"Step {n:03d}",
            )
            for n in range(60)
        ]
        session.add_all(tasks)
        session.flush()
        task_ids = [t.id for t in tasks]
        option = mappings.tracking_options(session, payroll.connection_id)[0]
        wizard = mappings.wizard(session, payroll.seeded.workspace_id, payroll.connection_id)
        total = len(wizard.projects) + len(wizard.tasks)
    page = f"{base(payroll)}/mappings"
    first = payroll.api.get(page).text
    assert first.count('name="project:') + first.count('name="task:') == 50
    assert f"{total} projects and tasks" in first and "tracking_page=2" in html.unescape(first)
    second = payroll.api.get(page, params={"tracking_page": 2}).text
    shown = second.count('name="project:') + second.count('name="task:')
    assert shown == min(total - 50, 50) and f'name="task:{task_ids[-1]}"' in second
    assert 'name="tracking_page" value="2"' in second

    wrong = submit(
        payroll.api,
        page + "?tracking_page=2",
        page,
        {f"task:{task_ids[-1]}": "00000000-0000-0000-0000-000000000001", "tracking_page": "2"},
    )
    assert wrong.status_code == 422 and f'id="task:{task_ids[-1]}-error"' in wrong.text
    saved = submit(
        payroll.api,
        page + "?tracking_page=2",
        page,
        {f"task:{task_ids[-1]}": option.xero_id, "tracking_page": "2"},
    )
    assert saved.status_code == 303, saved.text
    with payroll.database.session() as session:
        rows = session.scalars(select(PayrollMapping).where(PayrollMapping.kind == MappingKind.TASK)).all()
        assert [(r.local_id, r.xero_id) for r in rows] == [(task_ids[-1], option.xero_id)]
