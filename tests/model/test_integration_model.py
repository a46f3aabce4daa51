"""The whole integration as a state machine: random walks of people, Xero and the system,
with the invariants of ``tests/model/invariants.py`` checked after every step, on SQLite
and PostgreSQL. CI runs a bounded walk; ``bench/soak.py`` runs long ones."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.model.machine import IntegrationMachine, Stats
from tests.model.world import World

WALKS = int(os.environ.get("LEDGERBRIDGE_MODEL_WALKS", "6"))
STEPS = int(os.environ.get("LEDGERBRIDGE_MODEL_STEPS", "30"))
SHRINK = os.environ.get("LEDGERBRIDGE_MODEL_SHRINK", "1") == "1"


def test_invariants_hold_on_random_walks(database_url: str) -> None:
    world = World(database_url)
    IntegrationMachine.world, IntegrationMachine.stats = world, Stats()
    try:
        run_state_machine_as_test(
            IntegrationMachine,
            settings=settings(
                max_examples=WALKS,
                stateful_step_count=STEPS,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate, Phase.shrink] if SHRINK else [Phase.generate],
            ),
        )
    finally:
        world.dispose()
    assert IntegrationMachine.stats.steps > 0
    print(f"model walk: {IntegrationMachine.stats}")
