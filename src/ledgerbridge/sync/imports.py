"""Imports: one click copies an organisation's reference data from Xero, and can be repeated.

Each import is described once (``IMPORTS``): where it lives in Xero, its envelope key, its
id, code, name and status fields, whether Xero pages it, and the scopes it needs. A run
(``SyncRun`` with trigger "import") walks the chosen types in an order where what a record
refers to comes first (tax rates before accounts, calendars before employees), and for each:

- reads it with the fewest calls Xero allows (one call, or one per page where Xero pages),
- upserts ``XeroReference`` rows by Xero id, counting created, updated or skipped by
  comparing a hash of the record, so a repeat with no change in Xero is all "skipped",
- marks rows Xero no longer returns as ``DELETED`` (kept, since documents may name them),
- commits progress after every page, so ``GET /xero/runs/{id}`` shows it moving,
- turns a failure into a ``SyncIssue`` and carries on with the next type.

Tax rates also refresh the work side's ``TaxRate`` (invoices then price with Xero's real
rates) and items the work side's ``Item`` with a ``XeroLink``. The work side has one set of
each per workspace, so only the workspace's default organisation changes them; another
organisation adds the tax types only it has. An organisation's first sync imports all of
this first (``ensure_reference_data``), so its documents find their tax types.

Payroll types are skipped, with an issue saying why, when the organisation is not an
Australian one or the connection lacks the scope: asking anyway would earn a 403, which
the client rightly treats as "reconnect needed" for the whole connection.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ledgerbridge.errors import NotFound, XeroAuthError, XeroError, XeroForbidden, invalid
from ledgerbridge.jobs import queue
from ledgerbridge.jobs.registry import JobContext, current_job_id, job
from ledgerbridge.logging import get_logger
from ledgerbridge.sync import links
from ledgerbridge.sync.links import content_hash
from ledgerbridge.sync.mapping import items as item_mapping
from ledgerbridge.sync.mapping import tax_rates as tax_rate_mapping
from ledgerbridge.sync.mapping.values import text
from ledgerbridge.sync.models import RecordType, RunStatus, SyncRun, XeroReference
from ledgerbridge.sync.runs import (
    begin_run,
    close_run,
    count,
    finish_run,
    record_issue,
    start_run,
    stopped_by,
)
from ledgerbridge.work.models import Item, TaxRate
from ledgerbridge.xero.client import (
    ACCOUNTING,
    MAX_PAGE_SIZE,
    PAYROLL_AU,
    Organisation,
    XeroClient,
    counting_calls,
)
from ledgerbridge.xero.connections import get_connection
from ledgerbridge.xero.dates import parse_datetime
from ledgerbridge.xero.models import ConnectionStatus, XeroGrant
from ledgerbridge.xero.services import XeroServices

log = get_logger(__name__)

TRIGGER = "import"
IMPORT_JOB = "sync.import"
DELETED = "DELETED"
PAYROLL_AU_PAGE_SIZE = 100
"""Payroll AU 1.0 lists hold up to 100 records a page (and take no ``pageSize``)."""
IN_CHUNK = 500
"""Ids per ``IN (...)`` query, well inside every backend's parameter limit."""
SETTINGS_SCOPES = ("accounting.settings",)

T = TypeVar("T")


@dataclass(frozen=True)
class ImportSpec:
    """Everything that differs between two imports; the engine below is shared."""

    record_type: RecordType
    family: str
    resource: str
    key: str
    id_field: str
    name_fields: tuple[str, ...]
    code_field: str | None = None
    status_field: str | None = None
    paged: bool = False
    page_size: int = MAX_PAGE_SIZE
    params: Mapping[str, str] = field(default_factory=dict)
    scopes: tuple[str, ...] = SETTINGS_SCOPES
    """Any one of these (or its ``.read`` form) opens the endpoint."""
    payroll_au: bool = False
    join_name: bool = False
    """Join ``name_fields`` (first and last name) instead of taking the first one present."""
    nested_key: str | None = None
    """For envelopes whose key holds an object of lists (``PayItems`` -> ``EarningsRates``)."""

    @property
    def path(self) -> str:
        return f"{self.family}/{self.resource}"


IMPORTS: dict[RecordType, ImportSpec] = {
    spec.record_type: spec
    for spec in (
        ImportSpec(
            RecordType.ORGANISATION,
            ACCOUNTING,
            "Organisation",
            "Organisations",
            "OrganisationID",
            ("Name",),
            code_field="ShortCode",
            status_field="OrganisationStatus",
        ),
        ImportSpec(
            RecordType.CURRENCY,
            ACCOUNTING,
            "Currencies",
            "Currencies",
            "Code",
            ("Description", "Code"),
            code_field="Code",
        ),
        ImportSpec(
            RecordType.TAX_RATE,
            ACCOUNTING,
            "TaxRates",
            "TaxRates",
            "TaxType",
            ("Name",),
            code_field="TaxType",
            status_field="Status",
        ),
        ImportSpec(
            RecordType.ACCOUNT,
            ACCOUNTING,
            "Accounts",
            "Accounts",
            "AccountID",
            ("Name",),
            code_field="Code",
            status_field="Status",
        ),
        ImportSpec(
            RecordType.BRANDING_THEME,
            ACCOUNTING,
            "BrandingThemes",
            "BrandingThemes",
            "BrandingThemeID",
            ("Name",),
        ),
        ImportSpec(
            RecordType.TRACKING_CATEGORY,
            ACCOUNTING,
            "TrackingCategories",
            "TrackingCategories",
            "TrackingCategoryID",
            ("Name",),
            status_field="Status",
            params={"includeArchived": "true"},
        ),
        ImportSpec(
            RecordType.ITEM,
            ACCOUNTING,
            "Items",
            "Items",
            "ItemID",
            ("Name", "Code"),
            code_field="Code",
            params={"unitdp": "4"},
            scopes=("accounting.settings", "accounting.invoices"),
        ),
        ImportSpec(
            RecordType.PAYROLL_CALENDAR,
            PAYROLL_AU,
            "PayrollCalendars",
            "PayrollCalendars",
            "PayrollCalendarID",
            ("Name",),
            code_field="CalendarType",
            paged=True,
            page_size=PAYROLL_AU_PAGE_SIZE,
            scopes=("payroll.settings",),
            payroll_au=True,
        ),
        ImportSpec(
            RecordType.EARNINGS_RATE,
            PAYROLL_AU,
            "PayItems",
            "PayItems",
            "EarningsRateID",
            ("Name",),
            code_field="EarningsType",
            scopes=("payroll.settings",),
            payroll_au=True,
            nested_key="EarningsRates",
        ),
        ImportSpec(
            RecordType.EMPLOYEE,
            PAYROLL_AU,
            "Employees",
            "Employees",
            "EmployeeID",
            ("FirstName", "LastName"),
            join_name=True,
            status_field="Status",
            paged=True,
            page_size=PAYROLL_AU_PAGE_SIZE,
            scopes=("payroll.employees",),
            payroll_au=True,
        ),
    )
}
"""Every import, in the order a run performs them."""


def resolve_types(record_types: Iterable[str] | None) -> list[RecordType]:
    """The requested types in run order (all when ``None``); an unknown one is a 422."""
    if record_types is None:
        return list(IMPORTS)
    allowed = {str(t): t for t in IMPORTS}
    wanted = set()
    for value in record_types:
        if value not in allowed:
            raise invalid(
                "record_types", f"'{value}' cannot be imported here; choose from {', '.join(allowed)}."
            )
        wanted.add(allowed[value])
    return [t for t in IMPORTS if t in wanted]


# -- the run --------------------------------------------------------------------------------


@dataclass
class _Context:
    """What one run needs while it works, loaded once at its start."""

    services: XeroServices
    run_id: str
    workspace_id: str
    connection_id: str
    org: Organisation
    scopes: frozenset[str]
    write_local: bool
    country: str | None = None
    steps: int = 0


def create_run(
    session: Session,
    workspace_id: str,
    connection_id: str,
    record_types: Iterable[str] | None = None,
    trigger: str = TRIGGER,
) -> SyncRun:
    """A queued import run for a connected organisation of this workspace.

    Separate from ``execute_run`` so a job can take the run's id and do the work later.
    """
    connection = get_connection(session, workspace_id, connection_id)
    types = resolve_types(record_types)
    run = start_run(session, workspace_id, connection.id, trigger, types)
    run.status, run.started_at = RunStatus.QUEUED, None
    run.progress = {
        "record_type": None,
        "done": 0,
        "total": None,
        "step": 0,
        "steps": len(types),
        "types": {},
    }
    session.flush()
    return run


async def execute_run(services: XeroServices, workspace_id: str, run_id: str) -> SyncRun:
    """Do a queued (or interrupted) import run to the end.

    Safe to run twice, as jobs must be: a finished run is returned as it is, and an
    interrupted one starts its counts again (what it had written then counts as skipped).
    """
    context, error = _begin(services, workspace_id, run_id)
    if context is None and error is None:
        return _with_run(services, run_id, lambda _s, run: run)
    with counting_calls() as calls:
        if context is not None:
            try:
                types = [IMPORTS[RecordType(t)] for t in _run_types(services, run_id)]
                error = await _import_all(context, types)
            except BaseException as exc:  # closed as failed; its job's retry starts it again
                close_run(services.database, run_id, stopped_by(exc), calls.total)
                raise
    return _with_run(services, run_id, lambda _s, run: finish_run(run, calls=calls.total, error=error))


def enqueue_import(
    session: Session,
    services: XeroServices,
    workspace_id: str,
    connection_id: str,
    record_types: Iterable[str] | None = None,
) -> SyncRun:
    """A queued run and its "sync.import" job, in the caller's transaction (both or neither).

    One import per organisation at a time (the lock key): two at once would race on the
    same reference rows.
    """
    run = create_run(session, workspace_id, connection_id, record_types)
    run.job_id = queue.enqueue(
        session,
        IMPORT_JOB,
        {"run_id": run.id, "workspace_id": workspace_id},
        workspace_id=workspace_id,
        lock_key=f"{IMPORT_JOB}:{run.connection_id}",
        run_at=services.clock.utcnow(),
    ).id
    return run


@job(IMPORT_JOB)
async def import_job(context: JobContext, run_id: str, workspace_id: str) -> None:
    """The job behind ``POST .../imports``: ids in, the run reloaded and done."""
    await execute_run(context.xero, workspace_id, run_id)


async def run_import(
    services: XeroServices,
    workspace_id: str,
    connection_id: str,
    record_types: Iterable[str] | None = None,
    trigger: str = TRIGGER,
) -> SyncRun:
    """Import the given reference types (all when ``None``) now, and return the finished run."""
    with services.database.session() as session:
        run_id = create_run(session, workspace_id, connection_id, record_types, trigger).id
    return await execute_run(services, workspace_id, run_id)


async def ensure_reference_data(
    services: XeroServices, workspace_id: str, connection_id: str
) -> SyncRun | None:
    """Import the organisation's reference data now if it never was, and return that run.

    Every sync calls this before its first pull: a newly connected organisation's first sync
    (the auto-sync planned at once on connecting, a Force sync, a webhook fetch, a send)
    would otherwise apply its documents before its tax rates exist here and fail every one
    ("unknown tax type"). Importing inside the sync, rather than queueing an import and
    hoping it runs first, holds whichever job runs first. Its tax rates being here is the
    sign it was done; a connection not granted the settings scope cannot import them, so it
    is not asked again on every sync.
    """
    with services.database.session() as session:
        imported = session.scalar(
            select(XeroReference.id)
            .where(
                XeroReference.connection_id == connection_id,
                XeroReference.record_type == RecordType.TAX_RATE,
            )
            .limit(1)
        )
        connection = get_connection(session, workspace_id, connection_id)
        grant = session.get(XeroGrant, connection.grant_id) if connection.grant_id else None
        granted = frozenset(grant.scopes.split()) if grant is not None else frozenset()
    if imported is not None or not _has_scope(granted, IMPORTS[RecordType.TAX_RATE].scopes):
        return None
    # What a sync needs: the accounting reference data. Payroll AU's is the timesheet
    # wizard's business (and a non-AU organisation has none: no "skipped" noise in the log).
    accounting = [str(t) for t, spec in IMPORTS.items() if not spec.payroll_au]
    return await run_import(services, workspace_id, connection_id, accounting)


def _with_run(services: XeroServices, run_id: str, work: Callable[[Session, SyncRun], T]) -> T:
    """One short transaction on the run, so progress is visible as soon as it is made."""
    with services.database.session() as session:
        run = session.get(SyncRun, run_id)
        if run is None:
            raise NotFound(f"No sync run with id '{run_id}'.")
        return work(session, run)


def _run_types(services: XeroServices, run_id: str) -> list[str]:
    return _with_run(services, run_id, lambda _s, run: list(run.record_types))


def _begin(services: XeroServices, workspace_id: str, run_id: str) -> tuple[_Context | None, str | None]:
    """Mark the run running and load what it needs; an unusable connection ends it here."""
    with services.database.session() as session:
        run = session.get(SyncRun, run_id)
        if run is None or run.workspace_id != workspace_id or run.connection_id is None:
            raise NotFound(f"No sync run with id '{run_id}' in this workspace.")
        if run.finished_at is not None and not _retried_by_its_job(run):
            return None, None
        begin_run(run)
        run.counts = {}
        connection = get_connection(session, workspace_id, run.connection_id)
        grant = session.get(XeroGrant, connection.grant_id) if connection.grant_id else None
        if grant is None or connection.status is not ConnectionStatus.CONNECTED:
            return None, (
                f"{connection.tenant_name} is not connected ({connection.status}); reconnect it, "
                "then import again."
            )
        context = _Context(
            services=services,
            run_id=run.id,
            workspace_id=workspace_id,
            connection_id=connection.id,
            org=Organisation(grant.id, connection.tenant_id),
            scopes=frozenset(grant.scopes.split()),
            write_local=connection.is_default,
            country=_stored_country(session, connection.id),
            steps=len(run.record_types),
        )
        return context, None


def _retried_by_its_job(run: SyncRun) -> bool:
    """A run its own job closed as failed (an exception, or its worker stopped) is started
    again by that job's next attempt, as an interrupted import always was."""
    job_id = current_job_id.get()
    return run.status is RunStatus.FAILED and job_id is not None and run.job_id == job_id


def _stored_country(session: Session, connection_id: str) -> str | None:
    """The organisation's country from an earlier import, saving a call for payroll checks."""
    row = session.scalar(
        select(XeroReference).where(
            XeroReference.connection_id == connection_id,
            XeroReference.record_type == RecordType.ORGANISATION,
        )
    )
    return _country_of(row.data) if row is not None else None


def _country_of(organisation: Mapping[str, Any]) -> str | None:
    value = organisation.get("CountryCode") or organisation.get("Version")
    return str(value).upper() if value else None


async def _import_all(context: _Context, specs: Sequence[ImportSpec]) -> str | None:
    """Each type in turn; a failed type is an issue, a lost connection ends the run."""
    for step, spec in enumerate(specs, start=1):
        try:
            reason = await _skip_reason(context, spec)
            if reason is not None:
                _note_type(context, spec, step, "skipped", issue=reason)
                continue
            await _import_type(context, spec, step)
        except (XeroAuthError, XeroForbidden) as exc:
            _note_type(context, spec, step, "failed", issue=exc.detail)
            return f"Xero refused access to {context.org.tenant_id}: {exc.detail}"
        except XeroError as exc:
            log.warning("sync.import.failed", record_type=str(spec.record_type), error=exc.code)
            _note_type(context, spec, step, "failed", issue=exc.detail)
    return None


def _has_scope(granted: frozenset[str], accepted: Sequence[str]) -> bool:
    """Reads need a scope or its ``.read`` form, as Xero checks them."""
    return any(scope in granted or f"{scope}.read" in granted for scope in accepted)


async def _skip_reason(context: _Context, spec: ImportSpec) -> str | None:
    """Why this type cannot be imported for this organisation, or ``None`` when it can."""
    if not _has_scope(context.scopes, spec.scopes):
        return (
            f"Skipped {spec.record_type}: the connection was not granted {' or '.join(spec.scopes)}. "
            "Reconnect the organisation and allow that access."
        )
    if spec.payroll_au:
        country = await _country(context)
        if country != "AU":
            return (
                f"Skipped {spec.record_type}: Xero Payroll AU serves Australian organisations only, "
                f"and this one is {country or 'of an unknown country'}."
            )
    return None


async def _country(context: _Context) -> str | None:
    """The organisation's country: imported this run or before, else one call to ask."""
    if context.country is None and _has_scope(context.scopes, SETTINGS_SCOPES):
        body = await context.services.client.get(context.org, f"{ACCOUNTING}/Organisation")
        organisations = body.get("Organisations") or [{}]
        context.country = _country_of(organisations[0])
    return context.country


# -- one type -------------------------------------------------------------------------------


@dataclass
class _Tally:
    seen: set[str] = field(default_factory=set)
    outcomes: Counter[str] = field(default_factory=Counter)


async def _import_type(context: _Context, spec: ImportSpec, step: int) -> None:
    client = context.services.client
    tally = _Tally()
    _progress(context, spec, step, done=0, total=None)
    with counting_calls() as calls:
        async for records in fetch(client, context.org, spec):
            if spec.record_type is RecordType.ORGANISATION and records:
                context.country = _country_of(records[0]) or context.country
            _with_run(
                context.services,
                context.run_id,
                partial(_apply_page, context=context, spec=spec, records=records, tally=tally),
            )
            _progress(context, spec, step, done=len(tally.seen), total=None)
    removed = partial(_mark_removed, context=context, spec=spec, tally=tally)
    _with_run(context.services, context.run_id, removed)
    _note_type(context, spec, step, "done", tally=tally, calls=calls.total)


async def fetch(
    client: XeroClient, org: Organisation, spec: ImportSpec
) -> AsyncIterator[list[dict[str, Any]]]:
    """The records of one type, a page at a time (one page when Xero does not page it)."""
    if spec.paged:
        pages = client.pages(org, spec.path, spec.key, params=spec.params, page_size=spec.page_size)
        async for page in pages:
            yield page
        return
    body = await client.get(org, spec.path, spec.params or None)
    payload: Any = body.get(spec.key) or []
    if spec.nested_key is not None:
        payload = payload.get(spec.nested_key) or [] if isinstance(payload, dict) else []
    yield [record for record in payload if isinstance(record, dict)]


def _xero_id(spec: ImportSpec, record: Mapping[str, Any]) -> str | None:
    return text(record.get(spec.id_field), 64)


def _existing(
    session: Session, connection_id: str, record_type: RecordType, xero_ids: Sequence[str]
) -> dict[str, XeroReference]:
    found: dict[str, XeroReference] = {}
    for start in range(0, len(xero_ids), IN_CHUNK):
        rows = session.scalars(
            select(XeroReference).where(
                XeroReference.connection_id == connection_id,
                XeroReference.record_type == record_type,
                XeroReference.xero_id.in_(xero_ids[start : start + IN_CHUNK]),
            )
        )
        found.update((row.xero_id, row) for row in rows)
    return found


def _apply_page(
    session: Session,
    run: SyncRun,
    context: _Context,
    spec: ImportSpec,
    records: Sequence[dict[str, Any]],
    tally: _Tally,
) -> None:
    ids = [xero_id for xero_id in (_xero_id(spec, r) for r in records) if xero_id]
    existing = _existing(session, context.connection_id, spec.record_type, ids)
    for record in records:
        xero_id = _xero_id(spec, record)
        if xero_id is None:
            message = f"Xero sent a record without {spec.id_field}."
            record_issue(session, run, spec.record_type, "pull", message)
            tally.outcomes["failed"] += 1
            continue
        tally.seen.add(xero_id)
        outcome = _apply_record(session, run, context, spec, existing.get(xero_id), record)
        tally.outcomes[outcome] += 1
        if outcome != "failed":
            count(run, outcome)


def _apply_record(
    session: Session,
    run: SyncRun,
    context: _Context,
    spec: ImportSpec,
    row: XeroReference | None,
    record: dict[str, Any],
) -> str:
    """created, updated or skipped for the reference; the work side follows a change."""
    outcome = _reference_outcome(spec, row, record)
    if outcome == "skipped":
        return outcome
    try:
        _apply_work_side(session, context, spec, record)
    except ItemCodeTaken as exc:
        record_issue(session, run, spec.record_type, "pull", str(exc), xero_id=_xero_id(spec, record))
        return "failed"
    _write_reference(session, context, spec, row, record)
    return outcome


def _fields(spec: ImportSpec, record: Mapping[str, Any]) -> tuple[str | None, str, str | None]:
    """code, name and status as the reference row keeps them."""
    code = text(record.get(spec.code_field), 100) if spec.code_field else None
    names = [n for n in (text(record.get(name)) for name in spec.name_fields) if n]
    name = " ".join(names) if spec.join_name else next(iter(names), None)
    status = text(record.get(spec.status_field), 30) if spec.status_field else None
    return code, (name or code or str(record.get(spec.id_field)))[:255], status


def _reference_outcome(spec: ImportSpec, row: XeroReference | None, record: dict[str, Any]) -> str:
    if row is None:
        return "created"
    unchanged = content_hash(row.data) == content_hash(record) and row.status == _fields(spec, record)[2]
    return "skipped" if unchanged else "updated"


def _write_reference(
    session: Session, context: _Context, spec: ImportSpec, row: XeroReference | None, record: dict[str, Any]
) -> None:
    if row is None:
        row = XeroReference(
            workspace_id=context.workspace_id,
            connection_id=context.connection_id,
            record_type=spec.record_type,
            xero_id=_xero_id(spec, record),
        )
        session.add(row)
    row.code, row.name, row.status = _fields(spec, record)
    row.data = record


class ItemCodeTaken(Exception):
    """Another local item already has this code; taking it would break the unique code."""


def _apply_work_side(session: Session, context: _Context, spec: ImportSpec, record: dict[str, Any]) -> None:
    """Tax rates and items also live on the work side; other types are reference only."""
    if spec.record_type is RecordType.TAX_RATE:
        _upsert_tax_rate(session, context.workspace_id, record, overwrite=context.write_local)
    elif spec.record_type is RecordType.ITEM:
        _upsert_item(session, context, record)


def _tax_rate(session: Session, workspace_id: str, tax_type: str) -> TaxRate | None:
    return session.scalar(
        select(TaxRate).where(TaxRate.workspace_id == workspace_id, TaxRate.tax_type == tax_type)
    )


def _upsert_tax_rate(session: Session, workspace_id: str, record: dict[str, Any], *, overwrite: bool) -> None:
    """The workspace's tax rate for this ``TaxType`` takes Xero's name, rate and status.

    Only the default organisation (``overwrite``) changes a tax type the workspace has; any
    other organisation adds the tax types only it has (an NZ organisation's ``OUTPUT2``
    beside an AU default), or its documents could never be pulled ("unknown tax type").
    """
    tax_type = text(record.get("TaxType"), 50)
    if tax_type is None:
        return
    row = _tax_rate(session, workspace_id, tax_type)
    if row is not None and not overwrite:
        return
    if row is None:
        row = TaxRate(workspace_id=workspace_id, tax_type=tax_type)
        session.add(row)
    for name, value in tax_rate_mapping.local_fields(record).items():
        setattr(row, name, value)


def _item_by_code(session: Session, workspace_id: str, code: str) -> Item | None:
    return session.scalar(select(Item).where(Item.workspace_id == workspace_id, Item.code == code))


def _local_item(session: Session, context: _Context, xero_id: str, code: str) -> Item | None:
    """The item linked to this Xero item if it still exists, else the local one with its code
    (linked, never duplicated: codes are unique in Xero and in a workspace)."""
    link = links.by_xero_id(session, context.connection_id, RecordType.ITEM, xero_id)
    linked = session.get(Item, link.local_id) if link is not None else None
    if linked is not None and linked.workspace_id == context.workspace_id:
        return linked
    return _item_by_code(session, context.workspace_id, code)


def _upsert_item(session: Session, context: _Context, record: dict[str, Any]) -> None:
    """Create or refresh the local item and its link, so the two-way item sync knows it.

    A non-default organisation only links to an item the workspace already has: the work
    side keeps one item per code, owned by the default organisation.
    """
    fields = item_mapping.local_fields(record)
    xero_id, code = str(record["ItemID"]), fields["code"]
    if code is None:
        return
    item = _local_item(session, context, xero_id, code)
    if item is not None and item.code != code and context.write_local:
        holder = _item_by_code(session, context.workspace_id, code)
        if holder is not None and holder.id != item.id:
            raise ItemCodeTaken(f"Another item already has the code '{code}'; rename one of them.")
    if item is None and not context.write_local:
        return
    if item is None:
        item = Item(workspace_id=context.workspace_id, code=code, xero_connection_id=context.connection_id)
        session.add(item)
    if context.write_local:
        for name, value in fields.items():
            setattr(item, name, value)
    session.flush()
    stale = links.by_xero_id(session, context.connection_id, RecordType.ITEM, xero_id)
    if stale is not None and stale.local_id != item.id:
        session.delete(stale)  # the linked item is gone locally; the link moves to this one
        session.flush()
    links.upsert(
        session,
        context.workspace_id,
        context.connection_id,
        RecordType.ITEM,
        item.id,
        xero_id,
        content_hash(item_mapping.shared(record)),  # the two-way item sync's form: no false change
        parse_datetime(record.get("UpdatedDateUTC")),
        content=item_mapping.shared(record),
    )


def _archive_local(session: Session, context: _Context, spec: ImportSpec, xero_id: str) -> None:
    """Xero no longer has it: the local tax rate or item is archived, not deleted, since
    documents may still use it."""
    if not context.write_local:
        return
    if spec.record_type is RecordType.TAX_RATE:
        row = _tax_rate(session, context.workspace_id, xero_id)
        if row is not None:
            row.archived = True
    elif spec.record_type is RecordType.ITEM:
        link = links.by_xero_id(session, context.connection_id, RecordType.ITEM, xero_id)
        item = session.get(Item, link.local_id) if link is not None else None
        if item is not None:
            item.archived = True


def _mark_removed(session: Session, run: SyncRun, context: _Context, spec: ImportSpec, tally: _Tally) -> None:
    """Rows Xero no longer returns become DELETED (kept: documents may still name them)."""
    rows = session.scalars(
        select(XeroReference).where(
            XeroReference.connection_id == context.connection_id,
            XeroReference.record_type == spec.record_type,
            or_(XeroReference.status.is_(None), XeroReference.status != DELETED),
        )
    )
    for row in rows:
        if row.xero_id in tally.seen:
            continue
        row.status = DELETED
        tally.outcomes["deleted"] += 1
        count(run, "deleted")
        _archive_local(session, context, spec, row.xero_id)


# -- progress -------------------------------------------------------------------------------


def _progress(context: _Context, spec: ImportSpec, step: int, done: int, total: int | None) -> None:
    def update(_session: Session, run: SyncRun) -> None:
        run.progress = {
            **run.progress,
            "record_type": str(spec.record_type),
            "done": done,
            "total": total,
            "step": step,
            "steps": context.steps,
        }

    _with_run(context.services, context.run_id, update)


def _note_type(
    context: _Context,
    spec: ImportSpec,
    step: int,
    status: str,
    *,
    issue: str | None = None,
    tally: _Tally | None = None,
    calls: int = 0,
) -> None:
    """Close one type in the run's progress (with its own counts), and log its issue."""

    def update(session: Session, run: SyncRun) -> None:
        if issue is not None:
            record_issue(session, run, spec.record_type, "pull", issue)
        if status == "skipped":
            # Not a record that failed: the type does not apply (no payroll, no scope). The
            # issue says why; the run still succeeds.
            count(run, "failed", -1)
            count(run, "types_skipped")
        outcomes = dict(tally.outcomes) if tally else {}
        summary: dict[str, Any] = {"status": status, **outcomes, "calls": calls}
        if issue is not None:
            summary["issue"] = issue
        done = len(tally.seen) if tally else 0
        run.progress = {
            **run.progress,
            "record_type": str(spec.record_type),
            "done": done,
            "total": done,
            "step": step,
            "steps": context.steps,
            "types": {**run.progress.get("types", {}), str(spec.record_type): summary},
        }

    _with_run(context.services, context.run_id, update)
