"""The model test: random interleavings of what people do here, what happens in Xero, and
what the system does on its own, with every invariant checked after every step.

The walk drives the real app (our API, as the owner) and the in-process sandbox (through
another app's calls, its webhooks and its fault injection); jobs run on the in-process
runner, as in the web process. ``Stats`` counts what a walk did, for ``bench/soak.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from ledgerbridge.jobs import queue
from ledgerbridge.jobs.scheduler import sync_lock_key
from ledgerbridge.sync.models import RecordType, RunStatus, SyncIssue, SyncRun, XeroLink
from ledgerbridge.work.models import Invoice, InvoiceStatus
from tests.model import invariants
from tests.model.invariants import Model
from tests.model.world import AU, NZ, Organisation, World


@dataclass
class Stats:
    steps: int = 0
    walks: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    checks: int = 0
    violations: list[str] = field(default_factory=list)


NAMES = st.sampled_from(["Coogee Cafe", "Manly Ferries", "Glebe Books", "Newtown Bikes", "Bondi Surf Co"])
EMAILS = st.sampled_from(["a@x.example.com", "b@x.example.com", "accounts@y.example.com"])


@dataclass(frozen=True)
class Action:
    name: str
    arguments: dict[str, st.SearchStrategy[Any]]
    available: Callable[[Any], bool]


ACTIONS: dict[str, Action] = {}


def action(
    available: Callable[[Any], bool] = lambda _machine: True, **arguments: st.SearchStrategy[Any]
) -> Any:
    """One kind of step a walk can take, with the strategies of its arguments. The
    machine's single rule draws which action comes next, evenly among those available,
    so every walk mixes people, Xero and the system from its first step."""

    def register(method: Callable[..., None]) -> Callable[..., None]:
        ACTIONS[method.__name__] = Action(method.__name__, arguments, available)
        return method

    return register


class IntegrationMachine(RuleBasedStateMachine):
    """Set ``world`` and ``stats`` on the class before running (see ``run``)."""

    world: ClassVar[World]
    stats: ClassVar[Stats]
    faults: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.number = 0
        self.faulty = False

    # -- start ----------------------------------------------------------------------------

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

    # -- the work side --------------------------------------------------------------------

    @action(minutes=st.integers(15, 480), days_back=st.integers(0, 20), contractor=st.booleans())
    def track_time(self, minutes: int, days_back: int, contractor: bool) -> None:
        self._act("track time")
        seeded = self.world.seeded
        answer = self.world.api(
            "POST",
            "/time-entries",
            json={
                "member_id": seeded.contractor_id if contractor else seeded.employee_id,
                "task_id": seeded.task_id,
                "date": str(self.world.today() - timedelta(days=days_back)),
                "duration_minutes": minutes,
                "approved": True,
            },
        )
        assert answer.status_code == 201, answer.text

    @action()
    def invoice_hours(self) -> None:
        """Hours to an invoice: no hour the walk saw invoiced may come back."""
        self._act("invoice hours")
        self._from_time({"client_id": self.world.seeded.client_id}, self.model.invoiced)

    @action()
    def bill_hours(self) -> None:
        self._act("bill hours")
        self._from_time({"member_id": self.world.seeded.contractor_id}, self.model.billed)

    def _from_time(self, party: dict[str, str], seen: dict[str, str]) -> None:
        today = self.world.today()
        answer = self.world.api(
            "POST",
            "/invoices/from-time",
            json={**party, "date_from": str(today - timedelta(days=60)), "date_to": str(today)},
        )
        if answer.status_code != 201:
            assert answer.status_code in (409, 422), answer.text
            return
        invoice = answer.json()
        for line in invoice["lines"]:
            for entry_id in line["time_entry_ids"]:
                assert entry_id not in seen or seen[entry_id] in self.model.deleted, (
                    f"time entry {entry_id} charged twice: on {seen.get(entry_id)} and now on {invoice['id']}"
                )
                seen[entry_id] = invoice["id"]

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

    @action(pick=st.integers(0, 50), extra=st.decimals("1", "500", places=2))
    def add_expense_line(self, pick: int, extra: Decimal) -> None:
        """Edit a draft: keep its hours' lines and add an expense line."""
        drafts = self._local_invoices(InvoiceStatus.DRAFT)
        if not drafts:
            return
        self._act("edit draft lines")
        invoice = self.world.api("GET", f"/invoices/{drafts[pick % len(drafts)].id}").json()
        lines = [
            {k: line[k] for k in ("description", "quantity", "unit_amount", "time_entry_ids")}
            for line in invoice["lines"]
        ]
        lines.append({"description": "Expenses", "quantity": "1", "unit_amount": str(extra)})
        answer = self.world.api("PATCH", f"/invoices/{invoice['id']}", json={"lines": lines})
        assert answer.status_code in (200, 409, 422), answer.text

    @action(pick=st.integers(0, 50))
    def approve(self, pick: int) -> None:
        drafts = self._local_invoices(InvoiceStatus.DRAFT)
        if not drafts:
            return
        self._act("approve")
        answer = self.world.api(
            "PATCH", f"/invoices/{drafts[pick % len(drafts)].id}", json={"status": "approved"}
        )
        assert answer.status_code in (200, 409, 422), answer.text

    @action(pick=st.integers(0, 50))
    def send_via_xero(self, pick: int) -> None:
        invoices = self._local_invoices(InvoiceStatus.DRAFT, InvoiceStatus.APPROVED)
        if not invoices:
            return
        self._act("send via Xero")
        invoice = invoices[pick % len(invoices)]
        answer = self.world.api("POST", f"/invoices/{invoice.id}/send-to-xero")
        assert answer.status_code in (200, 202, 409, 422), answer.text
        if answer.status_code in (200, 202) and invoice.kind == "sales":
            self.model.sent.add(invoice.id)

    @action(pick=st.integers(0, 50), share=st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal("1")]))
    def record_payment(self, pick: int, share: Decimal) -> None:
        invoices = self._local_invoices(InvoiceStatus.APPROVED, InvoiceStatus.SENT)
        if not invoices:
            return
        self._act("record payment")
        invoice = self.world.api("GET", f"/invoices/{invoices[pick % len(invoices)].id}").json()
        due = Decimal(invoice["amount_due"])
        if due <= 0:
            return
        amount = (due * share).quantize(Decimal("0.01")) or due
        answer = self.world.api(
            "POST",
            "/payments",
            json={"invoice_id": invoice["id"], "amount": str(amount), "account_code": "090"},
        )
        assert answer.status_code in (201, 409, 422), answer.text

    @action(name=NAMES, email=EMAILS)
    def save_client(self, name: str, email: str) -> None:
        """Create a client, or edit the one of that name."""
        self._act("save client")
        found = self.world.api("GET", "/clients", params={"q": name}).json()["items"]
        same = [c for c in found if c["name"] == name]
        if same:
            answer = self.world.api("PATCH", f"/clients/{same[0]['id']}", json={"email": email})
            ok = (200,)
        else:
            answer = self.world.api("POST", "/clients", json={"name": name, "email": email})
            ok = (201,)
        assert answer.status_code in (*ok, 409, 422), answer.text
        if answer.status_code in ok:
            client_id = answer.json()["id"]
            self.model.local_client_emails[client_id] = email
            self._settle()
            if not self.faulty:
                self._saved_reached_xero(client_id, email)

    def _saved_reached_xero(self, client_id: str, email: str) -> None:
        """Auto-sync is on: a saved client is in Xero within seconds, not at the next
        interval (or the sync log says why not)."""
        with self.world.database.session() as session:
            link = session.scalar(
                select(XeroLink).where(
                    XeroLink.record_type == RecordType.CONTACT, XeroLink.local_id == client_id
                )
            )
            issue = session.scalar(
                select(SyncIssue).where(SyncIssue.local_id == client_id, SyncIssue.resolved_at.is_(None))
            )
        if issue is not None:
            return
        assert link is not None, f"client {client_id} was saved with auto-sync on but did not reach Xero"
        org = next(o for o in self.world.orgs.values() if o.connection_id == link.connection_id)
        remote = self.world.xero_record(org, "Contacts", link.xero_id)
        assert remote is not None and remote.get("EmailAddress") == email, (
            f"client {client_id}'s saved email {email!r} did not reach Xero within seconds "
            f"(Xero has {remote and remote.get('EmailAddress')!r})"
        )

    @action(pick=st.integers(0, 50))
    def invite_contact(self, pick: int) -> None:
        """Invite a synced Xero contact in as a member (Members to Xero, Contacts tab)."""
        org = self.au
        found = self.world.api("GET", f"/xero/connections/{org.connection_id}/members/invitable").json()
        free = [c for c in found if c["member_id"] is None]
        if not free:
            return
        self._act("invite a Xero contact as a member")
        contact = free[pick % len(free)]
        answer = self.world.api(
            "POST",
            f"/xero/connections/{org.connection_id}/members/invite",
            json={"contact_ids": [contact["contact_id"]]},
        )
        assert answer.status_code in (201, 409, 422), answer.text

    @action(pick=st.integers(0, 50))
    def retry_from_log(self, pick: int) -> None:
        """Retry an open issue from the sync log, as a bookkeeper clicks it."""
        with self.world.database.session() as session:
            ids = list(
                session.scalars(
                    select(SyncIssue.id).where(SyncIssue.resolved_at.is_(None)).order_by(SyncIssue.created_at)
                )
            )
        if not ids:
            return
        self._act("retry from the sync log")
        answer = self.world.api("POST", f"/xero/issues/{ids[pick % len(ids)]}/retry")
        assert answer.status_code in (200, 202, 404, 409, 422), answer.text
        self.world.run_jobs()

    # -- Xero's side ----------------------------------------------------------------------

    def _linked(self, org: Organisation, record_type: RecordType) -> list[XeroLink]:
        with self.world.database.session() as session:
            return list(
                session.scalars(
                    select(XeroLink)
                    .where(XeroLink.connection_id == org.connection_id, XeroLink.record_type == record_type)
                    .order_by(XeroLink.created_at, XeroLink.xero_id)
                )
            )

    @action(pick=st.integers(0, 50), email=EMAILS)
    def xero_edits_contact(self, pick: int, email: str) -> None:
        linked = [
            link
            for link in self._linked(self.au, RecordType.CONTACT)
            if link.local_id not in self.model.local_client_emails
        ]
        if not linked:
            return
        self._act("Xero: edit contact")
        link = linked[pick % len(linked)]
        answer = self.world.call(
            self.au.other.post, "Contacts", "Contacts", {"ContactID": link.xero_id, "EmailAddress": email}
        )
        if answer.status_code == 200:
            self.model.xero_contact_emails[link.xero_id] = email

    def _our_invoices_in_xero(self, org: Organisation, *statuses: str) -> list[dict[str, Any]]:
        found = []
        for link in self._linked(org, RecordType.INVOICE):
            record = self.world.xero_record(org, "Invoices", link.xero_id)
            if (
                record is not None
                and record.get("Status") in statuses
                and link.xero_id not in org.seeded["Invoices"]
            ):
                found.append(record)
        return found

    @action(pick=st.integers(0, 50))
    def xero_authorises(self, pick: int) -> None:
        drafts = self._our_invoices_in_xero(self.au, "DRAFT", "SUBMITTED")
        if not drafts:
            return
        self._act("Xero: authorise")
        record = drafts[pick % len(drafts)]
        self.world.call(
            self.au.other.post,
            "Invoices",
            "Invoices",
            {"InvoiceID": record["InvoiceID"], "Status": "AUTHORISED"},
        )

    @action(pick=st.integers(0, 50), full=st.booleans())
    def xero_pays(self, pick: int, full: bool) -> None:
        open_ = self._our_invoices_in_xero(self.au, "AUTHORISED")
        if not open_:
            return
        self._act("Xero: pay" if full else "Xero: part-pay")
        record = open_[pick % len(open_)]
        due = Decimal(str(record["AmountDue"]))
        amount = due if full else (due / 2).quantize(Decimal("0.01"))
        if amount <= 0:
            return
        answer = self.world.call(
            self.au.other.put,
            "Payments",
            "Payments",
            {
                "Invoice": {"InvoiceID": record["InvoiceID"]},
                "Account": {"Code": "090"},
                "Date": str(self.world.today()),
                "Amount": str(amount),
            },
        )
        if answer.status_code == 200:
            for payment in answer.json().get("Payments", []):
                self.au.made_by_other["Payments"].add(payment["PaymentID"])

    @action(pick=st.integers(0, 50))
    def xero_voids(self, pick: int) -> None:
        open_ = [
            r for r in self._our_invoices_in_xero(self.au, "AUTHORISED") if not Decimal(str(r["AmountPaid"]))
        ]
        if not open_:
            return
        self._act("Xero: void")
        record = open_[pick % len(open_)]
        self.world.call(
            self.au.other.post, "Invoices", "Invoices", {"InvoiceID": record["InvoiceID"], "Status": "VOIDED"}
        )

    @action(pick=st.integers(0, 50), amount=st.decimals("10", "900", places=2))
    def xero_creates_invoice(self, pick: int, amount: Decimal) -> None:
        contacts = self._linked(self.au, RecordType.CONTACT)
        if not contacts:
            return
        self._act("Xero: create invoice")
        contact = contacts[pick % len(contacts)]
        answer = self.world.call(
            self.au.other.put,
            "Invoices",
            "Invoices",
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": contact.xero_id},
                "Date": str(self.world.today()),
                "DueDate": str(self.world.today() + timedelta(days=14)),
                "LineItems": [
                    {
                        "Description": "Made in Xero",
                        "Quantity": "1",
                        "UnitAmount": str(amount),
                        "AccountCode": "200",
                        "TaxType": "OUTPUT",
                    }
                ],
                "Status": "DRAFT",
            },
        )
        if answer.status_code == 200:
            for invoice in answer.json().get("Invoices", []):
                self.au.made_by_other["Invoices"].add(invoice["InvoiceID"])

    # -- the system -----------------------------------------------------------------------

    @action(pick=st.integers(0, 3))
    def force_sync(self, pick: int) -> None:
        self._act("Force sync")
        self._sync(self._org(pick), "Force sync")

    @action(pick=st.integers(0, 3))
    def scheduled_sync(self, pick: int) -> None:
        self._act("scheduled sync")
        org = self._org(pick)
        with self.world.database.session() as session:
            queue.enqueue(
                session,
                "sync.auto",
                {"connection_id": org.connection_id},
                workspace_id=self.world.seeded.workspace_id,
                lock_key=sync_lock_key(org.connection_id),
                run_at=self.world.clock.utcnow(),
            )
        self.world.run_jobs()

    @action(how=st.sampled_from(["on time", "twice", "lost"]))
    def webhooks(self, how: str) -> None:
        """Xero's pending events arrive (those held back by earlier steps arrive late),
        arrive twice, or are lost for good."""
        self._act(f"webhooks {how}")
        if how == "lost":
            self.world.lose_webhooks()
            return
        self.world.deliver_webhooks()
        self.world.run_jobs()
        if how == "twice" and self.world.delivered:
            self.world.redeliver(self.world.delivered[-1])
            self.world.run_jobs()

    @action(pick=st.integers(0, 3), webhooks_first=st.booleans())
    def two_workers(self, pick: int, webhooks_first: bool) -> None:
        """Two workers take a scheduled sync and the pending webhooks while a person
        presses Force sync in the API: all three interleave at every call to Xero."""
        self._act("two workers and a Force sync at once")
        org = self._org(pick)
        with self.world.database.session() as session:
            queue.enqueue(
                session,
                "sync.auto",
                {"connection_id": org.connection_id},
                workspace_id=self.world.seeded.workspace_id,
                lock_key=sync_lock_key(org.connection_id),
                run_at=self.world.clock.utcnow(),
            )
        if webhooks_first:
            self.world.deliver_webhooks()
        self.world.concurrently(
            lambda: self.world.api("POST", f"/xero/connections/{org.connection_id}/sync", json={}),
            workers=2,
        )
        self.world.run_jobs()

    @action()
    def run_jobs(self) -> None:
        self._act("run jobs")
        self.world.run_jobs()

    @action(
        available=lambda self: self.faults, kind=st.sampled_from(["503", "500", "timeout", "lost response"])
    )
    def fault(self, kind: str) -> None:
        """Xero fails the next call; the walk then carries on as users would."""
        self._act(f"fault {kind}")
        faults: dict[str, Any] = {
            "503": {"fail_next": [503]},
            "500": {"fail_next": [500]},
            "timeout": {"timeout_next": 1, "timeout_mode": "raise"},
            "lost response": {"drop_after_commit_next": 1},
        }[kind]
        self.world.set_faults(self.au, **faults)
        self.faulty = True

    @action(available=lambda self: NZ not in self.world.orgs, workers=st.integers(1, 2))
    def connect_second_organisation(self, workers: int) -> None:
        """Connect NZ beside AU; its first sync runs on one worker, or on two at once."""
        self._act("connect a second organisation")
        org = self.world.connect(NZ)
        if workers == 1:
            self._sync(org, "second organisation's first sync")
        else:
            self.world.concurrently(
                lambda: self.world.api("POST", f"/xero/connections/{org.connection_id}/sync", json={}),
                workers=2,
            )
            self.world.run_jobs()
        with self.world.database.session() as session:
            runs = session.scalars(select(SyncRun).where(SyncRun.connection_id == org.connection_id)).all()
            failed = [
                (r.trigger, r.status, r.counts, r.error) for r in runs if r.status != RunStatus.SUCCEEDED
            ]
            issues = session.scalars(
                select(SyncIssue).where(SyncIssue.connection_id == org.connection_id)
            ).all()
        assert not failed and not issues, (
            f"the second organisation's first sync failed where nothing was wrong: {failed} "
            f"{[i.message for i in issues][:5]}"
        )

    @action()
    def quiet_sync(self) -> None:
        """Faults clear, webhooks arrive, a full sync of every organisation: then the two
        sides must agree, or the sync log must say why not."""
        self._act("quiet sync")
        self.world.clear_faults()
        self.faulty = False
        self.world.deliver_webhooks()
        self.world.run_jobs()
        for org in list(self.world.orgs.values()):
            self._sync(org, "quiet sync")
        for org in list(self.world.orgs.values()):
            self._sync(org, "quiet sync, second pass")
        self._check(invariants.QUIET_CHECKS)
        self._sent_arrived()

    def _sent_arrived(self) -> None:
        """Every invoice sent via Xero is in Xero after a quiet sync: these walks make only
        valid invoices, so a refusal (a clashing number, an unknown tax type) is a break."""
        with self.world.database.session() as session:
            linked = set(
                session.scalars(select(XeroLink.local_id).where(XeroLink.record_type == RecordType.INVOICE))
            )
            issues = {
                i.local_id: i.message
                for i in session.scalars(select(SyncIssue).where(SyncIssue.record_type == RecordType.INVOICE))
            }
        missing = {i: issues.get(i) for i in self.model.sent - self.model.deleted if i not in linked}
        assert not missing, f"invoices sent via Xero that never arrived: {missing}"

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

    # -- the invariants -------------------------------------------------------------------

    @invariant()
    def invariants_hold(self) -> None:
        if not hasattr(self.world, "orgs"):
            return
        self.world.page("/sync-log")
        self._check(invariants.CHECKS)

    def _check(self, checks: dict[str, invariants.Check]) -> None:
        self.stats.checks += len(checks)
        found = invariants.check(checks, self.world, self.model)
        if found:
            self.stats.violations += found
        assert not found, "\n".join(found)
