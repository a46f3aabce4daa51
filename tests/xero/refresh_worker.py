"""Runs in a separate process: several coroutines all ask for the same grant's token."""

from __future__ import annotations

import asyncio
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from pydantic import SecretStr

from ledgerbridge.db import Database
from ledgerbridge.settings import Settings
from ledgerbridge.xero.services import XeroServices


async def _race(settings: Settings, grant_id: str, callers: int) -> list[str]:
    database = Database.from_url(settings.resolved_database_url)
    services = XeroServices.build(settings, database)
    try:
        return list(await asyncio.gather(*(services.tokens.access_token(grant_id) for _ in range(callers))))
    finally:
        await services.aclose()
        database.engine.dispose()


def run(
    settings_json: str, client_secret: str, grant_id: str, callers: int, barrier: Barrier, results: Queue[Any]
) -> None:
    settings = Settings.model_validate_json(settings_json).model_copy(
        update={"xero_client_secret": SecretStr(client_secret)}
    )
    barrier.wait(timeout=60)
    try:
        results.put(("ok", asyncio.run(_race(settings, grant_id, callers))))
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put(("error", f"{type(exc).__name__}: {exc}"))
