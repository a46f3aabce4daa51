"""What would stop a sync, found before the sync runs.

For each organisation the doctor checks the connection, the scopes granted against those
the workspace needs, the token's age, one live call (which also reads today's remaining
call budget from Xero's own headers), webhooks, and, where payroll is granted, that the
payroll calendars and earnings rates timesheets need exist. Each problem comes with its
fix in one sentence.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from ledgerbridge.errors import XeroError
from ledgerbridge.xero import scopes
from ledgerbridge.xero.client import ACCOUNTING, PAYROLL_AU, Organisation
from ledgerbridge.xero.connections import list_connections
from ledgerbridge.xero.models import ConnectionStatus, GrantStatus, XeroApp, XeroConnection, XeroGrant
from ledgerbridge.xero.services import XeroServices
from ledgerbridge.xero.tokens import IDLE_REFRESH_AFTER

REFRESH_TOKEN_LIFETIME = timedelta(days=60)
LOW_BUDGET_SHARE = 0.1


class Severity(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    message: str
    fix: str | None = None


@dataclass
class ConnectionReport:
    connection_id: str
    tenant_id: str
    tenant_name: str
    status: ConnectionStatus
    findings: list[Finding] = field(default_factory=list)
    calls_remaining_today: int | None = None

    @property
    def healthy(self) -> bool:
        return all(f.severity is not Severity.ERROR for f in self.findings)


async def diagnose(services: XeroServices, workspace_id: str) -> list[ConnectionReport]:
    snapshot = await asyncio.to_thread(_snapshot, services, workspace_id)
    reports = []
    for connection, grant, own_app in snapshot:
        reports.append(await _diagnose_one(services, connection, grant, own_app))
    return reports


def _snapshot(
    services: XeroServices, workspace_id: str
) -> list[tuple[XeroConnection, XeroGrant | None, XeroApp | None]]:
    with services.database.session() as session:
        own_app = session.scalar(select(XeroApp).where(XeroApp.workspace_id == workspace_id))
        return [
            (c, session.get(XeroGrant, c.grant_id) if c.grant_id else None, own_app)
            for c in list_connections(session, workspace_id)
            if c.status is not ConnectionStatus.DISCONNECTED
        ]


async def _diagnose_one(
    services: XeroServices, connection: XeroConnection, grant: XeroGrant | None, own_app: XeroApp | None
) -> ConnectionReport:
    report = ConnectionReport(connection.id, connection.tenant_id, connection.tenant_name, connection.status)
    if (
        grant is None
        or grant.status is not GrantStatus.ACTIVE
        or connection.status is not ConnectionStatus.CONNECTED
    ):
        reason = connection.status_reason or (grant.status_reason if grant else None) or "no authorisation"
        report.findings.append(
            Finding(
                "connection",
                Severity.ERROR,
                f"Not usable: {reason}.",
                "Reconnect it from the Integrations page.",
            )
        )
        return report
    report.findings.append(_check_scopes(grant, own_app))
    report.findings.append(_check_token_age(services, grant))
    report.findings.append(_check_webhooks(own_app))
    org = Organisation(grant.id, connection.tenant_id)
    report.findings.append(await _check_live(services, org, report))
    if any(s.startswith("payroll.") for s in grant.scopes.split()):
        report.findings.extend(await _check_payroll(services, org))
    return report


def _check_scopes(grant: XeroGrant, own_app: XeroApp | None) -> Finding:
    granular = own_app.granular_scopes if own_app else False
    needed = set(scopes.requested(granular=granular))
    missing = sorted(needed - set(grant.scopes.split()))
    if missing:
        return Finding(
            "scopes",
            Severity.ERROR,
            f"Xero did not grant: {', '.join(missing)}; records needing them cannot sync.",
            "Reconnect and allow every permission on Xero's consent page.",
        )
    return Finding("scopes", Severity.OK, "Every scope the enabled record types need is granted.")


def _check_token_age(services: XeroServices, grant: XeroGrant) -> Finding:
    idle = services.clock.utcnow() - grant.refreshed_at
    days = idle.days
    if idle > REFRESH_TOKEN_LIFETIME - timedelta(days=7):
        return Finding(
            "token",
            Severity.ERROR,
            f"The authorisation was last refreshed {days} days ago; Xero expires it after 60 unused days.",
            "Run a sync now (it refreshes the token), or reconnect if Xero already refuses it.",
        )
    if idle > IDLE_REFRESH_AFTER:
        return Finding(
            "token",
            Severity.WARNING,
            f"Last refreshed {days} days ago.",
            "Keep the scheduler running; it refreshes idle authorisations every two weeks.",
        )
    return Finding(
        "token", Severity.OK, f"Refreshed {days} days ago ({grant.refresh_count} refreshes so far)."
    )


def _check_webhooks(own_app: XeroApp | None) -> Finding:
    if own_app is not None and own_app.webhook_key_sealed is None:
        return Finding(
            "webhooks",
            Severity.WARNING,
            "No webhook key is set, so Xero's changes arrive only on the sync schedule.",
            "Copy the webhook key from your app in Xero's developer portal into Settings.",
        )
    return Finding("webhooks", Severity.OK, "A webhook key is configured.")


async def _check_live(services: XeroServices, org: Organisation, report: ConnectionReport) -> Finding:
    try:
        await services.client.get(org, f"{ACCOUNTING}/Organisation")
    except XeroError as exc:
        return Finding("api", Severity.ERROR, f"Xero refused a test call: {exc.detail}", _fix_for(exc))
    remaining = services.budget.remaining_today(org.tenant_id)
    report.calls_remaining_today = remaining
    limit = services.budget.limits.per_day
    if remaining < limit * LOW_BUDGET_SHARE:
        return Finding(
            "budget",
            Severity.WARNING,
            f"Only {remaining} of today's Xero calls are left for this organisation.",
            "Syncs pause when it runs out and resume at Xero's daily reset; avoid full re-imports today.",
        )
    return Finding("api", Severity.OK, f"Xero answers; {remaining} calls left today.")


def _fix_for(exc: XeroError) -> str:
    if exc.code in {"xero_forbidden", "xero_reconnect_needed"}:
        return "Reconnect this organisation from the Integrations page."
    if exc.code == "xero_rate_limited":
        return "Wait for the limit to reset; syncs resume by themselves."
    return "Check Xero's status page, then try again."


async def _check_payroll(services: XeroServices, org: Organisation) -> list[Finding]:
    try:
        calendars = await services.client.get(org, f"{PAYROLL_AU}/PayrollCalendars")
        pay_items = await services.client.get(org, f"{PAYROLL_AU}/PayItems")
    except XeroError as exc:
        return [
            Finding("payroll", Severity.WARNING, f"Payroll AU could not be read: {exc.detail}", _fix_for(exc))
        ]
    findings = []
    if not calendars.get("PayrollCalendars"):
        findings.append(
            Finding(
                "payroll",
                Severity.ERROR,
                "The organisation has no payroll calendar, so timesheets have no period to belong to.",
                "Create a payroll calendar in Xero Payroll settings.",
            )
        )
    rates = (pay_items.get("PayItems") or {}).get("EarningsRates") or []
    if not rates:
        findings.append(
            Finding(
                "payroll",
                Severity.ERROR,
                "The organisation has no earnings rates to map work types to.",
                "Add an earnings rate (e.g. Ordinary Hours) in Xero Payroll settings.",
            )
        )
    return findings or [
        Finding(
            "payroll",
            Severity.OK,
            f"{len(calendars['PayrollCalendars'])} calendars, {len(rates)} earnings rates.",
        )
    ]


def as_dict(report: ConnectionReport) -> dict[str, object]:
    return {
        "connection_id": report.connection_id,
        "tenant_id": report.tenant_id,
        "tenant_name": report.tenant_name,
        "status": report.status.value,
        "healthy": report.healthy,
        "calls_remaining_today": report.calls_remaining_today,
        "findings": [
            {"check": f.check, "severity": f.severity.value, "message": f.message, "fix": f.fix}
            for f in report.findings
        ],
    }


__all__ = ["ConnectionReport", "Finding", "Severity", "as_dict", "diagnose"]
