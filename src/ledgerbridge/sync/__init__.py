"""Moving records between the work side and Xero: links, outbox, cursors, runs and log."""
