"""Everything that speaks Xero: OAuth, the token vault, the one client and its limits."""
