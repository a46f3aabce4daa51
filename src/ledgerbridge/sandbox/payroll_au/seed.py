"""Demo payroll for an Australian organisation: calendars, pay items, employees, timesheets.

Only AU organisations get Payroll AU data (Xero offers Payroll AU to AU organisations
only). Ids are uuid5 of the tenant and a name, so a reseeded organisation has the same ids
and CI scripts can name them. Calendars are anchored on the sandbox clock's current week,
so the demo always has a current and a previous period to put timesheets in.

Sizes: ``employees`` (default 15), ``timesheets`` (default 4: how many employees get a
timesheet for the previous and the current weekly period).
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from ledgerbridge.sandbox.models import Organisation, Record
from ledgerbridge.sandbox.payroll_au.calendars import CALENDARS, payroll_calendar
from ledgerbridge.sandbox.payroll_au.employees import EMPLOYEES, STATES
from ledgerbridge.sandbox.payroll_au.pay_items import EARNINGS_RATES, earnings_rate
from ledgerbridge.sandbox.payroll_au.periods import period_containing
from ledgerbridge.sandbox.payroll_au.timesheets import TIMESHEETS, timesheet

if TYPE_CHECKING:
    from ledgerbridge.sandbox.state import SandboxState

__all__ = ["DEFAULT_EMPLOYEES", "seed_payroll_au"]

DEFAULT_EMPLOYEES = 15
DEFAULT_TIMESHEETS = 4
_FIRST = ("Olivia", "Jack", "Charlotte", "William", "Amelia", "Noah", "Isla", "Oliver", "Mia",
          "Thomas", "Ava", "James", "Grace", "Lucas", "Chloe", "Henry", "Zoe", "Leo")
_LAST = ("Smith", "Nguyen", "Williams", "Brown", "Wilson", "Taylor", "Anderson", "Martin",
         "Thompson", "White", "Walker", "Harris", "Lee", "Kelly", "Ryan", "Clarke")
_CITIES = {"NSW": ("Sydney", "2000"), "VIC": ("Melbourne", "3000"), "QLD": ("Brisbane", "4000"),
           "WA": ("Perth", "6000"), "SA": ("Adelaide", "5000"), "TAS": ("Hobart", "7000"),
           "ACT": ("Canberra", "2600"), "NT": ("Darwin", "0800")}


def _id(org: Organisation, name: str) -> str:
    return str(uuid.uuid5(uuid.UUID(org.tenant_id), name))


def _rates(org: Organisation, state: SandboxState) -> dict[str, Record]:
    now = state.clock.now()
    specs = [
        ("Ordinary Hours", "ORDINARYTIMEEARNINGS", "RATEPERUNIT", Decimal("32.50"), None, False),
        ("Overtime Hours (exempt from super)", "OVERTIMEEARNINGS", "MULTIPLE", None,
         Decimal("1.5"), True),
        ("Saturday Rate", "ORDINARYTIMEEARNINGS", "MULTIPLE", None, Decimal("1.25"), False),
        ("Sunday Rate", "ORDINARYTIMEEARNINGS", "MULTIPLE", None, Decimal("1.5"), False),
        ("Allowance", "ALLOWANCE", "RATEPERUNIT", Decimal("15.00"), None, False),
    ]
    rates: dict[str, Record] = {}
    for name, kind, rate_type, per_unit, multiplier, exempt in specs:
        rate = earnings_rate(name, kind, rate_type, updated=now, rate_per_unit=per_unit,
                             multiplier=multiplier, exempt_from_super=exempt,
                             rate_id=_id(org, f"rate:{name}"),
                             allowance_type="OTHER" if kind == "ALLOWANCE" else None)
        if kind == "ALLOWANCE":
            rate["TypeOfUnits"] = "Days"
        org.put_record(EARNINGS_RATES, rate["EarningsRateID"], rate)
        rates[name] = rate
    return rates


def _other_pay_items(org: Organisation, state: SandboxState) -> None:
    """One of each read-only kind, so ``GET /PayItems`` shows every list populated."""
    now = state.clock.now()
    deduction: Record = {"DeductionTypeID": _id(org, "deduction:union"), "Name": "Union Fees",
                 "AccountCode": "850", "DeductionCategory": "UNIONFEES", "ReducesTax": False,
                 "ReducesSuper": False, "IsExemptFromW1": False, "UpdatedDateUTC": now,
                 "CurrentRecord": True}
    leave: Record = {"LeaveTypeID": _id(org, "leave:annual"), "Name": "Annual Leave",
             "TypeOfUnits": "Hours", "NormalEntitlement": Decimal("152"),
             "LeaveLoadingRate": Decimal("1.0"), "IsPaidLeave": True, "ShowOnPayslip": True,
             "UpdatedDateUTC": now, "CurrentRecord": True, "SGCExempt": False,
             "IsQualifyingEarnings": True, "LeaveCategoryCode": "ANNUALLEAVE"}
    reimbursement: Record = {"ReimbursementTypeID": _id(org, "reimbursement:travel"),
                     "Name": "Travel Costs", "AccountCode": "850", "UpdatedDateUTC": now,
                     "CurrentRecord": True}
    org.put_record("DeductionTypes", _id(org, "deduction:union"), deduction)
    org.put_record("LeaveTypes", _id(org, "leave:annual"), leave)
    org.put_record("ReimbursementTypes", _id(org, "reimbursement:travel"), reimbursement)


def _calendars(org: Organisation, state: SandboxState) -> list[Record]:
    """A weekly and a fortnightly calendar whose upcoming period starts this Monday."""
    today = state.clock.now().date()
    monday = today - timedelta(days=today.weekday())
    now = state.clock.now()
    weekly = payroll_calendar("Weekly", "WEEKLY", monday, monday + timedelta(days=9),
                              updated=now, calendar_id=_id(org, "calendar:weekly"))
    fortnightly = payroll_calendar("Fortnightly", "FORTNIGHTLY", monday,
                                   monday + timedelta(days=16), updated=now,
                                   calendar_id=_id(org, "calendar:fortnightly"))
    for calendar in (weekly, fortnightly):
        org.put_record(CALENDARS, calendar["PayrollCalendarID"], calendar)
    return [weekly, fortnightly]


def _employee(org: Organisation, index: int, rng: random.Random, calendar: Record,
              ordinary: Record, now_day: date) -> Record:
    first, last = _FIRST[index % len(_FIRST)], _LAST[(index * 7) % len(_LAST)]
    region = STATES[index % len(STATES)]
    city, postcode = _CITIES[region]
    return {
        "EmployeeID": _id(org, f"employee:{index}"),
        "FirstName": first,
        "LastName": last,
        "DateOfBirth": date(1960 + rng.randrange(40), 1 + rng.randrange(12), 1 + rng.randrange(28)),
        "StartDate": now_day - timedelta(days=30 + rng.randrange(2000)),
        "Email": f"{first}.{last}{index}@demo.example".lower(),
        "Gender": rng.choice(("F", "M")),
        "Phone": f"0{rng.randrange(2, 9)} {rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}",
        "HomeAddress": {"AddressLine1": f"{1 + rng.randrange(250)} {last} Street", "City": city,
                        "Region": region, "PostalCode": postcode, "Country": "AUSTRALIA"},
        "Status": "ACTIVE",
        "EmploymentType": "EMPLOYEE",
        "PayrollCalendarID": calendar["PayrollCalendarID"],
        "OrdinaryEarningsRateID": ordinary["EarningsRateID"],
        "IsAuthorisedToApproveTimesheets": index == 0,
        "IsAuthorisedToApproveLeave": index == 0,
        "IsSTP2Qualified": True,
        "UpdatedDateUTC": None,
    }


def _timesheets(org: Organisation, state: SandboxState, employees: list[Record],
                weekly: Record, ordinary: Record, count: int) -> None:
    """Approved timesheets for last week and drafts for this week, weekly staff only."""
    now = state.clock.now()
    current = period_containing("WEEKLY", weekly["StartDate"], weekly["StartDate"])
    previous = (current[0] - timedelta(days=7), current[1] - timedelta(days=7))
    staff = [e for e in employees if e["PayrollCalendarID"] == weekly["PayrollCalendarID"]]
    hours = [Decimal("7.60")] * 5 + [Decimal("0.00")] * 2
    for employee in staff[:count]:
        for (start, end), status in ((previous, "APPROVED"), (current, "DRAFT")):
            line = {"EarningsRateID": ordinary["EarningsRateID"], "NumberOfUnits": list(hours),
                    "UpdatedDateUTC": now}
            sheet = timesheet(employee["EmployeeID"], start, end, status, [line], updated=now,
                              timesheet_id=_id(org, f"timesheet:{employee['EmployeeID']}:{start}"))
            org.put_record(TIMESHEETS, sheet["TimesheetID"], sheet)


def seed_payroll_au(state: SandboxState, org: Organisation, sizes: dict[str, int]) -> None:
    """The seeder registered as ``payroll_au``: see the module docstring."""
    if org.country_code != "AU":
        return
    rng = random.Random(org.tenant_id)
    rates = _rates(org, state)
    _other_pay_items(org, state)
    weekly, fortnightly = _calendars(org, state)
    ordinary = rates["Ordinary Hours"]
    now = state.clock.now()
    employees = []
    for index in range(sizes.get("employees", DEFAULT_EMPLOYEES)):
        calendar = weekly if index % 3 else fortnightly
        employee = _employee(org, index, rng, calendar, ordinary, now.date())
        employee["UpdatedDateUTC"] = now
        org.put_record(EMPLOYEES, employee["EmployeeID"], employee)
        employees.append(employee)
    _timesheets(org, state, employees, weekly, ordinary, sizes.get("timesheets", DEFAULT_TIMESHEETS))
