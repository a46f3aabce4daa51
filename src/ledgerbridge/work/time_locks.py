"""When a time entry may no longer change, and who may change it: one set of rules for the
REST API (``web.api.time_entries``) and the time page (``web.pages.time``).

An entry is locked (refused with 409; the reason in the message and, for API clients, in
the problem's ``lock`` member) while something outside it holds its hours as they are:

- a sales invoice line (``invoice_line_id``) or a contractor's bill line (``bill_line_id``);
- a payroll timesheet sent, or being sent, to Xero for the entry's member over a period
  covering the entry's date (``TimesheetExport`` SENT or SENDING);
- Xero Projects: a link to a Xero Projects time entry, or an outbox row sending it now.

And by role (refused with 403): a plain member changes only the entries of the member their
user is linked to (``Member.user_id``), never an approved one, and never approves.

``lock_reasons`` answers for many entries with one query per kind of holder, so a list of
any length costs the same few queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.errors import Conflict, PermissionDenied
from ledgerbridge.payroll.models import ExportStatus, TimesheetExport
from ledgerbridge.sync.models import OutboxEntry, OutboxStatus, RecordType, XeroLink
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Invoice, InvoiceLine, Member, TimeEntry
from ledgerbridge.work.repository import scoped

APPROVED_REASON = "Approved; ask an owner or admin to change it"


def lock_reasons(session: Session, entries: Sequence[TimeEntry]) -> dict[str, str]:
    """Why each entry may no longer change, by entry id (entries not listed may change).

    One query per kind of holder, whatever the number of entries."""
    reasons: dict[str, str] = {}
    if not entries:
        return reasons
    numbers = _document_numbers(session, entries)
    sent_to_projects = _sent_to_projects(session, [e.id for e in entries])
    payroll = _payroll_exports(session, entries)
    for entry in entries:
        reason = _reason(entry, numbers, sent_to_projects, payroll)
        if reason is not None:
            reasons[entry.id] = reason
    return reasons


def _document_numbers(session: Session, entries: Sequence[TimeEntry]) -> dict[str, str | None]:
    """Invoice or bill number by line id, for the lines these entries are on."""
    line_ids = {e.invoice_line_id for e in entries if e.invoice_line_id} | {
        e.bill_line_id for e in entries if e.bill_line_id
    }
    if not line_ids:
        return {}
    rows = session.execute(
        select(InvoiceLine.id, Invoice.number)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.id.in_(line_ids))
    )
    return dict(rows.tuples().all())


def _sent_to_projects(session: Session, ids: Sequence[str]) -> set[str]:
    """Entries Xero Projects holds: linked to a Xero time entry, or being sent now."""
    linked = session.scalars(
        select(XeroLink.local_id).where(
            XeroLink.record_type == RecordType.XERO_PROJECT_TIME, XeroLink.local_id.in_(ids)
        )
    )
    sending = session.scalars(
        select(OutboxEntry.local_id).where(
            OutboxEntry.record_type == RecordType.XERO_PROJECT_TIME,
            OutboxEntry.status == OutboxStatus.SENDING,
            OutboxEntry.local_id.in_(ids),
        )
    )
    return set(linked) | set(sending)


def _payroll_exports(session: Session, entries: Sequence[TimeEntry]) -> list[TimesheetExport]:
    """Timesheets sent or being sent to Xero for these members over any of these dates."""
    first, last = min(e.date for e in entries), max(e.date for e in entries)
    return list(
        session.scalars(
            select(TimesheetExport).where(
                TimesheetExport.workspace_id == entries[0].workspace_id,
                TimesheetExport.member_id.in_({e.member_id for e in entries}),
                TimesheetExport.status.in_([ExportStatus.SENT, ExportStatus.SENDING]),
                TimesheetExport.period_start <= last,
                TimesheetExport.period_end >= first,
            )
        )
    )


def _reason(
    entry: TimeEntry,
    numbers: Mapping[str, str | None],
    sent_to_projects: set[str],
    payroll: Iterable[TimesheetExport],
) -> str | None:
    if entry.invoice_line_id is not None:
        number = numbers.get(entry.invoice_line_id)
        return f"On invoice {number}" if number else "On an invoice"
    if entry.bill_line_id is not None:
        number = numbers.get(entry.bill_line_id)
        return f"On bill {number}" if number else "On a contractor's bill"
    if entry.id in sent_to_projects:
        return "Sent to Xero Projects"
    for export in payroll:
        if export.member_id == entry.member_id and export.period_start <= entry.date <= export.period_end:
            return (
                f"Sent to Xero Payroll in the timesheet for {export.period_start:%d %b} to "
                f"{export.period_end:%d %b %Y}"
            )
    return None


def own_member(session: Session, actor: Actor) -> Member | None:
    """The member this user tracks time as (linked by ``Member.user_id``)."""
    return session.scalar(
        scoped(Member, actor.workspace_id).where(Member.user_id == actor.user_id).order_by(Member.created_at)
    )


def refuse_other_members(session: Session, actor: Actor, member_id: str | None) -> None:
    """A plain member works only with the time of the member their user is linked to."""
    if actor.role.manages:
        return
    own = own_member(session, actor)
    if own is None or member_id != own.id:
        raise PermissionDenied("Only workspace owners and admins may change another member's time.")


def refuse_change(session: Session, actor: Actor, entry: TimeEntry) -> None:
    """Refuse changing or deleting a stored entry: another member's (403, for a plain
    member), one a document or Xero holds (409, with the reason), or an approved one
    (403, for a plain member)."""
    refuse_other_members(session, actor, entry.member_id)
    reason = lock_reasons(session, [entry]).get(entry.id)
    if reason is not None:
        locked = Conflict(
            f"This time entry is locked: {reason[0].lower()}{reason[1:]}. It can no longer be changed."
        )
        locked.extra["lock"] = reason  # the reason alone, for API clients (problem JSON "lock")
        raise locked
    if entry.approved and not actor.role.manages:
        raise PermissionDenied("This time entry is approved; ask an owner or admin to change it.")


def refuse_approval(actor: Actor, entry: TimeEntry, values: Mapping[str, Any]) -> None:
    """Only owners and admins approve entries or take an approval back."""
    if actor.role.manages or "approved" not in values:
        return
    if bool(values["approved"]) != bool(entry.approved):
        raise PermissionDenied("Only workspace owners and admins may approve time entries.")


__all__ = [
    "APPROVED_REASON",
    "lock_reasons",
    "own_member",
    "refuse_approval",
    "refuse_change",
    "refuse_other_members",
]
