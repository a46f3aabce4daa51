"""Xero records as the API sends them in full (paged reads, single GETs), for the mapping
properties: each mapping must read a summary (the same record without its detail lists)
as "these fields not read", never as "these lists are empty"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

ids = st.uuids().map(str)
words = st.text(st.characters(codec="ascii", categories=["L", "N", "Zs"]), min_size=1, max_size=20)
days = st.dates().map(lambda d: f"{d.isoformat()}T00:00:00")
amounts = st.decimals(min_value=0, max_value=100_000, places=4).map(str)

line_items = st.lists(
    st.fixed_dictionaries(
        {"Description": words, "Quantity": amounts, "UnitAmount": amounts},
        optional={
            "AccountCode": st.sampled_from(["200", "310", "400"]),
            "TaxType": st.sampled_from(["OUTPUT", "INPUT", "EXEMPTOUTPUT"]),
            "ItemCode": words,
            "Tracking": st.lists(st.fixed_dictionaries({"Name": words, "Option": words}), max_size=2),
        },
    ),
    max_size=4,
)
"""Any set of lines, none included: a full read of a document without lines says ``[]``."""

line_amount_types = st.sampled_from(["Exclusive", "Inclusive", "NoTax"])


def without(record: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The record as a summary read gives it: these detail fields left out."""
    dropped = set(names)
    return {name: value for name, value in record.items() if name not in dropped}
