"""Credit notes: a summary (no ``LineItems`` or ``Allocations``) never reads as a note
without lines or allocations."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerbridge.sync.mapping import credit_notes as mapping
from tests.sync.mapping.strategies import amounts, days, ids, line_amount_types, line_items, without, words

DETAIL = {"LineItems": "lines", "Allocations": "allocations"}

notes = st.fixed_dictionaries(
    {
        "CreditNoteID": ids,
        "Type": st.sampled_from(["ACCRECCREDIT", "ACCPAYCREDIT"]),
        "Contact": st.fixed_dictionaries({"ContactID": ids}),
        "CreditNoteNumber": words,
        "Reference": words,
        "Date": days,
        "Status": st.sampled_from(["DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"]),
        "LineAmountTypes": line_amount_types,
        "CurrencyCode": st.just("AUD"),
        "LineItems": line_items,
        "Allocations": st.lists(
            st.fixed_dictionaries({"AllocationID": ids, "Amount": amounts, "Date": days}), max_size=3
        ),
    }
)


@settings(max_examples=200)
@given(record=notes, unread=st.sets(st.sampled_from(sorted(DETAIL)), min_size=1))
def test_a_summary_leaves_out_what_it_did_not_read(record: dict[str, Any], unread: set[str]) -> None:
    detailed = mapping.remote_fields(record)
    summary = mapping.remote_fields(without(record, unread))
    assert set(DETAIL.values()) == mapping.DETAIL_FIELDS and detailed.keys() >= mapping.DETAIL_FIELDS
    assert len(detailed["lines"]) == len(record["LineItems"])
    assert len(detailed["allocations"]) == len(record["Allocations"])
    left_out = {DETAIL[name] for name in unread}
    assert not left_out & summary.keys()
    assert summary == {k: v for k, v in detailed.items() if k not in left_out}
