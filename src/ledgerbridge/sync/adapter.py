"""What the engine needs to know about one record type: a small adapter per type.

The engine (``sync.engine``) does everything that is the same for every type: cursors,
paging, boundary de-duplication, content hashes and links, conflicts, dry-run previews,
and the crash-safe outbox push. An adapter says only what differs: where the type lives
in Xero, how a Xero record and a local record compare, how to match, write and send one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from sqlalchemy import Select, Table
from sqlalchemy.orm import Session

from ledgerbridge.sync.models import RecordType, SyncRun
from ledgerbridge.xero.models import XeroConnection

if TYPE_CHECKING:
    from ledgerbridge.xero.services import XeroServices

Owner = Literal["xero", "local", "latest"]
"""Who wins a field both sides changed: always Xero, always the work side, or the later change."""


PULL_STATE = "ledgerbridge.sync.pull"
"""Key of a dict in ``session.info`` that lasts for one whole pull (every page of it), for
what an adapter works out once per run instead of once per page."""


class NotReady(Exception):
    """A record cannot be sent yet (e.g. its client is not in Xero); the message says why."""


class RecordAdapter(Protocol):
    record_type: RecordType
    path: str
    """e.g. ``/api.xro/2.0/Contacts``."""
    key: str
    """The envelope's collection key, e.g. ``Contacts``."""
    id_field: str
    """e.g. ``ContactID``."""
    pull_params: Mapping[str, str]
    """Extra query parameters for full reads, e.g. ``includeArchived``."""
    ids_param: str | None
    """The query parameter that fetches by id (``IDs``), or None where the endpoint has
    none and a ``where`` filter on ``id_field`` does it."""
    detail_fields: frozenset[str]
    """Compared fields only a detailed read carries (lines, allocations, phone): a summary
    read leaves them out of ``remote_fields``. The engine then keeps what was last
    exchanged for them, and refuses to create or link a record from such a read."""

    def remote_fields(self, remote: dict[str, Any]) -> dict[str, Any]:
        """The fields both sides hold, read from a Xero record (compared and hashed)."""

    def local_fields(self, session: Session, obj: Any) -> dict[str, Any]:
        """The same fields, read from the local record."""

    def load(self, session: Session, workspace_id: str, local_id: str) -> Any | None:
        """The local record, only if it belongs to the workspace."""

    def match(self, session: Session, connection: XeroConnection, remote: dict[str, Any]) -> Any | None:
        """An unlinked local record that already is this Xero record, or None."""

    def write(
        self,
        session: Session,
        run: SyncRun,
        connection: XeroConnection,
        obj: Any | None,
        fields: dict[str, Any],
        remote: dict[str, Any],
    ) -> Any | None:
        """Create or update the local record from ``fields``; None (with an issue) if
        impossible. A record it creates belongs to ``connection``; it may come back as a
        ``NewRecord`` instead of an object in the session."""

    def payload(
        self, session: Session, connection: XeroConnection, obj: Any, xero_id: str | None
    ) -> dict[str, Any]:
        """The Xero payload creating or updating it; raises ``NotReady`` when it cannot go yet."""

    def describe(self, obj_or_fields: Any) -> str:
        """A name for previews and messages."""

    def backfill_query(self, workspace_id: str) -> Select[tuple[str]]:
        """The ids of local records that should exist in Xero (queued when not linked yet),
        as a query, so the outbox finds the unlinked ones in the database, not in Python."""

    def owner(self, field: str) -> Owner:
        """The written conflict policy for ``field``."""


@dataclass
class NewRecord:
    """What ``write`` may return for a record it creates: the rows that insert it, parents
    first, in place of an object added to the session. The engine inserts a page's new
    records together (``engine._NewRows``): in a first import of tens of thousands, the
    session's bookkeeping per object would cost more than the rules that check them."""

    id: str
    rows: list[tuple[Table, dict[str, Any]]]


@runtime_checkable
class FollowUp(Protocol):
    """An adapter with writes its record's batch push cannot carry (credit note allocations
    go to their own endpoint). Runs after the push, so what it refers to is in Xero."""

    async def after_push(
        self, services: XeroServices, connection_id: str, run_id: str, dry_run: bool
    ) -> None:
        """Send (or, in a dry run, preview) the follow-up writes."""


@runtime_checkable
class NumberedByXero(Protocol):
    """An adapter whose records Xero may number when it creates them: the local record takes
    Xero's number back as the create is recorded."""

    def number_from_xero(
        self,
        session: Session,
        connection_id: str,
        local_id: str,
        record: dict[str, Any],
        fields: dict[str, Any],
    ) -> dict[str, Any]:
        """Take Xero's number; the fields as now exchanged."""
