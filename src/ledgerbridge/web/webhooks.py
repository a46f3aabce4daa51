"""Where Xero delivers webhooks: one URL for the built-in app, one per workspace's own app.

Xero's rules (intent to receive and every delivery alike): 200 with an empty body when the
signature is right, 401 when it is wrong, within five seconds, with no cookies. So these
routes answer with bare ``Response`` objects (never problem JSON) and do no more than
verify and store; the fetch happens later (``ledgerbridge.xero.webhooks``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ledgerbridge.db import Database
from ledgerbridge.logging import get_logger
from ledgerbridge.xero import apps, webhooks
from ledgerbridge.xero.services import XeroServices

log = get_logger(__name__)
router = APIRouter(include_in_schema=False)

# The paths are defined once, in ``xero.apps``, which also builds the URLs an admin registers
# with Xero from them; these names stay for callers that import them from here (the CLI).
BUILT_IN_PATH = apps.BUILT_IN_WEBHOOK_PATH
OWN_APP_PATH = apps.OWN_APP_WEBHOOK_PATH


def _key(session: Session, services: XeroServices, workspace_id: str | None) -> str | None:
    """The key that verifies a delivery: the built-in app's, or the workspace's own app's."""
    if workspace_id is None:
        return webhooks.built_in_key(services.settings)
    return webhooks.own_app_key(session, services.vault, workspace_id)


def _receive(
    database: Database, services: XeroServices, workspace_id: str | None, body: bytes, signature: str | None
) -> int:
    """Verify, then store in one transaction; the status code to answer with.

    Runs in a worker thread: the database calls must not hold up the event loop that is
    answering other deliveries against the same deadline.
    """
    with database.session() as session:
        if not webhooks.verify_signature(body, signature, _key(session, services, workspace_id)):
            log.warning("xero.webhook.refused", workspace_id=workspace_id, reason="signature")
            return 401
        try:
            payload = webhooks.parse_payload(body)
        except ValidationError as exc:
            # Signed by Xero yet unreadable: answer an error so that Xero keeps the events
            # and retries, rather than losing them behind a 200.
            log.error("xero.webhook.unreadable", workspace_id=workspace_id, errors=exc.error_count())
            return 400
        webhooks.accept(session, payload, workspace_id=workspace_id)
    return 200


async def _answer(request: Request, workspace_id: str | None) -> Response:
    body = await request.body()  # the raw bytes: the signature covers exactly these
    database: Database = request.app.state.database
    services: XeroServices = request.app.state.xero
    signature = request.headers.get(webhooks.SIGNATURE_HEADER)
    status = await run_in_threadpool(_receive, database, services, workspace_id, body, signature)
    return Response(status_code=status)


@router.post(BUILT_IN_PATH)
async def built_in_app(request: Request) -> Response:
    """Deliveries for the built-in app (its key: ``LEDGERBRIDGE_XERO_WEBHOOK_KEY``)."""
    return await _answer(request, None)


@router.post(OWN_APP_PATH)
async def own_app(request: Request, workspace_id: str) -> Response:
    """Deliveries for a workspace's own app (its key: the app's sealed webhooks key)."""
    return await _answer(request, workspace_id)
