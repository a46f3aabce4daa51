"""Shared fixtures: a migrated database on each backend, the app, and realistic data.

Every test that takes ``database`` runs twice: on SQLite and on PostgreSQL. The schema is
built by the Alembic migrations themselves, so they are tested on both backends too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ledgerbridge.db import Base, Database, make_engine
from ledgerbridge.migrations import upgrade
from ledgerbridge.settings import Settings
from ledgerbridge.web.app import create_app
from tests.factories import Seeded, seed_workspace

POSTGRES_URL = os.environ.get(
    "LEDGERBRIDGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_available() -> bool:
    try:
        engine = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


def _postgres_schema_url(worker: str) -> tuple[str, str]:
    """A private schema per test process, so parallel workers and concurrent runs on one
    server never share (or drop) each other's tables."""
    schema = f"lb_test_{worker}_{os.getpid()}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}", schema


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (``@pytest.mark.anyio``) run on asyncio, like the service."""
    return "asyncio"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        upgrade(url)
        yield url
        return
    if not _postgres_available():
        if IN_CI:
            pytest.fail(f"PostgreSQL did not answer at {POSTGRES_URL}; CI must test on it.")
        pytest.skip("PostgreSQL is not running here (it is required in CI).")
    url, schema = _postgres_schema_url(worker_id)
    upgrade(url)
    yield url
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated, empty database; every row a test wrote is removed afterwards."""
    db = Database.from_url(database_url)
    yield db
    with db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    db.engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # Jobs run when a test runs them, never behind its back in the web app's lifespan.
    return Settings(data_dir=tmp_path, database_url=database_url, log_level="WARNING", run_jobs_in_web=False)


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


@pytest.fixture
def seeded(database: Database) -> Seeded:
    """An AU consultancy with an owner, an admin, a member, API tokens and some work data."""
    with database.session() as session:
        return seed_workspace(session, "Harbour Digital Pty Ltd")


@pytest.fixture
def owner(client: TestClient, seeded: Seeded) -> TestClient:
    """The test client, authenticated as the workspace owner's API token."""
    client.headers["Authorization"] = f"Bearer {seeded.owner_token}"
    return client
