"""Server-rendered pages. For now: the Integrations page and Xero's OAuth callback."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import SessionDep, get_actor
from ledgerbridge.xero import apps, connections

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)


def _back(message: str, kind: str) -> RedirectResponse:
    return RedirectResponse(f"/integrations?{urlencode({'message': message, 'kind': kind})}", status_code=303)


@router.get(apps.CALLBACK_PATH)
async def xero_callback(
    request: Request,
    session: SessionDep,
    xero: XeroDep,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
) -> RedirectResponse:
    """Where Xero sends the admin back; every outcome lands on Integrations with a message."""
    try:
        actor = get_actor(request, session)
        result = await connections.complete(xero, session, actor, state, code, error)
    except LedgerbridgeError as exc:
        return _back(exc.detail, "error")
    names = ", ".join(c.tenant_name for c in result.connections)
    return _back(f"Connected to Xero: {names}.", "success")


@router.get("/integrations", response_class=HTMLResponse)
def integrations(
    request: Request, session: SessionDep, message: str | None = None, kind: str = "info"
) -> HTMLResponse:
    try:
        actor = get_actor(request, session)
    except LedgerbridgeError:
        return templates.TemplateResponse(
            request, "integrations.html", {"signed_in": False, "message": message, "kind": kind}
        )
    return templates.TemplateResponse(
        request,
        "integrations.html",
        {
            "signed_in": True,
            "connections": connections.list_connections(session, actor.workspace_id),
            "message": message,
            "kind": kind,
        },
    )
