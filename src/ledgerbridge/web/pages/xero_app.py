"""The "own Xero app" page: a workspace brings its own Xero app (Client ID and Secret, and
optionally a webhook key), sees the Redirect URL and webhook URL to register with it, and
can remove it to fall back to the built-in app.

Secrets are write-only here: they are sealed with the service's vault exactly as ``PUT
/xero/app`` seals them, and the page only ever says that one is stored and since when.
Leaving a secret box empty keeps the stored one, so changing the Client ID or adding a
webhook key does not mean typing the secret again. The URLs shown are the API's own
(``_app_out``), so the page and ``GET /xero/app`` cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.web.api.xero import AppIn, XeroDep, _app_out
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, render
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.web.pages.org_settings import refusal
from ledgerbridge.web.webhooks import OWN_APP_PATH
from ledgerbridge.work.auth import Actor
from ledgerbridge.xero.models import ConnectionStatus, XeroApp, XeroConnection, XeroGrant
from ledgerbridge.xero.services import XeroServices

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PAGE = "/settings/xero-app"
LABELS = {"client_id": "Client ID", "client_secret": "Client Secret", "webhook_key": "Webhook key"}


def _own_app(session: Session, workspace_id: str) -> XeroApp | None:
    return session.scalar(select(XeroApp).where(XeroApp.workspace_id == workspace_id))


def _max_length(name: str) -> int:
    """The API schema's limit for a field, so both say the same."""
    for rule in AppIn.model_fields[name].metadata:
        limit = getattr(rule, "max_length", None)
        if limit is not None:
            return int(limit)
    raise LookupError(name)


def _connected_through(session: Session, workspace_id: str, client_id: str) -> int:
    """Organisations whose sign-in was given to this app: removing it means reconnecting them."""
    count = session.scalar(
        select(func.count())
        .select_from(XeroConnection)
        .join(XeroGrant, XeroGrant.id == XeroConnection.grant_id)
        .where(
            XeroConnection.workspace_id == workspace_id,
            XeroConnection.status != ConnectionStatus.DISCONNECTED,
            XeroGrant.client_id == client_id,
        )
    )
    return int(count or 0)


def _errors(values: Mapping[str, Any], own: XeroApp | None) -> dict[str, str]:
    errors = {}
    if not values["client_id"]:
        errors["client_id"] = "Client ID: paste the Client ID from your app's page in Xero's portal."
    if not values["client_secret"] and own is None:
        errors["client_secret"] = (
            "Client Secret: paste a secret from your app's page in Xero (Generate a secret, then copy it)."  # noqa: S105
        )
    elif own is not None and not values["client_secret"] and values["client_id"] not in ("", own.client_id):
        errors["client_secret"] = (
            "Client Secret: a different Client ID is a different app; paste that app's secret too."  # noqa: S105
        )
    for name in LABELS:
        limit = _max_length(name)
        if len(values[name]) > limit:
            errors[name] = (
                f"{LABELS[name]}: this is longer than {limit} characters; check that you copied only it."
            )
    return errors


def _save(xero: XeroServices, session: Session, workspace_id: str, values: Mapping[str, Any]) -> XeroApp:
    """Store the app; an empty secret box keeps the stored secret (sealed like ``PUT /xero/app``)."""
    own = _own_app(session, workspace_id)
    if own is None:
        own = XeroApp(workspace_id=workspace_id)
        session.add(own)
    own.client_id = values["client_id"]
    if values["client_secret"]:
        own.client_secret_sealed = xero.vault.seal(values["client_secret"])
    own.granular_scopes = values["granular_scopes"]
    if values["remove_webhook_key"]:
        own.webhook_key_sealed = None
    elif values["webhook_key"]:
        own.webhook_key_sealed = xero.vault.seal(values["webhook_key"])
    session.flush()
    return own


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    xero: XeroServices,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    own = _own_app(session, actor.workspace_id)
    app = _app_out(xero, actor.workspace_id, own)
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
            "webhook_url": xero.settings.base_url.rstrip("/")
            + OWN_APP_PATH.format(workspace_id=actor.workspace_id),
            "own": own,
            "values": shown,
            "errors": errors or {},
            "labels": LABELS,
            "sandbox": bool(xero.settings.xero_sandbox_url),
            "connected_through": _connected_through(session, actor.workspace_id, own.client_id) if own else 0,
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
        return actor, refusal(request, session, actor, exc)
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
    errors = _errors(values, _own_app(session, actor.workspace_id))
    if errors:
        return _page(request, session, actor, xero, values, errors)
    _save(xero, session, actor.workspace_id, values)
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
    own = _own_app(session, actor.workspace_id)
    if own is None:
        return redirect(request, PAGE, "No own Xero app was stored; the built-in app is in use.", "info")
    session.delete(own)
    session.flush()
    return redirect(
        request,
        PAGE,
        "Your Xero app and its secrets are removed; Connect now uses the built-in app.",
        "success",
    )


__all__ = ["router"]
