"""Fixtures for the sandbox: a frozen clock, a fresh state, and the app in-process.

A tiny probe API family (``/api.xro/2.0/Contacts``) stands in for the Accounting API so
the guard, limits, faults and webhooks are tested through a real router, the same way the
API families will use them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, Depends, Request
from fastapi.testclient import TestClient

from ledgerbridge.sandbox import (
    ApiContext,
    SandboxClock,
    SandboxExtensions,
    SandboxState,
    create_sandbox_app,
    require_resource,
)
from ledgerbridge.sandbox.extensions import ACCOUNTING
from ledgerbridge.sandbox.models import Organisation

probe = APIRouter()


@probe.get("/Contacts")
def list_contacts(ctx: ApiContext = Depends(require_resource("Contacts"))) -> dict[str, Any]:
    return {"Contacts": list(ctx.org.records("Contacts").values())}


@probe.put("/Contacts")
async def put_contact(
    request: Request, ctx: ApiContext = Depends(require_resource("Contacts"))
) -> dict[str, Any]:
    body = await request.json()
    contact = {"ContactID": str(uuid.uuid4()), "Name": body["Name"]}
    with ctx.state.transaction():
        ctx.org.put_record("Contacts", contact["ContactID"], contact)
        ctx.emit("CONTACT", "CREATE", contact["ContactID"])
    return {"Contacts": [contact]}


def seed_contacts(state: SandboxState, org: Organisation, sizes: dict[str, int]) -> None:
    for n in range(sizes.get("contacts", 2)):
        contact_id = str(uuid.uuid4())
        org.put_record("Contacts", contact_id, {"ContactID": contact_id, "Name": f"Contact {n}"})


def probe_extensions() -> SandboxExtensions:
    ext = SandboxExtensions()
    ext.add_router(ACCOUNTING, probe)
    ext.add_seeder("probe-contacts", seed_contacts)
    return ext


@pytest.fixture
def clock() -> SandboxClock:
    return SandboxClock(speed=0)


@pytest.fixture
def state(clock: SandboxClock) -> SandboxState:
    return SandboxState(clock=clock)


@pytest.fixture
def client(state: SandboxState) -> Iterator[TestClient]:
    app = create_sandbox_app(state, extensions=probe_extensions())
    with TestClient(app, base_url="http://sandbox.test") as test_client:
        yield test_client
