"""What a line here carries follows it through a bookkeeper's edits in Xero
(``continued_lines``): never onto two lines, and not lost through a reword, a move, or
lines added or removed around it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledgerbridge.sync.mapping.document_lines import continued_lines

descriptions = st.lists(st.sampled_from(["Design", "Build", "Review", "Parking", ""]), max_size=6)


@given(old=descriptions, new=descriptions)
def test_a_line_here_is_continued_at_most_once_and_only_by_its_text_or_place(
    old: list[str], new: list[str]
) -> None:
    continued = continued_lines(old, new)
    assert len(continued) == len(new)
    matched = [m for m in continued if m is not None]
    assert len(matched) == len(set(matched)), "one line's time entries would be on two lines"
    for index, match in enumerate(continued):
        if match is not None:
            assert old[match] == new[index] or (match == index and old[match] not in new)


@given(old=descriptions)
def test_unchanged_lines_continue_themselves(old: list[str]) -> None:
    assert continued_lines(old, old) == list(range(len(old)))


@given(
    old=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=6, unique=True),
    data=st.data(),
)
def test_a_reword_in_place_then_a_line_added_keeps_the_reworded_line(
    old: list[str], data: st.DataObject
) -> None:
    """The walk's break: a draft's first line reworded in Xero ("(reviewed)") and a line of
    the bookkeeper's own added freed the hours the first line charged."""
    index = data.draw(st.integers(0, len(old) - 1))
    new = [*old]
    new[index] = f"{old[index]} (reviewed)"
    new.append("Parking")
    continued = continued_lines(old, new)
    assert continued[: len(old)] == list(range(len(old)))


@given(old=st.lists(st.text(min_size=1, max_size=8), min_size=2, max_size=6, unique=True), data=st.data())
def test_moved_and_removed_lines(old: list[str], data: st.DataObject) -> None:
    """A moved line keeps what it carries; a removed line's is free again (no line has it)."""
    gone = data.draw(st.integers(0, len(old) - 1))
    new = [d for i, d in enumerate(old) if i != gone][::-1]
    continued = continued_lines(old, new)
    assert [old[m] for m in continued if m is not None] == new
    assert gone not in continued
