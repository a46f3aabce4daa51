"""Xero's period-mismatch wording as the tests expect to read it (kept apart from the
implementation's constant so a typo in either shows up)."""

PERIOD_TEXT = "Provided period doesn't correspond with a pay period"
