"""Projects records, their derived totals, and how they look on the wire.

The Projects API is a different dialect from Accounting (XERO_API_NOTES 6): camelCase,
ISO 8601 UTC timestamps (never MS dates), no envelope, money as ``{"currency", "value"}``
``Amount`` objects. Records keep Python values (``Decimal`` money, aware ``datetime``) and
only what a client wrote; every total (minutes logged, amounts to be invoiced) is derived
from the tasks and time entries when rendered, so it can never drift from them.

Amounts: a ``TIME`` task earns ``rate x minutes / 60`` rounded half-up to cents, a
``FIXED`` task its rate, a ``NON_CHARGEABLE`` task nothing. Nothing is invoiced in the
sandbox (it has no project invoicing), so invoiced amounts are zero and every chargeable
minute is still to be invoiced.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ledgerbridge.sandbox.models import Organisation, Record, User

__all__ = [
    "PROJECTS",
    "TASKS",
    "TIME_ENTRIES",
    "amount",
    "iso",
    "project_users",
    "render_project",
    "render_task",
    "render_time_entry",
    "task_amount",
]

PROJECTS = "Projects"
TASKS = "ProjectTasks"
TIME_ENTRIES = "ProjectTimeEntries"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def iso(moment: datetime | None, *, precise: bool = False) -> str | None:
    """``2020-02-26T15:00:00Z``; ``precise`` adds Xero's 7 fractional digits (as in
    ``dateEnteredUtc``)."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    if precise:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def amount(currency: str, value: Decimal) -> dict[str, Any]:
    return {"currency": currency, "value": value}


def entries_of(org: Organisation, *, project_id: str | None = None,
               task_id: str | None = None) -> list[Record]:
    return [e for e in org.iter_records(TIME_ENTRIES)
            if (project_id is None or e["projectId"] == project_id)
            and (task_id is None or e["taskId"] == task_id)]


def task_amount(task: Record, minutes: int) -> Decimal:
    if task["chargeType"] == "TIME":
        return (Decimal(task["rate"]) * minutes / 60).quantize(CENT, ROUND_HALF_UP)
    if task["chargeType"] == "FIXED":
        return Decimal(task["rate"]).quantize(CENT, ROUND_HALF_UP)
    return ZERO


def render_task(org: Organisation, task: Record, currency: str) -> dict[str, Any]:
    minutes = sum(int(e["duration"]) for e in entries_of(org, task_id=task["taskId"]))
    total = task_amount(task, minutes)
    chargeable = task["chargeType"] != "NON_CHARGEABLE"
    return {
        "taskId": task["taskId"],
        "name": task["name"],
        "rate": amount(currency, task["rate"]),
        "chargeType": task["chargeType"],
        "estimateMinutes": task.get("estimateMinutes") or 0,
        "projectId": task["projectId"],
        "totalMinutes": minutes,
        "totalAmount": amount(currency, total),
        "minutesInvoiced": 0,
        "minutesToBeInvoiced": minutes if chargeable else 0,
        "fixedMinutes": minutes if task["chargeType"] == "FIXED" else 0,
        "nonChargeableMinutes": 0 if chargeable else minutes,
        "amountToBeInvoiced": amount(currency, total),
        "amountInvoiced": amount(currency, ZERO),
        "status": task.get("status", "ACTIVE"),
    }


def render_project(org: Organisation, project: Record) -> dict[str, Any]:
    currency = project["currencyCode"]
    tasks = [render_task(org, t, currency) for t in org.iter_records(TASKS)
             if t["projectId"] == project["projectId"]]
    task_total = sum((t["totalAmount"]["value"] for t in tasks), ZERO)
    body: dict[str, Any] = {
        "projectId": project["projectId"],
        "contactId": project["contactId"],
        "name": project["name"],
        "currencyCode": currency,
        "minutesLogged": sum(t["totalMinutes"] for t in tasks),
        "totalTaskAmount": amount(currency, task_total),
        "totalExpenseAmount": amount(currency, ZERO),
        "minutesToBeInvoiced": sum(t["minutesToBeInvoiced"] for t in tasks),
        "taskAmountToBeInvoiced": amount(currency, task_total),
        "taskAmountInvoiced": amount(currency, ZERO),
        "expenseAmountToBeInvoiced": amount(currency, ZERO),
        "expenseAmountInvoiced": amount(currency, ZERO),
        "projectAmountInvoiced": amount(currency, ZERO),
        "deposit": amount(currency, ZERO),
        "depositApplied": amount(currency, ZERO),
        "creditNoteAmount": amount(currency, ZERO),
        "totalInvoiced": amount(currency, ZERO),
        "totalToBeInvoiced": amount(currency, task_total),
        "status": project["status"],
    }
    if project.get("deadlineUtc") is not None:
        body["deadlineUtc"] = iso(project["deadlineUtc"])
    if project.get("estimate") is not None:
        body["estimate"] = amount(currency, project["estimate"])
    return body


def render_time_entry(entry: Record) -> dict[str, Any]:
    body = {
        "timeEntryId": entry["timeEntryId"],
        "userId": entry["userId"],
        "projectId": entry["projectId"],
        "taskId": entry["taskId"],
        "dateUtc": iso(entry["dateUtc"]),
        "dateEnteredUtc": iso(entry["dateEnteredUtc"], precise=True),
        "duration": entry["duration"],
        "status": entry.get("status", "ACTIVE"),
    }
    if entry.get("description") is not None:
        body["description"] = entry["description"]
    return body


def _can_see(user: User, org: Organisation) -> bool:
    return user.all_organisations or org.tenant_id in user.tenant_ids


def project_users(users: Iterable[User], org: Organisation) -> list[dict[str, Any]]:
    """Project users are the organisation's users (Xero lists the people who may log
    time), so they follow the sandbox's users rather than a seeded copy."""
    chosen = [u for u in users if _can_see(u, org)]
    chosen.sort(key=lambda u: (u.first_name, u.last_name, u.email))
    return [{"userId": u.user_id, "name": f"{u.first_name} {u.last_name}".strip(),
             "email": u.email} for u in chosen]
