"""The timesheet export wizard (managers only): hours to Xero Payroll AU in four steps.

1. ``/timesheets``: choose the organisation and the period (a date: each employee's pay
   period holding it, or a from-to range whose hours outside a pay period are named).
2. ``/timesheets/{connection_id}/mappings``: members to employees (suggestions preselected),
   work types to earnings rates, and optionally projects and tasks to tracking options,
   saved through ``payroll.mappings`` like the API's ``PUT .../payroll/mappings``.
3. ``/timesheets/{connection_id}/preview``: what would be sent per employee and day, with
   every problem named (``payroll.timesheets.preview``; reads Xero, writes nothing).
4. Send as draft or approved (``payroll.timesheets.send``), then the result per employee;
   ``/timesheets/{connection_id}/history`` lists what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from ledgerbridge.errors import FieldError, LedgerbridgeError, invalid
from ledgerbridge.payroll import mappings, timesheets
from ledgerbridge.payroll.mappings import MappingChange
from ledgerbridge.payroll.models import MappingKind
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, render
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.web.pages.xero_members import form_text, organisation_page, page_of, refused
from ledgerbridge.work.auth import Actor
from ledgerbridge.xero import connections
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PAGE = "/timesheets"
PERIOD_FIELDS = ("period_containing", "start_date", "end_date")
PREFIXES = {
    "member": MappingKind.MEMBER,
    "work_type": MappingKind.WORK_TYPE,
    "project": MappingKind.PROJECT,
    "task": MappingKind.TASK,
}
OUTCOMES = {
    "created": "Created in Xero",
    "updated": "Updated in Xero",
    "failed": "Refused",
    "skipped": "Not sent",
}
CENT = Decimal("0.01")


# -- the period ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodForm:
    """The period as typed (kept to show again) and, when it makes sense, the choice."""

    values: dict[str, str]

    def query(self, **extra: Any) -> str:
        return urlencode({**{k: v for k, v in self.values.items() if v}, **extra})

    def choice(self) -> timesheets.PeriodChoice:
        """The domain's choice; a date that is not one, or a period that makes no sense, is a
        ValidationFailed naming the field."""
        days: dict[str, date | None] = {}
        for name in PERIOD_FIELDS:
            text = self.values.get(name, "")
            try:
                days[name] = date.fromisoformat(text) if text else None
            except ValueError:
                raise invalid(name, "enter a date like 2026-11-16") from None
        return timesheets.PeriodChoice(days["period_containing"], days["start_date"], days["end_date"])


def _period_from(source: Any) -> PeriodForm:
    return PeriodForm({name: str(source.get(name) or "").strip() for name in PERIOD_FIELDS})


def _field_errors(exc: LedgerbridgeError) -> dict[str, str]:
    return {e.field: e.message for e in exc.errors} or {"period_containing": exc.detail}


def _step_context(connection: XeroConnection, period: PeriodForm, step: int) -> dict[str, Any]:
    base = f"{PAGE}/{connection.id}"
    return {
        "connection": connection,
        "period": period,
        "step": step,
        "links": {
            "start": f"{PAGE}?{period.query(organisation=connection.id)}",
            "mappings": f"{base}/mappings?{period.query()}",
            "preview": f"{base}/preview?{period.query()}",
            "history": f"{base}/history",
        },
    }


# -- step 1 ----------------------------------------------------------------------------------------


@router.get(PAGE, response_class=HTMLResponse)
def start(request: Request, session: SessionDep, organisation: str = "", go: str = "") -> Response:
    """Choose the organisation and period; with ``go`` a valid choice moves to step 2."""
    actor = page_actor(request, session)
    try:
        actor.require_manager()
    except LedgerbridgeError as exc:
        return refused(request, session, actor, exc)
    known = [
        c
        for c in connections.list_connections(session, actor.workspace_id)
        if c.status is ConnectionStatus.CONNECTED
    ]
    period = _period_from(request.query_params)
    errors: dict[str, str] = {}
    if go:
        if organisation not in {c.id for c in known}:
            errors["organisation"] = "choose one of your connected organisations"
        try:
            period.choice()
        except LedgerbridgeError as exc:
            errors.update(_field_errors(exc))
        if not errors:
            return redirect(request, f"{PAGE}/{organisation}/mappings?{period.query()}")
    if not period.values["period_containing"] and not period.values["start_date"]:
        period = PeriodForm({**period.values, "period_containing": date.today().isoformat()})
    default = next((c.id for c in known if c.is_default), known[0].id if known else "")
    return render(
        request,
        "xero/timesheets_start.html",
        {
            "organisations": known,
            "chosen": organisation or default,
            "period": period,
            "errors": errors,
            "step": 1,
        },
        session=session,
        actor=actor,
        status_code=422 if errors else 200,
    )


# -- step 2 ----------------------------------------------------------------------------------------


def _mapping_context(
    session: Session,
    actor: Actor,
    connection: XeroConnection,
    period: PeriodForm,
    page: int,
    tracking_page: int = 1,
) -> dict[str, Any]:
    """Step 2: one page of members, and one page of the projects-then-tasks tracking rows
    (each select carries every tracking option, so a workspace with hundreds of tasks
    would otherwise render hundreds of long selects); saving changes only the selects sent."""
    wizard = mappings.wizard(session, actor.workspace_id, connection.id)
    members, more = page_of(wizard.members, page)
    project_names = {p.local_id: p.name for p in wizard.projects}
    tracking_rows = [("project", row) for row in wizard.projects] + [("task", row) for row in wizard.tasks]
    tracking, more_tracking = page_of(tracking_rows, tracking_page)
    base = f"{PAGE}/{connection.id}/mappings"

    def tracking_link(number: int) -> str:
        return f"{base}?{period.query(page=page, tracking_page=number)}#tracking-heading"

    return {
        "tracking": tracking,
        "tracking_page": tracking_page,
        "tracking_total": len(tracking_rows),
        "next_tracking": tracking_link(tracking_page + 1) if more_tracking else None,
        "previous_tracking": tracking_link(tracking_page - 1) if tracking_page > 1 else None,
        **_step_context(connection, period, 2),
        "wizard": wizard,
        "members": members,
        "member_total": len(wizard.members),
        "project_names": project_names,
        "page": page,
        "next_page": f"{base}?{period.query(page=page + 1)}" if more else None,
        "previous_page": f"{base}?{period.query(page=page - 1)}" if page > 1 else None,
        "errors": {},
        "submitted": {},
    }


@router.get(PAGE + "/{connection_id}/mappings", response_class=HTMLResponse)
def mapping_step(
    connection_id: str, request: Request, session: SessionDep, page: int = 1, tracking_page: int = 1
) -> Response:
    actor, connection, answer = organisation_page(request, session, connection_id, manage=True)
    if connection is None:
        assert answer is not None
        return answer
    period = _period_from(request.query_params)
    context = _mapping_context(session, actor, connection, period, max(page, 1), max(tracking_page, 1))
    return render(request, "xero/timesheets_mappings.html", context, session=session, actor=actor)


def _changes(form: Any, current: dict[MappingKind, dict[str, str]]) -> list[MappingChange]:
    """The mappings the form changes: a select named ``<kind>:<local id>`` whose value differs
    from what is saved (empty removes). Its ``field`` is the select's name, so an error
    comes back beside it."""
    changes = []
    for name in form:
        prefix, _, local_id = str(name).partition(":")
        kind = PREFIXES.get(prefix)
        if kind is None or not local_id:
            continue
        value = form_text(form, name) or None
        saved = current[kind].get(local_id)
        if (value or "").lower() != (saved or "").lower():
            changes.append(MappingChange(kind, local_id, value, str(name)))
    return changes


def _page_number(form: Any, name: str) -> int:
    """The page a form was sent from (a hidden field), so a refusal shows the same selects."""
    text = form_text(form, name)
    return max(int(text), 1) if text.isdigit() else 1


def _select_errors(errors: list[FieldError]) -> dict[str, str]:
    """``member:<id>.employee_id`` -> the message, by the select's name."""
    found: dict[str, str] = {}
    for error in errors:
        name = error.field.rsplit(".", 1)[0]
        found.setdefault(name, error.message)
    return found


@router.post(PAGE + "/{connection_id}/mappings", dependencies=CSRF)
async def save_mappings(connection_id: str, request: Request, session: SessionDep) -> Response:
    """Save the mappings; "Save and preview" moves to step 3. A wrong choice comes back
    beside its select, with every choice kept."""
    actor, connection, answer = organisation_page(request, session, connection_id, manage=True)
    if connection is None:
        assert answer is not None
        return answer
    form = await request.form()
    period = _period_from(form)
    changes = _changes(form, mappings.current(session, connection.id))
    try:
        mappings.set_mappings(session, actor.workspace_id, connection.id, changes)
    except LedgerbridgeError as exc:
        session.rollback()
        context = _mapping_context(session, actor, connection, period, 1, _page_number(form, "tracking_page"))
        context["errors"] = _select_errors(exc.errors) or {"": exc.detail}
        context["submitted"] = {str(k): form_text(form, str(k)) for k in form if ":" in str(k)}
        return render(
            request, "xero/timesheets_mappings.html", context, session=session, actor=actor, status_code=422
        )
    saved = f"Saved {len(changes)} mapping{'' if len(changes) == 1 else 's'}."
    if form_text(form, "next") == "preview":
        return redirect(request, f"{PAGE}/{connection.id}/preview?{period.query()}", saved, "success")
    return redirect(request, f"{PAGE}/{connection.id}/mappings?{period.query()}", saved, "success")


# -- step 3 and 4 ----------------------------------------------------------------------------------


def _days(sheet: timesheets.EmployeeTimesheet) -> list[date]:
    if sheet.period is None:
        return []
    return [
        sheet.period.start + timedelta(days=i)
        for i in range((sheet.period.end - sheet.period.start).days + 1)
    ]


@router.get(PAGE + "/{connection_id}/preview", response_class=HTMLResponse)
async def preview_step(connection_id: str, request: Request, session: SessionDep, xero: XeroDep) -> Response:
    """What would be sent, per employee and day, and every problem; then the send form."""
    actor, connection, answer = organisation_page(request, session, connection_id, manage=True)
    if connection is None:
        assert answer is not None
        return answer
    period = _period_from(request.query_params)
    context = _step_context(connection, period, 3)
    session.commit()  # the preview reads in its own session
    try:
        checked = await timesheets.preview(xero, actor.workspace_id, connection.id, period.choice())
    except LedgerbridgeError as exc:
        session.rollback()
        if exc.status == 422:
            return redirect(
                request, context["links"]["start"] + "&go=1", "Check the period: " + exc.detail, "error"
            )
        return redirect(request, context["links"]["mappings"], exc.detail, "error")
    ready = [s for s in checked.timesheets if s.ready]
    context.update(
        sheets=[(sheet, _days(sheet)) for sheet in checked.timesheets],
        loose_problems=checked.problems,
        ready=len(ready),
        ready_hours=sum((s.hours for s in ready), Decimal("0")).quantize(CENT),
        errors=sum(1 for p in checked.all_problems if p.severity == timesheets.ERROR),
    )
    return render(request, "xero/timesheets_preview.html", context, session=session, actor=actor)


@router.post(PAGE + "/{connection_id}/send", dependencies=CSRF)
async def send_step(connection_id: str, request: Request, session: SessionDep, xero: XeroDep) -> Response:
    """Send the ready timesheets (draft, or approved); the result per employee."""
    actor, connection, answer = organisation_page(request, session, connection_id, manage=True)
    if connection is None:
        assert answer is not None
        return answer
    form = await request.form()
    period = _period_from(form)
    approve = form_text(form, "status") == "approved"
    context = _step_context(connection, period, 4)
    session.commit()  # the send writes in its own sessions
    try:
        result = await timesheets.send(
            xero, actor.workspace_id, connection.id, period.choice(), approve=approve
        )
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, context["links"]["preview"], exc.detail, "error")
    context.update(result=result, outcomes=OUTCOMES, approve=approve)
    return render(request, "xero/timesheets_result.html", context, session=session, actor=actor)


@router.get(PAGE + "/{connection_id}/history", response_class=HTMLResponse)
def history(connection_id: str, request: Request, session: SessionDep, page: int = 1) -> Response:
    """What was sent to this organisation, newest period first (a re-send updates its row)."""
    actor, connection, answer = organisation_page(request, session, connection_id, manage=True)
    if connection is None:
        assert answer is not None
        return answer
    rows = timesheets.history(session, actor.workspace_id, connection.id)
    shown, more = page_of(rows, max(page, 1))
    base = f"{PAGE}/{connection.id}/history"
    context = {
        **_step_context(connection, PeriodForm({}), 5),
        "rows": shown,
        "next_page": f"{base}?page={page + 1}" if more else None,
        "previous_page": f"{base}?page={page - 1}" if page > 1 else None,
    }
    return render(request, "xero/timesheets_history.html", context, session=session, actor=actor)


__all__ = ["router"]
