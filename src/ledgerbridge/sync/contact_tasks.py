"""Contacts as tasks: with an organisation's ``contacts_as_tasks`` setting on, each of its
Xero contacts that is a customer is a task under that organisation's "Xero" project, so
every member can track time against the client (members can be unassigned per task).

- One project per organisation (``Project.xero_connection_id``), named "Xero", or
  "Xero (<organisation>)" when the workspace already has a project called "Xero" (a
  second organisation, or a project of the user's own). Renaming it later is fine: it is
  found by its organisation, not its name.
- One task per linked contact (``Task.client_id``, unique per project), named as the
  client. Supplier-only contacts get none: they bill the business, nobody tracks time for
  them; a contact with no role yet counts as a customer, as it does for clients.
- Name and archived state follow the client (so Xero's contact); the later change wins, so
  a task renamed or archived here keeps that until its contact changes again. An archived
  contact stays a (archived) client and its task is archived; un-archived, both come back.
- ``reconcile`` runs after every contacts pull (scheduled, Force sync, webhook fetch; see
  ``sync.service``) and when the setting is turned on (the tasks appear at once, from the
  contacts already synced). Turning the setting off leaves project and tasks as they are
  and stops updating them. Running it again changes nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledgerbridge.logging import get_logger
from ledgerbridge.sync.models import RecordType, SyncSettings, XeroLink
from ledgerbridge.work.models import Client, Project, Task
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices

PROJECT_NAME = "Xero"
CLASH_SUFFIX = " (Xero contact)"
"""Added to a task's name when a task of the user's own in the project already has it."""

log = get_logger(__name__)


async def after_contacts(services: XeroServices, connection_id: str, dry_run: bool) -> None:
    """The hook ``sync.service`` calls once contacts are pulled; a dry run changes nothing.
    A clash with a concurrent reconcile (the setting turned on mid-sync) is left to the
    next run, which finds everything the other one made."""
    if dry_run:
        return
    try:
        with services.database.session() as session:
            connection = session.get(XeroConnection, connection_id)
            if connection is not None:
                reconcile(session, connection)
    except IntegrityError:
        log.warning("contact_tasks.reconcile.clashed", connection_id=connection_id)


def enabled(session: Session, connection_id: str) -> bool:
    return bool(
        session.scalar(
            select(SyncSettings.contacts_as_tasks).where(SyncSettings.connection_id == connection_id)
        )
    )


def reconcile(session: Session, connection: XeroConnection) -> Project | None:
    """Bring the organisation's "Xero" project in step with its linked customer contacts;
    None (and nothing touched) when the setting is off."""
    if not enabled(session, connection.id):
        return None
    project = _project(session, connection)
    linked = select(XeroLink.local_id).where(
        XeroLink.connection_id == connection.id, XeroLink.record_type == RecordType.CONTACT
    )
    clients = session.scalars(
        select(Client)
        .where(
            Client.workspace_id == connection.workspace_id,
            Client.id.in_(linked),
            Client.is_customer.is_(True),
        )
        .order_by(Client.name)
    ).all()
    tasks = session.scalars(select(Task).where(Task.project_id == project.id)).all()
    by_client = {t.client_id: t for t in tasks if t.client_id is not None}
    renames: list[tuple[Task, Client]] = []
    for client in clients:
        task = by_client.get(client.id)
        if task is not None and client.updated_at > task.updated_at:
            task.archived = client.archived
            if task.name != client.name:
                renames.append((task, client))
    moving = {t.id for t, _ in renames}
    taken = {t.name for t in tasks if t.id not in moving}
    if renames:  # through unique placeholders, so two tasks may swap names in one go
        for task, _ in renames:
            task.name = task.id
        session.flush()
        for task, client in renames:
            task.name = _free_name(client, taken)
    for client in clients:
        if client.id not in by_client:
            session.add(
                Task(
                    workspace_id=connection.workspace_id,
                    project_id=project.id,
                    client_id=client.id,
                    name=_free_name(client, taken),
                    archived=client.archived,
                )
            )
    session.flush()
    return project


def _project(session: Session, connection: XeroConnection) -> Project:
    project = session.scalar(select(Project).where(Project.xero_connection_id == connection.id))
    if project is not None:
        return project
    names = set(session.scalars(select(Project.name).where(Project.workspace_id == connection.workspace_id)))
    name = next(
        n
        for n in (
            PROJECT_NAME,
            f"{PROJECT_NAME} ({connection.tenant_name})",
            f"{PROJECT_NAME} {connection.id}",
        )
        if n not in names
    )
    project = Project(workspace_id=connection.workspace_id, name=name[:255], xero_connection_id=connection.id)
    session.add(project)
    session.flush()
    return project


def _free_name(client: Client, taken: set[str]) -> str:
    """The client's name, unless a task of the project has it already (one of the user's
    own): then with a suffix, and as a last resort with the client's id."""
    name = client.name
    for candidate in (name, name[: 255 - len(CLASH_SUFFIX)] + CLASH_SUFFIX, f"{name[:218]} {client.id}"):
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise AssertionError("a client's id is unique")
