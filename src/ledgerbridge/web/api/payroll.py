"""Timesheets to Xero Payroll AU in the API: the mapping wizard, preview, send, history.

Under ``/xero/connections/{connection_id}/payroll``: an organisation of another workspace is
a 404 like an unknown one. Mapping and sending (and previewing, which reads from Xero) are
for owners and admins; anyone in the workspace may read the mappings and what was sent.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from ledgerbridge.payroll import mappings, timesheets
from ledgerbridge.payroll.mappings import MappingChange
from ledgerbridge.payroll.models import ExportStatus, MappingKind
from ledgerbridge.web.api.crud import Input, Output
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import ActorDep, ManagerDep, SessionDep
from ledgerbridge.xero.connections import get_connection

router = APIRouter(prefix="/xero/connections/{connection_id}/payroll", tags=["Payroll AU timesheets"])


# -- mappings ------------------------------------------------------------------------------------


class SuggestionOut(Output):
    xero_id: str
    name: str
    reason: str = Field(description="email or name: what matched.")


class MemberRow(Output):
    member_id: str = Field(validation_alias="local_id")
    name: str
    email: str | None
    employee_id: str | None = Field(validation_alias="xero_id")
    employee_name: str | None = Field(validation_alias="xero_name")
    suggestion: SuggestionOut | None


class WorkTypeRow(Output):
    work_type_id: str = Field(validation_alias="local_id")
    name: str
    earnings_rate_id: str | None = Field(validation_alias="xero_id")
    earnings_rate_name: str | None = Field(validation_alias="xero_name")
    suggestion: SuggestionOut | None


class TrackedRow(Output):
    id: str = Field(validation_alias="local_id")
    name: str
    project_id: str | None = Field(description="For a task: its project.")
    tracking_option_id: str | None = Field(validation_alias="xero_id")
    tracking_option_name: str | None = Field(validation_alias="xero_name")
    suggestion: SuggestionOut | None


class ChoiceOut(Output):
    xero_id: str
    name: str
    detail: dict[str, Any]


class WizardOut(Output):
    connection_id: str
    members: list[MemberRow]
    work_types: list[WorkTypeRow]
    projects: list[TrackedRow]
    tasks: list[TrackedRow]
    employees: list[ChoiceOut] = Field(description="Imported Payroll AU employees, with their calendar.")
    earnings_rates: list[ChoiceOut]
    tracking_options: list[ChoiceOut]


class MemberMapping(Input):
    member_id: str
    employee_id: str | None = Field(description="Null removes the mapping.")


class WorkTypeMapping(Input):
    work_type_id: str
    earnings_rate_id: str | None = Field(description="Null removes the mapping.")


class ProjectMapping(Input):
    project_id: str
    tracking_option_id: str | None = Field(description="Null removes the mapping.")


class TaskMapping(Input):
    task_id: str
    tracking_option_id: str | None = Field(description="Null removes the mapping; the project's applies.")


class MappingsIn(Input):
    members: list[MemberMapping] = []
    work_types: list[WorkTypeMapping] = []
    projects: list[ProjectMapping] = []
    tasks: list[TaskMapping] = []

    def changes(self) -> list[MappingChange]:
        return [
            *(
                MappingChange(MappingKind.MEMBER, m.member_id, m.employee_id, f"members[{i}]")
                for i, m in enumerate(self.members)
            ),
            *(
                MappingChange(MappingKind.WORK_TYPE, w.work_type_id, w.earnings_rate_id, f"work_types[{i}]")
                for i, w in enumerate(self.work_types)
            ),
            *(
                MappingChange(MappingKind.PROJECT, p.project_id, p.tracking_option_id, f"projects[{i}]")
                for i, p in enumerate(self.projects)
            ),
            *(
                MappingChange(MappingKind.TASK, t.task_id, t.tracking_option_id, f"tasks[{i}]")
                for i, t in enumerate(self.tasks)
            ),
        ]


def _wizard_out(session: SessionDep, workspace_id: str, connection_id: str) -> WizardOut:
    return WizardOut.model_validate(mappings.wizard(session, workspace_id, connection_id))


@router.get("/mappings", response_model=WizardOut)
def get_mappings(connection_id: str, session: SessionDep, actor: ActorDep) -> WizardOut:
    """Every member, work type, project and task with its mapping, or a suggestion when it
    has none; and the employees, earnings rates and tracking options to choose from
    (from the last import of payroll data and tracking categories)."""
    return _wizard_out(session, actor.workspace_id, connection_id)


@router.put("/mappings", response_model=WizardOut)
def put_mappings(connection_id: str, body: MappingsIn, session: SessionDep, actor: ManagerDep) -> WizardOut:
    """Set (or with null remove) mappings; the others stay as they are."""
    mappings.set_mappings(session, actor.workspace_id, connection_id, body.changes())
    return _wizard_out(session, actor.workspace_id, connection_id)


@router.post("/mappings/accept-suggestions", response_model=WizardOut)
def accept_suggestions(connection_id: str, session: SessionDep, actor: ManagerDep) -> WizardOut:
    """Map every unmapped record that has a suggestion."""
    mappings.accept_suggestions(session, actor.workspace_id, connection_id)
    return _wizard_out(session, actor.workspace_id, connection_id)


# -- preview and send ------------------------------------------------------------------------------


class PeriodIn(Input):
    period_containing: date | None = Field(
        None, description="Each employee's pay period (from their payroll calendar) holding this date."
    )
    start_date: date | None = Field(
        None,
        description="Instead of period_containing: hours from this date to end_date are checked; "
        "those outside an employee's pay period are named as a problem.",
    )
    end_date: date | None = None
    member_ids: list[str] | None = Field(
        None, description="Leave out for every mapped member with hours (and unmapped employees with hours)."
    )

    def choice(self) -> timesheets.PeriodChoice:
        return timesheets.PeriodChoice(self.period_containing, self.start_date, self.end_date)


class SendIn(PeriodIn):
    approve: bool = Field(False, description="Send as APPROVED instead of DRAFT.")


class ProblemOut(Output):
    code: str = Field(
        description="unmapped_member, unknown_employee, no_payroll_calendar, missing_earnings_rate, "
        "outside_period, existing_timesheet, processed_timesheet, no_hours."
    )
    severity: str = Field(description="error (not sent) or warning.")
    message: str
    member_id: str | None
    employee_id: str | None
    work_type_id: str | None


class LineOut(Output):
    earnings_rate_id: str
    earnings_rate_name: str
    tracking_item_id: str | None
    tracking_name: str | None
    units: list[Decimal] = Field(description="Hours per day of the period; index 0 is period_start.")
    hours: Decimal


class TimesheetOut(Output):
    employee_id: str
    employee_name: str
    member_id: str
    member_name: str
    period_start: date | None
    period_end: date | None
    hours: Decimal
    lines: list[LineOut]
    existing_timesheet_id: str | None = Field(
        description="Xero's timesheet for this period: it will be updated."
    )
    existing_status: str | None
    ready: bool = Field(description="No error stops it and it has hours.")
    problems: list[ProblemOut]


class PreviewOut(Output):
    connection_id: str
    timesheets: list[TimesheetOut]
    problems: list[ProblemOut] = Field(description="Every problem, of every member and employee.")


class OutcomeOut(Output):
    employee_id: str
    employee_name: str
    member_id: str
    period_start: date | None
    period_end: date | None
    outcome: str = Field(description="created, updated, failed or skipped.")
    hours: Decimal
    timesheet_id: str | None
    status: str | None = Field(description="DRAFT or APPROVED, as sent.")
    error: str | None = Field(description="Xero's own message when it refused, or why it was skipped.")
    export_id: str | None


class SendOut(Output):
    outcomes: list[OutcomeOut]
    problems: list[ProblemOut]
    error: str | None = Field(description="Why the send stopped early, if it did.")


def _sheet_out(sheet: timesheets.EmployeeTimesheet) -> TimesheetOut:
    return TimesheetOut.model_validate(
        {
            **{name: getattr(sheet, name) for name in TimesheetOut.model_fields if hasattr(sheet, name)},
            "period_start": sheet.period.start if sheet.period else None,
            "period_end": sheet.period.end if sheet.period else None,
            "lines": [LineOut.model_validate(line) for line in sheet.lines],
            "problems": [ProblemOut.model_validate(p) for p in sheet.problems],
        }
    )


def _preview_out(preview: timesheets.Preview) -> PreviewOut:
    return PreviewOut(
        connection_id=preview.connection_id,
        timesheets=[_sheet_out(sheet) for sheet in preview.timesheets],
        problems=[ProblemOut.model_validate(p) for p in preview.all_problems],
    )


def _check_connection(session: SessionDep, workspace_id: str, connection_id: str) -> None:
    """A 404 for an organisation not of this workspace, before any call to Xero."""
    get_connection(session, workspace_id, connection_id)


@router.post("/timesheets/preview", response_model=PreviewOut)
async def preview_timesheets(
    connection_id: str, body: PeriodIn, session: SessionDep, actor: ManagerDep, xero: XeroDep
) -> PreviewOut:
    """What would be sent for the period, per employee and day, and every problem. Reads
    Xero's timesheets for the period (to update, not duplicate); writes nothing."""
    _check_connection(session, actor.workspace_id, connection_id)
    choice = body.choice()
    return _preview_out(
        await timesheets.preview(xero, actor.workspace_id, connection_id, choice, body.member_ids)
    )


@router.post("/timesheets/send", response_model=SendOut)
async def send_timesheets(
    connection_id: str, body: SendIn, session: SessionDep, actor: ManagerDep, xero: XeroDep
) -> SendOut:
    """Check, then create or update each ready employee's timesheet in Xero (draft, or
    approved with ``approve``). Employees with problems are skipped with the reason; a
    timesheet Xero refuses carries Xero's own message."""
    _check_connection(session, actor.workspace_id, connection_id)
    choice = body.choice()
    result = await timesheets.send(
        xero, actor.workspace_id, connection_id, choice, body.member_ids, approve=body.approve
    )
    return SendOut(
        outcomes=[
            OutcomeOut.model_validate(
                {
                    **{name: getattr(o, name) for name in OutcomeOut.model_fields if hasattr(o, name)},
                    "period_start": o.period.start if o.period else None,
                    "period_end": o.period.end if o.period else None,
                }
            )
            for o in result.outcomes
        ],
        problems=[ProblemOut.model_validate(p) for p in result.preview.all_problems],
        error=result.error,
    )


class ExportOut(Output):
    id: str
    employee_id: str
    employee_name: str
    member_id: str | None
    period_start: date
    period_end: date
    status: ExportStatus = Field(description="sending, sent or failed.")
    xero_status: str = Field(description="DRAFT or APPROVED, as asked of Xero.")
    timesheet_id: str | None
    hours: Decimal
    lines: list[dict[str, Any]] = Field(description="The TimesheetLines as sent.")
    attempts: int
    error: str | None = Field(description="Xero's own message when it refused.")
    sent_at: datetime | None
    updated_at: datetime


@router.get("/timesheets/exports", response_model=list[ExportOut])
def list_exports(
    connection_id: str,
    session: SessionDep,
    actor: ActorDep,
    employee_id: str | None = None,
    period_containing: date | None = None,
) -> list[ExportOut]:
    """What was sent, one row per employee and pay period (a re-send updates its row)."""
    rows = timesheets.history(session, actor.workspace_id, connection_id, employee_id, period_containing)
    return [ExportOut.model_validate(row) for row in rows]
