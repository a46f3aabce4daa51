"""An offline Xero: identity and OAuth, limits, faults, webhooks and a control API.

Faithful enough that the official ``xero-python`` SDK works against it unmodified. See
docs/sandbox.md for users and for contributors adding an API family.
"""

from ledgerbridge.sandbox.app import create_sandbox_app
from ledgerbridge.sandbox.clock import SandboxClock
from ledgerbridge.sandbox.config import LimitConfig, SandboxConfig
from ledgerbridge.sandbox.extensions import SandboxExtensions, default_extensions
from ledgerbridge.sandbox.guard import ApiContext, require_resource, require_scopes
from ledgerbridge.sandbox.models import Organisation, Record
from ledgerbridge.sandbox.state import SandboxState

__all__ = [
    "ApiContext",
    "LimitConfig",
    "Organisation",
    "Record",
    "SandboxClock",
    "SandboxConfig",
    "SandboxExtensions",
    "SandboxState",
    "create_sandbox_app",
    "default_extensions",
    "require_resource",
    "require_scopes",
]
