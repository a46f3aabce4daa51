"""The official SDK's Payroll AU 2.0 client (xero_python.payrollauv2) against the sandbox:
create, read, add a line and approve a timesheet, unmodified, over a real socket; the
timesheet is the one Payroll AU 1.0 reads."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from xero_python.api_client import Configuration
from xero_python.exceptions import ApiException
from xero_python.payrollau import PayrollAuApi
from xero_python.payrollau.models import CalendarType
from xero_python.payrollauv2 import PayrollAuV2Api
from xero_python.payrollauv2.models import Timesheet, TimesheetLine

from ledgerbridge.sandbox import SandboxExtensions, SandboxState, create_sandbox_app, payroll_au
from tests.sandbox.helpers import AU, connect_with_secret, register_app
from tests.sandbox.payroll_au.conftest import PAYROLL_SCOPES
from tests.sandbox.payroll_au.live import sdk_client, serve
from tests.sandbox.payroll_au.timesheets_text import PERIOD_TEXT


def test_sdk_v2_creates_and_approves_a_timesheet(state: SandboxState,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Configuration, "_default", None)
    app = create_sandbox_app(state, extensions=payroll_au.register(SandboxExtensions()))
    with serve(app) as url, TestClient(app, base_url="http://sandbox.test") as client:
        registered = register_app(client)
        assert registered.client_secret
        tokens = connect_with_secret(client, registered, scope=PAYROLL_SCOPES)
        api_client = sdk_client(registered.client_id, registered.client_secret, tokens)
        v1 = PayrollAuApi(api_client, base_url=f"{url}/payroll.xro/1.0")
        v2 = PayrollAuV2Api(api_client, base_url=f"{url}/payroll.xro/2.0")

        calendars = {c.payroll_calendar_id: c for c in v1.get_payroll_calendars(AU).payroll_calendars}
        employee = next(e for e in v1.get_employees(AU).employees
                        if calendars[e.payroll_calendar_id].calendar_type == CalendarType.WEEKLY)
        calendar = calendars[employee.payroll_calendar_id]
        start = calendar.start_date + timedelta(days=14)
        rate = next(r for r in v1.get_pay_items(AU).pay_items.earnings_rates
                    if r.name == "Ordinary Hours")

        sheet = Timesheet(payroll_calendar_id=calendar.payroll_calendar_id,
                          employee_id=employee.employee_id, start_date=start,
                          end_date=start + timedelta(days=6),
                          timesheet_lines=[TimesheetLine(date=start,
                                                         earnings_rate_id=rate.earnings_rate_id,
                                                         number_of_units=7.6)])
        created = v2.create_timesheet(AU, sheet).timesheet
        assert created.timesheet_id and created.status == "Draft" and created.total_hours == Decimal("7.6")
        assert created.start_date == start and created.timesheet_lines[0].date == start

        line = TimesheetLine(date=start + timedelta(days=1), earnings_rate_id=rate.earnings_rate_id,
                             number_of_units=4)
        added = v2.create_timesheet_line(AU, created.timesheet_id, line).timesheet_line
        assert added.timesheet_line_id and added.number_of_units == 4

        approved = v2.approve_timesheet(AU, created.timesheet_id).timesheet
        assert approved.status == "Approved" and len(approved.timesheet_lines) == 2
        listed = v2.get_timesheets(AU, filter=f"employeeId=={employee.employee_id}").timesheets
        assert created.timesheet_id in {t.timesheet_id for t in listed}

        seen_in_v1 = v1.get_timesheet(AU, created.timesheet_id).timesheet
        assert seen_in_v1.hours == Decimal("11.6") and seen_in_v1.status.value == "APPROVED"

        shifted = Timesheet(payroll_calendar_id=calendar.payroll_calendar_id,
                            employee_id=employee.employee_id, start_date=start + timedelta(days=1),
                            end_date=start + timedelta(days=7))
        with pytest.raises(ApiException) as refused:
            v2.create_timesheet(AU, shifted)
        assert refused.value.status == 400 and PERIOD_TEXT in refused.value.body.decode()
