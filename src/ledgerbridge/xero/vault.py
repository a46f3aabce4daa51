"""Secrets at rest: tokens and client secrets are sealed with the service's key.

Sealed values are Fernet tokens (AES-128-CBC + HMAC-SHA256, with a timestamp), so a
tampered or foreign value fails to open instead of decrypting to garbage. The key lives in
its own 0600 file (``ledgerbridge.keys``), never in the database beside what it protects.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.keys import load_or_create_key
from ledgerbridge.settings import Settings


class VaultError(LedgerbridgeError):
    def __init__(self) -> None:
        super().__init__(
            "A stored secret could not be decrypted: the secret key file changed since it was "
            "stored. Restore the original key file, or reconnect Xero to store new tokens.",
            500,
            "vault_key_mismatch",
            "Secret cannot be decrypted",
        )


class Vault:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        return cls(load_or_create_key(settings.resolved_secret_key_file))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise VaultError() from exc

    def __repr__(self) -> str:
        return "Vault(<key hidden>)"
