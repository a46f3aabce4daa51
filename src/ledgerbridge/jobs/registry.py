"""Job kinds and their handlers, and what a handler is given when it runs.

A handler is registered once, by kind, with ``@job("sync.pull")``. It receives a
``JobContext`` and the job's arguments, which are JSON ids only: the handler reloads
whatever it needs in its own unit of work, so a job queued an hour ago acts on the data
as it is now, and any runner (this process, another process, later Celery) can run it.

Every handler must be safe to run twice. A worker can stop after the handler did its
work but before the job was marked done; the job is then reclaimed and runs again.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

from ledgerbridge.clock import Clock
from ledgerbridge.db import Database
from ledgerbridge.jobs import queue
from ledgerbridge.jobs.models import Job

if TYPE_CHECKING:
    from ledgerbridge.xero.services import XeroServices

Handler = Callable[..., Awaitable[None]]
H = TypeVar("H", bound=Handler)

HANDLER_MODULES: tuple[str, ...] = (
    "ledgerbridge.jobs.maintenance",
    "ledgerbridge.sync.jobs",
    "ledgerbridge.workflows.jobs",
)
"""Modules whose import registers handlers. A package adds its ``jobs`` module here; a
module that does not exist (yet) is skipped, so the list can name work still to come."""

_handlers: dict[str, Handler] = {}

current_job_id: ContextVar[str | None] = ContextVar("current_job_id", default=None)
"""The job whose handler is running in this task (set by the runner around the handler),
so what the handler starts, such as a sync run, can name its job without every call
passing it down."""


def job(kind: str) -> Callable[[H], H]:
    """Register ``handler`` for ``kind`` (a dotted name such as ``"xero.refresh_idle"``).

    Registering a second, different handler for a kind is an error: two modules claiming
    the same kind would make which one runs depend on import order.
    """
    if not kind or kind.strip() != kind or "." not in kind:
        raise ValueError(f"job kinds are dotted names such as 'sync.pull', not {kind!r}")

    def register(handler: H) -> H:
        existing = _handlers.get(kind)
        if existing is not None and existing is not handler:
            raise ValueError(f"job kind {kind!r} already has a handler ({existing.__qualname__})")
        _handlers[kind] = handler
        return handler

    return register


def handler_for(kind: str) -> Handler | None:
    return _handlers.get(kind)


def is_registered(kind: str) -> bool:
    """Whether this process can run ``kind``; the scheduler only plans work that can run."""
    return kind in _handlers


def registered_kinds() -> list[str]:
    return sorted(_handlers)


def unregister(kind: str) -> None:
    """Forget a handler (tests register throwaway kinds and remove them afterwards)."""
    _handlers.pop(kind, None)


def load_handlers(modules: tuple[str, ...] = HANDLER_MODULES) -> list[str]:
    """Import the handler modules that exist; returns the names imported.

    A module that is missing is skipped; a module that exists but fails to import is a bug
    and raises, rather than leaving its jobs to fail one by one later.
    """
    loaded = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name is not None and (name == error.name or name.startswith(error.name + ".")):
                continue
            raise
        loaded.append(name)
    return loaded


@dataclass(frozen=True)
class JobContext:
    """What a running handler may use. It opens its own units of work with ``database``."""

    database: Database
    xero: XeroServices
    clock: Clock
    job_id: str
    kind: str
    attempt: int
    """1 for the first run; higher when retried or reclaimed after a worker stopped."""
    workspace_id: str | None = None

    def enqueue(
        self,
        session: Session,
        kind: str,
        args: dict[str, Any],
        *,
        workspace_id: str | None = None,
        lock_key: str | None = None,
        dedupe_key: str | None = None,
        run_at: datetime | None = None,
    ) -> Job:
        """Queue follow-up work in the handler's own transaction (see ``queue.enqueue``)."""
        return queue.enqueue(
            session,
            kind,
            args,
            workspace_id=workspace_id if workspace_id is not None else self.workspace_id,
            lock_key=lock_key,
            dedupe_key=dedupe_key,
            run_at=run_at or self.clock.utcnow(),
        )
