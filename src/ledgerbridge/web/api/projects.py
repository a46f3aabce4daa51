"""Projects and their tasks."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ledgerbridge.web.api.crud import Input, ListQuery, Output, Resource
from ledgerbridge.web.api.types import Name, Rate
from ledgerbridge.work.models import Client, Project, Task


class ProjectCreate(Input):
    name: Name
    code: str | None = None
    client_id: str | None = None
    bill_rate: Rate | None = None
    archived: bool = False


class ProjectUpdate(Input):
    name: Name | None = None
    code: str | None = None
    client_id: str | None = None
    bill_rate: Rate | None = None
    archived: bool | None = None


class ProjectRead(Output):
    id: str
    name: str
    code: str | None
    client_id: str | None
    bill_rate: Rate | None
    archived: bool
    xero_connection_id: str | None = Field(
        description='The Xero organisation whose contacts this project\'s tasks are ("Xero" project).'
    )
    created_at: datetime
    updated_at: datetime


class ProjectQuery(ListQuery):
    client_id: str | None = None
    archived: bool | None = None


projects = Resource(
    path="/projects",
    model=Project,
    read=ProjectRead,
    create=ProjectCreate,
    update=ProjectUpdate,
    query=ProjectQuery,
    references={"client_id": Client},
    unique=("name",),
    search=("name", "code"),
    order_by=("name",),
)


class TaskCreate(Input):
    project_id: str
    name: Name
    bill_rate: Rate | None = None
    billable: bool = True
    archived: bool = False


class TaskUpdate(Input):
    name: Name | None = None
    bill_rate: Rate | None = None
    billable: bool | None = None
    archived: bool | None = None


class TaskRead(Output):
    id: str
    project_id: str
    name: str
    bill_rate: Rate | None
    billable: bool
    archived: bool
    client_id: str | None = Field(description="The client (Xero contact) this task stands for, if any.")
    created_at: datetime
    updated_at: datetime


class TaskQuery(ListQuery):
    project_id: str | None = None
    client_id: str | None = None
    archived: bool | None = None


tasks = Resource(
    path="/tasks",
    model=Task,
    read=TaskRead,
    create=TaskCreate,
    update=TaskUpdate,
    query=TaskQuery,
    references={"project_id": Project},
    unique=("name",),
    search=("name",),
    order_by=("name",),
)
