"""Contacts: a summary (``summaryOnly``: no ``Phones`` or ``Addresses``) never clears the
client's phone or address."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerbridge.sync.mapping import contacts as mapping
from tests.sync.mapping.strategies import ids, without, words

DETAIL = {"Phones": {"phone"}, "Addresses": set(mapping.ADDRESS_FIELDS)}

contacts = st.fixed_dictionaries(
    {
        "ContactID": ids,
        "Name": words,
        "ContactStatus": st.sampled_from(["ACTIVE", "ARCHIVED"]),
        "EmailAddress": words,
        "Phones": st.lists(
            st.fixed_dictionaries(
                {"PhoneType": st.sampled_from(["DEFAULT", "MOBILE", "FAX"]), "PhoneNumber": words}
            ),
            max_size=3,
        ),
        "Addresses": st.lists(
            st.fixed_dictionaries(
                {
                    "AddressType": st.sampled_from(["STREET", "POBOX"]),
                    "AddressLine1": words,
                    "City": words,
                    "Region": words,
                    "PostalCode": words,
                    "Country": words,
                }
            ),
            max_size=2,
        ),
    }
)


@settings(max_examples=200)
@given(record=contacts, unread=st.sets(st.sampled_from(sorted(DETAIL)), min_size=1))
def test_a_summary_leaves_out_what_it_did_not_read(record: dict[str, Any], unread: set[str]) -> None:
    detailed = mapping.local_fields(record)
    summary = mapping.local_fields(without(record, unread))
    assert detailed.keys() >= mapping.DETAIL_FIELDS
    left_out = set().union(*(DETAIL[name] for name in unread))
    assert not left_out & summary.keys()
    assert summary == {k: v for k, v in detailed.items() if k not in left_out}
