"""Long walks of the model test (tests/model): random interleavings of people, Xero and the
system against the real app and the in-process sandbox, every invariant checked after
every step.

    .venv/bin/python bench/soak.py --steps 10000 --seed 1 [--database-url URL] [--no-faults]

Walks until N steps are taken (Ctrl-C stops early and still reports). Prints the steps
taken, the actions of each kind, the invariant checks made and the
violations found. A failing walk prints its seed and the shortest history that breaks
(hypothesis shrinks it), and the script exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402
from tests.model.machine import IntegrationMachine, Stats  # noqa: E402
from tests.model.world import World  # noqa: E402

from ledgerbridge.migrations import upgrade  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=1000, help="steps in all (default 1,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--walk-length", type=int, default=50, help="steps per walk (default 50)")
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    parser.add_argument("--no-faults", action="store_true", help="no 5xx, timeouts or lost responses")
    parser.add_argument("--no-shrink", action="store_true", help="report the first failing walk as it was")
    args = parser.parse_args()

    os.environ.setdefault("LEDGERBRIDGE_LOG_LEVEL", "ERROR")
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='lb-soak-')}/soak.sqlite3"
    upgrade(url)
    world = World(url)
    stats = Stats()
    IntegrationMachine.world, IntegrationMachine.stats = world, stats
    IntegrationMachine.faults = not args.no_faults
    started, cpu = time.perf_counter(), time.process_time()
    failure: BaseException | None = None
    stopped = False
    try:
        # Walks end early when hypothesis draws a short one, so rounds of walks run until the
        # steps taken reach --steps; each round's walks are drawn from the seed and its number.
        for round_number in range(1_000_000):
            if stats.steps >= args.steps:
                break
            walks = max(1, -(-(args.steps - stats.steps) // args.walk_length))
            hypothesis_seed(args.seed * 1_000_000 + round_number)(IntegrationMachine)
            run_state_machine_as_test(
                IntegrationMachine,
                settings=settings(
                    max_examples=walks,
                    stateful_step_count=args.walk_length,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                    phases=[Phase.generate] if args.no_shrink else [Phase.generate, Phase.shrink],
                ),
            )
    except AssertionError as exc:  # a violation: hypothesis has printed the shortest history
        failure = exc
    except Exception as exc:  # the app or a worker raised (a 500 is an AssertionError): a violation too
        failure = exc
    except KeyboardInterrupt:  # Ctrl-C (or timeout -s INT): report what was walked so far
        stopped = True
    finally:
        world.dispose()
    if stopped:
        print("soak: stopped before the steps asked for; the figures are those walked")
    _report(args, url, stats, time.perf_counter() - started, time.process_time() - cpu, failure)
    return 1 if failure is not None else 0


def _report(
    args: argparse.Namespace, url: str, stats: Stats, wall: float, cpu: float, failure: BaseException | None
) -> None:
    backend = url.split(":", 1)[0]
    print(f"soak: seed {args.seed}, {backend}, faults {'off' if args.no_faults else 'on'}")
    print(f"  walks        {stats.walks}")
    print(f"  steps        {stats.steps}")
    print(f"  checks       {stats.checks}")
    print(f"  violations   {len(stats.violations) if failure is None else max(1, len(stats.violations))}")
    print(f"  wall {wall:.1f} s, CPU {cpu:.1f} s ({stats.steps / wall if wall else 0:.1f} steps/s wall)")
    print("  actions:")
    for name, n in stats.actions.most_common():
        print(f"    {n:6d}  {name}")
    if failure is not None:
        print(f"\nFAILED with seed {args.seed}: rerun with --seed {args.seed}. The shortest history:")
        print(str(failure))
        for line in getattr(failure, "__notes__", []):  # hypothesis's falsifying walk, step by step
            print(f"  {line}")


if __name__ == "__main__":
    raise SystemExit(main())
