"""The Project time tab against the sandbox: a project created (or linked) in Xero Projects
from the page, its tasks linked or created, members mapped to project users, and approved
time arriving as Xero Projects time entries once, with the waiting count; roles and
workspaces."""

# ruff: noqa: F811 - pytest passes the imported fixture by name
from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from ledgerbridge.sandbox.projects.model import PROJECTS, TASKS
from ledgerbridge.work.models import Project
from tests.factories import seed_workspace
from tests.payroll.conftest import *  # noqa: F403 - owner_api and the sandbox fixtures
from tests.sync.test_xero_projects import Setup, setup  # noqa: F401 - the fixture, by name
from tests.web.pages.conftest import csrf_of


def page(s: Setup) -> str:
    return f"/integrations/xero/{s.connection_id}/projects"


def submit(client: TestClient, on: str, action: str, data: dict[str, Any], **kwargs: Any) -> Any:
    token = csrf_of(client.get(on, **kwargs).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False, **kwargs)


def flash(client: TestClient, response: Any) -> str:
    assert response.status_code == 303, response.text
    shown = client.get(response.headers["location"]).text
    found = re.search(r'data-flash="[a-z]+">([^<]*)<', shown)
    assert found, shown
    return html.unescape(found.group(1))


def waiting(s: Setup) -> int:
    found = re.search(r'data-waiting="(\d+)"', s.api.get(page(s)).text)
    assert found
    return int(found.group(1))


def project_name(s: Setup) -> str:
    with s.database.session() as session:
        project = session.get(Project, s.seeded.project_id)
        assert project is not None
        return project.name


def test_create_link_map_and_push_approved_time_once(setup: Setup) -> None:
    s = setup
    action = f"{page(s)}/{s.seeded.project_id}/link"
    refused = submit(s.api, page(s), action, {"xero_project_id": "create"})
    assert "Bondi Surf Co" in flash(s.api, refused)  # its client is not in Xero yet
    s.link_client()

    created = submit(s.api, page(s), action, {"xero_project_id": "create"})
    assert flash(s.api, created) == f"Created in Xero: {project_name(s)}."
    (xero_project,) = [p for p in s.org.iter_records(PROJECTS) if p["name"] == project_name(s)]

    tasks = submit(s.api, page(s), f"{page(s)}/{s.seeded.project_id}/tasks", {})
    assert flash(s.api, tasks) == "Tasks Design: created."
    assert [t["name"] for t in s.org.iter_records(TASKS) if t["projectId"] == xero_project["projectId"]] == [
        "Design"
    ]

    users = submit(s.api, page(s), f"{page(s)}/users", {f"member:{s.seeded.employee_id}": s.demo_user_id()})
    assert flash(s.api, users) == "Saved 1 project user mapping."

    s.entry(s.seeded.employee_id, date(2026, 3, 2), 90, notes="Wireframes")
    s.entry(s.seeded.employee_id, date(2026, 3, 3), 45)
    s.entry(s.seeded.employee_id, date(2026, 3, 4), 60, approved=False)  # not approved: stays
    assert waiting(s) == 2

    pushed = submit(s.api, page(s), f"{page(s)}/push", {})
    assert flash(s.api, pushed) == "Time sent: 2 created, 0 already in Xero, 0 not sent."
    sent = s.xero_entries()
    assert [(e["projectId"], e["userId"], e["duration"]) for e in sent] == [
        (xero_project["projectId"], s.demo_user_id(), 90),
        (xero_project["projectId"], s.demo_user_id(), 45),
    ]
    assert waiting(s) == 0

    again = submit(s.api, page(s), f"{page(s)}/push", {})
    assert flash(s.api, again) == "Time sent: 0 created, 2 already in Xero, 0 not sent."
    assert len(s.xero_entries()) == 2


def test_link_an_existing_xero_project_and_name_an_unmapped_member(setup: Setup) -> None:
    s = setup
    listed = s.api.get(page(s)).text
    found = re.search(r'<option value="([^"]+)">Link to: Website Redesign</option>', listed)
    assert found, listed
    linked = submit(
        s.api, page(s), f"{page(s)}/{s.seeded.project_id}/link", {"xero_project_id": found.group(1)}
    )
    assert flash(s.api, linked) == "Linked to Xero project: Website Redesign."
    assert flash(s.api, submit(s.api, page(s), f"{page(s)}/{s.seeded.project_id}/tasks", {})) == (
        "Tasks Design: linked."
    )
    s.entry(s.seeded.contractor_id, date(2026, 3, 2), 120)  # Liam has no project user
    pushed = flash(s.api, submit(s.api, page(s), f"{page(s)}/push", {}))
    assert pushed.startswith("Time sent: 0 created, 0 already in Xero, 1 not sent.")
    assert "Liam O'Brien" in pushed and "not mapped" in pushed
    assert s.xero_entries() == []


def test_members_cannot_push_and_other_workspaces_see_nothing(setup: Setup) -> None:
    s = setup
    s.entry(s.seeded.employee_id, date(2026, 3, 2), 90)
    member = {"Authorization": f"Bearer {s.seeded.member_token}"}
    assert s.api.get(page(s), headers=member).status_code == 200
    assert submit(s.api, page(s), f"{page(s)}/push", {}, headers=member).status_code == 403
    assert (
        submit(
            s.api,
            page(s),
            f"{page(s)}/{s.seeded.project_id}/link",
            {"xero_project_id": "create"},
            headers=member,
        ).status_code
        == 403
    )
    with s.database.session() as session:
        other = seed_workspace(session, "Other Pty Ltd", slug="other")
    outsider = {"Authorization": f"Bearer {other.owner_token}"}
    assert s.api.get(page(s), headers=outsider).status_code == 404
    assert s.xero_entries() == []
