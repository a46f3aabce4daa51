"""Factories that build realistic work-side data, as plain functions."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from ledgerbridge.work import users
from ledgerbridge.work.models import (
    Client,
    Member,
    MemberKind,
    Project,
    Role,
    Task,
    TaxRate,
    WorkType,
)

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Seeded:
    workspace_id: str
    owner_token: str
    admin_token: str
    member_token: str
    owner_email: str
    client_id: str
    supplier_id: str
    employee_id: str
    contractor_id: str
    project_id: str
    task_id: str
    work_type_id: str


def seed_workspace(session: Session, name: str, slug: str = "harbour") -> Seeded:
    workspace = users.create_workspace(session, name)
    tokens: dict[Role, str] = {}
    for role in (Role.OWNER, Role.ADMIN, Role.MEMBER):
        user = users.add_to_workspace(
            session,
            workspace.id,
            f"{role.value}@{slug}.example.com",
            f"{role.value.title()} Person",
            role,
            PASSWORD,
        )
        _, tokens[role] = users.create_api_token(session, workspace.id, user.id, f"{role} token", None)
    for tax_type, tax_name, rate in (
        ("OUTPUT", "GST on Income", "10"),
        ("INPUT", "GST on Expenses", "10"),
        ("EXEMPTOUTPUT", "GST Free Income", "0"),
        ("BASEXCLUDED", "BAS Excluded", "0"),
    ):
        session.add(
            TaxRate(workspace_id=workspace.id, tax_type=tax_type, name=tax_name, rate_percent=Decimal(rate))
        )
    client = Client(workspace_id=workspace.id, name="Bondi Surf Co", email="accounts@bondisurf.example.com")
    supplier = Client(workspace_id=workspace.id, name="Parramatta Print", is_customer=False, is_supplier=True)
    employee = Member(
        workspace_id=workspace.id,
        name="Mia Chen",
        email=f"mia@{slug}.example.com",
        kind=MemberKind.EMPLOYEE,
        cost_rate=Decimal("55"),
        bill_rate=Decimal("150"),
    )
    contractor = Member(
        workspace_id=workspace.id,
        name="Liam O'Brien",
        email=f"liam@{slug}.example.com",
        kind=MemberKind.CONTRACTOR,
        cost_rate=Decimal("90"),
        bill_rate=Decimal("180"),
    )
    session.add_all([client, supplier, employee, contractor])
    session.flush()
    project = Project(
        workspace_id=workspace.id, name="Website rebuild", client_id=client.id, bill_rate=Decimal("160")
    )
    session.add(project)
    session.flush()
    task = Task(workspace_id=workspace.id, project_id=project.id, name="Design")
    work_type = WorkType(workspace_id=workspace.id, name="Ordinary hours")
    session.add_all([task, work_type])
    session.flush()
    return Seeded(
        workspace_id=workspace.id,
        owner_token=tokens[Role.OWNER],
        admin_token=tokens[Role.ADMIN],
        member_token=tokens[Role.MEMBER],
        owner_email=f"owner@{slug}.example.com",
        client_id=client.id,
        supplier_id=supplier.id,
        employee_id=employee.id,
        contractor_id=contractor.id,
        project_id=project.id,
        task_id=task.id,
        work_type_id=work_type.id,
    )
