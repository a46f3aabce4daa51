"""What people do here, on the work side, through our API as the owner: track and edit
time, build invoices and bills from hours, edit and approve them, Send via Xero, record
payments, credit invoices, raise purchase orders, save clients, switch auto-sync, invite
Xero contacts in as members, and Retry from the sync log."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import strategies as st
from sqlalchemy import select

from ledgerbridge.sync.models import RecordType, SyncIssue, XeroLink
from ledgerbridge.work.models import InvoiceStatus, TimeEntry
from tests.model.walk import Walk, action

NAMES = st.sampled_from(["Coogee Cafe", "Manly Ferries", "Glebe Books", "Newtown Bikes", "Bondi Surf Co"])
EMAILS = st.sampled_from(["a@x.example.com", "b@x.example.com", "accounts@y.example.com"])
SHARES = st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal("1")])


class People(Walk):
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
            if self.auto_sync and not self.faulty:
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

    @action(pick=st.integers(0, 200), minutes=st.integers(15, 480))
    def edit_time(self, pick: int, minutes: int) -> None:
        """Change an entry's hours: refused once an invoice or bill charges them, whatever
        became of that document since (an hour is charged once, as it was)."""
        with self.world.database.session() as session:
            ids = list(session.scalars(select(TimeEntry.id).order_by(TimeEntry.created_at, TimeEntry.id)))
        if not ids:
            return
        self._act("edit time")
        entry_id = ids[pick % len(ids)]
        held = (
            {
                self.model.invoiced.get(entry_id),
                self.model.billed.get(entry_id),
            }
            - {None}
            - self.model.deleted
        )
        answer = self.world.api("PATCH", f"/time-entries/{entry_id}", json={"duration_minutes": minutes})
        if held:
            assert answer.status_code == 409, (
                f"time entry {entry_id}, charged on {held}, was changed: {answer.status_code} {answer.text}"
            )
        else:
            assert answer.status_code in (200, 409, 422), answer.text

    @action(pick=st.integers(0, 50), share=SHARES)
    def credit_invoice(self, pick: int, share: Decimal) -> None:
        """A credit note for part of an open invoice, approved and allocated to it."""
        invoices = [
            i
            for i in self._local_invoices(
                InvoiceStatus.APPROVED, InvoiceStatus.SENT, InvoiceStatus.PARTLY_PAID
            )
            if i.kind == "sales"
        ]
        if not invoices:
            return
        self._act("credit an invoice")
        invoice = self.world.api("GET", f"/invoices/{invoices[pick % len(invoices)].id}").json()
        amount = (Decimal(invoice["amount_due"]) * share).quantize(Decimal("0.01"))
        if amount <= 0:
            return
        made = self.world.api(
            "POST",
            "/credit-notes",
            json={
                "client_id": invoice["client_id"],
                "line_amount_type": "inclusive",
                "lines": [
                    {
                        "description": f"Credit on {invoice['number']}",
                        "unit_amount": str(amount),
                        "account_code": "200",  # the form offers the imported accounts
                        "tax_type": "OUTPUT",
                    }
                ],
            },
        )
        assert made.status_code in (201, 409, 422), made.text
        if made.status_code != 201:
            return
        credit_note = made.json()
        approved = self.world.api("PATCH", f"/credit-notes/{credit_note['id']}", json={"status": "approved"})
        assert approved.status_code in (200, 409, 422), approved.text
        self.model.expected[credit_note["id"]] = RecordType.CREDIT_NOTE
        allocated = self.world.api(
            "POST",
            f"/credit-notes/{credit_note['id']}/allocations",
            json={"invoice_id": invoice["id"], "amount": str(amount)},
        )
        assert allocated.status_code in (201, 409, 422), allocated.text

    @action(quantity=st.integers(1, 40), unit=st.decimals("5", "200", places=2))
    def raise_purchase_order(self, quantity: int, unit: Decimal) -> None:
        """A purchase order to the supplier, submitted: it goes to the supplier's organisation."""
        self._act("raise a purchase order")
        made = self.world.api(
            "POST",
            "/purchase-orders",
            json={
                "client_id": self.world.seeded.supplier_id,
                "lines": [
                    {"description": "Printer paper", "quantity": str(quantity), "unit_amount": str(unit)}
                ],
            },
        )
        assert made.status_code in (201, 409, 422), made.text
        if made.status_code == 201:
            self.model.expected[made.json()["id"]] = RecordType.PURCHASE_ORDER
            submitted = self.world.api(
                "PATCH", f"/purchase-orders/{made.json()['id']}", json={"status": "submitted"}
            )
            assert submitted.status_code in (200, 409, 422), submitted.text

    @action(on=st.booleans())
    def switch_auto_sync(self, on: bool) -> None:
        """Contacts' auto-sync switched off (for a clean-up) or on again: what is saved while
        it is off waits, and goes at the next Force sync or once it is on again."""
        self._act(f"auto-sync of contacts {'on' if on else 'off'}")
        answer = self.world.api(
            "PUT", f"/xero/connections/{self.au.connection_id}/settings", json={"auto_sync": {"contact": on}}
        )
        assert answer.status_code == 200, answer.text
        self.auto_sync = on
