"""The model test: random interleavings of what people do here, what happens in Xero, and
what the system does on its own, with every invariant checked after every step.

The walk drives the real app (our API and pages, as the owner) and the in-process sandbox
(through another app's calls, its webhooks and its fault injection); jobs run on the
in-process runner, as in the web process. The actions live with their side: ``people``,
``xero_side`` and ``system``; ``walk`` holds the registry they share.
"""

from __future__ import annotations

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.model import invariants
from tests.model.invariants import Model
from tests.model.people import People
from tests.model.system import System
from tests.model.walk import ACTIONS, Stats
from tests.model.world import AU
from tests.model.xero_side import XeroSide

__all__ = ["IntegrationMachine", "Stats"]


class IntegrationMachine(People, XeroSide, System, RuleBasedStateMachine):
    """Set ``world`` and ``stats`` on the class before running (see ``run``)."""

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.number = 0
        self.faulty = False
        self.auto_sync = True

    @initialize(invoiced_before=st.booleans())
    def connect_first_organisation(self, invoiced_before: bool) -> None:
        """A workspace connects AU; some had invoiced hours before connecting (numbered
        here, before Xero's own numbers were known), and sent them."""
        self.world.start()
        self.stats.walks += 1
        if invoiced_before:
            self.track_time(minutes=240, days_back=3, contractor=False)
            self.invoice_hours()
        org = self.world.connect(AU)
        if invoiced_before:
            for invoice in self._local_invoices():
                self.model.sent.add(invoice.id)
        self._sync(org, "first sync")

    def teardown(self) -> None:
        if hasattr(self.world, "app"):
            self.world.stop()

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        """One action, drawn evenly among those available. The draw is an offset from the
        step's number, so the simplest walk (every draw 0, hypothesis's first and the
        target of shrinking) is a round of every action rather than one repeated."""
        names = sorted(ACTIONS)  # fixed, so a replayed walk draws the same way whatever happened

        self.number += 1
        offset = data.draw(st.integers(0, len(names) - 1), label="offset")
        chosen = ACTIONS[names[(offset + self.number) % len(names)]]
        arguments = data.draw(st.fixed_dictionaries(chosen.arguments), label=chosen.name)
        note(f"step {self.number}: {chosen.name}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})")
        if chosen.available(self):
            getattr(self, chosen.name)(**arguments)

    @invariant()
    def invariants_hold(self) -> None:
        if not hasattr(self.world, "orgs"):
            return
        self.world.page("/sync-log")
        self._check(invariants.CHECKS)
