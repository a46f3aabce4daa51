"""One module per record type: the local record <-> Xero payload, pure (no I/O)."""
