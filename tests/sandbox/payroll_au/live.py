"""A sandbox on a real socket for the official SDK (it speaks urllib3, not ASGI), and an
SDK ``ApiClient`` holding a sandbox token. Shared by the Payroll AU and Projects tests."""

from __future__ import annotations

from typing import Any

from xero_python.api_client import ApiClient, Configuration

from tests.servers import serve

__all__ = ["sdk_client", "serve"]
from xero_python.api_client.oauth2 import OAuth2Token


def sdk_client(client_id: str, secret: str, token: dict[str, Any]) -> ApiClient:
    """An SDK client that uses ``token`` (the SDK keeps the first ``Configuration`` built in
    the process as a default; clearing it makes this one take effect)."""
    Configuration._default = None
    config = Configuration(oauth2_token=OAuth2Token(client_id=client_id, client_secret=secret))
    api_client = ApiClient(config)
    store: dict[str, Any] = {"token": dict(token, scope=token["scope"].split())}
    api_client.oauth2_token_getter(lambda: store["token"])
    api_client.oauth2_token_saver(lambda new: store.update(token=new))
    return api_client
