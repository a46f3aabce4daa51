"""A request's changes are committed before its response leaves: a client told "created"
or "signed in" can rely on it, and its very next request sees it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledgerbridge.db import Database
from ledgerbridge.settings import Settings
from ledgerbridge.web.app import create_app
from ledgerbridge.work.models import Member
from tests.factories import Seeded


def test_changes_are_committed_before_the_response_starts(
    settings: Settings, database: Database, seeded: Seeded
) -> None:
    app = create_app(settings, database)
    seen_at_response_start: list[int] = []

    async def watching(scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Look at the database from another connection the moment the response starts."""

        async def send_and_look(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and scope.get("method") == "POST":
                with database.session() as other:
                    count = select(func.count()).select_from(Member).where(Member.name == "Priya Natarajan")
                    seen_at_response_start.append(other.scalar(count) or 0)
            await send(message)

        await app(scope, receive, send_and_look)

    with TestClient(watching) as client:
        created = client.post(
            "/api/v1/members",
            json={"name": "Priya Natarajan", "email": "priya@example.com", "kind": "employee"},
            headers={"Authorization": f"Bearer {seeded.owner_token}"},
        )
    assert created.status_code == 201, created.text
    assert seen_at_response_start == [1]
