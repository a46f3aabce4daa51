"""The Members and Xero contacts tabs of an organisation.

Members (``/integrations/xero/{connection_id}/members``): search and filter the members,
tick several and import them to Xero - contractors as supplier contacts, employees as
Payroll AU employees with the payroll calendar and ordinary earnings rate chosen from the
organisation's imported data. What Xero requires of an employee (date of birth, home
address) comes from the member's own stored details, so nothing is typed twice; a member
missing one is named with the fix, and nothing is sent. Each member shows its export state
and Xero's message; the "auto-sync new members" switch (with the defaults it uses) sits
beside them.

Xero contacts (``/integrations/xero/{connection_id}/contacts``): the organisation's
contacts as synced, searched; tick several and invite them in as members (each once;
contacts already members are marked and cannot be ticked); the contacts auto-sync switch.

Every action calls the same functions as the JSON API (``web.api.member_sync``,
``web.api.sync_settings``): ``sync.members`` and ``sync.settings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.db import utcnow
from ledgerbridge.errors import FieldError, LedgerbridgeError
from ledgerbridge.sync import members as members_service
from ledgerbridge.sync.members import EmployeeDetails, MemberRequest
from ledgerbridge.sync.models import RecordType, SyncSettings, XeroReference
from ledgerbridge.sync.settings import settings_for, update_settings
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, refusal_page, render
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Member, MemberKind
from ledgerbridge.xero import connections
from ledgerbridge.xero.models import XeroConnection

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
BASE = "/integrations/xero/{connection_id}"
PAGE_SIZE = 50
STATUS_LABELS = {"sending": "Sending", "sent": "In Xero", "failed": "Failed"}
OUTCOME_LABELS = {
    "created": "created in Xero",
    "linked": "linked to the record Xero already had",
    "already": "already in Xero (nothing sent)",
    "failed": "refused",
}


# -- shared by the Xero-side pages ---------------------------------------------------------------


def refused(request: Request, session: Session, actor: Actor | None, exc: LedgerbridgeError) -> HTMLResponse:
    """A refusal page with the right status: 404 for a record of another workspace (or none),
    403 for a member asking for a manager's action."""
    titles = {404: "Not found", 403: "Only owners and admins can do this"}
    return refusal_page(
        request,
        titles.get(exc.status, "This could not be done"),
        exc.detail,
        exc.status if exc.status in titles else 400,
        session=session,
        actor=actor,
    )


def organisation_page(
    request: Request, session: Session, connection_id: str, *, manage: bool
) -> tuple[Actor, XeroConnection | None, Response | None]:
    """The signed-in actor and this workspace's organisation for a Xero-side page, or the
    refusal to answer with instead (404 for another workspace's, 403 when ``manage`` and
    the actor is a plain member)."""
    actor = page_actor(request, session)
    try:
        if manage:
            actor.require_manager()
        return actor, connections.get_connection(session, actor.workspace_id, connection_id), None
    except LedgerbridgeError as exc:
        return actor, None, refused(request, session, actor, exc)


def form_list(form: Any, name: str) -> list[str]:
    """Every non-empty value of a repeated form field (ticked checkboxes)."""
    return [str(v) for v in form.getlist(name) if str(v).strip()]


def form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return str(value).strip() if isinstance(value, str) else ""


def references(session: Session, connection_id: str, record_type: RecordType) -> list[XeroReference]:
    """Records imported from the organisation (payroll calendars, earnings rates), by name."""
    return list(
        session.scalars(
            select(XeroReference)
            .where(XeroReference.connection_id == connection_id, XeroReference.record_type == record_type)
            .order_by(XeroReference.name, XeroReference.xero_id)
        )
    )


def page_of(rows: list[Any], page: int) -> tuple[list[Any], bool]:
    """Rows of one page (1-based) and whether there is a next one."""
    start = (max(page, 1) - 1) * PAGE_SIZE
    return rows[start : start + PAGE_SIZE], len(rows) > start + PAGE_SIZE


def offset_of(page: int) -> int:
    """The first row of a page (1-based) of ``PAGE_SIZE`` rows."""
    return (max(page, 1) - 1) * PAGE_SIZE


def _bool_choice(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


# -- members -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFilters:
    search: str = ""
    kind: str = ""
    active: str = ""
    linked: str = ""

    def query(self, **extra: Any) -> str:
        values = {k: v for k, v in vars(self).items() if v}
        return urlencode({**values, **extra})


def _filters_from(query: str) -> MemberFilters:
    """The filters the import form was sent from (its ``back_query``), to show the same list
    again when the import is refused."""
    values = {k: v[0] for k, v in parse_qs(query).items() if v}
    return MemberFilters(
        values.get("search", ""), values.get("kind", ""), values.get("active", ""), values.get("linked", "")
    )


def _missing_details(member: Member | None) -> list[str]:
    """What Xero Payroll needs that this employee's stored details lack (shown, not enforced:
    ``sync.members`` decides)."""
    if member is None or member.kind is not MemberKind.EMPLOYEE:
        return []
    missing = []
    if member.date_of_birth is None:
        missing.append("date of birth")
    if not (member.address_line1 or "").strip():
        missing.append("home address")
    return missing


def _members_context(
    session: Session,
    actor: Actor,
    connection: XeroConnection,
    filters: MemberFilters,
    page: int,
) -> dict[str, Any]:
    kind = MemberKind(filters.kind) if filters.kind in {k.value for k in MemberKind} else None
    chosen: dict[str, Any] = {
        "search": filters.search or None,
        "kind": kind,
        "active": _bool_choice(filters.active),
        "linked": _bool_choice(filters.linked),
    }
    shown = members_service.statuses(
        session, actor.workspace_id, connection.id, **chosen, offset=offset_of(page), limit=PAGE_SIZE + 1
    )
    shown, more = shown[:PAGE_SIZE], len(shown) > PAGE_SIZE
    total = members_service.count_statuses(session, actor.workspace_id, connection.id, **chosen)
    stored = {
        m.id: m for m in session.scalars(select(Member).where(Member.id.in_([r.member_id for r in shown])))
    }
    settings = session.scalar(select(SyncSettings).where(SyncSettings.connection_id == connection.id))
    base = BASE.format(connection_id=connection.id)
    return {
        "connection": connection,
        "rows": [(row, _missing_details(stored.get(row.member_id))) for row in shown],
        "total": total,
        "filters": filters,
        "next_page": f"{base}/members?{filters.query(page=page + 1)}" if more else None,
        "previous_page": f"{base}/members?{filters.query(page=page - 1)}" if page > 1 else None,
        "calendars": references(session, connection.id, RecordType.PAYROLL_CALENDAR),
        "rates": references(session, connection.id, RecordType.EARNINGS_RATE),
        "settings": settings,
        "can_manage": actor.role.manages,
        "status_labels": STATUS_LABELS,
        "chosen": set(),
        "choice": {
            "payroll_calendar_id": settings.default_payroll_calendar_id if settings else None,
            "ordinary_earnings_rate_id": settings.default_earnings_rate_id if settings else None,
        },
        "member_errors": [],
        "field_errors": {},
        "names": {},
    }


@router.get(BASE + "/members", response_class=HTMLResponse)
def members_page(
    connection_id: str,
    request: Request,
    session: SessionDep,
    search: str = "",
    kind: str = "",
    active: str = "",
    linked: str = "",
    page: int = 1,
) -> Response:
    actor, connection, answer = organisation_page(request, session, connection_id, manage=False)
    if connection is None:
        assert answer is not None
        return answer
    context = _members_context(
        session, actor, connection, MemberFilters(search.strip(), kind, active, linked), max(page, 1)
    )
    return render(request, "xero/members.html", context, session=session, actor=actor)


def _request_for(member_id: str, index: int, calendar: str, rate: str) -> MemberRequest:
    """The import request for one member: the calendar and rate chosen on the page; what Xero
    requires (date of birth, home address) ``sync.members`` takes from the member's stored
    details, so nothing is typed twice."""
    details = EmployeeDetails(payroll_calendar_id=calendar or None, ordinary_earnings_rate_id=rate or None)
    return MemberRequest(member_id, f"members[{index}]", details)


FIELD_MESSAGES = {
    "date_of_birth": "Xero Payroll requires the employee's date of birth; add it to the member's details",
    "home_address.address_line1": "Xero Payroll requires a home address; add it to the member's details",
    "last_name": "Xero needs a first and last name; give the member a full name",
}
"""The page's words for what the member's own details must hold (the API's say "give it here")."""


def _named_errors(
    errors: list[FieldError], chosen: list[str], names: dict[str, str]
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Xero's required fields per member, named ("Mia Chen: ...") with the member to edit,
    and the page's own fields (the calendar and rate selects) with their messages."""
    by_member: list[tuple[str, str]] = []
    fields: dict[str, str] = {}
    for error in errors:
        head, _, rest = error.field.partition(".")
        if rest in ("payroll_calendar_id", "ordinary_earnings_rate_id"):
            fields.setdefault(rest, error.message)
            continue
        index = int(head[len("members[") : -1]) if head.startswith("members[") else -1
        member_id = chosen[index] if 0 <= index < len(chosen) else ""
        name = names.get(member_id, member_id or "A member")
        by_member.append((member_id, f"{name}: {FIELD_MESSAGES.get(rest, error.message)}."))
    return by_member, fields


@router.post(BASE + "/members/import", dependencies=CSRF)
async def import_members(
    connection_id: str, request: Request, session: SessionDep, xero: XeroDep
) -> Response:
    """Send the ticked members to Xero, each once; a member missing what Xero requires is
    named and nothing is sent, so the page comes back with the selection kept."""
    actor, connection, answer = organisation_page(request, session, connection_id, manage=True)
    if connection is None:
        assert answer is not None
        return answer
    form = await request.form()
    chosen = form_list(form, "member_id")
    calendar, rate = form_text(form, "payroll_calendar_id"), form_text(form, "ordinary_earnings_rate_id")
    base = BASE.format(connection_id=connection.id)
    back = f"{base}/members?{form_text(form, 'back_query')}"
    if not chosen:
        return redirect(request, back, "Tick at least one member to import.", "error")
    query = select(Member.id, Member.name).where(
        Member.workspace_id == actor.workspace_id, Member.id.in_(chosen)
    )
    names = dict(session.execute(query).tuples().all())
    requests = [_request_for(mid, i, calendar, rate) for i, mid in enumerate(chosen)]
    session.commit()  # release the request's transaction: the import writes in its own
    try:
        outcomes = await members_service.import_members(xero, actor.workspace_id, connection.id, requests)
    except LedgerbridgeError as exc:
        session.rollback()
        if exc.status not in (409, 422) or not exc.errors:
            return redirect(request, back, exc.detail, "error")
        by_member, fields = _named_errors(exc.errors, chosen, names)
        context = _members_context(
            session, actor, connection, _filters_from(form_text(form, "back_query")), 1
        )
        context.update(
            chosen=set(chosen),
            choice={"payroll_calendar_id": calendar, "ordinary_earnings_rate_id": rate},
            member_errors=by_member,
            field_errors=fields,
            names=names,
        )
        return render(request, "xero/members.html", context, session=session, actor=actor, status_code=422)
    parts = [
        f"{o.name}: {OUTCOME_LABELS.get(o.outcome, o.outcome)}" + (f" - {o.error}" if o.error else "")
        for o in outcomes
    ]
    failed = any(o.outcome == "failed" for o in outcomes)
    return redirect(request, back, "; ".join(parts) + ".", "error" if failed else "success")


@router.post(BASE + "/members/auto-sync", dependencies=CSRF)
async def member_auto_sync(connection_id: str, request: Request, session: SessionDep) -> Response:
    """Turn "auto-sync new members" on or off, with the payroll defaults it imports with."""
    _actor, connection, answer = organisation_page(request, session, connection_id, manage=True)
    if connection is None:
        assert answer is not None
        return answer
    form = await request.form()
    changes: dict[str, Any] = {
        "auto_sync_new_members": form_text(form, "auto_sync_new_members") == "on",
        "default_payroll_calendar_id": form_text(form, "default_payroll_calendar_id") or None,
        "default_earnings_rate_id": form_text(form, "default_earnings_rate_id") or None,
    }
    back = BASE.format(connection_id=connection.id) + "/members"
    try:
        members_service.check_member_defaults(session, connection.id, changes)
        update_settings(session, connection, changes, utcnow())
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, back, exc.detail, "error")
    state = "on: new members go to Xero" if changes["auto_sync_new_members"] else "off"
    return redirect(request, back, f"Auto-sync of new members is {state}.", "success")


# -- Xero contacts in as members -----------------------------------------------------------------


def _contacts_context(
    session: Session, actor: Actor, connection: XeroConnection, search: str, page: int
) -> dict[str, Any]:
    found = members_service.invitable(
        session,
        actor.workspace_id,
        connection.id,
        search or None,
        offset=offset_of(page),
        limit=PAGE_SIZE + 1,
    )
    shown, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    total = members_service.count_invitable(session, actor.workspace_id, connection.id, search or None)
    settings = settings_for(session, connection)
    base = BASE.format(connection_id=connection.id)

    def link(number: int) -> str:
        return f"{base}/contacts?" + urlencode({**({"search": search} if search else {}), "page": number})

    return {
        "connection": connection,
        "rows": shown,
        "total": total,
        "search": search,
        "next_page": link(page + 1) if more else None,
        "previous_page": link(page - 1) if page > 1 else None,
        "contacts_auto_sync": settings.auto_sync.get(str(RecordType.CONTACT), True),
        "can_manage": actor.role.manages,
        "chosen": set(),
        "errors": [],
    }


@router.get(BASE + "/contacts", response_class=HTMLResponse)
def contacts_page(
    connection_id: str, request: Request, session: SessionDep, search: str = "", page: int = 1
) -> Response:
    actor, connection, answer = organisation_page(request, session, connection_id, manage=False)
    if connection is None:
        assert answer is not None
        return answer
    context = _contacts_context(session, actor, connection, search.strip(), max(page, 1))
    return render(request, "xero/contacts.html", context, session=session, actor=actor)


@router.post(BASE + "/contacts/invite", dependencies=CSRF)
async def invite_contacts(connection_id: str, request: Request, session: SessionDep) -> Response:
    """A member per ticked contact (a supplier as a contractor), each contact once."""
    actor, connection, answer = organisation_page(request, session, connection_id, manage=True)
    if connection is None:
        assert answer is not None
        return answer
    form = await request.form()
    chosen = form_list(form, "contact_id")
    back = BASE.format(connection_id=connection.id) + "/contacts"
    if not chosen:
        return redirect(request, back, "Tick at least one contact to invite.", "error")
    try:
        created = members_service.invite(session, actor.workspace_id, connection.id, chosen)
    except LedgerbridgeError as exc:
        session.rollback()
        context = _contacts_context(session, actor, connection, "", 1)
        context.update(chosen=set(chosen), errors=[e.message for e in exc.errors] or [exc.detail])
        return render(request, "xero/contacts.html", context, session=session, actor=actor, status_code=422)
    names = ", ".join(f"{m.name} ({m.kind.value})" for m in created)
    return redirect(request, back, f"Invited as members: {names}.", "success")


@router.post(BASE + "/contacts/auto-sync", dependencies=CSRF)
async def contacts_auto_sync(connection_id: str, request: Request, session: SessionDep) -> Response:
    """Turn the contacts auto-sync (new Xero contacts arrive as clients) on or off."""
    _actor, connection, answer = organisation_page(request, session, connection_id, manage=True)
    if connection is None:
        assert answer is not None
        return answer
    form = await request.form()
    on = form_text(form, "auto_sync_contacts") == "on"
    update_settings(session, connection, {"auto_sync": {str(RecordType.CONTACT): on}}, utcnow())
    back = BASE.format(connection_id=connection.id) + "/contacts"
    return redirect(request, back, f"Contacts auto-sync is {'on' if on else 'off'}.", "success")


def parse_date(value: str) -> date | None:
    """A date typed in a form (YYYY-MM-DD), or None when empty; ValueError when not a date."""
    return date.fromisoformat(value) if value else None


__all__ = ["form_list", "form_text", "page_of", "parse_date", "references", "refused", "router"]
