"""Optional persistence of the sandbox to its own SQLite file.

The sandbox works on in-memory objects; this store is a write-behind copy of them, flushed
at the end of every state transaction, and loaded on start. Two tables: ``documents`` (one
JSON document per app, user, grant, connection, refresh token, organisation and setting)
and ``records`` (one row per Xero record, so seeding 100,000 contacts stays cheap to
update one at a time). JSON keeps ``Decimal``, ``datetime`` and ``date`` values exact
through a tagged encoding, because money in records is ``Decimal`` and must never pass
through float.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["SqliteStore", "decode", "encode"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS records (
    tenant_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    record_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant_id, collection, record_id)
);
"""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in the sandbox")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "$decimal" in obj:
            return Decimal(obj["$decimal"])
        if "$datetime" in obj:
            return datetime.fromisoformat(obj["$datetime"])
        if "$date" in obj:
            return date.fromisoformat(obj["$date"])
    return obj


def encode(value: Any) -> str:
    """JSON text that ``decode`` turns back into equal values, Decimals included."""
    return json.dumps(value, default=_default, separators=(",", ":"))


def decode(text: str) -> Any:
    return json.loads(text, object_hook=_hook)


DocWrite = tuple[str, str, Any | None]
RecordWrite = tuple[str, str, str, Any | None]


class SqliteStore:
    """The SQLite file behind one sandbox. ``None`` as a body means delete."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def documents(self) -> Iterator[tuple[str, str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT kind, key, body FROM documents").fetchall()
        for kind, key, body in rows:
            yield kind, key, decode(body)

    def records(self) -> Iterator[tuple[str, str, str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT tenant_id, collection, record_id, body FROM records"
            ).fetchall()
        for tenant_id, collection, record_id, body in rows:
            yield tenant_id, collection, record_id, decode(body)

    def write(self, docs: Iterable[DocWrite], records: Iterable[RecordWrite]) -> None:
        """Apply a batch of upserts and deletes in one SQLite transaction."""
        with self._lock, self._db:
            for kind, key, body in docs:
                if body is None:
                    self._db.execute("DELETE FROM documents WHERE kind=? AND key=?", (kind, key))
                else:
                    self._db.execute(
                        "INSERT OR REPLACE INTO documents (kind, key, body) VALUES (?, ?, ?)",
                        (kind, key, encode(body)),
                    )
            for tenant_id, collection, record_id, body in records:
                if body is None:
                    self._db.execute(
                        "DELETE FROM records WHERE tenant_id=? AND collection=? AND record_id=?",
                        (tenant_id, collection, record_id),
                    )
                else:
                    self._db.execute(
                        "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)",
                        (tenant_id, collection, record_id, encode(body)),
                    )

    def clear(self) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM documents")
            self._db.execute("DELETE FROM records")

    def close(self) -> None:
        with self._lock:
            self._db.close()
