"""The official SDK against the sandbox: xero_python.payrollau reads employees and creates,
reads and approves a timesheet, unmodified, over a real socket."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from xero_python.api_client import Configuration
from xero_python.exceptions import ApiException
from xero_python.payrollau import PayrollAuApi
from xero_python.payrollau.models import CalendarType, Timesheet, TimesheetLine, TimesheetStatus

from ledgerbridge.sandbox import SandboxExtensions, SandboxState, create_sandbox_app, payroll_au
from tests.sandbox.helpers import AU, connect_with_secret, register_app
from tests.sandbox.payroll_au.conftest import PAYROLL_SCOPES
from tests.sandbox.payroll_au.live import sdk_client, serve
from tests.sandbox.payroll_au.timesheets_text import PERIOD_TEXT


def test_sdk_reads_employees_and_creates_a_timesheet(state: SandboxState,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Configuration, "_default", None)
    app = create_sandbox_app(state, extensions=payroll_au.register(SandboxExtensions()))
    with serve(app) as url, TestClient(app, base_url="http://sandbox.test") as client:
        registered = register_app(client)
        assert registered.client_secret
        tokens = connect_with_secret(client, registered, scope=PAYROLL_SCOPES)
        api = PayrollAuApi(sdk_client(registered.client_id, registered.client_secret, tokens),
                           base_url=f"{url}/payroll.xro/1.0")

        employees = api.get_employees(AU).employees
        assert len(employees) == 15 and employees[0].home_address.address_line1
        calendars = {c.payroll_calendar_id: c for c in api.get_payroll_calendars(AU).payroll_calendars}
        weekly = CalendarType.WEEKLY
        employee = next(e for e in employees
                        if calendars[e.payroll_calendar_id].calendar_type == weekly)
        calendar = calendars[employee.payroll_calendar_id]
        start = calendar.start_date + timedelta(days=7)
        rates = api.get_pay_items(AU).pay_items.earnings_rates
        ordinary = next(r for r in rates if r.name == "Ordinary Hours")

        line = TimesheetLine(earnings_rate_id=ordinary.earnings_rate_id,
                             number_of_units=[7.6, 7.6, 7.6, 7.6, 7.6, 0.0, 0.0])
        sheet = Timesheet(employee_id=employee.employee_id, start_date=start,
                          end_date=start + timedelta(days=6), status=TimesheetStatus.DRAFT,
                          timesheet_lines=[line])
        created = api.create_timesheet(AU, [sheet]).timesheets[0]
        assert created.timesheet_id and created.hours == Decimal("38.0")
        assert created.start_date == start

        fetched = api.get_timesheet(AU, created.timesheet_id).timesheet
        assert fetched.timesheet_lines[0].number_of_units[0] == Decimal("7.6")

        fetched.status = TimesheetStatus.APPROVED
        fetched.updated_date_utc = None
        approved = api.update_timesheet(AU, created.timesheet_id, [fetched]).timesheets[0]
        assert approved.status == TimesheetStatus.APPROVED

        shifted = Timesheet(employee_id=employee.employee_id, start_date=start + timedelta(days=1),
                            end_date=start + timedelta(days=7), timesheet_lines=[line])
        with pytest.raises(ApiException) as refused:
            api.create_timesheet(AU, [shifted])
        assert refused.value.status == 400 and PERIOD_TEXT in refused.value.body.decode()
