"""The breaks a new user found, each as the model walk that shows it: the same actions
and invariants as the random walks, in the order that broke. Each failed on the code
before its fix (see the closing note of the invariants issue); now each must hold."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.model.machine import IntegrationMachine, Stats
from tests.model.world import World

Walk = Callable[[IntegrationMachine], None]


@pytest.fixture
def machine(database_url: str) -> Iterator[IntegrationMachine]:
    world = World(database_url)
    IntegrationMachine.world, IntegrationMachine.stats = world, Stats()
    walker = IntegrationMachine()
    try:
        yield walker
    finally:
        walker.teardown()
        world.dispose()


def walk(machine: IntegrationMachine, *steps: Walk, invoiced_before: bool = False) -> None:
    """Connect AU, then each step followed by every invariant, as a random walk does."""
    machine.connect_first_organisation(invoiced_before=invoiced_before)
    machine.invariants_hold()
    for step in steps:
        step(machine)
        machine.invariants_hold()


def invoice_sent(m: IntegrationMachine) -> None:
    """Hours tracked, invoiced and sent via Xero (the send job runs)."""
    m.track_time(minutes=180, days_back=2, contractor=False)
    m.track_time(minutes=90, days_back=1, contractor=True)
    m.invoice_hours()
    m.send_via_xero(pick=0)
    m.run_jobs()


def test_a_webhook_after_xero_authorises_keeps_the_lines_and_the_hours(machine: IntegrationMachine) -> None:
    """Double billing: the webhook's fetch read a summary without LineItems as "no
    lines", emptied the invoice and freed its hours."""
    walk(
        machine,
        invoice_sent,
        lambda m: m.xero_authorises(pick=0),
        lambda m: m.webhooks(how="on time"),
        lambda m: m.invoice_hours(),
        lambda m: m.quiet_sync(),
    )
    assert machine.model.invoiced


def test_a_payment_in_xero_keeps_the_lines_and_arrives(machine: IntegrationMachine) -> None:
    walk(
        machine,
        invoice_sent,
        lambda m: m.xero_authorises(pick=0),
        lambda m: m.xero_pays(pick=0, full=False),
        lambda m: m.webhooks(how="twice"),
        lambda m: m.quiet_sync(),
    )


def test_a_second_organisations_first_sync_fails_nothing(machine: IntegrationMachine) -> None:
    """Reference data first, numbers, names and item codes per organisation, nothing of
    the first organisation made in the second."""
    walk(machine, invoice_sent, lambda m: m.connect_second_organisation(workers=1), lambda m: m.quiet_sync())


def test_two_workers_take_a_second_organisations_first_sync(machine: IntegrationMachine) -> None:
    """Two workers inserting one contact's name: one record's clash costs that record."""
    walk(machine, lambda m: m.connect_second_organisation(workers=2), lambda m: m.quiet_sync())


def test_a_saved_client_reaches_xero_within_seconds(machine: IntegrationMachine) -> None:
    walk(
        machine,
        lambda m: m.save_client(name="Coogee Cafe", email="a@x.example.com"),
        lambda m: m.save_client(name="Coogee Cafe", email="b@x.example.com"),
    )


def test_force_sync_from_the_api_beside_two_workers(machine: IntegrationMachine) -> None:
    """The API's Force sync ran inside the request, outside the lock: duplicate links,
    runs left "running", calls counted twice."""
    walk(
        machine,
        invoice_sent,
        lambda m: m.xero_edits_contact(pick=0, email="a@x.example.com"),
        lambda m: m.two_workers(pick=0, webhooks_first=True),
        lambda m: m.two_workers(pick=0, webhooks_first=False),
        lambda m: m.quiet_sync(),
    )


def test_invoices_numbered_before_connecting_arrive(machine: IntegrationMachine) -> None:
    """Numbers made here clashed with the organisation's own; a first push was refused."""
    walk(machine, lambda m: m.quiet_sync(), lambda m: m.retry_from_log(pick=0), invoiced_before=True)


def test_an_invited_contact_is_not_a_payroll_employee(machine: IntegrationMachine) -> None:
    walk(machine, lambda m: m.invite_contact(pick=0), lambda m: m.invite_contact(pick=1))


def test_faults_then_a_quiet_sync_lose_nothing(machine: IntegrationMachine) -> None:
    """A response lost after Xero committed, then a 503: the resend replays, nothing is
    created twice, and the log ends true."""
    walk(
        machine,
        lambda m: m.fault(kind="lost response"),
        invoice_sent,
        lambda m: m.fault(kind="503"),
        lambda m: m.save_client(name="Glebe Books", email="a@x.example.com"),
        lambda m: m.force_sync(pick=0),
        lambda m: m.retry_from_log(pick=0),
        lambda m: m.quiet_sync(),
    )
