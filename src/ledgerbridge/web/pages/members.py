"""The Members page: the people who work (employees and contractors), searched and filtered,
added, edited (with the personal details Xero Payroll needs of an employee), deactivated
and reactivated, and whether each is in Xero (read-only; the Xero members tab sends them).

Writes go through the members API's own resource (``web.api.people.members``) and the
shared CRUD machinery (``web.api.crud``): the same schema, the same unique-email check, the
same hook that queues a new member for Xero. The create/edit/deactivate flow and the form
helpers are the ones the clients and projects pages use too (``pages._forms``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.sync.models import MemberExport, RecordType, XeroLink
from ledgerbridge.web.api.people import MemberQuery, members
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, render
from ledgerbridge.web.pages._forms import (
    Editor,
    Form,
    as_input,
    list_page,
    rate_text,
    search_text,
    status_filter,
    validated,
)
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Member, MemberKind
from ledgerbridge.xero.models import XeroConnection

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PAGE = "/members"
PAGE_SIZE = 50
STATUSES = {"active": "Active", "archived": "Deactivated", "all": "Active and deactivated"}


# -- members -------------------------------------------------------------------------------------

LABELS = {
    "name": "Name",
    "email": "Email address",
    "kind": "Works as",
    "cost_rate": "Cost rate per hour",
    "bill_rate": "Bill rate per hour",
    "start_date": "Start date",
    "date_of_birth": "Date of birth",
    "address_line1": "Address line 1",
    "address_line2": "Address line 2",
    "city": "City or suburb",
    "region": "State or region",
    "postal_code": "Postcode",
    "country": "Country",
    "form": "Form",
}
FIELDS = [name for name in LABELS if name != "form"] + ["active"]
DATES = ("start_date", "date_of_birth")
KINDS = {
    MemberKind.EMPLOYEE.value: "Employee (paid through payroll)",
    MemberKind.CONTRACTOR.value: "Contractor (bills the business)",
}


@dataclass(frozen=True)
class XeroState:
    """Whether a member is in Xero, per organisation (read from links and exports)."""

    linked: list[str] = field(default_factory=list)
    """"Demo Company (AU) as an employee"."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(organisation, what Xero or the check said)."""
    sending: list[str] = field(default_factory=list)


def xero_states(session: Session, workspace_id: str, member_ids: list[str]) -> dict[str, XeroState]:
    """The page's members' Xero state in two queries: a ``member`` link marks a member as
    in Xero (``sync.members``); an export row that is not sent says why it is not yet."""
    states: dict[str, XeroState] = {}
    if not member_ids:
        return states
    for member_id, tenant, content in session.execute(
        select(XeroLink.local_id, XeroConnection.tenant_name, XeroLink.content)
        .join(XeroConnection, XeroConnection.id == XeroLink.connection_id)
        .where(
            XeroLink.workspace_id == workspace_id,
            XeroLink.record_type == RecordType.MEMBER,
            XeroLink.local_id.in_(member_ids),
        )
        .order_by(XeroConnection.tenant_name)
    ):
        target = (content or {}).get("as")
        as_what = {"employee": " as an employee", "contact": " as a contact"}.get(str(target), "")
        states.setdefault(member_id, XeroState()).linked.append(f"{tenant}{as_what}")
    for member_id, tenant, status, error in session.execute(
        select(MemberExport.member_id, XeroConnection.tenant_name, MemberExport.status, MemberExport.error)
        .join(XeroConnection, XeroConnection.id == MemberExport.connection_id)
        .where(
            MemberExport.workspace_id == workspace_id,
            MemberExport.member_id.in_(member_ids),
            MemberExport.status != "sent",
        )
        .order_by(XeroConnection.tenant_name)
    ):
        state = states.setdefault(member_id, XeroState())
        if any(line.startswith(tenant) for line in state.linked):
            continue
        if status == "failed":
            state.failed.append((tenant, error or "Xero refused it."))
        else:
            state.sending.append(tenant)
    return states


def _values_of(member: Member) -> dict[str, str]:
    values = {
        name: ("" if getattr(member, name) is None else str(getattr(member, name)))
        for name in FIELDS
        if name not in {"cost_rate", "bill_rate", "active"}
    }
    values["kind"] = member.kind.value
    values["cost_rate"] = rate_text(member.cost_rate)
    values["bill_rate"] = rate_text(member.bill_rate)
    values["active"] = "on" if member.active else ""
    return values


def _parse_dates(values: Mapping[str, str], errors: dict[str, str]) -> dict[str, date | None]:
    """Dates exactly as the date inputs send them (YYYY-MM-DD): a typed "14/07/1991" or a
    30 February is named, never read as something else."""
    parsed: dict[str, date | None] = {}
    for name in DATES:
        text = values.get(name, "")
        try:
            parsed[name] = date.fromisoformat(text) if text else None
        except ValueError:
            errors[name] = f"{LABELS[name]}: enter a real date as YYYY-MM-DD, for example 1990-04-25."
    return parsed


def member_input(values: Mapping[str, str], schema: type[BaseModel]) -> tuple[dict[str, Any], dict[str, str]]:
    """Form text -> the values to store, checked by the members API's own schema (which
    also holds the rules for a date of birth and the home address); or the refusals."""
    errors: dict[str, str] = {}
    dates = _parse_dates(values, errors)
    data = as_input(values, schema, checkboxes=("active",))
    for name in DATES:
        if name in data:
            data[name] = dates.get(name)
    checked = validated(schema, {k: v for k, v in data.items() if k not in errors}, LABELS, errors)
    if errors or checked is None:
        return {}, errors
    return checked.model_dump(exclude_unset=True), {}


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    form: Form,
    member: Member | None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "work/members_form.html",
        {"form": form, "member": member, "kinds": KINDS, "labels": LABELS},
        session=session,
        actor=actor,
        status_code=status_code,
    )


@router.get(PAGE, response_class=HTMLResponse)
def member_list(
    request: Request,
    session: SessionDep,
    q: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    page: int = 1,
) -> HTMLResponse:
    """Members by name, searched by name or email and filtered in SQL, 50 a page."""
    actor = page_actor(request, session)
    chosen, active = status_filter(status)
    kind_value = MemberKind(kind) if kind in KINDS else None
    search = search_text(q)
    query = MemberQuery(q=search, kind=kind_value, active=active, page=max(page, 1), page_size=PAGE_SIZE)
    return list_page(
        request,
        session,
        actor,
        template="work/members.html",
        resource=members,
        query=query,
        path=PAGE,
        filters={"q": search, "kind": kind_value.value if kind_value else None, "status": chosen},
        context=lambda rows: {
            "rows": rows,
            "xero": xero_states(session, actor.workspace_id, [m.id for m in rows]),
            "kinds": {MemberKind.EMPLOYEE.value: "Employees", MemberKind.CONTRACTOR.value: "Contractors"},
            "statuses": STATUSES,
        },
    )


EDITOR = Editor(
    model=Member,
    resource=members,
    home=PAGE,
    fields=FIELDS,
    labels=LABELS,
    what="member",
    area="members",
    parse=lambda _session, _actor, values, schema: member_input(values, schema),
    form_page=_form_page,
    added=lambda member: (PAGE, f"Added {member.name}."),
    saved=lambda member: (PAGE, f"Saved {member.name}."),
)


@router.get(PAGE + "/new", response_class=HTMLResponse)
def new_member(request: Request, session: SessionDep) -> Response:
    return EDITOR.blank(request, session, Form(values={"kind": MemberKind.EMPLOYEE.value, "active": "on"}))


@router.post(PAGE + "/new", response_class=HTMLResponse, dependencies=CSRF)
async def create_member(request: Request, session: SessionDep) -> Response:
    return await EDITOR.submit(request, session)


@router.get(PAGE + "/{member_id}/edit", response_class=HTMLResponse)
def edit_member(member_id: str, request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    member = EDITOR.find(request, session, actor, member_id)
    if isinstance(member, Response):
        return member
    return _form_page(request, session, actor, Form(_values_of(member)), member)


@router.post(PAGE + "/{member_id}/edit", response_class=HTMLResponse, dependencies=CSRF)
async def update_member(member_id: str, request: Request, session: SessionDep) -> Response:
    return await EDITOR.submit(request, session, member_id)


def _set_active(request: Request, session: Session, member_id: str, active: bool) -> Response:
    """Deactivate (the API's DELETE) or reactivate: one field, through the same writer."""
    done = "is active again" if active else "is deactivated (shown under Deactivated members)"
    return EDITOR.toggle(request, session, member_id, {"active": active}, lambda m: f"{m.name} {done}.")


@router.post(PAGE + "/{member_id}/deactivate", dependencies=CSRF)
def deactivate_member(member_id: str, request: Request, session: SessionDep) -> Response:
    return _set_active(request, session, member_id, False)


@router.post(PAGE + "/{member_id}/reactivate", dependencies=CSRF)
def reactivate_member(member_id: str, request: Request, session: SessionDep) -> Response:
    return _set_active(request, session, member_id, True)


__all__ = ["member_input", "router", "xero_states"]
