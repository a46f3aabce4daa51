"""The command line, run in-process against the test database of each backend."""

from __future__ import annotations

import os
import re
import stat
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import typer
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

import ledgerbridge.cli
from ledgerbridge import __version__
from ledgerbridge.cli import app
from ledgerbridge.db import Database
from ledgerbridge.keys import KeyFileError, load_or_create_key
from ledgerbridge.settings import Settings, get_settings
from ledgerbridge.web.app import create_app
from ledgerbridge.work import users
from ledgerbridge.work.demo import DEMO_EMAIL, DEMO_PASSWORD
from ledgerbridge.work.models import Client, Invoice, Member, TimeEntry

TOKEN = re.compile(r"\blb_[A-Za-z0-9_-]{40,}")
ID_LINE = re.compile(r"^id: (\S+)$", re.MULTILINE)
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, database_url: str, database: Database
) -> Iterator[CliRunner]:
    """A runner whose settings point at a fresh data directory and the test database."""
    monkeypatch.setenv("LEDGERBRIDGE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("LEDGERBRIDGE_DATABASE_URL", database_url)
    monkeypatch.setenv("LEDGERBRIDGE_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(runner: CliRunner, *args: str, input: str | None = None, code: int = 0) -> str:
    result: Result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


@contextmanager
def api(database_url: str, data_dir: Path) -> Iterator[TestClient]:
    """The app over its own engine, as a separately started server would have."""
    settings = Settings(data_dir=data_dir, database_url=database_url, log_level="WARNING")
    database = Database.from_url(database_url)
    try:
        with TestClient(create_app(settings, database)) as client:
            yield client
    finally:
        database.engine.dispose()


def test_version(cli: CliRunner) -> None:
    assert __version__ in run(cli, "version")


def test_db_upgrade_current_and_check(cli: CliRunner) -> None:
    assert "up to date" in run(cli, "db", "upgrade")
    current = run(cli, "db", "current")
    assert "up to date" in current and "behind" not in current
    assert "No drift" in run(cli, "db", "check")


def test_commands_refuse_a_database_that_is_not_migrated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LEDGERBRIDGE_DATA_DIR", str(tmp_path / "fresh"))
    monkeypatch.delenv("LEDGERBRIDGE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        output = run(runner, "workspaces", "list", code=1)
        assert "ledgerbridge db upgrade" in output
        assert "behind" in run(runner, "db", "current")
        run(runner, "db", "upgrade")
        run(runner, "workspaces", "list")
    finally:
        get_settings.cache_clear()


def test_workspace_user_and_token_lifecycle(cli: CliRunner, database_url: str, data_dir: Path) -> None:
    created = run(cli, "workspaces", "create", "Acme Pty Ltd", "--currency", "nzd")
    workspace_id = ID_LINE.search(created).group(1)  # type: ignore[union-attr]
    assert "Acme Pty Ltd" in run(cli, "workspaces", "list") and workspace_id in run(cli, "workspaces", "list")

    output = run(
        cli,
        "users",
        "create",
        "Ana@Acme.example.com",
        "--name",
        "Ana Silva",
        "--workspace",
        "acme pty ltd",
        "--role",
        "owner",
        "--password",
        "hunter2-hunter2",
    )
    assert "hunter2" not in output
    run(
        cli,
        "users",
        "create",
        "ben@acme.example.com",
        "--name",
        "Ben",
        "-w",
        workspace_id,
        "--role",
        "member",
        input="ben-secret-1\nben-secret-1\n",
    )
    listed = run(cli, "users", "list", "--workspace", workspace_id)
    assert "ana@acme.example.com" in listed and "owner" in listed and "ben@acme.example.com" in listed
    assert "hunter2" not in listed and "scrypt" not in listed

    output = run(
        cli,
        "tokens",
        "create",
        "--workspace",
        "Acme Pty Ltd",
        "--user",
        "ana@acme.example.com",
        "--name",
        "Time tracker",
        "--expires-in-days",
        "30",
    )
    assert "shown once" in output
    token = TOKEN.search(output).group(0)  # type: ignore[union-attr]
    token_id = ID_LINE.search(output).group(1)  # type: ignore[union-attr]
    tokens = run(cli, "tokens", "list")
    assert token_id in tokens and "Time tracker" in tokens and "active" in tokens and token not in tokens

    with api(database_url, data_dir) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert me.json()["email"] == "ana@acme.example.com" and me.json()["role"] == "owner"
        assert me.json()["workspace_id"] == workspace_id

        assert "Revoked" in run(cli, "tokens", "revoke", token_id)
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "revoked" in run(cli, "tokens", "list", "--workspace", workspace_id)
    assert "already revoked" in run(cli, "tokens", "revoke", token_id, code=1)


def test_passwords_are_prompted_hidden_and_can_be_changed(cli: CliRunner, database: Database) -> None:
    run(cli, "workspaces", "create", "Acme Pty Ltd")
    output = run(
        cli,
        "users",
        "create",
        "cara@acme.example.com",
        "--name",
        "Cara",
        "-w",
        "Acme Pty Ltd",
        "--role",
        "admin",
        input="first-password\nfirst-password\n",
    )
    assert "first-password" not in output
    output = run(
        cli, "users", "set-password", "CARA@acme.example.com", input="second-password\nsecond-password\n"
    )
    assert "second-password" not in output and "Password changed" in output
    with database.session() as session:
        assert users.authenticate(session, "cara@acme.example.com", "second-password")
    short = run(cli, "users", "set-password", "cara@acme.example.com", "--password", "short", code=1)
    assert "at least 8" in short


@pytest.mark.parametrize(
    ("args", "field", "fix"),
    [
        (["--role", "boss", "--password", "long-enough"], "role", "owner, admin, member"),
        (["--role", "owner", "-w", "Nowhere Pty Ltd"], "workspace", "workspaces list"),
        (["--role", "owner", "--password", "short"], "password", "at least 8"),
    ],
)
def test_bad_input_is_a_clean_error_with_exit_code_1(
    cli: CliRunner, args: list[str], field: str, fix: str
) -> None:
    run(cli, "workspaces", "create", "Acme Pty Ltd")
    base = ["users", "create", "dee@acme.example.com", "--name", "Dee", "-w", "Acme Pty Ltd"]
    result = cli.invoke(app, [*base, *args])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # no traceback, just the message
    assert "Error" in result.output and field in result.output and fix in result.output


def test_token_for_a_user_outside_the_workspace_is_refused(cli: CliRunner) -> None:
    run(cli, "workspaces", "create", "Acme Pty Ltd")
    run(cli, "workspaces", "create", "Other Pty Ltd")
    run(
        cli,
        "users",
        "create",
        "eve@other.example.com",
        "--name",
        "Eve",
        "-w",
        "Other Pty Ltd",
        "--role",
        "owner",
        "--password",
        "long-enough",
    )
    output = run(
        cli,
        "tokens",
        "create",
        "-w",
        "Acme Pty Ltd",
        "--user",
        "eve@other.example.com",
        "--name",
        "x",
        code=1,
    )
    assert "not a user of Acme Pty Ltd" in output and not TOKEN.search(output)


def _count(database: Database, model: type, workspace_id: str) -> int:
    with database.session() as session:
        return (
            session.scalar(
                select(func.count()).select_from(model).where(model.workspace_id == workspace_id)  # type: ignore[attr-defined]
            )
            or 0
        )


def test_demo_builds_data_prints_the_login_and_is_rerunnable(
    cli: CliRunner, database: Database, database_url: str, data_dir: Path
) -> None:
    output = run(cli, "demo", "--no-serve", "--port", "8123")
    assert "http://127.0.0.1:8123" in output and DEMO_EMAIL in output and DEMO_PASSWORD in output
    token = TOKEN.search(output).group(0)  # type: ignore[union-attr]
    assert (data_dir / "secret.key").is_file()

    with api(database_url, data_dir) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["email"] == DEMO_EMAIL
        workspace_id = me.json()["workspace_id"]
        assert _count(database, Member, workspace_id) == 8
        assert _count(database, Client, workspace_id) == 12
        assert _count(database, TimeEntry, workspace_id) > 100
        with database.session() as session:
            invoices = session.scalars(select(Invoice).where(Invoice.workspace_id == workspace_id)).all()
            assert invoices and all(invoice.lines for invoice in invoices)
        login = client.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert login.status_code == 200

        again = run(cli, "demo", "--no-serve")
        assert "Reusing the existing demo workspace" in again
        new_token = TOKEN.search(again).group(0)  # type: ignore[union-attr]
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    rebuilt = run(cli, "demo", "--no-serve", "--reset")
    assert "Built the demo workspace" in rebuilt
    assert _count(database, TimeEntry, workspace_id) == 0


def test_serve_and_demo_hand_the_app_to_uvicorn(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: calls.append({"app": app, **kwargs}))
    run(cli, "serve", "--port", "8124", "--no-upgrade")
    run(cli, "demo", "--host", "127.0.0.1", "--port", "8125", "--sandbox-port", "0")
    assert [(c["host"], c["port"]) for c in calls] == [("127.0.0.1", 8124), ("127.0.0.1", 8125)]
    assert calls[1]["app"].state.settings.base_url == "http://127.0.0.1:8125"


def test_demo_serves_the_sandbox_beside_the_app(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[uvicorn.Config] = []

    async def fake_serve(server: uvicorn.Server, sockets: Any = None) -> None:
        served.append(server.config)

    monkeypatch.setattr(uvicorn.Server, "serve", fake_serve)
    output = run(cli, "demo", "--port", "8126", "--sandbox-port", "8788")
    assert "Sandbox Xero: http://127.0.0.1:8788/" in output
    app, sandbox = (config.app for config in served)
    assert [config.port for config in served] == [8126, 8788]
    settings = app.state.settings  # type: ignore[attr-defined]
    assert settings.xero_sandbox_url == "http://127.0.0.1:8788"
    demo_app = sandbox.state.sandbox.apps[settings.xero_client_id]  # type: ignore[attr-defined]
    assert "http://127.0.0.1:8126/integrations/xero/callback" in demo_app.redirect_uris


@posix_only
def test_keys_init_creates_a_private_key_and_refuses_a_shared_one(cli: CliRunner, data_dir: Path) -> None:
    key_file = data_dir / "secret.key"
    assert "Created secret key file" in run(cli, "keys", "init")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    key = key_file.read_bytes()
    assert "already exists" in run(cli, "keys", "init")
    assert key_file.read_bytes() == key

    key_file.chmod(0o644)
    output = run(cli, "keys", "init", code=1)
    assert "secret_key_file" in output and f"chmod 600 {key_file}" in output
    assert "chmod 600" in run(cli, "serve", "--no-upgrade", code=1)  # the server will not start either


@posix_only
def test_load_or_create_key_is_stable_and_validates(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "keys" / "secret.key"
    key = load_or_create_key(path)
    assert load_or_create_key(path) == key
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.write_bytes(b"not a key")
    with pytest.raises(KeyFileError) as caught:
        load_or_create_key(path)
    assert caught.value.errors[0].field == "secret_key_file"


def test_sandbox_commands_are_mounted_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "registered_groups", list(app.registered_groups))
    sandbox = typer.Typer()

    @sandbox.command()
    def status() -> None:
        typer.echo("sandbox ok")

    fake = types.ModuleType("ledgerbridge.sandbox.cli")
    fake.app = sandbox  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ledgerbridge.sandbox.cli", fake)
    ledgerbridge.cli._mount_sandbox()
    assert "sandbox ok" in run(CliRunner(), "sandbox", "status")


def test_a_missing_sandbox_is_not_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(app, "registered_groups", list(app.registered_groups))
    monkeypatch.setitem(sys.modules, "ledgerbridge.sandbox.cli", None)  # import raises ModuleNotFoundError
    before = len(app.registered_groups)
    ledgerbridge.cli._mount_sandbox()
    assert len(app.registered_groups) == before
    assert capsys.readouterr().err == ""
