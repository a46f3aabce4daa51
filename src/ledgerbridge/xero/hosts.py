"""Where Xero lives: its real hosts, or one sandbox base URL serving every path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class XeroHosts:
    authorize_url: str
    token_url: str
    revocation_url: str
    api_base: str
    """Serves /connections and every API family (/api.xro/2.0, /payroll.xro/1.0, ...)."""

    @classmethod
    def xero(cls) -> XeroHosts:
        return cls(
            authorize_url="https://login.xero.com/identity/connect/authorize",
            token_url="https://identity.xero.com/connect/token",  # noqa: S106 - a URL
            revocation_url="https://identity.xero.com/connect/revocation",
            api_base="https://api.xero.com",
        )

    @classmethod
    def sandbox(cls, base_url: str) -> XeroHosts:
        base = base_url.rstrip("/")
        return cls(
            authorize_url=f"{base}/identity/connect/authorize",
            token_url=f"{base}/connect/token",
            revocation_url=f"{base}/connect/revocation",
            api_base=base,
        )
