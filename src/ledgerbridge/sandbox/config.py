"""Tunables of one sandbox instance.

Defaults are Xero's documented values (XERO_API_NOTES sections 1.4 and 2.1). Where Xero's
behaviour is not documented, the choice is a setting so a test can pin either reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["LimitConfig", "SandboxConfig"]

MINUTE = 60
DAY = 24 * 60 * 60


@dataclass
class LimitConfig:
    """Per-organisation API limits (per app and organisation pair, as Xero counts them)."""

    enabled: bool = True
    concurrent: int = 5
    per_minute: int = 60
    per_day: int = 5000

    def as_dict(self) -> dict[str, object]:
        return {
            "enabled": self.enabled,
            "concurrent": self.concurrent,
            "per_minute": self.per_minute,
            "per_day": self.per_day,
        }


@dataclass
class SandboxConfig:
    """Everything about one sandbox that is not data."""

    base_url: str = "http://127.0.0.1:8787"
    """Public URL of this sandbox; used in webhook ``resourceUrl`` and OIDC discovery."""
    issuer: str = "https://identity.xero.com"
    """``iss`` claim of issued tokens (Xero's own value, so token-inspecting code agrees)."""
    admin_token: str | None = None
    """If set, every ``/_sandbox/`` call needs ``Authorization: Bearer <admin_token>``."""
    access_token_seconds: int = 30 * MINUTE
    id_token_seconds: int = 5 * MINUTE
    authorization_code_seconds: int = 5 * MINUTE
    refresh_token_idle_seconds: int = 60 * DAY
    refresh_grace_seconds: int = 30 * MINUTE
    grace_replay: Literal["same", "new"] = "same"
    """Inside the grace period, reusing a rotated refresh token returns the identical
    successor pair (``same``) or mints a further pair (``new``). Xero does not document
    which; see XERO_API_NOTES 1.4."""
    missing_scope_status: Literal[401, 403] = 403
    """Status for a token lacking the endpoint's scope. The issue asks for 403; one
    observation (XERO_API_NOTES 1.10) reports 401 ``AuthorizationUnsuccessful``."""
    app_per_minute: int = 10_000
    default_limits: LimitConfig = field(default_factory=LimitConfig)
    webhook_batch_size: int = 50
    webhook_timeout_seconds: float = 5.0
    webhook_retry_schedule: tuple[int, ...] = (60, 300, 900, 1800, 3600, 7200, 14400, 28800)
    """Seconds between delivery attempts; the last value repeats until 24 h have passed."""
    webhook_give_up_seconds: int = DAY
    hang_seconds: float = 30.0
    """How long the ``timeout`` fault holds a request (real seconds) before answering 504."""
