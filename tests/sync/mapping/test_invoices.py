"""Invoices and bills: a summary (no ``LineItems``) is never an invoice without lines."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerbridge.sync.mapping import invoices as mapping
from tests.sync.mapping.strategies import days, ids, line_amount_types, line_items, without, words

invoices = st.fixed_dictionaries(
    {
        "InvoiceID": ids,
        "Type": st.sampled_from(["ACCREC", "ACCPAY"]),
        "Contact": st.fixed_dictionaries({"ContactID": ids}),
        "InvoiceNumber": words,
        "Date": days,
        "DueDate": days,
        "Status": st.sampled_from(["DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"]),
        "LineAmountTypes": line_amount_types,
        "CurrencyCode": st.sampled_from(["AUD", "NZD"]),
        "Reference": words,
        "LineItems": line_items,
    }
)


@settings(max_examples=200)
@given(record=invoices)
def test_a_summary_has_no_lines_rather_than_empty_ones(record: dict[str, Any]) -> None:
    detailed = mapping.remote_fields(record)
    summary = mapping.remote_fields(without(record, ["LineItems"]))
    assert len(detailed["lines"]) == len(record["LineItems"])  # a full read's lines, even none
    assert detailed.keys() >= mapping.DETAIL_FIELDS
    assert "lines" not in summary
    assert summary == {k: v for k, v in detailed.items() if k not in mapping.DETAIL_FIELDS}
