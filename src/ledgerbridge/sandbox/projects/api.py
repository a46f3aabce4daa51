"""The Projects API (``/projects.xro/2.0``): projects, tasks, time entries, project users.

Status codes as XERO_API_NOTES 6 lists them: 200 for reads and for ``POST /Time``, 201
with the new object for ``POST /Projects`` and ``POST /Projects/{id}/Tasks``, 204 without
a body for PUT, PATCH and DELETE, 400 ``{"message": "The request is invalid.",
"modelState": {"<field>": ["..."]}}`` for validation, Xero's plain-text 404.

Rules: a project needs ``name`` and ``contactId`` (Xero's own messages, from the response
codes page) and, when the organisation has contacts, a contact that exists; a task needs
``name`` (at most 100 characters), ``rate`` and ``chargeType``, the rate in the project's
currency, and cannot change once ``INVOICED`` or ``LOCKED``; a time entry needs a project
user, a task of the same project, ``dateUtc`` and a ``duration`` of 1 to 59,940 minutes,
cannot change once ``LOCKED`` or ``INVOICED``, and a PUT without ``description`` clears
it. Beyond those from the spec and Xero's pages, two rules are the sandbox's own, marked
so in their messages' absence of Xero wording: no time on a CLOSED project, and no
deleting a task that has time logged against it (either would leave totals pointing at
nothing). Lists page with ``page`` (from 1) and ``pageSize`` (1 to 500, default 50).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ledgerbridge.sandbox.accounting import framework, wire
from ledgerbridge.sandbox.errors import not_found
from ledgerbridge.sandbox.guard import ApiContext, require_resource
from ledgerbridge.sandbox.models import Organisation, Record
from ledgerbridge.sandbox.projects.model import (
    PROJECTS,
    TASKS,
    TIME_ENTRIES,
    entries_of,
    project_users,
    render_project,
    render_task,
    render_time_entry,
)

__all__ = ["ModelStateError", "router"]

router = APIRouter()
guard = require_resource("Projects")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_DURATION = 59_940
CHARGE_TYPES = ("TIME", "FIXED", "NON_CHARGEABLE")
FROZEN_TASK = ("INVOICED", "LOCKED")
FROZEN_ENTRY = ("LOCKED", "INVOICED")


class ModelStateError(Exception):
    """A 400 in the Projects shape; ``fields`` maps ``model.<field>`` to messages."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in fields.values() for m in ms))
        self.fields = dict(fields)

    def response(self) -> Response:
        return wire.XeroJSONResponse(
            {"message": "The request is invalid.", "modelState": self.fields}, status_code=400)


def _invalid(field: str, message: str) -> ModelStateError:
    return ModelStateError({f"model.{field}": [message]})


# -- shared plumbing ----------------------------------------------------------------------------


def _json(body: Any, status: int = 200) -> Response:
    return wire.XeroJSONResponse(body, status_code=status)


def _page(request: Request, items: list[dict[str, Any]]) -> Response:
    """``{"pagination": {...}, "items": [...]}`` for one page of ``items``."""
    try:
        page = int(framework.query_param(request, "page") or 1)
        size = int(framework.query_param(request, "pageSize") or DEFAULT_PAGE_SIZE)
    except ValueError:
        return _invalid("page", "page and pageSize must be whole numbers").response()
    if page < 1:
        return _invalid("page", "The page must be a number greater than 0").response()
    if not 1 <= size <= MAX_PAGE_SIZE:
        return _invalid("pageSize", "The pageSize must be between 1 and 500").response()
    start = (page - 1) * size
    return _json({
        "pagination": {"page": page, "pageSize": size, "pageCount": math.ceil(len(items) / size),
                       "itemCount": len(items)},
        "items": items[start:start + size],
    })


async def _write(ctx: ApiContext, request: Request,
                 handle: Callable[[dict[str, Any]], Response]) -> Response:
    """Parse the JSON object body, run ``handle`` under the state lock, honour
    ``Idempotency-Key`` (the shared Accounting machinery), and render model-state errors."""
    raw = await request.body()

    def produce() -> Response:
        body = wire.read_json(raw)
        if not isinstance(body, dict):
            return _invalid("body", "The request body must be a JSON object").response()
        try:
            with ctx.state.transaction():
                return handle(body)
        except ModelStateError as exc:
            return exc.response()
        except wire.WireError as exc:
            return ModelStateError({"model": [str(exc)]}).response()

    return framework.idempotent(ctx, request, raw, produce)


def _uuid(value: Any, field: str, message: str) -> str:
    if value is None or value == "":
        raise _invalid(field, message)
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise _invalid(field, f"The {field} is not a valid identifier") from exc


def _project(org: Organisation, project_id: str) -> Record:
    record = org.get_record(PROJECTS, project_id.lower())
    if record is None:
        raise not_found()
    return record


def _child(org: Organisation, collection: str, project: Record, child_id: str) -> Record:
    record = org.get_record(collection, child_id.lower())
    if record is None or record["projectId"] != project["projectId"]:
        raise not_found()
    return record


def _csv(request: Request, name: str) -> list[str]:
    return [v.lower() for v in wire.parse_csv(framework.query_param(request, name))]


# -- projects -----------------------------------------------------------------------------------


def _project_fields(ctx: ApiContext, body: Mapping[str, Any]) -> dict[str, Any]:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _invalid("Name", "The Project Name cannot be empty")
    contact_id = _uuid(body.get("contactId"), "ContactId", "The ContactId cannot be null or empty")
    contacts = ctx.org.records("Contacts")
    if contacts and contact_id not in contacts:
        raise _invalid("ContactId", "The ContactId does not exist")
    deadline = body.get("deadlineUtc")
    estimate = body.get("estimateAmount")
    return {
        "contactId": contact_id,
        "name": name.strip(),
        "deadlineUtc": wire.parse_datetime(deadline) if deadline else None,
        "estimate": None if estimate is None else wire.parse_decimal(estimate, "estimateAmount"),
    }


@router.get("/Projects")
def list_projects(request: Request, ctx: ApiContext = Depends(guard)) -> Response:
    ids = set(_csv(request, "projectIds"))
    contact = (framework.query_param(request, "contactID") or "").lower()
    states = {s.upper() for s in _csv(request, "states")}
    chosen = [p for p in ctx.org.iter_records(PROJECTS)
              if (not ids or p["projectId"] in ids) and (not contact or p["contactId"] == contact)
              and (not states or p["status"] in states)]
    chosen.sort(key=lambda p: (p["name"].lower(), p["projectId"]))
    return _page(request, [render_project(ctx.org, p) for p in chosen])


@router.post("/Projects")
async def create_project(request: Request, ctx: ApiContext = Depends(guard)) -> Response:
    def handle(body: dict[str, Any]) -> Response:
        record = {"projectId": str(uuid.uuid4()), **_project_fields(ctx, body),
                  "currencyCode": ctx.org.base_currency, "status": "INPROGRESS"}
        ctx.org.put_record(PROJECTS, record["projectId"], record)
        return _json(render_project(ctx.org, record), 201)

    return await _write(ctx, request, handle)


@router.get("/Projects/{project_id}")
def get_project(project_id: str, ctx: ApiContext = Depends(guard)) -> Response:
    return _json(render_project(ctx.org, _project(ctx.org, project_id)))


@router.put("/Projects/{project_id}")
async def update_project(project_id: str, request: Request,
                         ctx: ApiContext = Depends(guard)) -> Response:
    project = _project(ctx.org, project_id)

    def handle(body: dict[str, Any]) -> Response:
        ctx.org.put_record(PROJECTS, project["projectId"], {**project, **_project_fields(ctx, body)})
        return Response(status_code=204)

    return await _write(ctx, request, handle)


@router.patch("/Projects/{project_id}")
async def patch_project(project_id: str, request: Request,
                        ctx: ApiContext = Depends(guard)) -> Response:
    project = _project(ctx.org, project_id)

    def handle(body: dict[str, Any]) -> Response:
        status = str(body.get("status") or "").upper()
        if status not in ("INPROGRESS", "CLOSED"):
            raise _invalid("Status", "The status must be INPROGRESS or CLOSED")
        ctx.org.put_record(PROJECTS, project["projectId"], {**project, "status": status})
        return Response(status_code=204)

    return await _write(ctx, request, handle)


@router.get("/ProjectsUsers")
def list_project_users(request: Request, ctx: ApiContext = Depends(guard)) -> Response:
    return _page(request, project_users(ctx.state.users.values(), ctx.org))


# -- tasks --------------------------------------------------------------------------------------


def _task_fields(project: Record, body: Mapping[str, Any]) -> dict[str, Any]:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _invalid("Name", "The Name cannot be empty")
    if len(name.strip()) > 100:
        raise _invalid("Name", "The Name must be 100 characters or fewer")
    rate = body.get("rate")
    if not isinstance(rate, Mapping) or rate.get("value") is None:
        raise _invalid("Rate", "The Rate cannot be null")
    currency = str(rate.get("currency") or project["currencyCode"]).upper()
    if currency != project["currencyCode"]:
        raise _invalid("Rate.Currency", f"The rate must be in {project['currencyCode']}")
    charge = str(body.get("chargeType") or "").upper()
    if charge not in CHARGE_TYPES:
        raise _invalid("ChargeType", "The ChargeType must be TIME, FIXED or NON_CHARGEABLE")
    estimate = body.get("estimateMinutes")
    if estimate is not None and (not isinstance(estimate, int) or estimate < 0):
        raise _invalid("EstimateMinutes", "The EstimateMinutes must be a whole number of minutes")
    value = wire.parse_decimal(rate["value"], "rate")
    if value < 0:
        raise _invalid("Rate.Value", "The Rate cannot be negative")
    return {"name": name.strip(), "rate": value, "chargeType": charge, "estimateMinutes": estimate}


@router.get("/Projects/{project_id}/Tasks")
def list_tasks(project_id: str, request: Request, ctx: ApiContext = Depends(guard)) -> Response:
    project = _project(ctx.org, project_id)
    ids = set(_csv(request, "taskIds"))
    charge = (framework.query_param(request, "chargeType") or "").upper()
    chosen = [t for t in ctx.org.iter_records(TASKS) if t["projectId"] == project["projectId"]
              and (not ids or t["taskId"] in ids) and (not charge or t["chargeType"] == charge)]
    chosen.sort(key=lambda t: (t["name"].lower(), t["taskId"]))
    return _page(request, [render_task(ctx.org, t, project["currencyCode"]) for t in chosen])


@router.post("/Projects/{project_id}/Tasks")
async def create_task(project_id: str, request: Request,
                      ctx: ApiContext = Depends(guard)) -> Response:
    project = _project(ctx.org, project_id)

    def handle(body: dict[str, Any]) -> Response:
        task = {"taskId": str(uuid.uuid4()), "projectId": project["projectId"],
                **_task_fields(project, body), "status": "ACTIVE"}
        ctx.org.put_record(TASKS, task["taskId"], task)
        return _json(render_task(ctx.org, task, project["currencyCode"]), 201)

    return await _write(ctx, request, handle)


@router.get("/Projects/{project_id}/Tasks/{task_id}")
def get_task(project_id: str, task_id: str, ctx: ApiContext = Depends(guard)) -> Response:
    project = _project(ctx.org, project_id)
    task = _child(ctx.org, TASKS, project, task_id)
    return _json(render_task(ctx.org, task, project["currencyCode"]))


@router.put("/Projects/{project_id}/Tasks/{task_id}")
async def update_task(project_id: str, task_id: str, request: Request,
                      ctx: ApiContext = Depends(guard)) -> Response:
    project = _project(ctx.org, project_id)
    task = _child(ctx.org, TASKS, project, task_id)

    def handle(body: dict[str, Any]) -> Response:
        if task.get("status") in FROZEN_TASK:
            raise _invalid("Status", f"A task that is {task['status']} cannot be changed")
        ctx.org.put_record(TASKS, task["taskId"], {**task, **_task_fields(project, body)})
        return Response(status_code=204)

    return await _write(ctx, request, handle)


@router.delete("/Projects/{project_id}/Tasks/{task_id}")
def delete_task(project_id: str, task_id: str, ctx: ApiContext = Depends(guard)) -> Response:
    project = _project(ctx.org, project_id)
    task = _child(ctx.org, TASKS, project, task_id)
    if task.get("status") in FROZEN_TASK:
        return _invalid("Status", f"A task that is {task['status']} cannot be deleted").response()
    if entries_of(ctx.org, task_id=task["taskId"]):
        return _invalid("TaskId", "A task with time entries cannot be deleted").response()
    with ctx.state.transaction():
        ctx.org.delete_record(TASKS, task["taskId"])
    return Response(status_code=204)


# -- time entries -------------------------------------------------------------------------------


def _entry_fields(ctx: ApiContext, project: Record, body: Mapping[str, Any]) -> dict[str, Any]:
    if project["status"] == "CLOSED":
        raise _invalid("ProjectId", "Time cannot be logged on a closed project")
    user_id = _uuid(body.get("userId"), "UserId", "The UserId cannot be null or empty")
    if user_id not in {u["userId"] for u in project_users(ctx.state.users.values(), ctx.org)}:
        raise _invalid("UserId", "The UserId is not a project user")
    task_id = _uuid(body.get("taskId"), "TaskId", "The TaskId cannot be null or empty")
    task = ctx.org.get_record(TASKS, task_id)
    if task is None or task["projectId"] != project["projectId"]:
        raise _invalid("TaskId", "The TaskId does not belong to this project")
    if not body.get("dateUtc"):
        raise _invalid("DateUtc", "The DateUtc cannot be null")
    duration = body.get("duration")
    if isinstance(duration, Decimal) and duration == duration.to_integral_value():
        duration = int(duration)
    if not isinstance(duration, int) or isinstance(duration, bool) \
            or not 1 <= duration <= MAX_DURATION:
        raise _invalid("Duration", "The Duration must be between 1 and 59940 minutes")
    description = body.get("description")
    return {"userId": user_id, "taskId": task_id, "dateUtc": wire.parse_datetime(body["dateUtc"]),
            "duration": duration, "description": None if description is None else str(description)}


def _entry_filter(request: Request, project: Record,
                  tasks: Mapping[str, Record]) -> Callable[[Record], bool]:
    user = (framework.query_param(request, "userId") or "").lower()
    task = (framework.query_param(request, "taskId") or "").lower()
    contact = (framework.query_param(request, "contactId") or "").lower()
    invoice = framework.query_param(request, "invoiceId")
    states = {s.upper() for s in _csv(request, "states")}
    chargeable = framework.query_param(request, "isChargeable")
    after = framework.query_param(request, "dateAfterUtc")
    before = framework.query_param(request, "dateBeforeUtc")
    after_at: datetime | None = wire.parse_datetime(after) if after else None
    before_at: datetime | None = wire.parse_datetime(before) if before else None

    def keep(entry: Record) -> bool:
        charge = tasks[entry["taskId"]]["chargeType"] if entry["taskId"] in tasks else None
        return all((
            not user or entry["userId"] == user,
            not task or entry["taskId"] == task,
            not contact or project["contactId"] == contact,
            not invoice,  # nothing is invoiced in the sandbox
            not states or entry.get("status", "ACTIVE") in states,
            chargeable is None or (charge != "NON_CHARGEABLE") == wire.parse_bool(chargeable),
            after_at is None or entry["dateUtc"] >= after_at,
            before_at is None or entry["dateUtc"] <= before_at,
        ))

    return keep


@router.get("/Projects/{project_id}/Time")
def list_time(project_id: str, request: Request, ctx: ApiContext = Depends(guard)) -> Response:
    project = _project(ctx.org, project_id)
    tasks = {t["taskId"]: t for t in ctx.org.iter_records(TASKS)}
    try:
        keep = _entry_filter(request, project, tasks)
    except wire.WireError as exc:
        return ModelStateError({"model": [str(exc)]}).response()
    chosen = [e for e in entries_of(ctx.org, project_id=project["projectId"]) if keep(e)]
    chosen.sort(key=lambda e: (e["dateUtc"], e["timeEntryId"]))
    return _page(request, [render_time_entry(e) for e in chosen])


@router.post("/Projects/{project_id}/Time")
async def create_time(project_id: str, request: Request,
                      ctx: ApiContext = Depends(guard)) -> Response:
    project = _project(ctx.org, project_id)

    def handle(body: dict[str, Any]) -> Response:
        entry = {"timeEntryId": str(uuid.uuid4()), "projectId": project["projectId"],
                 **_entry_fields(ctx, project, body), "dateEnteredUtc": ctx.state.clock.now(),
                 "status": "ACTIVE"}
        ctx.org.put_record(TIME_ENTRIES, entry["timeEntryId"], entry)
        return _json(render_time_entry(entry))

    return await _write(ctx, request, handle)


@router.get("/Projects/{project_id}/Time/{entry_id}")
def get_time(project_id: str, entry_id: str, ctx: ApiContext = Depends(guard)) -> Response:
    project = _project(ctx.org, project_id)
    return _json(render_time_entry(_child(ctx.org, TIME_ENTRIES, project, entry_id)))


@router.put("/Projects/{project_id}/Time/{entry_id}")
async def update_time(project_id: str, entry_id: str, request: Request,
                      ctx: ApiContext = Depends(guard)) -> Response:
    project = _project(ctx.org, project_id)
    entry = _child(ctx.org, TIME_ENTRIES, project, entry_id)

    def handle(body: dict[str, Any]) -> Response:
        if entry.get("status") in FROZEN_ENTRY:
            raise _invalid("Status", f"A time entry that is {entry['status']} cannot be changed")
        ctx.org.put_record(TIME_ENTRIES, entry["timeEntryId"],
                           {**entry, **_entry_fields(ctx, project, body)})
        return Response(status_code=204)

    return await _write(ctx, request, handle)


@router.delete("/Projects/{project_id}/Time/{entry_id}")
def delete_time(project_id: str, entry_id: str, ctx: ApiContext = Depends(guard)) -> Response:
    project = _project(ctx.org, project_id)
    entry = _child(ctx.org, TIME_ENTRIES, project, entry_id)
    if entry.get("status") in FROZEN_ENTRY:
        return _invalid("Status", f"A time entry that is {entry['status']} cannot be deleted").response()
    with ctx.state.transaction():
        ctx.org.delete_record(TIME_ENTRIES, entry["timeEntryId"])
    return Response(status_code=204)
