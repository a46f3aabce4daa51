"""ledgerbridge: keep a team's work data and its Xero books in step."""

__version__ = "0.1.0"
