"""Server-rendered pages (FastAPI + Jinja2), one module per area:

- ``auth``: sign in and sign out
- ``integrations``: the Xero tile, Connect and its OAuth callback, organisations,
  Force sync, default organisation, Disconnect (with a confirmation step)
- ``sync_log``: runs, what is waiting, Force sync per organisation, failed records with
  Retry, CSV export
- ``time``: a member's week (grid and entries), add/edit/delete, the timer, Approve week
- ``conflicts``, ``users``, ``workspaces``: the conflicts list; users and roles; the workspace switch
- ``dry_run``, ``matching``: a sync preview that writes nothing; first-connect contact matching
- ``org_settings``, ``imports``, ``xero_app``: an organisation's settings and imports
  (with live progress), and the workspace's own Xero app
- ``members``, ``clients``, ``projects``: the work side's people and structure (lists,
  add, edit, archive; tasks and who may track time on them)
- ``xero_members``: an organisation's Members (import to Xero) and Xero contacts (invite) tabs
- ``timesheets``: the timesheet export wizard (organisation and period, mappings, preview,
  send as draft or approved, the result and what was sent)
- ``xero_projects``: an organisation's Project time tab (link or create projects and tasks,
  members to project users, push approved time)
- ``invoices``: invoices and bills (list, build from hours with a preview, edit lines,
  Approve, Send via Xero, and what Xero made of each)
- ``_common``, ``_security``: what every page shares (rendering in the layout, the signed-in
  actor, safe redirects with a flash) and the CSRF token

``install(app)`` mounts the static files, includes the pages and answers the pages' own
exceptions: a page that needs a sign-in redirects to it, a form without a valid CSRF token
gets 403. Every POST depends on ``require_csrf``; ``_security`` explains the token.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ledgerbridge.web.pages import (
    auth,
    conflicts,
    dry_run,
    integrations,
    matching,
    sync_log,
    timesheets,
    users,
    workspaces,
    xero_members,
    xero_projects,
)
from ledgerbridge.web.pages import clients as clients_pages
from ledgerbridge.web.pages import imports as imports_pages
from ledgerbridge.web.pages import invoices as invoices_pages
from ledgerbridge.web.pages import members as members_pages
from ledgerbridge.web.pages import org_settings as org_settings_pages
from ledgerbridge.web.pages import projects as projects_pages
from ledgerbridge.web.pages import time as time_pages
from ledgerbridge.web.pages import xero_app as xero_app_pages
from ledgerbridge.web.pages._common import STATIC_DIR, SignInRequired, refusal_page, sign_in_url
from ledgerbridge.web.pages._security import CsrfRefused

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(integrations.router)
router.include_router(conflicts.router)  # before sync_log: a more specific path
router.include_router(sync_log.router)
router.include_router(time_pages.router)
router.include_router(users.router)
router.include_router(workspaces.router)
router.include_router(dry_run.router)
router.include_router(matching.router)
router.include_router(org_settings_pages.router)
router.include_router(imports_pages.router)
router.include_router(xero_app_pages.router)
router.include_router(members_pages.router)
router.include_router(clients_pages.router)
router.include_router(projects_pages.router)
router.include_router(xero_members.router)
router.include_router(timesheets.router)
router.include_router(xero_projects.router)
router.include_router(invoices_pages.router)


async def _sign_in_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(sign_in_url(exc.next_path), status_code=303)


async def _csrf_refused(request: Request, _exc: Exception) -> HTMLResponse:
    return refusal_page(
        request,
        "This form expired",
        "The form was sent without a valid security token (it may be from an old tab, "
        "or from another site). Go back, reload the page and try again.",
        403,
    )


def install(app: FastAPI) -> None:
    """Add the pages to the service: static files, routes, and their error answers."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(CsrfRefused, _csrf_refused)


__all__ = ["install", "router"]
