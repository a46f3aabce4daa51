"""The wizard's suggestions, found through an index of the choices by key: the same rules
as comparing every pair (email first, then the normalised name, only a unique match)."""

from __future__ import annotations

from ledgerbridge.payroll.mappings import Choice, Suggestion, _employee_suggester, _name_suggester
from ledgerbridge.work.models import Member


def employee(xero_id: str, name: str, email: str | None = None) -> Choice:
    return Choice(xero_id, name, {"email": email})


def member(name: str, email: str | None = None) -> Member:
    return Member(workspace_id="w", name=name, email=email)


def test_the_same_email_wins_then_a_unique_name_and_never_an_ambiguous_one() -> None:
    free = [
        employee("e1", "Mia Chen", "MIA@example.com "),
        employee("e2", "Mia Chen", "other@example.com"),
        employee("e3", "Chén, Liam"),
        employee("e4", "Ana Cruz", "ana@example.com"),
        employee("e5", "Ana Cruz", "ana@example.com"),
    ]
    suggest = _employee_suggester(free)
    assert suggest(member("Someone", "mia@EXAMPLE.com")) == Suggestion("e1", "Mia Chen", "email")
    assert suggest(member("Mia Chen")) is None  # two employees of that name
    assert suggest(member("liam chen")) == Suggestion("e3", "Chén, Liam", "name")
    assert suggest(member("Liam Chen", "ana@example.com")) == Suggestion("e3", "Chén, Liam", "name")
    assert suggest(member("Nobody", "")) is None


def test_names_match_ignoring_case_accents_and_order_only_when_unique() -> None:
    options = [Choice("o1", "Design Work"), Choice("o2", "work, design"), Choice("o3", "Hosting")]
    suggest = _name_suggester(options)
    assert suggest(member("hosting")) == Suggestion("o3", "Hosting", "name")
    assert suggest(member("Design work")) is None
    assert suggest(member("")) is None
