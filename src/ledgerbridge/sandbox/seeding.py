"""Demo data: organisations, the demo user, the demo app, and the seeder registry's runner.

Demo ids are fixed (uuid5 of a name) so CI scripts and docs can name them; everything else
created later gets random ids. Record data (accounts, contacts, invoices, employees...) is
the API families' business: they register seeders (``extensions.Seeder``) that
``seed()`` runs for each new organisation with the requested sizes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledgerbridge.sandbox.extensions import SandboxExtensions
from ledgerbridge.sandbox.models import Organisation, User
from ledgerbridge.sandbox.oauth import create_app
from ledgerbridge.sandbox.state import SandboxState

__all__ = [
    "DEMO_APP_CLIENT_ID",
    "DEMO_APP_CLIENT_SECRET",
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "OrganisationSpec",
    "demo_tenant_id",
    "seed",
    "seed_demo",
]

_NAMESPACE = uuid.UUID("6f1c1a52-8f0e-4c55-9d59-4b9a3c2e7a10")

DEMO_EMAIL = "demo@sandbox.test"
DEMO_PASSWORD = "sandbox"  # noqa: S105 - a documented demo credential, not a secret
DEMO_APP_CLIENT_ID = "5A4D1B6E0C2F4B3A9E8D7C6B5A4F3E2D"
DEMO_APP_CLIENT_SECRET = "sandbox-demo-client-secret-not-for-production-use"  # noqa: S105
DEMO_APP_WEBHOOK_KEY = "sandbox-demo-webhook-key"
DEMO_REDIRECT_URIS = [
    "http://127.0.0.1:8000/integrations/xero/callback",
    "http://localhost:8000/integrations/xero/callback",
]


@dataclass(frozen=True)
class OrganisationSpec:
    """What ``POST /_sandbox/seed`` accepts for one organisation."""

    name: str
    country_code: str = "AU"
    base_currency: str = "AUD"
    organisation_type: str = "COMPANY"
    timezone: str = "AUSEASTERNSTANDARDTIME"
    short_code: str | None = None
    tenant_id: str | None = None
    per_day: int | None = None
    is_demo_company: bool = False


DEMO_ORGANISATIONS = (
    OrganisationSpec("Demo Company (AU)", "AU", "AUD", timezone="AUSEASTERNSTANDARDTIME",
                     short_code="!d3mAU", is_demo_company=True),
    OrganisationSpec("Demo Company (NZ)", "NZ", "NZD", timezone="NEWZEALANDSTANDARDTIME",
                     short_code="!d3mNZ", is_demo_company=True),
)


def demo_tenant_id(name: str) -> str:
    """The fixed tenantId of a demo organisation, e.g. ``demo_tenant_id("Demo Company (AU)")``."""
    return str(uuid.uuid5(_NAMESPACE, name))


def _short_code(tenant_id: str) -> str:
    return "!" + tenant_id.replace("-", "")[:5]


def add_organisation(state: SandboxState, spec: OrganisationSpec) -> Organisation:
    tenant_id = spec.tenant_id or (
        demo_tenant_id(spec.name) if spec.is_demo_company else str(uuid.uuid4())
    )
    org = Organisation(
        tenant_id=tenant_id,
        name=spec.name,
        country_code=spec.country_code.upper(),
        base_currency=spec.base_currency.upper(),
        short_code=spec.short_code or _short_code(tenant_id),
        created_at=state.clock.now(),
        organisation_type=spec.organisation_type,
        legal_name=spec.name,
        timezone=spec.timezone,
        is_demo_company=spec.is_demo_company,
    )
    org.limits.per_day = spec.per_day or state.config.default_limits.per_day
    org.limits.per_minute = state.config.default_limits.per_minute
    org.limits.concurrent = state.config.default_limits.concurrent
    org.limits.enabled = state.config.default_limits.enabled
    return state.add_organisation(org)


def seed(
    state: SandboxState,
    extensions: SandboxExtensions,
    organisations: Sequence[OrganisationSpec],
    sizes: Mapping[str, int] | None = None,
) -> list[Organisation]:
    """Create organisations and run every registered seeder on each."""
    created = []
    for spec in organisations:
        if spec.tenant_id and spec.tenant_id in state.orgs:
            raise ValueError(f"organisation {spec.tenant_id} exists")
        org = add_organisation(state, spec)
        with state.transaction():
            for seeder in extensions.seeders:
                seeder.seed(state, org, dict(sizes or {}))
        created.append(org)
    return created


def seed_demo(
    state: SandboxState, extensions: SandboxExtensions, sizes: Mapping[str, int] | None = None
) -> None:
    """The state ``serve`` starts with: two demo organisations, the demo user and app."""
    state.add_user(User(
        user_id=str(uuid.uuid5(_NAMESPACE, DEMO_EMAIL)),
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        first_name="Demo",
        last_name="User",
        all_organisations=True,
    ))
    missing = [s for s in DEMO_ORGANISATIONS if demo_tenant_id(s.name) not in state.orgs]
    seed(state, extensions, missing, sizes)
    if DEMO_APP_CLIENT_ID not in state.apps:
        create_app(
            state,
            name="Sandbox demo app",
            redirect_uris=DEMO_REDIRECT_URIS,
            client_id=DEMO_APP_CLIENT_ID,
            client_secret=DEMO_APP_CLIENT_SECRET,
            webhook_key=DEMO_APP_WEBHOOK_KEY,
        )
