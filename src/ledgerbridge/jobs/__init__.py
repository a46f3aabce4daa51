"""Background jobs: a queue in the database, an in-process runner, and the scheduler."""
