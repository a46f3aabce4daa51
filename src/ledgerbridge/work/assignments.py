"""Who may track time on a task: every member, except those unassigned from it.

Tasks are open to the whole team by default (a contact's task under the "Xero" project is
meant for everyone); a manager can unassign a member from one task and assign them back.
An unassigned member's existing time entries stay; new ones (or moving one onto the task)
are refused.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ledgerbridge.db import new_id
from ledgerbridge.jobs.queue import insert_ignoring_conflicts
from ledgerbridge.work.models import Member, Task, TaskUnassignment
from ledgerbridge.work.repository import get_scoped


def unassign(session: Session, workspace_id: str, task_id: str, member_id: str) -> None:
    """Take the member off the task (again is a no-op)."""
    task = get_scoped(session, Task, workspace_id, task_id)
    member = get_scoped(session, Member, workspace_id, member_id)
    session.execute(
        insert_ignoring_conflicts(session, TaskUnassignment).values(
            id=new_id(),
            workspace_id=workspace_id,
            task_id=task.id,
            member_id=member.id,
        )
    )


def assign(session: Session, workspace_id: str, task_id: str, member_id: str) -> None:
    """Let the member track time on the task again (a member never unassigned: no-op)."""
    task = get_scoped(session, Task, workspace_id, task_id)
    member = get_scoped(session, Member, workspace_id, member_id)
    session.execute(
        delete(TaskUnassignment).where(
            TaskUnassignment.task_id == task.id, TaskUnassignment.member_id == member.id
        )
    )


def unassigned_members(session: Session, workspace_id: str, task_id: str) -> list[Member]:
    task = get_scoped(session, Task, workspace_id, task_id)
    return list(
        session.scalars(
            select(Member)
            .join(TaskUnassignment, TaskUnassignment.member_id == Member.id)
            .where(TaskUnassignment.task_id == task.id)
            .order_by(Member.name)
        )
    )


def may_track(session: Session, task_id: str, member_id: str) -> bool:
    return (
        session.scalar(
            select(TaskUnassignment.id).where(
                TaskUnassignment.task_id == task_id, TaskUnassignment.member_id == member_id
            )
        )
        is None
    )
