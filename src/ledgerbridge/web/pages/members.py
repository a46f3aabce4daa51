"""The Members page: the people who work (employees and contractors), searched and filtered,
added, edited (with the personal details Xero Payroll needs of an employee), deactivated
and reactivated, and whether each is in Xero (read-only; the Xero members tab sends them).

Writes go through the members API's own resource (``web.api.people.members``) and the
shared CRUD machinery (``web.api.crud``): the same schema, the same unique-email check, the
same hook that queues a new member for Xero. This module also holds the small form helpers
the clients and projects pages share (turning form text into API input, and API errors
into messages beside the fields).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError, NotFound
from ledgerbridge.sync.models import MemberExport, RecordType, XeroLink
from ledgerbridge.web.api import crud
from ledgerbridge.web.api.crud import Resource, _filtered
from ledgerbridge.web.api.people import MemberQuery, members
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, render
from ledgerbridge.web.pages._security import CSRF_FIELD, require_csrf
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Member, MemberKind
from ledgerbridge.work.repository import Page, get_scoped, paginate
from ledgerbridge.xero.models import XeroConnection

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PAGE = "/members"
PAGE_SIZE = 50
T = TypeVar("T")
STATUSES = {"active": "Active", "archived": "Deactivated", "all": "Active and deactivated"}


# -- form helpers shared by the members, clients and projects pages ------------------------------


@dataclass
class Form:
    """A form as the page shows it: the user's own text (kept on a refusal) and the
    message beside each field that was wrong (``form`` for the whole form)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def form_text(raw: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    """The submitted text of ``names`` (a checkbox left unticked is absent: "")."""
    return {name: str(raw.get(name, "")).strip() for name in names if name != CSRF_FIELD}


def as_input(
    values: Mapping[str, str],
    schema: type[BaseModel],
    *,
    checkboxes: Sequence[str] = (),
    keep_blank: Sequence[str] = ("name",),
) -> dict[str, Any]:
    """The API input from form text: only the schema's fields, a blank optional field is
    None (cleared), a ticked checkbox True. A blank required field stays "" so the API's
    own rule ("at least 1 character") refuses it by name."""
    data: dict[str, Any] = {}
    for name in schema.model_fields:
        if name in checkboxes:
            data[name] = values.get(name, "") not in ("", "off", "false")
        elif name in values:
            text = values[name]
            data[name] = text if text or name in keep_blank else None
    return data


def _friendly(name: str, error: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """Pydantic's message in words an office manager reads, naming the field."""
    label = labels.get(name, name.replace("_", " ").capitalize())
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    if kind == "string_too_short" or kind == "missing":
        return f"{label}: enter a value."
    if kind == "string_too_long":
        return f"{label}: use at most {context.get('max_length')} characters."
    if kind == "string_pattern_mismatch":
        if "email" in name:
            return f"{label}: enter an email address like name@example.com."
        if name == "currency":
            return f"{label}: enter a three-letter currency code such as AUD."
        return f"{label}: this is not in the expected form."
    if kind.startswith("decimal") or kind in {"greater_than_equal", "finite_number"}:
        return f"{label}: enter an amount of zero or more, like 150 or 150.00 (at most 4 decimal places)."
    if kind.startswith("date"):
        return f"{label}: enter a real date as YYYY-MM-DD, for example 1990-04-25."
    if kind == "enum":
        return f"{label}: choose one of the options."
    if kind == "value_error":  # the API's own rule, in its own words
        return f"{label}: {context.get('error', error.get('msg'))}."
    return f"{label}: {error.get('msg', 'this value is not accepted')}."


def validated(
    schema: type[BaseModel], data: Mapping[str, Any], labels: Mapping[str, str], errors: dict[str, str]
) -> BaseModel | None:
    """``data`` checked by the API's schema; its refusals are added to ``errors``."""
    try:
        return schema.model_validate(dict(data))
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(name, _friendly(name, error, labels))
        return None


def check_lengths(
    model: type[Any], data: Mapping[str, Any], labels: Mapping[str, str], errors: dict[str, str]
) -> None:
    """Text longer than its column holds is named here, not left to the database (which
    on PostgreSQL refuses it with an error no one can read)."""
    columns = model.__table__.columns
    for name, value in data.items():
        length = getattr(columns[name].type, "length", None) if name in columns else None
        if isinstance(value, str) and length is not None and len(value) > length and name not in errors:
            label = labels.get(name, name.replace("_", " ").capitalize())
            errors[name] = f"{label}: use at most {length} characters."


def refusal(exc: LedgerbridgeError, labels: Mapping[str, str]) -> dict[str, str]:
    """A domain error as messages beside the fields it names (else for the whole form)."""
    found: dict[str, str] = {}
    for error in exc.errors:
        name = error.field.split(".")[0].split("[")[0]
        label = labels.get(name, name.replace("_", " ").capitalize())
        found.setdefault(name if name in labels else "form", f"{label}: {error.message}.")
    return found or {"form": exc.detail}


def store(
    session: Session,
    resource: Resource,
    actor: Actor,
    obj: Any,
    data: dict[str, Any],
    labels: Mapping[str, str],
) -> dict[str, str]:
    """Write through the API's CRUD machinery (checks, uniqueness, hooks); the refusals, or
    {} when stored. A refusal rolls the unit of work back so nothing half-made is kept."""
    try:
        crud.store(session, resource, actor, obj, data)
    except LedgerbridgeError as exc:
        session.rollback()
        return refusal(exc, labels)
    return {}


def rate_text(value: Decimal | None) -> str:
    """A rate for a form field: two decimals, or all four when it has them."""
    if value is None:
        return ""
    return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else f"{value.normalize():f}"


def money(value: Decimal | None) -> str:
    """A rate as a list shows it: always two decimals (never a float)."""
    return "—" if value is None else f"{value:,.2f}"


def page_links(path: str, filters: Mapping[str, str | None], found: Page[Any]) -> dict[str, str | None]:
    """Previous/next links that keep the search and filters."""
    kept = {k: v for k, v in filters.items() if v}

    def link(number: int) -> str:
        return path + "?" + urlencode({**kept, "page": number})

    last = max((found.total + found.page_size - 1) // found.page_size, 1)
    return {
        "previous": link(found.page - 1) if found.page > 1 else None,
        "next": link(found.page + 1) if found.page < last else None,
        "last_page": str(last),
        "first_row": str(min((found.page - 1) * found.page_size + 1, found.total)),
        "last_row": str(min(found.page * found.page_size, found.total)),
    }


def status_filter(status: str | None) -> tuple[str, bool | None]:
    """active (default), archived or all -> the chosen key and the flag it means."""
    chosen = status if status in STATUSES else "active"
    return chosen, {"active": True, "archived": False, "all": None}[chosen]


def refuse(request: Request, session: Session, actor: Actor, area: str) -> Response | None:
    """Members (the role) are told plainly that managing is for owners and admins; None
    when the actor may go ahead."""
    if actor.role.manages:
        return None
    return render(
        request,
        "refused.html",
        {
            "title": "Only owners and admins",
            "detail": f"Only workspace owners and admins can add or change {area}.",
        },
        session=session,
        actor=actor,
        status_code=403,
    )


def lookup(session: Session, model: type[T], workspace_id: str, record_id: str) -> T | None:
    """The workspace's record, or None: another workspace's id does not exist here."""
    try:
        return get_scoped(session, model, workspace_id, record_id)
    except NotFound:
        return None


def missing(request: Request, session: Session, actor: Actor, what: str) -> HTMLResponse:
    """A 404 page that does not say whether the id exists in another workspace."""
    return render(
        request,
        "refused.html",
        {
            "title": f"No such {what}",
            "detail": f"This {what} does not exist in your workspace. "
            "It may have been removed, or the link is wrong.",
        },
        session=session,
        actor=actor,
        status_code=404,
    )


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
    search = (q or "").strip() or None
    query = MemberQuery(q=search, kind=kind_value, active=active, page=max(page, 1), page_size=PAGE_SIZE)
    found = paginate(session, _filtered(members, actor, query), query.page, query.page_size)
    rows = list(found.items)
    filters = {"q": search, "kind": kind_value.value if kind_value else None, "status": chosen}
    return render(
        request,
        "work/members.html",
        {
            "rows": rows,
            "xero": xero_states(session, actor.workspace_id, [m.id for m in rows]),
            "found": found,
            "pages": page_links(PAGE, filters, found),
            "filters": filters,
            "kinds": {MemberKind.EMPLOYEE.value: "Employees", MemberKind.CONTRACTOR.value: "Contractors"},
            "statuses": STATUSES,
            "can_manage": actor.role.manages,
            "money": money,
        },
        session=session,
        actor=actor,
    )


@router.get(PAGE + "/new", response_class=HTMLResponse)
def new_member(request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    refused = refuse(request, session, actor, "members")
    if refused is not None:
        return refused
    form = Form(values={"kind": MemberKind.EMPLOYEE.value, "active": "on"})
    return _form_page(request, session, actor, form, None)


@router.post(PAGE + "/new", response_class=HTMLResponse, dependencies=CSRF)
async def create_member(request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    refused = refuse(request, session, actor, "members")
    if refused is not None:
        return refused
    values = form_text(await request.form(), FIELDS)
    data, errors = member_input(values, members.create)
    if not errors:
        member = Member(workspace_id=actor.workspace_id)
        errors = store(session, members, actor, member, data, LABELS)
    if errors:
        return _form_page(request, session, actor, Form(values, errors), None, 422)
    return redirect(request, PAGE, f"Added {member.name}.", "success")


@router.get(PAGE + "/{member_id}/edit", response_class=HTMLResponse)
def edit_member(member_id: str, request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    member = lookup(session, Member, actor.workspace_id, member_id)
    if member is None:
        return missing(request, session, actor, "member")
    refused = refuse(request, session, actor, "members")
    if refused is not None:
        return refused
    return _form_page(request, session, actor, Form(_values_of(member)), member)


@router.post(PAGE + "/{member_id}/edit", response_class=HTMLResponse, dependencies=CSRF)
async def update_member(member_id: str, request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    member = lookup(session, Member, actor.workspace_id, member_id)
    if member is None:
        return missing(request, session, actor, "member")
    refused = refuse(request, session, actor, "members")
    if refused is not None:
        return refused
    values = form_text(await request.form(), FIELDS)
    data, errors = member_input(values, members.update)
    if not errors:
        errors = store(session, members, actor, member, data, LABELS)
    if errors:
        return _form_page(request, session, actor, Form(values, errors), member, 422)
    return redirect(request, PAGE, f"Saved {member.name}.", "success")


def _set_active(request: Request, session: Session, member_id: str, active: bool) -> Response:
    """Deactivate (the API's DELETE) or reactivate: one field, through the same writer."""
    actor = page_actor(request, session)
    member = lookup(session, Member, actor.workspace_id, member_id)
    if member is None:
        return missing(request, session, actor, "member")
    refused = refuse(request, session, actor, "members")
    if refused is not None:
        return refused
    errors = store(session, members, actor, member, {"active": active}, LABELS)
    if errors:
        return redirect(request, PAGE, " ".join(errors.values()), "error")
    done = "is active again" if active else "is deactivated (shown under Deactivated members)"
    return redirect(request, PAGE, f"{member.name} {done}.", "success")


@router.post(PAGE + "/{member_id}/deactivate", dependencies=CSRF)
def deactivate_member(member_id: str, request: Request, session: SessionDep) -> Response:
    return _set_active(request, session, member_id, False)


@router.post(PAGE + "/{member_id}/reactivate", dependencies=CSRF)
def reactivate_member(member_id: str, request: Request, session: SessionDep) -> Response:
    return _set_active(request, session, member_id, True)


__all__ = [
    "Form",
    "as_input",
    "check_lengths",
    "form_text",
    "lookup",
    "member_input",
    "missing",
    "money",
    "page_links",
    "rate_text",
    "refuse",
    "router",
    "status_filter",
    "store",
    "validated",
    "xero_states",
]
