"""Members to Xero (contacts or Payroll AU employees) and Xero contacts in as members.

Under ``/xero/connections/{connection_id}/members``; an organisation of another workspace is
a 404 like an unknown one. Anyone in the workspace may read; importing and inviting are for
owners and admins. See ``sync.members`` for what each import does.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query
from pydantic import Field

from ledgerbridge.sync import members as members_service
from ledgerbridge.sync.members import EmployeeDetails, MemberRequest
from ledgerbridge.web.api.crud import Input, Output
from ledgerbridge.web.api.people import MemberRead
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import ActorDep, ManagerDep, SessionDep
from ledgerbridge.work.models import MemberKind
from ledgerbridge.xero.connections import get_connection

router = APIRouter(prefix="/xero/connections/{connection_id}/members", tags=["Members to Xero"])


class MemberStatusOut(Output):
    member_id: str
    name: str
    email: str | None
    kind: MemberKind
    active: bool
    target: str = Field(
        description="contact or employee (Payroll AU): what the member is in Xero when linked "
        "(a contact invited in is a contact), else what importing it makes (contractors: contact)."
    )
    linked: bool = Field(description="In Xero already: importing again sends nothing.")
    xero_id: str | None = Field(description="The ContactID or EmployeeID.")
    status: str | None = Field(description="sending, sent or failed; null when never imported.")
    error: str | None = Field(description="Xero's own message when the last import failed.")


@router.get("", response_model=list[MemberStatusOut])
def list_members(
    connection_id: str,
    session: SessionDep,
    actor: ActorDep,
    search: str | None = Query(None, description="Part of the name or email."),
    kind: MemberKind | None = None,
    active: bool | None = None,
    linked: bool | None = Query(None, description="Only members already in Xero (true) or not (false)."),
) -> list[MemberStatusOut]:
    """Members to choose from, with what each is (or would be) in this organisation."""
    rows = members_service.statuses(
        session, actor.workspace_id, connection_id, search=search, kind=kind, active=active, linked=linked
    )
    return [MemberStatusOut.model_validate(row) for row in rows]


class HomeAddress(Input):
    address_line1: str = Field(min_length=1, max_length=500)
    city: str | None = Field(None, max_length=255)
    region: str | None = Field(None, description="An AU state: ACT, NSW, NT, QLD, SA, TAS, VIC or WA.")
    postal_code: str | None = Field(None, max_length=50)
    country: str | None = Field(None, max_length=50)


class MemberImport(Input):
    member_id: str
    first_name: str | None = Field(None, max_length=255, description="Employees: else split from the name.")
    last_name: str | None = Field(None, max_length=255)
    date_of_birth: date | None = Field(None, description="Required by Xero for an employee.")
    home_address: HomeAddress | None = Field(None, description="Required by Xero for an employee.")
    start_date: date | None = Field(None, description="Else the member's start date.")
    payroll_calendar_id: str | None = None
    ordinary_earnings_rate_id: str | None = None


class ImportIn(Input):
    members: list[MemberImport] = Field(min_length=1)
    payroll_calendar_id: str | None = Field(
        None, description="For employees without their own; else the organisation's default."
    )
    ordinary_earnings_rate_id: str | None = Field(
        None, description="For employees without their own; else the organisation's default."
    )

    def requests(self) -> list[MemberRequest]:
        found = []
        for index, m in enumerate(self.members):
            address = m.home_address
            details = EmployeeDetails(
                first_name=m.first_name,
                last_name=m.last_name,
                date_of_birth=m.date_of_birth,
                address_line1=address.address_line1 if address else None,
                city=address.city if address else None,
                region=address.region if address else None,
                postal_code=address.postal_code if address else None,
                country=address.country if address else None,
                start_date=m.start_date,
                payroll_calendar_id=m.payroll_calendar_id or self.payroll_calendar_id,
                ordinary_earnings_rate_id=m.ordinary_earnings_rate_id or self.ordinary_earnings_rate_id,
            )
            found.append(MemberRequest(m.member_id, f"members[{index}]", details))
        return found


class OutcomeOut(Output):
    member_id: str
    name: str
    target: str = Field(description="contact or employee.")
    outcome: str = Field(description="created, linked (Xero had it), already (sent before) or failed.")
    xero_id: str | None
    error: str | None = Field(description="Xero's own message when it refused.")


@router.post("/import", response_model=list[OutcomeOut])
async def import_members(
    connection_id: str, body: ImportIn, session: SessionDep, actor: ManagerDep, xero: XeroDep
) -> list[OutcomeOut]:
    """Send the chosen members to Xero, each once: contractors as (supplier) contacts,
    employees as Payroll AU employees, mapped for timesheets. Missing details are a 422
    naming the field; a member Xero refuses carries Xero's message and the others still go."""
    get_connection(session, actor.workspace_id, connection_id)
    outcomes = await members_service.import_members(xero, actor.workspace_id, connection_id, body.requests())
    return [OutcomeOut.model_validate(o) for o in outcomes]


class InvitableOut(Output):
    contact_id: str
    client_id: str
    name: str
    email: str | None
    is_supplier: bool = Field(description="Invited as a contractor.")
    member_id: str | None = Field(description="The member this contact already is.")


@router.get("/invitable", response_model=list[InvitableOut])
def list_invitable(
    connection_id: str,
    session: SessionDep,
    actor: ActorDep,
    search: str | None = Query(None, description="Part of the name or email."),
) -> list[InvitableOut]:
    """The organisation's contacts (as synced) that can become members."""
    rows = members_service.invitable(session, actor.workspace_id, connection_id, search)
    return [InvitableOut.model_validate(row) for row in rows]


class InviteIn(Input):
    contact_ids: list[str] = Field(min_length=1)


@router.post("/invite", response_model=list[MemberRead], status_code=201)
def invite(connection_id: str, body: InviteIn, session: SessionDep, actor: ManagerDep) -> list[MemberRead]:
    """A member per contact (suppliers as contractors), linked to it; a contact invited
    before is a 409 naming it."""
    created = members_service.invite(session, actor.workspace_id, connection_id, body.contact_ids)
    return [MemberRead.model_validate(m) for m in created]
