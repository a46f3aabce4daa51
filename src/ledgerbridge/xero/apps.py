"""Which Xero app a workspace uses, and where Xero is for it.

A workspace may bring its own app (Client ID and sealed Secret in ``XeroApp``); otherwise
the built-in app from the settings is used (in the demo, the sandbox's app). In sandbox
mode every host is the sandbox's one base URL.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.settings import Settings
from ledgerbridge.xero.hosts import XeroHosts
from ledgerbridge.xero.models import XeroApp
from ledgerbridge.xero.oauth import AppCredentials
from ledgerbridge.xero.vault import Vault

CALLBACK_PATH = "/integrations/xero/callback"


class NoXeroApp(LedgerbridgeError):
    def __init__(self) -> None:
        super().__init__(
            "No Xero app is configured: enter your app's Client ID and Client Secret in Settings, "
            "or run with the built-in sandbox.",
            409,
            "xero_app_missing",
            "Xero app missing",
        )


@dataclass(frozen=True)
class ResolvedApp:
    credentials: AppCredentials
    hosts: XeroHosts
    granular_scopes: bool
    own: bool


def hosts(settings: Settings) -> XeroHosts:
    if settings.xero_sandbox_url:
        return XeroHosts.sandbox(settings.xero_sandbox_url)
    return XeroHosts.xero()


def redirect_uri(settings: Settings) -> str:
    """The exact Redirect URL to register with the Xero app."""
    return settings.base_url.rstrip("/") + CALLBACK_PATH


def resolve(session: Session, settings: Settings, vault: Vault, workspace_id: str) -> ResolvedApp:
    own = session.scalar(select(XeroApp).where(XeroApp.workspace_id == workspace_id))
    if own is not None:
        return ResolvedApp(
            AppCredentials(own.client_id, vault.open(own.client_secret_sealed)),
            hosts(settings),
            own.granular_scopes,
            own=True,
        )
    if settings.xero_client_id:
        secret = settings.xero_client_secret.get_secret_value() if settings.xero_client_secret else None
        return ResolvedApp(
            AppCredentials(settings.xero_client_id, secret),
            hosts(settings),
            settings.xero_granular_scopes,
            own=False,
        )
    raise NoXeroApp()
