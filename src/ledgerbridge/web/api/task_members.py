"""Members on a task: every member may track time on a task unless unassigned from it.
Owners and admins unassign and reassign; anyone in the workspace may see who is off."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ledgerbridge.web.api.crud import Output
from ledgerbridge.web.deps import ActorDep, ManagerDep, SessionDep
from ledgerbridge.work import assignments
from ledgerbridge.work.models import Member

router = APIRouter(prefix="/tasks/{task_id}", tags=["Projects"])


class UnassignedMember(Output):
    id: str
    name: str


@router.get("/unassigned-members", response_model=list[UnassignedMember])
def list_unassigned(task_id: str, session: SessionDep, actor: ActorDep) -> list[Member]:
    """The members who may not track time on this task."""
    return assignments.unassigned_members(session, actor.workspace_id, task_id)


@router.delete("/members/{member_id}", status_code=204)
def unassign_member(task_id: str, member_id: str, session: SessionDep, actor: ManagerDep) -> Response:
    """Unassign a member: their new time entries on this task are refused (422)."""
    assignments.unassign(session, actor.workspace_id, task_id, member_id)
    return Response(status_code=204)


@router.put("/members/{member_id}", status_code=204)
def assign_member(task_id: str, member_id: str, session: SessionDep, actor: ManagerDep) -> Response:
    """Assign a member back (every member is assigned until unassigned)."""
    assignments.assign(session, actor.workspace_id, task_id, member_id)
    return Response(status_code=204)
