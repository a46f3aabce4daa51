"""Passwords, opaque tokens and who is acting.

Passwords use scrypt (memory-hard, in the standard library). API tokens and session
tokens are 256-bit random strings, so a plain SHA-256 is enough to store them: nothing
secret is kept, and a leaked table cannot be replayed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from ledgerbridge.errors import PermissionDenied
from ledgerbridge.work.models import Role

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
TOKEN_PREFIX = "lb_"  # noqa: S105 - a label, not a secret


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt_b64, digest_b64 = stored.split("$", 2)
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def new_token() -> tuple[str, str]:
    """A fresh token and the hash to store for it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Actor:
    """The signed-in user acting in one workspace, with their role there."""

    user_id: str
    workspace_id: str
    role: Role

    def require_manager(self) -> None:
        """Owners and admins only; members get a 403 that says who may do it."""
        if not self.role.manages:
            raise PermissionDenied("Only workspace owners and admins may do this.")
