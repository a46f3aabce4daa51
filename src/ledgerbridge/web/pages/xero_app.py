"""The "own Xero app" page: a workspace brings its own Xero app (Client ID and Secret, and
optionally a webhook key), sees the Redirect URL and webhook URL to register with it, and
can remove it to fall back to the built-in app.

Storing, removing and what is shown all go through ``xero.apps`` (``save_app``,
``remove_app``, ``view``), exactly as ``PUT``/``DELETE``/``GET /xero/app`` do, so the page
and the API follow one set of rules: an empty secret box keeps the stored secret unless
the Client ID changes, an empty webhook key box keeps the stored key, and the "remove the
webhook key" box clears it. Secrets are write-only: the page only says that one is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError, NotFound, ValidationFailed
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, refused, render
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.work.auth import Actor
from ledgerbridge.xero import apps
from ledgerbridge.xero.services import XeroServices

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PAGE = "/settings/xero-app"
LABELS = {"client_id": "Client ID", "client_secret": "Client Secret", "webhook_key": "Webhook key"}


def _field_errors(exc: ValidationFailed) -> dict[str, str]:
    """The domain's messages beside their fields, each led by the field's label."""
    errors = {e.field: f"{LABELS.get(e.field, e.field)}: {e.message}" for e in exc.errors}
    return errors or {"client_id": exc.detail}


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    xero: XeroServices,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    own = apps.own_app(session, actor.workspace_id)
    app = apps.view(session, xero.settings, actor.workspace_id)
    shown = {
        "client_id": own.client_id if own is not None else "",
        "granular_scopes": own.granular_scopes if own is not None else False,
    }
    if values is not None:  # a refused form: what was typed, never a secret
        shown = {"client_id": values["client_id"], "granular_scopes": values["granular_scopes"]}
    return render(
        request,
        "xero/xero_app.html",
        {
            "app": app,
            # What to register with the workspace's own app, even before it is saved.
            "webhook_url": app.own_webhook_url,
            "own": own,
            "values": shown,
            "errors": errors or {},
            "labels": LABELS,
            "sandbox": bool(xero.settings.xero_sandbox_url),
            "connected_through": app.connected_through,
        },
        session=session,
        actor=actor,
        status_code=422 if errors else 200,
    )


def _manager(request: Request, session: Session) -> tuple[Actor, HTMLResponse | None]:
    actor = page_actor(request, session)
    try:
        actor.require_manager()
    except LedgerbridgeError as exc:
        return actor, refused(request, session, actor, exc.detail, exc.status)
    return actor, None


@router.get(PAGE, response_class=HTMLResponse)
def xero_app_page(request: Request, session: SessionDep, xero: XeroDep) -> HTMLResponse:
    actor, refused = _manager(request, session)
    return refused or _page(request, session, actor, xero)


@router.post(PAGE, dependencies=CSRF)
async def save_xero_app(request: Request, session: SessionDep, xero: XeroDep) -> Response:
    actor, refused = _manager(request, session)
    if refused is not None:
        return refused
    form = await request.form()
    values: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in LABELS} | {
        "granular_scopes": form.get("granular_scopes") == "on",
        "remove_webhook_key": form.get("remove_webhook_key") == "on",
    }
    try:
        apps.save_app(
            session,
            xero.vault,
            actor,
            client_id=values["client_id"],
            client_secret=values["client_secret"],
            granular_scopes=values["granular_scopes"],
            webhook_key=values["webhook_key"],
            remove_webhook_key=values["remove_webhook_key"],
        )
    except ValidationFailed as exc:  # nothing was written
        return _page(request, session, actor, xero, values, _field_errors(exc))
    return redirect(
        request,
        PAGE,
        "Your Xero app is saved. Connect (or reconnect) organisations on the Integrations page to use it.",
        "success",
    )


@router.post(PAGE + "/remove", dependencies=CSRF)
def remove_xero_app(request: Request, session: SessionDep) -> Response:
    """Forget the workspace's own app: Connect uses the built-in app from now on."""
    actor, refused = _manager(request, session)
    if refused is not None:
        return refused
    try:
        removed = apps.remove_app(session, actor)
    except NotFound:
        return redirect(request, PAGE, "No own Xero app was stored; the built-in app is in use.", "info")
    reconnect = removed.connected_through
    message = "Your Xero app and its secrets are removed; Connect now uses the built-in app." + (
        f" Reconnect the {reconnect} organisation{'s' if reconnect != 1 else ''} connected through it"
        " on the Integrations page."
        if reconnect
        else ""
    )
    return redirect(request, PAGE, message, "success")


__all__ = ["router"]
