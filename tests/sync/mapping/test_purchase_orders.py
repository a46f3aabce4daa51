"""Purchase orders: an order read without ``LineItems`` is never an order without lines."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerbridge.sync.mapping import purchase_orders as mapping
from tests.sync.mapping.strategies import days, ids, line_amount_types, line_items, without, words

orders = st.fixed_dictionaries(
    {
        "PurchaseOrderID": ids,
        "Contact": st.fixed_dictionaries({"ContactID": ids}),
        "PurchaseOrderNumber": words,
        "Reference": words,
        "Date": days,
        "DeliveryDate": days,
        "DeliveryAddress": words,
        "AttentionTo": words,
        "Status": st.sampled_from(["DRAFT", "SUBMITTED", "AUTHORISED", "BILLED", "DELETED"]),
        "LineAmountTypes": line_amount_types,
        "CurrencyCode": st.just("AUD"),
        "LineItems": line_items,
    }
)


@settings(max_examples=200)
@given(record=orders)
def test_a_summary_has_no_lines_rather_than_empty_ones(record: dict[str, Any]) -> None:
    detailed = mapping.remote_fields(record)
    summary = mapping.remote_fields(without(record, ["LineItems"]))
    assert len(detailed["lines"]) == len(record["LineItems"]) and detailed.keys() >= mapping.DETAIL_FIELDS
    assert summary == {k: v for k, v in detailed.items() if k not in mapping.DETAIL_FIELDS}
