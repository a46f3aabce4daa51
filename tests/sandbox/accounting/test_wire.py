"""The wire format and the query language, without HTTP."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerbridge.sandbox.accounting import wire
from ledgerbridge.sandbox.accounting.query import QueryError, compile_where, paginate, parse_order


def test_dates_out_use_microsoft_format() -> None:
    assert wire.ms_date(date(2019, 3, 11)) == "/Date(1552262400000+0000)/"
    moment = datetime(2019, 3, 11, 17, 58, 46, 117000, tzinfo=UTC)
    assert wire.ms_timestamp(moment) == "/Date(1552327126117+0000)/"
    assert wire.envelope_time(moment) == "/Date(1552327126117)/"


@pytest.mark.parametrize("text", [
    "2019-03-11", "2019-03-11T00:00:00", "2019-03-11T00:00:00Z", "/Date(1552262400000)/",
    "/Date(1552262400000+0000)/", "\\/Date(1552262400000+1300)\\/", "2019-03-11T09:30:00+10:00",
])
def test_every_accepted_input_date_form(text: str) -> None:
    assert wire.parse_date(text) == date(2019, 3, 11)


def test_bad_dates_are_refused() -> None:
    with pytest.raises(wire.WireError):
        wire.parse_date("11/03/2019")


@pytest.mark.parametrize("header", [
    "2020-02-06T12:17:43.202-08:00", "2020-02-06T12:17:43.202000-08:00",
    "Thu, 06 Feb 2020 20:17:43 GMT", "2020-02-06T20:17:43",
])
def test_if_modified_since_forms(header: str) -> None:
    parsed = wire.parse_if_modified_since(header)
    assert parsed is not None
    assert parsed.replace(microsecond=0) == datetime(2020, 2, 6, 20, 17, 43, tzinfo=UTC)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)))
def test_timestamps_round_trip_to_the_millisecond(moment: datetime) -> None:
    aware = moment.replace(tzinfo=UTC, microsecond=moment.microsecond // 1000 * 1000)
    assert wire.parse_datetime(wire.ms_timestamp(aware)) == aware


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2))
def test_money_is_written_exactly(amount: Decimal) -> None:
    text = wire.dumps({"Total": amount})
    assert json.loads(text, parse_float=Decimal)["Total"] == amount
    assert text == '{"Total":' + format(amount, "f").replace("-0.00", "0.00") + "}"


def test_decimal_scale_is_kept_and_booleans_are_real() -> None:
    assert wire.dumps({"A": Decimal("40.00"), "Q": Decimal("2.0000"), "B": True, "N": None}) == \
        '{"A":40.00,"Q":2.0000,"B":true,"N":null}'


def test_bodies_parse_numbers_as_decimal() -> None:
    assert wire.read_json(b'{"Amount": 0.1}') == {"Amount": Decimal("0.1")}


def test_booleans_in_queries_ignore_case() -> None:
    assert wire.parse_bool("True") and wire.parse_bool("true") and not wire.parse_bool("False")


RECORDS = [
    {"Name": "Alpha Ltd", "Status": "ACTIVE", "Total": Decimal("10.00"), "EmailAddress": None,
     "Date": date(2020, 1, 5), "IsCustomer": True,
     "Contact": {"ContactID": "6D2E8F7A-0000-4000-8000-000000000001"}},
    {"Name": "beta co", "Status": "ARCHIVED", "Total": Decimal("250.50"),
     "EmailAddress": "ap@beta.example", "Date": date(2019, 12, 31), "IsCustomer": False,
     "Contact": {"ContactID": "6d2e8f7a-0000-4000-8000-000000000002"}},
]


@pytest.mark.parametrize(("expression", "names"), [
    ('Name=="Alpha Ltd"', ["Alpha Ltd"]),
    ('Name == "alpha ltd"', []),
    ('Name.ToLower()=="alpha ltd"', ["Alpha Ltd"]),
    ('Name.Contains("co")', ["beta co"]),
    ('Name.StartsWith("Al") OR Name.EndsWith("co")', ["Alpha Ltd", "beta co"]),
    ('Status!="ARCHIVED"', ["Alpha Ltd"]),
    ("Total>100", ["beta co"]),
    ("Total<=10.00 && IsCustomer==true", ["Alpha Ltd"]),
    ("Date>=DateTime(2020,01,01)", ["Alpha Ltd"]),
    ("Date<DateTime(2020, 1, 1, 0, 0, 0)", ["beta co"]),
    ("EmailAddress!=null&&EmailAddress.StartsWith(\"ap\")", ["beta co"]),
    ("EmailAddress==null", ["Alpha Ltd"]),
    ('Contact.ContactID==Guid("6d2e8f7a-0000-4000-8000-000000000001")', ["Alpha Ltd"]),
    ('Contact.ContactID=Guid("6D2E8F7A-0000-4000-8000-000000000002")', ["beta co"]),
    ('(Status=="ACTIVE" OR Total>200) AND NOT IsCustomer==true', ["beta co"]),
    ("name==\"beta co\"", ["beta co"]),
])
def test_where_expressions(expression: str, names: list[str]) -> None:
    predicate = compile_where(expression)
    assert [r["Name"] for r in RECORDS if predicate(r)] == names


@pytest.mark.parametrize("expression", ['Name=="x', "Total>>1", 'Nope=="x"', "Name.Frob()",
                                        "DateTime(2020,13,1)==Date"])
def test_bad_where_is_a_query_error(expression: str) -> None:
    with pytest.raises(QueryError):
        compile_where(expression, {"Name", "Total", "Date"}, "Contact")


def test_unknown_field_message_names_the_type() -> None:
    with pytest.raises(QueryError, match="No property or field 'Hi' exists in type 'Contact'"):
        compile_where('Hi=="x"', {"Name"}, "Contact")


def test_order_and_paging() -> None:
    keys = parse_order("Total DESC, Name")
    assert [(k.path, k.descending) for k in keys] == [(("Total",), True), (("Name",), False)]
    page = paginate([{"n": n} for n in range(250)], 3, 100)
    assert len(page.items) == 50
    assert page.pagination == {"page": 3, "pageSize": 100, "pageCount": 3, "itemCount": 250}
