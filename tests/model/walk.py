"""What every side of the model test shares: the registry of actions a walk draws from,
the walk's statistics, and the few helpers each side's actions use.

The machine (``machine.py``) is put together from three sides, one module each: what
people do here (``people.py``), what happens in Xero (``xero_side.py``) and what the system
does on its own (``system.py``). Each action is registered with ``@action`` and its
argument strategies; the machine's single rule draws among them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from hypothesis import strategies as st
from sqlalchemy import select

from ledgerbridge.sync.models import RecordType, XeroLink
from ledgerbridge.work.models import Invoice, InvoiceStatus
from tests.model import invariants
from tests.model.invariants import Model
from tests.model.world import AU, Organisation, World


@dataclass
class Stats:
    steps: int = 0
    walks: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    checks: int = 0
    violations: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Action:
    name: str
    arguments: dict[str, st.SearchStrategy[Any]]
    available: Callable[[Any], bool]


ACTIONS: dict[str, Action] = {}


Method = TypeVar("Method", bound=Callable[..., None])


def action(
    available: Callable[[Any], bool] = lambda _machine: True, **arguments: st.SearchStrategy[Any]
) -> Callable[[Method], Method]:
    """One kind of step a walk can take, with the strategies of its arguments. The
    machine's single rule draws which action comes next, evenly among those available,
    so every walk mixes people, Xero and the system from its first step."""

    def register(method: Method) -> Method:
        ACTIONS[method.__name__] = Action(method.__name__, arguments, available)
        return method

    return register


class Walk:
    """The state and helpers the three sides share (the machine sets them up)."""

    world: ClassVar[World]
    stats: ClassVar[Stats]
    faults: ClassVar[bool] = True

    model: Model
    number: int
    faulty: bool
    """A fault was injected since the last quiet sync: a saved change may wait for it."""
    auto_sync: bool
    """Whether AU syncs contacts on its own (the walk switches it off and on)."""

    def _act(self, name: str) -> None:
        self.stats.steps += 1
        self.stats.actions[name] += 1

    @property
    def au(self) -> Organisation:
        return self.world.orgs[AU]

    def _org(self, index: int) -> Organisation:
        orgs = list(self.world.orgs.values())
        return orgs[index % len(orgs)]

    def _settle(self) -> None:
        """A few seconds pass (a debounced push falls due), and every due job runs."""
        self.world.state.clock.advance(15)
        self.world.run_jobs()

    def _sync(self, org: Organisation, why: str) -> None:
        """Force sync from the API, then let the jobs run, as the page's button does."""
        answer = self.world.api("POST", f"/xero/connections/{org.connection_id}/sync", json={})
        assert answer.status_code in (200, 201, 202), f"{why}: {answer.status_code} {answer.text}"
        self.world.run_jobs()

    def _local_invoices(self, *statuses: InvoiceStatus) -> list[Invoice]:
        """The invoices and bills this walk built from hours (not those pulled from Xero,
        which the Xero side's actions change), oldest first."""
        made = {*self.model.invoiced.values(), *self.model.billed.values()} - self.model.deleted
        with self.world.database.session() as session:
            query = (
                select(Invoice).where(Invoice.id.in_(sorted(made))).order_by(Invoice.created_at, Invoice.id)
            )
            if statuses:
                query = query.where(Invoice.status.in_(statuses))
            return list(session.scalars(query))

    def _linked(self, org: Organisation, record_type: RecordType) -> list[XeroLink]:
        with self.world.database.session() as session:
            return list(
                session.scalars(
                    select(XeroLink)
                    .where(XeroLink.connection_id == org.connection_id, XeroLink.record_type == record_type)
                    .order_by(XeroLink.created_at, XeroLink.xero_id)
                )
            )

    def _check(self, checks: dict[str, invariants.Check]) -> None:
        self.stats.checks += len(checks)
        found = invariants.check(checks, self.world, self.model)
        if found:
            self.stats.violations += found
        assert not found, "\n".join(found)
