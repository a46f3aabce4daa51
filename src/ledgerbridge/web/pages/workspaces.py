"""Workspaces: someone who belongs to several switches which one this browser works in.

The header's switcher (in ``base.html``'s account area) and the /workspaces page both post
to ``/workspaces/switch``; ``work.users.switch_web_session`` moves this browser's sign-in
(``WebSession.workspace_id``) and refuses a workspace the user does not belong to. Every
page then reads the actor's workspace, so it shows that workspace's data only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import object_session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.web.deps import SESSION_COOKIE, SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, refusal_page, render, safe_next, templates
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.work import users as user_service
from ledgerbridge.work.models import Role, User, Workspace

router = APIRouter(include_in_schema=False)
PAGE = "/workspaces"


def workspaces_of(user: User | None) -> Sequence[tuple[Workspace, Role]]:
    """For the layout's switcher: the signed-in user's workspaces (one query, during the
    render, in the request's own session)."""
    session = object_session(user) if user is not None else None
    if user is None or session is None:
        return []
    return user_service.user_workspaces(session, user.id)


templates.env.globals["workspaces_of"] = workspaces_of


@router.get(PAGE, response_class=HTMLResponse)
def workspaces_page(request: Request, session: SessionDep) -> HTMLResponse:
    actor = page_actor(request, session)
    return render(
        request,
        "admin/workspaces.html",
        {"workspaces": user_service.user_workspaces(session, actor.user_id)},
        session=session,
        actor=actor,
    )


@router.post(PAGE + "/switch", dependencies=[Depends(require_csrf)])
def switch(
    request: Request,
    session: SessionDep,
    workspace_id: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Work in another of the user's workspaces; any other is refused and nothing changes."""
    actor = page_actor(request, session)
    target = safe_next(next, PAGE)
    if workspace_id == actor.workspace_id:
        return redirect(request, target)
    try:
        user_service.switch_web_session(session, request.cookies.get(SESSION_COOKIE, ""), workspace_id)
    except LedgerbridgeError:
        session.rollback()
        return refusal_page(
            request,
            "Not one of your workspaces",
            "You are not a user of that workspace, so you cannot switch to it. "
            "Ask one of its owners to add you.",
            403,
            session=session,
            actor=actor,
        )
    workspace = session.get(Workspace, workspace_id)
    name = workspace.name if workspace is not None else "the other workspace"
    # A record page of the old workspace would not be found in the new one: land on its list.
    landing = "/" + target.strip("/").split("/", 1)[0].split("?", 1)[0] if target != "/" else PAGE
    return redirect(request, landing, f"You are now working in {name}.", "success")


__all__ = ["router", "workspaces_of"]
