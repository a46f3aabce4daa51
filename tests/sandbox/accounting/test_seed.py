"""The accounting seeder: realistic, per-country, reproducible, fast, and persistable."""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from ledgerbridge.money import LineAmountType, PricedLine, document_totals
from ledgerbridge.sandbox import SandboxClock, SandboxConfig, SandboxState
from ledgerbridge.sandbox.accounting import register
from ledgerbridge.sandbox.accounting.documents import LINE_AMOUNT_TYPES
from ledgerbridge.sandbox.extensions import SandboxExtensions
from ledgerbridge.sandbox.models import Organisation
from ledgerbridge.sandbox.seeding import OrganisationSpec, seed
from tests.sandbox.accounting.conftest import START


def _seed(spec: OrganisationSpec, sizes: dict[str, int], path: Path | None = None
          ) -> tuple[SandboxState, Organisation]:
    state = SandboxState(SandboxConfig(), clock=SandboxClock(speed=0, start=START), path=path)
    (org,) = seed(state, register(SandboxExtensions()), [spec], sizes)
    return state, org


def test_au_organisation_gets_a_realistic_book() -> None:
    _, org = _seed(OrganisationSpec("AU Co", tenant_id="11111111-1111-4111-8111-111111111111"),
                   {"contacts": 200, "invoices": 150})
    codes = {a["Code"]: a for a in org.records("Accounts").values()}
    for code in ("200", "260", "400", "404", "429", "477", "090", "610", "800", "820"):
        assert code in codes
    assert codes["090"]["EnablePaymentsToAccount"] is True
    assert set(org.records("TaxRates")) >= {"OUTPUT", "INPUT", "EXEMPTOUTPUT", "EXEMPTEXPENSES",
                                            "BASEXCLUDED", "GSTONIMPORTS"}
    assert set(org.records("Currencies")) == {"AUD", "USD", "NZD"}
    assert len(org.records("BrandingThemes")) == 2
    contacts = list(org.records("Contacts").values())
    assert len(contacts) == 200
    assert len({c["Name"].casefold() for c in contacts}) == 200
    assert any(c["ContactStatus"] == "ARCHIVED" for c in contacts)
    assert any(c["IsCustomer"] for c in contacts) and any(c["IsSupplier"] for c in contacts)
    invoices = list(org.records("Invoices").values())
    assert len(invoices) == 150
    assert {i["Type"] for i in invoices} == {"ACCREC", "ACCPAY"}
    statuses = Counter(i["Status"] for i in invoices)
    assert {"DRAFT", "AUTHORISED", "PAID"} <= set(statuses)
    for invoice in invoices:
        kind = LINE_AMOUNT_TYPES[invoice["LineAmountTypes"].lower()][1]
        rates = {t: org.records("TaxRates")[t]["EffectiveRate"] for t in org.records("TaxRates")}
        expected = document_totals([PricedLine(line["Quantity"], line["UnitAmount"],
                                               rates[line["TaxType"]])
                                    for line in invoice["LineItems"]], kind)
        assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"]) == (
            expected.sub_total, expected.total_tax, expected.total)
        if invoice["Status"] == "PAID":
            assert invoice["AmountDue"] == Decimal("0.00") and invoice["_PaymentIDs"]
    assert kind in LineAmountType


def test_other_countries_get_their_own_tax_rates() -> None:
    _, org = _seed(OrganisationSpec("NZ Co", "NZ", "NZD"), {"contacts": 5, "invoices": 5})
    assert {"OUTPUT2", "INPUT2", "NONE"} <= set(org.records("TaxRates"))
    assert "OUTPUT" not in org.records("TaxRates")
    sales = next(a for a in org.records("Accounts").values() if a["Code"] == "200")
    assert sales["TaxType"] == "OUTPUT2"
    assert org.records("TaxRates")["OUTPUT2"]["EffectiveRate"] == Decimal("15.0000")


def test_seeding_is_reproducible_per_tenant() -> None:
    spec = OrganisationSpec("Same", tenant_id="22222222-2222-4222-8222-222222222222")
    _, first = _seed(spec, {"contacts": 50, "invoices": 10})
    _, second = _seed(spec, {"contacts": 50, "invoices": 10})
    assert list(first.records("Contacts")) == list(second.records("Contacts"))


def test_seeded_records_survive_the_sqlite_store(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite"
    state, org = _seed(OrganisationSpec("Stored"), {"contacts": 20, "invoices": 20}, path)
    invoices = dict(org.records("Invoices"))
    state.close()
    reloaded = SandboxState(SandboxConfig(), clock=SandboxClock(speed=0, start=START), path=path)
    again = reloaded.orgs[org.tenant_id].records("Invoices")
    assert dict(again) == invoices
    reloaded.close()


def test_100k_contacts_seed_quickly() -> None:
    started = time.perf_counter()
    _, org = _seed(OrganisationSpec("Big"), {"contacts": 100_000, "invoices": 100})
    elapsed = time.perf_counter() - started
    assert len(org.records("Contacts")) == 100_000
    assert elapsed < 30, f"seeding 100,000 contacts took {elapsed:.1f} s"
