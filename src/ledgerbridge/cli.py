"""The ``ledgerbridge`` command: what a self-hoster needs on day one.

Commands are thin: they read the settings, open one unit of work and call the same
services the API uses (``ledgerbridge.work.users``), so the rules (one owner at least,
passwords of 8 characters, tokens stored as hashes) hold whichever way a change comes in.

Expected failures (``LedgerbridgeError``) are printed in red with the field and the fix
and exit with status 1; a traceback means a bug. Secrets are never echoed, except a token
right after it is created, because it cannot be shown again.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import SecretStr, TypeAdapter, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from typer.core import TyperGroup

import ledgerbridge.models
from ledgerbridge import __version__
from ledgerbridge.db import Database, utcnow
from ledgerbridge.errors import Conflict, FieldError, LedgerbridgeError, invalid
from ledgerbridge.jobs import registry
from ledgerbridge.keys import ensure_private_dir, load_or_create_key
from ledgerbridge.migrations import alembic_config, upgrade
from ledgerbridge.payroll import timesheets as timesheet_service
from ledgerbridge.sandbox.seeding import (
    DEMO_APP_CLIENT_ID,
    DEMO_APP_CLIENT_SECRET,
    DEMO_APP_WEBHOOK_KEY,
    DEMO_EMAIL,
    DEMO_PASSWORD,
)
from ledgerbridge.settings import Settings, get_settings
from ledgerbridge.sync.send_invoice import Queued, invoice_defaults, send_to_xero
from ledgerbridge.web.api.types import Email
from ledgerbridge.work import invoicing
from ledgerbridge.work import users as user_service
from ledgerbridge.work.demo import DemoSummary, build_demo
from ledgerbridge.work.models import ApiToken, Client, Invoice, Member, Role, User, Workspace, WorkspaceUser
from ledgerbridge.xero.connections import list_connections
from ledgerbridge.xero.doctor import ConnectionReport, Severity, diagnose
from ledgerbridge.xero.services import XeroServices

# Piped or captured output gets wide lines, so ids and tokens are never folded mid-value.
_WIDTH = None if sys.stdout.isatty() else 160
console = Console(highlight=False, width=_WIDTH)
errors = Console(stderr=True, highlight=False, width=_WIDTH)
CURRENCY = re.compile(r"^[A-Z]{3}$")
MIN_PASSWORD = 8


class _Group(TyperGroup):
    """Turns expected errors into a red message and exit status 1, for every subcommand."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click; its Context is private
        try:
            return super().invoke(ctx)
        except LedgerbridgeError as error:
            _print_error(error)
        except OperationalError as error:
            _print_error(_unreachable(error))
        except ValidationError as error:
            _print_error(_bad_settings(error))
        raise typer.Exit(1)


app = typer.Typer(
    name="ledgerbridge",
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals would include passwords and tokens
    help="Keep a team's work data in step with Xero.",
)
db_app = typer.Typer(no_args_is_help=True, help="Create and check the database schema.")
workspaces_app = typer.Typer(no_args_is_help=True, help="Workspaces: one per business.")
users_app = typer.Typer(no_args_is_help=True, help="The people who sign in, and their roles.")
tokens_app = typer.Typer(no_args_is_help=True, help="API tokens for machine clients.")
keys_app = typer.Typer(no_args_is_help=True, help="The key that encrypts secrets at rest.")
timesheets_app = typer.Typer(no_args_is_help=True, help="Timesheets to Xero Payroll AU.")
invoices_app = typer.Typer(no_args_is_help=True, help="Invoices and bills from tracked hours; Send via Xero.")
projects_app = typer.Typer(no_args_is_help=True, help="Approved time to Xero Projects.")
xero_app = typer.Typer(no_args_is_help=True, help="The workspace's Xero organisations.")
app.add_typer(db_app, name="db")
app.add_typer(workspaces_app, name="workspaces")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(keys_app, name="keys")
app.add_typer(timesheets_app, name="timesheets")
app.add_typer(invoices_app, name="invoices")
app.add_typer(projects_app, name="xero-projects")
app.add_typer(xero_app, name="xero")

HostOption = Annotated[str, typer.Option(help="Interface to listen on; 127.0.0.1 keeps it local.")]
PortOption = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]
WorkspaceOption = Annotated[
    str, typer.Option("--workspace", "-w", help="Workspace id or exact name.", show_default=False)
]


# --------------------------------------------------------------------------- plumbing


def _print_error(error: LedgerbridgeError) -> None:
    """The detail in red, then one line per field with its fix (unless the detail is that line)."""
    errors.print(f"[bold red]Error:[/] [red]{escape(error.detail)}[/]")
    if [f"{e.field}: {e.message}" for e in error.errors] == [error.detail]:
        return
    for field_error in error.errors:
        errors.print(f"  [red]{escape(field_error.field)}[/]: {escape(field_error.message)}")


def _unreachable(error: OperationalError) -> LedgerbridgeError:
    url = make_url(get_settings().resolved_database_url).render_as_string(hide_password=True)
    reason = str(error.orig).strip().splitlines()[0] if error.orig else "unknown"
    return LedgerbridgeError(
        f"The database at {url} could not be used ({reason}).",
        503,
        "database_unavailable",
        "Database unavailable",
        [FieldError("LEDGERBRIDGE_DATABASE_URL", "check the URL and that the server is running")],
    )


def _bad_settings(error: ValidationError) -> LedgerbridgeError:
    return LedgerbridgeError(
        "The configuration is invalid.",
        400,
        "bad_settings",
        "Bad settings",
        [FieldError("LEDGERBRIDGE_" + str(e["loc"][0]).upper(), e["msg"]) for e in error.errors()],
    )


def _settings() -> Settings:
    """The process settings, with the data directory created (0700) on first use."""
    settings = get_settings()
    ensure_private_dir(settings.data_dir.expanduser())
    return settings


def _schema_revisions(database: Database, url: str) -> tuple[str | None, str | None]:
    """(the database's Alembic revision, the newest revision this code ships)."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    with database.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, head


def _require_current_schema(database: Database, url: str) -> None:
    current, head = _schema_revisions(database, url)
    if current != head:
        raise LedgerbridgeError(
            f"The database schema is at {current or 'nothing'}; this version needs {head}.",
            503,
            "schema_outdated",
            "Schema out of date",
            [FieldError("database", "run `ledgerbridge db upgrade` first")],
        )


@contextmanager
def _database(settings: Settings | None = None) -> Iterator[Database]:
    settings = settings or _settings()
    database = Database.from_url(settings.resolved_database_url)
    try:
        yield database
    finally:
        database.engine.dispose()


@contextmanager
def _unit_of_work() -> Iterator[Session]:
    """One committed transaction on an up-to-date schema, for a command that reads or writes."""
    settings = _settings()
    with _database(settings) as database:
        _require_current_schema(database, settings.resolved_database_url)
        with database.session() as session:
            yield session


def _table(*columns: str) -> Table:
    """A plain table whose id column is never cut short: ids are what the next command takes."""
    table = Table(header_style="bold")
    for column in columns:
        if column == "id":
            table.add_column(column, no_wrap=True, min_width=36)
        else:
            table.add_column(column, overflow="fold")
    return table


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


# --------------------------------------------------------------------------- lookups


def _workspace(session: Session, ref: str) -> Workspace:
    """A workspace by id or, failing that, by exact name (case-insensitive, must be unique)."""
    found = session.get(Workspace, ref)
    if found is not None:
        return found
    by_name = select(Workspace).where(func.lower(Workspace.name) == ref.strip().lower())
    matches = session.scalars(by_name).all()
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise invalid("workspace", f"{len(matches)} workspaces are called '{ref}'; give the id instead")
    raise invalid("workspace", f"no workspace has the id or name '{ref}'; see `ledgerbridge workspaces list`")


def _user(session: Session, email: str) -> User:
    user = user_service.find_user(session, email)
    if user is None:
        raise invalid("email", f"no user has the email '{email}'; see `ledgerbridge users list`")
    return user


def _role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise invalid("role", "use one of: " + ", ".join(r.value for r in Role)) from None


def _email(value: str) -> str:
    try:
        return TypeAdapter(Email).validate_python(value.strip())
    except ValidationError:
        raise invalid("email", "give an address such as ana@example.com") from None


def _new_password(given: str | None) -> str:
    """The password from --password, or asked for twice without echo."""
    password = (
        given if given is not None else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    if len(password) < MIN_PASSWORD:
        raise invalid("password", f"use at least {MIN_PASSWORD} characters")
    return password


# --------------------------------------------------------------------------- top-level commands


@app.command()
def doctor(workspace: WorkspaceOption) -> None:
    """Check each Xero organisation for what would stop a sync, with the fix for each problem."""
    settings = _settings()
    with _unit_of_work() as session:
        workspace_id = _workspace(session, workspace).id
    with _database(settings) as database:
        reports = asyncio.run(_diagnose(settings, database, workspace_id))
    if not reports:
        console.print("No Xero organisation is connected to this workspace yet.")
        return
    marks = {
        Severity.OK: "[green]ok[/]",
        Severity.WARNING: "[yellow]warning[/]",
        Severity.ERROR: "[red]error[/]",
    }
    for report in reports:
        table = _table("Check", "Result", "Finding", "Fix")
        for finding in report.findings:
            table.add_row(
                finding.check, marks[finding.severity], escape(finding.message), escape(finding.fix or "")
            )
        console.print(f"[bold]{escape(report.tenant_name)}[/] ({report.status.value.replace('_', ' ')})")
        console.print(table)
    if not all(report.healthy for report in reports):
        raise typer.Exit(1)


async def _diagnose(settings: Settings, database: Database, workspace_id: str) -> list[ConnectionReport]:
    services = XeroServices.build(settings, database)
    try:
        return await diagnose(services, workspace_id)
    finally:
        await services.aclose()


@app.command()
def version() -> None:
    """Print the version."""
    console.print(f"ledgerbridge {__version__}")


@app.command()
def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    upgrade_db: Annotated[
        bool, typer.Option("--upgrade/--no-upgrade", help="Run database migrations first.")
    ] = True,
) -> None:
    """Run migrations, then serve the web app and the API."""
    settings = _settings()
    load_or_create_key(settings.resolved_secret_key_file)
    if upgrade_db:
        upgrade(settings.resolved_database_url)
    _run_server(settings, host, port)


@app.command()
def demo(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete the demo workspace and build it again.")
    ] = False,
    serve_app: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the app afterwards.")] = True,
    sandbox_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of the built-in sandbox Xero; 0 runs none.")
    ] = 8787,
    tour: Annotated[
        bool,
        typer.Option(
            "--tour",
            help="Connect the demo to the sandbox Xero and run every flow, printing what arrived in Xero.",
        ),
    ] = False,
) -> None:
    """Build a demo workspace (a Sydney agency with a month of work) and serve it, with the
    built-in sandbox Xero beside it so Connect works with no Xero account. With --tour, the
    demo is connected and each flow runs first (exit status 1 if one failed)."""
    settings = _settings()
    load_or_create_key(settings.resolved_secret_key_file)
    upgrade(settings.resolved_database_url)
    url = f"http://{host}:{port}"
    if "base_url" not in settings.model_fields_set:
        settings = settings.model_copy(update={"base_url": url})
    sandbox_url = f"http://{host}:{sandbox_port}" if sandbox_port else None
    if sandbox_url and not settings.xero_sandbox_url:
        settings = settings.model_copy(
            update={
                "xero_sandbox_url": sandbox_url,
                "xero_client_id": DEMO_APP_CLIENT_ID,
                "xero_client_secret": SecretStr(DEMO_APP_CLIENT_SECRET),
                "xero_webhook_key": SecretStr(DEMO_APP_WEBHOOK_KEY),
            }
        )
    if tour and (not sandbox_url or settings.xero_sandbox_url != sandbox_url):
        raise invalid(
            "tour",
            "the tour runs against the built-in sandbox Xero: give --sandbox-port a port (not 0) "
            "and leave LEDGERBRIDGE_XERO_SANDBOX_URL unset",
        )
    with _database(settings) as database, database.session() as session:
        summary = build_demo(session, reset=reset)
    _print_demo(summary, url, settings)
    if sandbox_url:
        console.print(f"\n  Sandbox Xero: {sandbox_url}/")
        console.print(f"  On its sign-in page use {DEMO_EMAIL} / {DEMO_PASSWORD}")
    sandbox = _demo_sandbox(settings, sandbox_url) if sandbox_url and (serve_app or tour) else None
    toured = _demo_tour(settings, sandbox, summary.workspace_id) if tour else True
    if serve_app:
        _run_server(settings, host, port, sandbox=(sandbox, sandbox_port) if sandbox else None)
    if not toured:
        raise typer.Exit(1)


def _demo_tour(settings: Settings, sandbox: Any, workspace_id: str) -> bool:
    """Run the tour (``sync.demo_tour``) against the sandbox the demo serves; whether every
    flow succeeded."""
    from ledgerbridge.logging import configure_logging
    from ledgerbridge.sync.demo_tour import run_tour

    configure_logging(settings.log_level, settings.log_json)
    registry.load_handlers()  # so Send via Xero plans the organisation's invoice-sending job
    console.print()
    with _database(settings) as database:
        result = asyncio.run(run_tour(settings, database, sandbox, workspace_id, console))
    if result.ok:
        console.print("\n[green]Tour finished:[/] every flow reached Xero. Sign in to see the results.")
    else:
        failed = ", ".join(f"{flow.number}. {flow.title}" for flow in result.flows if not flow.ok)
        errors.print(f"\n[red]Tour finished with failures:[/] {escape(failed or 'connecting')}")
    return result.ok


def _demo_sandbox(settings: Settings, sandbox_url: str) -> Any:
    """The sandbox app, its state kept beside the demo database, and its demo app allowed
    to send people back to this demo's callback URL whatever port it runs on, and to send
    its webhooks to this demo (the handshake runs once both listen: _demo_webhook_handshake)."""
    from ledgerbridge.sandbox.app import create_sandbox_app
    from ledgerbridge.sandbox.config import SandboxConfig
    from ledgerbridge.sandbox.state import SandboxState
    from ledgerbridge.web.webhooks import BUILT_IN_PATH
    from ledgerbridge.xero.apps import redirect_uri

    state = SandboxState(SandboxConfig(base_url=sandbox_url), path=settings.data_dir / "sandbox.sqlite3")
    sandbox = create_sandbox_app(state, auto_deliver=True)
    with state.transaction():
        app = state.apps[DEMO_APP_CLIENT_ID]
        if redirect_uri(settings) not in app.redirect_uris:
            app.redirect_uris.append(redirect_uri(settings))
            state.touch(app)
        # -- webhooks (the demo receives the sandbox's events) --
        webhook_url = settings.base_url.rstrip("/") + BUILT_IN_PATH
        if app.webhook.url != webhook_url:
            app.webhook.url, app.webhook.status = webhook_url, "PENDING"
            state.touch(app)
    return sandbox


async def _demo_webhook_handshake(sandbox_app: Any, servers: list[Any]) -> None:
    """Once both servers listen, run Xero's intent-to-receive from the sandbox's demo app
    against this demo, so its webhooks flow (a new URL starts PENDING, as at Xero)."""
    state = sandbox_app.state.sandbox
    if state.apps[DEMO_APP_CLIENT_ID].webhook.status == "ACTIVE":
        return
    for _ in range(300):
        if all(server.started for server in servers):
            break
        if any(server.should_exit for server in servers):
            return
        await asyncio.sleep(0.1)
    else:
        return
    result = await state.webhooks.intent_to_receive(DEMO_APP_CLIENT_ID)
    if not result["passed"]:
        errors.print(f"[yellow]Sandbox webhooks not verified:[/] {escape('; '.join(result['failures']))}")


def _print_demo(summary: DemoSummary, url: str, settings: Settings) -> None:
    if summary.created:
        console.print(f"[green]Built the demo workspace[/] {escape(summary.workspace_name)}.")
    else:
        console.print(
            f"Reusing the existing demo workspace {escape(summary.workspace_name)} "
            "(run `ledgerbridge demo --reset` to rebuild it with fresh dates)."
        )
    counts = ", ".join(f"{name}: {n}" for name, n in summary.counts.items())
    console.print(f"  contains: {counts}")
    console.print(f"  data:     {escape(str(settings.data_dir))}")
    console.print(f"\n  URL:       {url}/  (API docs: {url}/api/v1/docs)")
    console.print(f"  sign in:   {summary.email}")
    console.print(f"  password:  {summary.password}")
    console.print("  API token [yellow](shown once; earlier demo tokens are revoked)[/]:")
    console.print(f"  {summary.api_token}", soft_wrap=True)
    console.print(f'\n  try: curl -H "Authorization: Bearer $TOKEN" {url}/api/v1/me', soft_wrap=True)


def _run_server(settings: Settings, host: str, port: int, sandbox: tuple[Any, int] | None = None) -> None:
    """uvicorn in this process (with the sandbox beside it, if given), so Ctrl+C stops all."""
    import uvicorn

    from ledgerbridge.web.app import create_app

    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]Listening on {escape(host)}: reachable from other machines.[/]")
    console.print(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)")
    level = settings.log_level.lower()
    if sandbox is None:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=level)
        return
    sandbox_app, sandbox_port = sandbox
    servers = [
        uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port, log_level=level)),
        uvicorn.Server(uvicorn.Config(sandbox_app, host=host, port=sandbox_port, log_level=level)),
    ]

    async def serve_all() -> None:
        await asyncio.gather(
            *(server.serve() for server in servers), _demo_webhook_handshake(sandbox_app, servers)
        )

    asyncio.run(serve_all())


# --------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration this version ships (safe to run repeatedly)."""
    settings = _settings()
    upgrade(settings.resolved_database_url)
    with _database(settings) as database:
        current, _ = _schema_revisions(database, settings.resolved_database_url)
    console.print(f"[green]Database is up to date[/] at revision {current}.")


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision and whether it is the newest."""
    settings = _settings()
    with _database(settings) as database:
        current, head = _schema_revisions(database, settings.resolved_database_url)
    state = "up to date" if current == head else "[yellow]behind: run `ledgerbridge db upgrade`[/]"
    console.print(f"current: {current or 'none (empty database)'}")
    console.print(f"head:    {head} ({state})")


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migrations describe different schemas."""
    settings = _settings()
    with _database(settings) as database:
        _require_current_schema(database, settings.resolved_database_url)
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, ledgerbridge.models.metadata)
    if differences:
        for difference in differences:
            errors.print(f"  {escape(str(difference))}", soft_wrap=True)
        raise LedgerbridgeError(
            f"The models and the migrations differ in {len(differences)} place(s).",
            500,
            "schema_drift",
            "Schema drift",
            [FieldError("migrations", "add a migration: `alembic revision --autogenerate -m '...'`")],
        )
    console.print("[green]No drift:[/] the migrations build exactly the schema the models describe.")


# --------------------------------------------------------------------------- workspaces


@workspaces_app.command("create")
def workspaces_create(
    name: Annotated[str, typer.Argument(help="The business's name, e.g. 'Acme Pty Ltd'.")],
    currency: Annotated[str, typer.Option(help="Default currency (ISO 4217).")] = "AUD",
) -> None:
    """Create a workspace; add its first owner with `ledgerbridge users create`."""
    if not name.strip():
        raise invalid("name", "give the workspace a name")
    if not CURRENCY.match(currency.upper()):
        raise invalid("currency", "use a three-letter ISO code such as AUD or NZD")
    with _unit_of_work() as session:
        workspace = user_service.create_workspace(session, name.strip(), currency.upper())
    console.print(f"[green]Created workspace[/] {escape(workspace.name)} ({workspace.default_currency})")
    console.print(f"id: {workspace.id}")


@workspaces_app.command("list")
def workspaces_list() -> None:
    """List every workspace with its number of users."""
    with _unit_of_work() as session:
        rows = session.execute(
            select(Workspace, func.count(WorkspaceUser.id))
            .outerjoin(WorkspaceUser, WorkspaceUser.workspace_id == Workspace.id)
            .group_by(Workspace.id)
            .order_by(Workspace.created_at)
        ).all()
    table = _table("id", "name", "currency", "users", "created (UTC)")
    for workspace, user_count in rows:
        table.add_row(
            workspace.id,
            escape(workspace.name),
            workspace.default_currency,
            str(user_count),
            _when(workspace.created_at),
        )
    console.print(table)


# --------------------------------------------------------------------------- users


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="Sign-in email.")],
    name: Annotated[str, typer.Option("--name", help="Full name.", show_default=False)],
    workspace: WorkspaceOption,
    role: Annotated[str, typer.Option(help="owner, admin or member.")] = "member",
    password: Annotated[
        str | None,
        typer.Option(help="Asked for (hidden, twice) when left out. Not needed for an existing user."),
    ] = None,
) -> None:
    """Add a user to a workspace, creating the user if the email is new."""
    email, parsed_role = _email(email), _role(role)
    with _unit_of_work() as session:
        target = _workspace(session, workspace)
        existing = user_service.find_user(session, email)
        secret = _new_password(password) if existing is None else password
        user = user_service.add_to_workspace(session, target.id, email, name.strip(), parsed_role, secret)
    verb = "Added existing user" if existing is not None else "Created user"
    console.print(f"[green]{verb}[/] {escape(user.email)} as {parsed_role.value} of {escape(target.name)}")


@users_app.command("list")
def users_list(workspace: WorkspaceOption) -> None:
    """List a workspace's users and their roles (never their passwords)."""
    with _unit_of_work() as session:
        target = _workspace(session, workspace)
        rows = user_service.workspace_users(session, target.id)
    table = _table("email", "name", "role", "active", "can sign in")
    for user, role in rows:
        table.add_row(
            escape(user.email),
            escape(user.name),
            role.value,
            "yes" if user.active else "no",
            "yes" if user.password_hash else "no",
        )
    console.print(table)


@users_app.command("set-password")
def users_set_password(
    email: Annotated[str, typer.Argument(help="The user's sign-in email.")],
    password: Annotated[str | None, typer.Option(help="Asked for (hidden, twice) when left out.")] = None,
) -> None:
    """Set a user's password (they keep their roles and tokens)."""
    with _unit_of_work() as session:
        user = _user(session, email)
        user_service.set_password(session, user, _new_password(password))
    console.print(f"[green]Password changed[/] for {escape(user.email)}.")


# --------------------------------------------------------------------------- tokens


@tokens_app.command("create")
def tokens_create(
    workspace: WorkspaceOption,
    user: Annotated[
        str, typer.Option("--user", help="Email of the user the token acts as.", show_default=False)
    ],
    name: Annotated[str, typer.Option("--name", help="What the token is for.", show_default=False)],
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Default: never expires.")
    ] = None,
) -> None:
    """Create an API token; it is printed once and only its hash is stored."""
    if not name.strip():
        raise invalid("name", "say what the token is for, e.g. 'Time tracker'")
    with _unit_of_work() as session:
        target = _workspace(session, workspace)
        owner = _user(session, user)
        if not _is_member(session, target.id, owner.id):
            raise invalid("user", f"{owner.email} is not a user of {target.name}; add them first")
        expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        api_token, token = user_service.create_api_token(session, target.id, owner.id, name.strip(), expires)
    console.print(
        f"[green]Created API token[/] '{escape(api_token.name)}' for {escape(owner.email)} "
        f"in {escape(target.name)}"
    )
    console.print(f"id: {api_token.id}")
    if expires:
        console.print(f"expires: {_when(expires)} UTC")
    console.print("[bold yellow]This token is shown once. Store it now; only its hash is kept.[/]")
    console.print(token, soft_wrap=True)


def _is_member(session: Session, workspace_id: str, user_id: str) -> bool:
    return (
        session.scalar(
            select(WorkspaceUser.id).where(
                WorkspaceUser.workspace_id == workspace_id, WorkspaceUser.user_id == user_id
            )
        )
        is not None
    )


@tokens_app.command("list")
def tokens_list(
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="Only this workspace (id or name).")
    ] = None,
) -> None:
    """List API tokens by prefix and status (the tokens themselves are not stored)."""
    with _unit_of_work() as session:
        statement = (
            select(ApiToken, User.email, Workspace.name)
            .join(User, User.id == ApiToken.user_id)
            .join(Workspace, Workspace.id == ApiToken.workspace_id)
            .order_by(ApiToken.created_at)
        )
        if workspace is not None:
            statement = statement.where(ApiToken.workspace_id == _workspace(session, workspace).id)
        rows = session.execute(statement).all()
    now = utcnow()
    table = _table("id", "name", "prefix", "user", "workspace", "last used (UTC)", "status")
    for api_token, email, workspace_name in rows:
        table.add_row(
            api_token.id,
            escape(api_token.name),
            api_token.prefix,
            escape(email),
            escape(workspace_name),
            _when(api_token.last_used_at),
            _status(api_token, now),
        )
    console.print(table)


def _status(api_token: ApiToken, now: datetime) -> str:
    if api_token.revoked_at is not None:
        return "revoked"
    if api_token.expires_at is not None and api_token.expires_at <= now:
        return "expired"
    return f"active, expires {api_token.expires_at:%Y-%m-%d}" if api_token.expires_at else "active"


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[str, typer.Argument(help="The id shown by `tokens list`.")]) -> None:
    """Revoke an API token at once; clients using it get 401 from then on."""
    with _unit_of_work() as session:
        api_token = session.get(ApiToken, token_id.strip())
        if api_token is None:
            raise invalid("token_id", f"no API token has the id '{token_id}'; see `ledgerbridge tokens list`")
        if api_token.revoked_at is not None:
            raise Conflict("This token is already revoked.", [FieldError("token_id", "already revoked")])
        api_token.revoked_at = utcnow()
    console.print(f"[green]Revoked[/] API token '{escape(api_token.name)}' ({api_token.id}).")


# --------------------------------------------------------------------------- keys


@keys_app.command("init")
def keys_init() -> None:
    """Create the secret key file (0600) if it does not exist; check it if it does."""
    path = _settings().resolved_secret_key_file.expanduser()
    existed = path.exists()
    load_or_create_key(path)
    if existed:
        console.print(f"Secret key file {escape(str(path))} already exists and is private; kept as is.")
    else:
        console.print(f"[green]Created secret key file[/] {escape(str(path))} (mode 0600).")
        console.print("[yellow]Back it up: without it, stored Xero connections cannot be decrypted.[/]")


# --------------------------------------------------------------------------- jobs (worker, queue)

jobs_app = typer.Typer(no_args_is_help=True, help="The background job queue.")
app.add_typer(jobs_app, name="jobs")


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Jobs run at once.")] = 4,
    poll: Annotated[float, typer.Option(min=0.05, help="Seconds between looks at the queue.")] = 1.0,
) -> None:
    """Run background jobs and the sync scheduler until Ctrl+C (beside or instead of the web app)."""
    from ledgerbridge.jobs.worker import run_worker
    from ledgerbridge.logging import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, settings.log_json)
    with _database(settings) as database:
        _require_current_schema(database, settings.resolved_database_url)
        console.print(f"Running jobs ({concurrency} at a time). Ctrl+C to stop.")
        asyncio.run(run_worker(settings, database, concurrency=concurrency, poll_interval=poll))
    console.print("Worker stopped.")


@jobs_app.command("list")
def jobs_list(
    status: Annotated[
        str | None, typer.Option(help="Only jobs in this state: queued, running, done or failed.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many to show, newest first.")] = 50,
) -> None:
    """Show the job queue: what waits, what runs, and why a job failed."""
    from ledgerbridge.jobs.models import JobStatus
    from ledgerbridge.jobs.queue import list_jobs

    try:
        wanted = JobStatus(status.strip().lower()) if status else None
    except ValueError:
        raise invalid("status", "use one of: " + ", ".join(s.value for s in JobStatus)) from None
    with _unit_of_work() as session:
        found = list_jobs(session, wanted, limit)
        table = _table("id", "kind", "status", "run at (UTC)", "attempts", "lock", "last error")
        for job in found:
            table.add_row(
                job.id,
                job.kind,
                job.status.value,
                _when(job.run_at),
                f"{job.attempts}/{job.max_attempts}",
                escape(job.lock_key or ""),
                escape((job.last_error or "") if job.status != JobStatus.DONE else ""),
            )
    if not found:
        console.print("No jobs" + (f" with status {wanted.value}." if wanted else "."))
        return
    console.print(table)


# --------------------------------------------------------------------------- timesheets

OrganisationOption = Annotated[
    str,
    typer.Option(
        "--organisation", "-o", help="Connection id or exact organisation name.", show_default=False
    ),
]
PeriodOption = Annotated[
    datetime,
    typer.Option(
        "--period-containing",
        formats=["%Y-%m-%d"],
        help="Each employee's pay period (by their payroll calendar) that holds this date.",
        show_default=False,
    ),
]
MemberOption = Annotated[
    list[str] | None,
    typer.Option("--member", help="A member id (repeat for several). Default: everyone with hours."),
]


def _organisation(session: Session, workspace_id: str, ref: str) -> str:
    """A connected organisation of the workspace, by connection id or exact name."""
    connections = list_connections(session, workspace_id)
    for connection in connections:
        if connection.id == ref:
            return connection.id
    named = [c for c in connections if c.tenant_name.strip().lower() == ref.strip().lower()]
    if len(named) == 1:
        return named[0].id
    raise invalid("organisation", f"no organisation of this workspace has the id or name '{ref}'")


async def _with_services(work: Any) -> Any:
    settings = _settings()
    with _database(settings) as database:
        services = XeroServices.build(settings, database)
        try:
            return await work(services)
        finally:
            await services.aclose()


def _print_problems(problems: list[timesheet_service.Problem]) -> None:
    for problem in problems:
        colour = "red" if problem.severity == timesheet_service.ERROR else "yellow"
        console.print(f"[{colour}]{problem.severity}[/] {problem.code}: {escape(problem.message)}")


def _timesheet_target(workspace: str, organisation: str) -> tuple[str, str]:
    with _unit_of_work() as session:
        workspace_id = _workspace(session, workspace).id
        return workspace_id, _organisation(session, workspace_id, organisation)


@timesheets_app.command("preview")
def timesheets_preview(
    workspace: WorkspaceOption,
    organisation: OrganisationOption,
    period_containing: PeriodOption,
    member: MemberOption = None,
) -> None:
    """Show each employee's timesheet for the period and every problem; sends nothing."""
    workspace_id, connection_id = _timesheet_target(workspace, organisation)
    choice = timesheet_service.PeriodChoice(period_containing.date())
    preview: timesheet_service.Preview = asyncio.run(
        _with_services(
            lambda services: timesheet_service.preview(services, workspace_id, connection_id, choice, member)
        )
    )
    table = _table("Employee", "Member", "Period", "Hours", "Existing in Xero", "Ready")
    for sheet in preview.timesheets:
        table.add_row(
            escape(sheet.employee_name),
            escape(sheet.member_name),
            str(sheet.period or ""),
            str(sheet.hours),
            sheet.existing_status or "",
            "[green]yes[/]" if sheet.ready else "[red]no[/]",
        )
    console.print(table)
    _print_problems(preview.all_problems)


@timesheets_app.command("send")
def timesheets_send(
    workspace: WorkspaceOption,
    organisation: OrganisationOption,
    period_containing: PeriodOption,
    member: MemberOption = None,
    approve: Annotated[bool, typer.Option("--approve", help="Send as APPROVED instead of DRAFT.")] = False,
) -> None:
    """Create or update each ready employee's timesheet in Xero for the period."""
    workspace_id, connection_id = _timesheet_target(workspace, organisation)
    choice = timesheet_service.PeriodChoice(period_containing.date())
    result: timesheet_service.SendResult = asyncio.run(
        _with_services(
            lambda services: timesheet_service.send(
                services, workspace_id, connection_id, choice, member, approve=approve
            )
        )
    )
    table = _table("Employee", "Period", "Hours", "Outcome", "Timesheet", "Message")
    colours = {"created": "green", "updated": "green", "failed": "red", "skipped": "yellow"}
    for outcome in result.outcomes:
        table.add_row(
            escape(outcome.employee_name),
            str(outcome.period or ""),
            str(outcome.hours),
            f"[{colours[outcome.outcome]}]{outcome.outcome}[/]",
            outcome.timesheet_id or "",
            escape(outcome.error or ""),
        )
    console.print(table)
    _print_problems(result.preview.problems)
    if result.error or any(o.outcome == "failed" for o in result.outcomes):
        raise typer.Exit(1)


# --------------------------------------------------------------------------- invoices


def _named(session: Session, model: type[Client | Member], workspace_id: str, ref: str, field: str) -> str:
    """A client or member of the workspace by id or exact name (case-insensitive, unique)."""
    query = select(model.id).where(model.workspace_id == workspace_id)
    ids = (
        session.scalars(query.where(model.id == ref)).all()
        or session.scalars(query.where(func.lower(model.name) == ref.strip().lower())).all()
    )
    if len(ids) == 1:
        return ids[0]
    what = "clients" if model is Client else "members"
    if ids:
        raise invalid(field, f"{len(ids)} {what} are called '{ref}'; give the id instead")
    raise invalid(field, f"no {what[:-1]} of this workspace has the id or name '{ref}'")


def _print_draft(draft: invoicing.TimeInvoiceDraft) -> None:
    table = _table("Line", "Hours", "Rate", "Amount", "Account", "Tax")
    for line in draft.lines:
        table.add_row(
            escape(line.description),
            str(line.quantity),
            str(line.unit_amount),
            str(line.line_amount),
            line.account_code or "",
            line.tax_type or "",
        )
    console.print(table)
    if draft.totals is not None:
        console.print(
            f"Subtotal {draft.totals.sub_total}  tax {draft.totals.total_tax}  "
            f"[bold]total {draft.totals.total} {draft.currency}[/]  "
            f"(issued {draft.issue_date}, due {draft.due_date})"
        )


def _print_queued(queued: list[Queued]) -> None:
    for target in queued:
        when = f"at {_when(target.send_at)}" if target.send_at else "with the next sync"
        console.print(
            f"Queued for Xero ({escape(target.tenant_name)}) as {target.invoice_status}, going {when}."
        )


@invoices_app.command("build")
def invoices_build(
    workspace: WorkspaceOption,
    date_from: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], show_default=False)],
    date_to: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], show_default=False)],
    client: Annotated[str | None, typer.Option(help="Client id or name: a sales invoice.")] = None,
    member: Annotated[str | None, typer.Option(help="Contractor id or name: their bill.")] = None,
    group_by: Annotated[invoicing.GroupBy, typer.Option("--group-by")] = invoicing.GroupBy.TASK,
    preview: Annotated[bool, typer.Option("--preview", help="Show the lines; save nothing.")] = False,
    send: Annotated[bool, typer.Option("--send", help="Send via Xero once saved.")] = False,
) -> None:
    """Build an invoice from a client's approved billable hours (or a contractor's bill from
    theirs) for a period; each hour is invoiced once."""
    registry.load_handlers()  # so "send" can plan the organisation's invoice-sending job
    with _unit_of_work() as session:
        workspace_id = _workspace(session, workspace).id
        request = invoicing.TimeInvoiceRequest(
            date_from=date_from.date(),
            date_to=date_to.date(),
            client_id=_named(session, Client, workspace_id, client, "client") if client else None,
            member_id=_named(session, Member, workspace_id, member, "member") if member else None,
            group_by=group_by,
        )
        draft = invoicing.draft_invoice(
            session, workspace_id, request, invoice_defaults(session, workspace_id, request.client_id)
        )
        _print_draft(draft)
        if preview:
            return
        invoice = invoicing.save_draft(session, draft)
        console.print(
            f"[green]Saved[/] {invoice.kind.value} {invoice.number or ''} "
            f"({invoice.id}), {invoice.status.value}."
        )
        if send:
            _print_queued(send_to_xero(session, invoice))


@invoices_app.command("send")
def invoices_send(
    workspace: WorkspaceOption,
    invoice: Annotated[str, typer.Argument(help="Invoice id or sales invoice number.")],
) -> None:
    """Send via Xero: approve a draft and queue it for the default organisation, or say
    who is not in Xero yet."""
    registry.load_handlers()
    with _unit_of_work() as session:
        workspace_id = _workspace(session, workspace).id
        found = session.get(Invoice, invoice)
        if found is None or found.workspace_id != workspace_id:
            by_number = select(Invoice).where(Invoice.workspace_id == workspace_id, Invoice.number == invoice)
            found = session.scalars(by_number).first()
        if found is None:
            raise invalid("invoice", f"no invoice of this workspace has the id or number '{invoice}'")
        _print_queued(send_to_xero(session, found))


# --------------------------------------------------------------------------- xero projects


@projects_app.command("push")
def xero_projects_push(
    workspace: WorkspaceOption,
    organisation: OrganisationOption,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be sent; send nothing.")
    ] = False,
) -> None:
    """Send each approved time entry of the linked projects to Xero Projects, once; entries
    with a problem (member not mapped, task not linked) are named and skipped."""
    from ledgerbridge.sync import xero_projects

    workspace_id, connection_id = _timesheet_target(workspace, organisation)
    result: xero_projects.PushResult = asyncio.run(
        _with_services(
            lambda services: xero_projects.push_time(services, workspace_id, connection_id, dry_run=dry_run)
        )
    )
    table = _table("Time entry", "Date", "Minutes", "Outcome", "Xero time entry", "Message")
    colours = {"created": "green", "would_create": "green", "skipped": "yellow", "failed": "red"}
    for entry in result.outcomes:
        table.add_row(
            entry.time_entry_id,
            entry.date.isoformat(),
            str(entry.minutes),
            f"[{colours.get(entry.outcome, 'white')}]{entry.outcome}[/]",
            entry.xero_time_entry_id or "",
            escape(entry.error or ""),
        )
    console.print(table)
    console.print(", ".join(f"{name}: {n}" for name, n in sorted(result.counts.items())))
    if result.error or result.counts.get("failed"):
        raise typer.Exit(1)


# --------------------------------------------------------------------------- xero


@xero_app.command("migrate")
def xero_migrate(
    workspace: WorkspaceOption,
    to: Annotated[
        str,
        typer.Option(
            "--to", help="The organisation records go to: connection id or exact name.", show_default=False
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would change; write nothing.")
    ] = False,
) -> None:
    """Assign every record synced before a second organisation was added (it belongs to
    none) to one organisation; a record already linked in another keeps that one. Links
    are never changed, and running it again changes nothing."""
    from ledgerbridge.sync import migrate

    with _unit_of_work() as session:
        workspace_id = _workspace(session, workspace).id
        chosen = migrate.find_connection(session, workspace_id, to, "to")
        report = migrate.migrate(session, workspace_id, chosen.id, dry_run=dry_run)
    table = _table(
        "Record type", "Assigned", "Kept with linked org", "With its party", "Already assigned", "Retargeted"
    )
    for record_type, counts in report.counts.items():
        table.add_row(
            record_type.replace("_", " "),
            str(counts.assigned),
            str(counts.kept_linked),
            str(counts.with_party),
            str(counts.already_assigned),
            str(counts.retargeted),
        )
    console.print(table)
    verb = "Would change" if dry_run else "Changed"
    suffix = " (dry run)." if dry_run else "."
    console.print(f"{verb} {report.changed} for {escape(report.tenant_name)}{suffix}")


# --------------------------------------------------------------------------- sandbox


def _mount_sandbox() -> None:
    """Add `ledgerbridge sandbox ...` when the offline Xero and its commands are installed.

    A missing sandbox is normal (it is optional); a broken one is reported, not fatal, so
    the rest of the command line keeps working.
    """
    try:
        module = importlib.import_module("ledgerbridge.sandbox.cli")
    except ModuleNotFoundError as error:
        if error.name not in ("ledgerbridge.sandbox", "ledgerbridge.sandbox.cli"):
            errors.print(f"[yellow]Sandbox commands unavailable:[/] {escape(str(error))}")
        return
    except ImportError as error:
        errors.print(f"[yellow]Sandbox commands unavailable:[/] {escape(str(error))}")
        return
    sandbox_app = getattr(module, "app", None)
    if isinstance(sandbox_app, typer.Typer):
        app.add_typer(sandbox_app, name="sandbox", help="The offline Xero.")


_mount_sandbox()


__all__ = ["app"]
