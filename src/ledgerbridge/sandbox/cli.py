"""``ledgerbridge sandbox ...``: run the sandbox, and script a running one over HTTP.

``serve`` runs a sandbox in this process; every other command talks to a running sandbox
through its control API (``--url``, default ``$LEDGERBRIDGE_SANDBOX_URL`` or
``http://127.0.0.1:8787``; ``--admin-token`` when the sandbox was started with one).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from ledgerbridge.sandbox.clock import SandboxClock
from ledgerbridge.sandbox.config import SandboxConfig

__all__ = ["app"]

DEFAULT_PORT = 8787
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"

app = typer.Typer(help="The offline Xero sandbox.", no_args_is_help=True)
apps_app = typer.Typer(help="Developer apps (client id, secret, webhook key).",
                       no_args_is_help=True)
clock_app = typer.Typer(help="The sandbox clock.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Outgoing webhooks.", no_args_is_help=True)
app.add_typer(apps_app, name="apps")
app.add_typer(clock_app, name="clock")
app.add_typer(webhooks_app, name="webhooks")

UrlOption = Annotated[str, typer.Option("--url", envvar="LEDGERBRIDGE_SANDBOX_URL",
                                        help="Base URL of the running sandbox.")]
TokenOption = Annotated[str | None, typer.Option(
    "--admin-token", envvar="LEDGERBRIDGE_SANDBOX_ADMIN_TOKEN",
    help="The sandbox's admin token, if it was started with one.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")]


def _call(method: str, url: str, path: str, token: str | None, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.request(method, f"{url.rstrip('/')}/_sandbox{path}", json=body,
                                 headers=headers, timeout=60)
    except httpx.HTTPError as exc:
        typer.secho(f"Cannot reach the sandbox at {url}: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    if response.status_code >= 400:
        typer.secho(f"{response.status_code}: {response.text}", fg="red", err=True)
        raise typer.Exit(1)
    return response.json()


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    state_file: Annotated[Path | None, typer.Option(
        help="SQLite file to keep the state in (default: memory only).")] = None,
    admin_token: TokenOption = None,
    speed: Annotated[float, typer.Option(help="Run the clock N times faster.")] = 1.0,
    base_url: Annotated[str | None, typer.Option(
        help="Public URL of the sandbox, if not http://HOST:PORT.")] = None,
) -> None:
    """Run a sandbox seeded with the demo organisations, user and app."""
    import uvicorn

    from ledgerbridge.sandbox.app import create_sandbox_app
    from ledgerbridge.sandbox.seeding import (
        DEMO_APP_CLIENT_ID,
        DEMO_APP_CLIENT_SECRET,
        DEMO_EMAIL,
        DEMO_PASSWORD,
    )
    from ledgerbridge.sandbox.state import SandboxState

    config = SandboxConfig(base_url=base_url or f"http://{host}:{port}", admin_token=admin_token)
    state = SandboxState(config, clock=SandboxClock(speed=speed), path=state_file)
    sandbox = create_sandbox_app(state, auto_deliver=True)
    typer.echo(f"Xero sandbox on {config.base_url}  (sign in: {DEMO_EMAIL} / {DEMO_PASSWORD};"
               f" demo app: {DEMO_APP_CLIENT_ID} / {DEMO_APP_CLIENT_SECRET})")
    try:
        uvicorn.run(sandbox, host=host, port=port, log_level="info")
    finally:
        state.close()


@apps_app.command("create")
def apps_create(
    name: Annotated[str, typer.Option(help="The app's name.")],
    redirect_uri: Annotated[list[str] | None, typer.Option(
        help="A redirect URI (repeat for several).")] = None,
    pkce: Annotated[bool, typer.Option(help="An Auth Code with PKCE app (no secret).")] = False,
    custom_connection: Annotated[str | None, typer.Option(
        help="Make it a custom connection bound to this organisation (tenant id).")] = None,
    scope: Annotated[list[str] | None, typer.Option(
        help="A custom connection scope (repeat for several).")] = None,
    webhook_url: Annotated[str | None, typer.Option(help="Where to send webhooks.")] = None,
    granular_only: Annotated[bool, typer.Option(
        help="Created after 2 March 2026: granular scopes only.")] = False,
    url: UrlOption = DEFAULT_URL,
    admin_token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register an app and print its client id, client secret and webhook key."""
    data = _call("POST", url, "/apps", admin_token, {
        "name": name, "redirect_uris": redirect_uri or [], "pkce": pkce,
        "custom_connection_tenant_id": custom_connection,
        "custom_connection_scopes": scope or [], "webhook_url": webhook_url,
        "granular_only": granular_only,
    })
    if as_json:
        _print_json(data)
        return
    typer.echo(f"client_id:     {data['client_id']}")
    typer.echo(f"client_secret: {data['client_secret'] or '(none: PKCE app)'}")
    typer.echo(f"webhook_key:   {data['webhook_key']}")


@apps_app.command("list")
def apps_list(url: UrlOption = DEFAULT_URL, admin_token: TokenOption = None) -> None:
    """List registered apps (without secrets)."""
    for item in _call("GET", url, "/apps", admin_token):
        typer.echo(f"{item['client_id']}  {item['name']}")


@app.command()
def reset(
    demo: Annotated[bool, typer.Option(help="Re-create the demo data afterwards.")] = True,
    url: UrlOption = DEFAULT_URL,
    admin_token: TokenOption = None,
) -> None:
    """Wipe the sandbox (and re-seed the demo organisations, user and app)."""
    data = _call("POST", url, "/reset", admin_token, {"demo": demo})
    typer.echo(f"Reset. {len(data['organisations'])} organisation(s).")


@app.command()
def seed(
    org: Annotated[list[str], typer.Option(
        help="NAME[:COUNTRY[:CURRENCY]], e.g. 'Acme (UK):GB:GBP' (repeat for several).")],
    size: Annotated[list[str] | None, typer.Option(
        help="COLLECTION=N for the seeders, e.g. contacts=100000.")] = None,
    url: UrlOption = DEFAULT_URL,
    admin_token: TokenOption = None,
) -> None:
    """Create organisations, filled by the registered seeders."""
    organisations = []
    for spec in org:
        name, country, currency = [*spec.split(":"), "", ""][:3]
        organisations.append({"name": name, "country_code": country or "AU",
                              "base_currency": currency or "AUD"})
    sizes = {}
    for item in size or []:
        key, _, value = item.partition("=")
        sizes[key] = int(value)
    data = _call("POST", url, "/seed", admin_token,
                 {"organisations": organisations, "sizes": sizes})
    for item in data["organisations"]:
        typer.echo(f"{item['tenant_id']}  {item['name']}")


@app.command()
def orgs(url: UrlOption = DEFAULT_URL, admin_token: TokenOption = None,
         as_json: JsonOption = False) -> None:
    """List organisations: tenant id, name, country, currency and record counts."""
    data = _call("GET", url, "/organisations", admin_token)
    if as_json:
        _print_json(data)
        return
    for item in data:
        sizes = ", ".join(f"{k} {v}" for k, v in item["collections"].items()) or "no records"
        typer.echo(f"{item['tenant_id']}  {item['name']}  {item['country_code']} "
                   f"{item['base_currency']}  ({sizes})")


@clock_app.command("show")
def clock_show(url: UrlOption = DEFAULT_URL, admin_token: TokenOption = None) -> None:
    """Print the sandbox time and speed."""
    data = _call("GET", url, "/clock", admin_token)
    typer.echo(f"{data['now']}  (speed x{data['speed']})")


@clock_app.command("advance")
def clock_advance(
    seconds: Annotated[float, typer.Argument(help="How many seconds to jump ahead.")],
    url: UrlOption = DEFAULT_URL,
    admin_token: TokenOption = None,
) -> None:
    """Jump the sandbox clock forward."""
    data = _call("POST", url, "/clock", admin_token, {"advance_seconds": seconds})
    typer.echo(f"{data['now']}  (speed x{data['speed']})")


@clock_app.command("speed")
def clock_speed(
    factor: Annotated[float, typer.Argument(help="Virtual seconds per real second; 0 freezes.")],
    url: UrlOption = DEFAULT_URL,
    admin_token: TokenOption = None,
) -> None:
    """Run the sandbox clock N times faster."""
    data = _call("POST", url, "/clock", admin_token, {"speed": factor})
    typer.echo(f"{data['now']}  (speed x{data['speed']})")


@webhooks_app.command("deliver")
def webhooks_deliver(url: UrlOption = DEFAULT_URL, admin_token: TokenOption = None) -> None:
    """Deliver every due webhook batch now."""
    data = _call("POST", url, "/webhooks/deliver", admin_token, {})
    for entry in data["deliveries"]:
        typer.echo(f"{entry['client_id']}  {entry['url']}  {entry['status_code']}  "
                   f"{entry['event_count']} event(s)")


@webhooks_app.command("verify")
def webhooks_verify(
    client_id: Annotated[str, typer.Argument(help="The app whose webhook to verify.")],
    url: UrlOption = DEFAULT_URL,
    admin_token: TokenOption = None,
) -> None:
    """Run intent-to-receive against the app's webhook URL."""
    data = _call("POST", url, f"/apps/{client_id}/webhook/intent-to-receive", admin_token)
    typer.echo(f"{data['status']}" + "".join(f"\n  {f}" for f in data["failures"]))
    if not data["passed"]:
        raise typer.Exit(1)
