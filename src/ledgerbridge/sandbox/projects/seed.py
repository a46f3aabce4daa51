"""Demo projects: a couple of in-progress projects with tasks, for every organisation.

Project users need no seeding: they are the organisation's sandbox users (the demo user
sees every organisation). Projects point at the organisation's first contacts when the
Accounting seeder has made some, otherwise at fixed placeholder contact ids. Ids are uuid5
of the tenant and a name, so they are stable across reseeds.

Sizes: ``projects`` (default 2).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from ledgerbridge.sandbox.models import Organisation
from ledgerbridge.sandbox.projects.model import PROJECTS, TASKS

if TYPE_CHECKING:
    from ledgerbridge.sandbox.state import SandboxState

__all__ = ["DEFAULT_PROJECTS", "seed_projects"]

DEFAULT_PROJECTS = 2
_NAMES = ("Website Redesign", "Office Fit-out", "Annual Audit Support", "Mobile App Build")
_TASKS = (("Design", "TIME", Decimal("120.00"), 600), ("Development", "TIME", Decimal("150.00"), 2400),
          ("Project Management", "FIXED", Decimal("1500.00"), 300),
          ("Internal Review", "NON_CHARGEABLE", Decimal("0.00"), 120))


def _id(org: Organisation, name: str) -> str:
    return str(uuid.uuid5(uuid.UUID(org.tenant_id), name))


def seed_projects(state: SandboxState, org: Organisation, sizes: dict[str, int]) -> None:
    """The seeder registered as ``projects``: see the module docstring."""
    contacts = sorted(org.records("Contacts"))
    now = state.clock.now()
    for index in range(sizes.get("projects", DEFAULT_PROJECTS)):
        name = _NAMES[index % len(_NAMES)] + ("" if index < len(_NAMES) else f" {index + 1}")
        project_id = _id(org, f"project:{index}")
        contact = contacts[index % len(contacts)] if contacts else _id(org, f"contact:{index}")
        org.put_record(PROJECTS, project_id, {
            "projectId": project_id, "contactId": contact, "name": name,
            "currencyCode": org.base_currency, "status": "INPROGRESS",
            "deadlineUtc": (now + timedelta(days=60 + 30 * index)).replace(
                hour=0, minute=0, second=0, microsecond=0),
            "estimate": Decimal("25000.00") + 5000 * index,
        })
        for task_name, charge, rate, estimate in _TASKS:
            task_id = _id(org, f"project:{index}:task:{task_name}")
            org.put_record(TASKS, task_id, {
                "taskId": task_id, "projectId": project_id, "name": task_name, "rate": rate,
                "chargeType": charge, "estimateMinutes": estimate, "status": "ACTIVE",
            })
