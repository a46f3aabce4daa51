"""What happens in Xero, through the sandbox's API as another app (or a bookkeeper in
Xero) would: edit and archive contacts, edit a draft's lines, authorise, pay, part-pay,
void and credit invoices, create invoices and bills. Nothing here passes through our
client, so our sync only learns of it as it would from Xero."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from ledgerbridge.sync.models import RecordType, XeroLink
from tests.model.people import EMAILS
from tests.model.walk import Walk, action
from tests.model.world import Organisation


class XeroSide(Walk):
    def _contacts_not_edited_here(self) -> list[XeroLink]:
        """AU's linked contacts whose clients the walk has not edited here: a change to one
        of those in Xero would be a both-sides conflict, which is not what these steps test."""
        return [
            link
            for link in self._linked(self.au, RecordType.CONTACT)
            if link.local_id not in self.model.local_client_emails
        ]

    @action(pick=st.integers(0, 50), email=EMAILS)
    def xero_edits_contact(self, pick: int, email: str) -> None:
        linked = self._contacts_not_edited_here()
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
        open_ = [r for r in self._our_invoices_in_xero(self.au, "AUTHORISED") if r.get("Type") == "ACCREC"]
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
        self._xero_document(pick, amount, "ACCREC", "Xero: create invoice")

    def _xero_document(self, pick: int, amount: Decimal, kind: str, name: str) -> None:
        """A draft sales invoice (ACCREC) or bill (ACCPAY) made in Xero for a contact we know."""
        contacts = [
            c for c in self._linked(self.au, RecordType.CONTACT) if c.xero_id not in self.model.archived
        ]
        if not contacts:
            return
        self._act(name)
        contact = contacts[pick % len(contacts)]
        line = {
            "Description": "Made in Xero",
            "Quantity": "1",
            "UnitAmount": str(amount),
            "AccountCode": "200" if kind == "ACCREC" else "400",
            "TaxType": "OUTPUT" if kind == "ACCREC" else "INPUT",
        }
        answer = self.world.call(
            self.au.other.put,
            "Invoices",
            "Invoices",
            {
                "Type": kind,
                "Contact": {"ContactID": contact.xero_id},
                "Date": str(self.world.today()),
                "DueDate": str(self.world.today() + timedelta(days=14)),
                "LineItems": [line],
                "Status": "DRAFT",
            },
        )
        if answer.status_code == 200:
            for invoice in answer.json().get("Invoices", []):
                self.au.made_by_other["Invoices"].add(invoice["InvoiceID"])

    @action(pick=st.integers(0, 50))
    def xero_edits_draft_lines(self, pick: int) -> None:
        """A bookkeeper rewords a draft's first line in Xero and adds a line of their own:
        the hours stay charged on the line that carried them."""
        drafts = self._our_invoices_in_xero(self.au, "DRAFT")
        if not drafts:
            return
        self._act("Xero: edit a draft's lines")
        record = drafts[pick % len(drafts)]
        # The sandbox's stored lines hold Decimals; another app sends them as JSON would.
        lines = json.loads(json.dumps(record.get("LineItems", []), default=str))
        if not lines:
            return
        lines[0]["Description"] = f"{lines[0].get('Description') or ''} (reviewed)"[:4000]
        lines.append(
            {
                "Description": "Parking",
                "Quantity": "1",
                "UnitAmount": "12.50",
                "AccountCode": "200",
                "TaxType": "OUTPUT",
            }
        )
        self.world.call(
            self.au.other.post, "Invoices", "Invoices", {"InvoiceID": record["InvoiceID"], "LineItems": lines}
        )

    @action(pick=st.integers(0, 50))
    def xero_archives_contact(self, pick: int) -> None:
        """A contact archived in Xero (not the one this walk invoices, whose archiving the
        walk's own documents would then meet: see ``model.archived``)."""
        linked = self._contacts_not_edited_here()
        if not linked:
            return
        self._act("Xero: archive contact")
        link = linked[pick % len(linked)]
        answer = self.world.call(
            self.au.other.post,
            "Contacts",
            "Contacts",
            {"ContactID": link.xero_id, "ContactStatus": "ARCHIVED"},
        )
        if answer.status_code == 200:
            self.model.archived.add(link.xero_id)

    @action(pick=st.integers(0, 50), amount=st.decimals("10", "900", places=2))
    def xero_creates_bill(self, pick: int, amount: Decimal) -> None:
        self._xero_document(pick, amount, "ACCPAY", "Xero: create bill")

    @action(pick=st.integers(0, 50), share=st.sampled_from([Decimal("0.25"), Decimal("1")]))
    def xero_credits_invoice(self, pick: int, share: Decimal) -> None:
        """A credit note made in Xero and allocated to one of our authorised invoices."""
        open_ = [r for r in self._our_invoices_in_xero(self.au, "AUTHORISED") if r.get("Type") == "ACCREC"]
        if not open_:
            return
        self._act("Xero: credit an invoice")
        record = open_[pick % len(open_)]
        amount = (Decimal(str(record["AmountDue"])) * share).quantize(Decimal("0.01"))
        if amount <= 0:
            return
        made = self.world.call(
            self.au.other.put,
            "CreditNotes",
            "CreditNotes",
            {
                "Type": "ACCRECCREDIT",
                "Contact": {"ContactID": record["_ContactID"]},  # as the sandbox stores it
                "Date": str(self.world.today()),
                "LineAmountTypes": "Inclusive",
                "Status": "AUTHORISED",
                "LineItems": [
                    {
                        "Description": "Goodwill",
                        "Quantity": "1",
                        "UnitAmount": str(amount),
                        "AccountCode": "200",
                        "TaxType": "OUTPUT",
                    }
                ],
            },
        )
        if made.status_code != 200:
            return
        [credit_note] = made.json()["CreditNotes"]
        self.world.call(
            self.au.other.put_at,
            f"CreditNotes/{credit_note['CreditNoteID']}/Allocations",
            "Allocations",
            {
                "Invoice": {"InvoiceID": record["InvoiceID"]},
                "Amount": str(amount),
                "Date": str(self.world.today()),
            },
        )
