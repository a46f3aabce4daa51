"""Xero's identity endpoints over HTTP (XERO_API_NOTES section 1).

``/identity/connect/authorize`` (sign-in and consent pages), ``/connect/token``,
``/connect/revocation``, ``/connections`` and the OIDC discovery documents. The rules are
in ``oauth``; this module parses requests and renders pages.

Like Xero, a bad ``client_id`` or ``redirect_uri`` never redirects (an error page is shown
instead); other authorize errors redirect back with ``error=...`` and the ``state``.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from jwt.algorithms import RSAAlgorithm

from ledgerbridge.sandbox import oauth
from ledgerbridge.sandbox.errors import JSON_TYPE, OAuthError, not_found
from ledgerbridge.sandbox.guard import bearer_grant, get_state
from ledgerbridge.sandbox.models import App, AuthRequest, User
from ledgerbridge.sandbox.scopes import BROAD_ONLY, IDENTITY_SCOPES, describe, unknown_scopes
from ledgerbridge.sandbox.seeding import DEMO_EMAIL, DEMO_PASSWORD
from ledgerbridge.sandbox.state import SandboxState

__all__ = ["router"]

router = APIRouter()
SESSION_COOKIE = "xero_sandbox_session"
AUTH_REQUEST_SECONDS = 30 * 60
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

_templates = Environment(
    loader=PackageLoader("ledgerbridge.sandbox", "templates"),
    autoescape=select_autoescape(["html"]),
)


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _templates.get_template(name).render(
        demo_email=DEMO_EMAIL, demo_password=DEMO_PASSWORD, **context
    )
    return HTMLResponse(html, status, headers=NO_STORE)


def _with_query(url: str, params: dict[str, str | None]) -> str:
    """Add parameters to a redirect URI, keeping any query it already has."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((k, v) for k, v in params.items() if v is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


# -- authorize -----------------------------------------------------------------------------


def _authorize_error(redirect_uri: str, state: str | None, error: str,
                     description: str) -> RedirectResponse:
    return _redirect(_with_query(redirect_uri, {
        "error": error, "error_description": description, "state": state,
    }))


def _validate_scopes(app: App, scopes: list[str]) -> str | None:
    if not scopes:
        return "scope is required"
    unknown = unknown_scopes(scopes)
    if unknown:
        return f"unknown scope: {' '.join(unknown)}"
    if app.granular_only and BROAD_ONLY.intersection(scopes):
        return "this app may only request granular scopes"
    return None


@router.get("/identity/connect/authorize", response_class=HTMLResponse)
def authorize(
    request: Request,
    state_: Annotated[SandboxState, Depends(get_state)],
    client_id: str = "",
    redirect_uri: str = "",
    response_type: str = "",
    scope: str = "",
    state: str | None = None,
    code_challenge: str | None = None,
    code_challenge_method: str | None = None,
    nonce: str | None = None,
) -> Response:
    """Start consent: validate the app, then show sign-in (or consent if signed in)."""
    app = state_.apps.get(client_id)
    if app is None:
        return _page("error.html", 400, message="Unknown client_id.")
    if redirect_uri not in app.redirect_uris:
        return _page("error.html", 400, message="The redirect_uri is not registered for this app.")
    if response_type != "code":
        return _authorize_error(redirect_uri, state, "unsupported_response_type",
                                "response_type must be code")
    scopes = scope.split()
    problem = _validate_scopes(app, scopes)
    if problem:
        return _authorize_error(redirect_uri, state, "invalid_scope", problem)
    if code_challenge and (code_challenge_method or "plain") != "S256":
        return _authorize_error(redirect_uri, state, "invalid_request",
                                "code_challenge_method must be S256")
    if app.is_pkce and not code_challenge:
        return _authorize_error(redirect_uri, state, "invalid_request",
                                "code_challenge is required for a PKCE app")
    pending = AuthRequest(
        request_id=secrets.token_urlsafe(24),
        client_id=app.client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        code_challenge=code_challenge,
        nonce=nonce,
        created_at=state_.clock.time(),
    )
    with state_.lock:
        state_.auth_requests[pending.request_id] = pending
    if _signed_in_user(state_, request) is not None:
        return _redirect(f"/identity/connect/consent?request_id={pending.request_id}")
    return _page("login.html", app_name=app.name, request_id=pending.request_id, email="",
                 error=None)


def _pending(state: SandboxState, request_id: str) -> AuthRequest | None:
    pending = state.auth_requests.get(request_id)
    if pending is None or state.clock.time() > pending.created_at + AUTH_REQUEST_SECONDS:
        return None
    return pending


def _signed_in_user(state: SandboxState, request: Request) -> User | None:
    user_id = state.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
    return state.users.get(user_id) if user_id else None


@router.post("/identity/connect/authorize/login", response_class=HTMLResponse)
def login(
    state: Annotated[SandboxState, Depends(get_state)],
    request_id: Annotated[str, Form()],
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    pending = _pending(state, request_id)
    if pending is None:
        return _page("error.html", 400, message="This sign-in has expired. Start again from the app.")
    app = state.apps[pending.client_id]
    user = state.user_by_email(email)
    if user is None or not secrets.compare_digest(user.password, password):
        return _page("login.html", 401, app_name=app.name, request_id=request_id, email=email,
                     error="Your email or password is incorrect.")
    session = secrets.token_urlsafe(24)
    with state.lock:
        state.sessions[session] = user.user_id
    response = _redirect(f"/identity/connect/consent?request_id={request_id}")
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax", path="/")
    return response


def _consent_page(state: SandboxState, pending: AuthRequest, user: User,
                  error: str | None = None, status: int = 200) -> HTMLResponse:
    app = state.apps[pending.client_id]
    grant = oauth.grant_for(state, app.client_id, user.user_id)
    connected = state.tenant_ids_of(grant.grant_id) if grant else set()
    organisations = [
        {"tenant_id": t, "name": state.orgs[t].name, "connected": t in connected}
        for t in user.tenant_ids if t in state.orgs
    ]
    scopes = [{"name": s, "words": describe(s)} for s in pending.scopes]
    return _page("consent.html", status, app_name=app.name, user_email=user.email,
                 scopes=scopes, organisations=organisations, request_id=pending.request_id,
                 error=error)


@router.get("/identity/connect/consent", response_class=HTMLResponse)
def consent(
    request: Request, state: Annotated[SandboxState, Depends(get_state)], request_id: str = ""
) -> Response:
    pending = _pending(state, request_id)
    if pending is None:
        return _page("error.html", 400, message="This sign-in has expired. Start again from the app.")
    user = _signed_in_user(state, request)
    if user is None:
        app = state.apps[pending.client_id]
        return _page("login.html", app_name=app.name, request_id=request_id, email="", error=None)
    return _consent_page(state, pending, user)


@router.post("/identity/connect/consent", response_class=HTMLResponse)
def decide(
    request: Request,
    state: Annotated[SandboxState, Depends(get_state)],
    request_id: Annotated[str, Form()],
    action: Annotated[str, Form()] = "cancel",
    tenant_id: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """"Allow access" issues a code for the chosen organisations; "Cancel" denies."""
    pending = _pending(state, request_id)
    user = _signed_in_user(state, request)
    if pending is None or user is None:
        return _page("error.html", 400, message="This sign-in has expired. Start again from the app.")
    if action != "allow":
        state.auth_requests.pop(request_id, None)
        return _redirect(_with_query(pending.redirect_uri, {
            "error": "access_denied", "state": pending.state,
        }))
    chosen = [t for t in dict.fromkeys(tenant_id or []) if t in user.tenant_ids and t in state.orgs]
    needs_tenant = any(s not in IDENTITY_SCOPES for s in pending.scopes)
    if needs_tenant and not chosen:
        return _consent_page(state, pending, user, "Choose at least one organisation.", 400)
    app = state.apps[pending.client_id]
    grant, auth_event_id = oauth.connect(state, app, user, pending.scopes, chosen)
    with state.lock:
        code = oauth.issue_code(
            state, grant=grant, user=user, redirect_uri=pending.redirect_uri,
            scopes=pending.scopes, auth_event_id=auth_event_id,
            code_challenge=pending.code_challenge, nonce=pending.nonce,
        )
        state.auth_requests.pop(request_id, None)
    return _redirect(_with_query(pending.redirect_uri, {
        "code": code,
        "scope": " ".join(pending.scopes),
        "state": pending.state,
        "session_state": secrets.token_urlsafe(16),
    }))


# -- token and revocation ----------------------------------------------------------------


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.post("/connect/token")
async def token(request: Request) -> JSONResponse:
    """The token endpoint: authorization_code, refresh_token and client_credentials."""
    state = get_state(request)
    form = await _form(request)
    app, authenticated = oauth.authenticate_client(
        state, request.headers.get("authorization"), form
    )
    grant_type = form.get("grant_type", "")
    if grant_type == "authorization_code":
        body = oauth.exchange_code(state, app, authenticated, form)
    elif grant_type == "refresh_token":
        body = oauth.refresh_grant(state, app, form)
    elif grant_type == "client_credentials":
        body = oauth.client_credentials_grant(state, app, authenticated)
    elif not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    else:
        raise OAuthError("unsupported_grant_type")
    return JSONResponse(body, headers=NO_STORE, media_type=JSON_TYPE)


@router.post("/connect/revocation")
async def revocation(request: Request) -> Response:
    """Revoke a refresh token, its grant and all the grant's connections; 200 always."""
    state = get_state(request)
    form = await _form(request)
    app, _ = oauth.authenticate_client(state, request.headers.get("authorization"), form)
    oauth.revoke(state, app, form.get("token", ""))
    return Response(status_code=200, headers=NO_STORE)


# -- connections ---------------------------------------------------------------------------


def _utc7(moment: datetime) -> str:
    """Xero's connection timestamps: 7 fractional digits, no zone."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


@router.get("/connections")
def list_connections(request: Request, authEventId: str | None = None) -> JSONResponse:
    state = get_state(request)
    _claims, grant = bearer_grant(request)
    items = []
    if grant is not None:
        for connection in state.connections_of(grant.grant_id):
            org = state.orgs.get(connection.tenant_id)
            if org is None or (authEventId and connection.auth_event_id != authEventId):
                continue
            items.append({
                "id": connection.connection_id,
                "authEventId": connection.auth_event_id,
                "tenantId": org.tenant_id,
                "tenantType": "ORGANISATION",
                "tenantName": org.name,
                "createdDateUtc": _utc7(connection.created_at),
                "updatedDateUtc": _utc7(connection.updated_at),
            })
    return JSONResponse(items, media_type=JSON_TYPE)


@router.delete("/connections/{connection_id}", status_code=204)
def delete_connection(request: Request, connection_id: str) -> Response:
    state = get_state(request)
    _claims, grant = bearer_grant(request)
    connection = state.connections.get(connection_id.lower())
    if grant is None or connection is None or connection.grant_id != grant.grant_id:
        raise not_found()
    state.remove_connection(connection.connection_id)
    return Response(status_code=204)


# -- OpenID Connect --------------------------------------------------------------------------


@router.get("/connect/userinfo")
def userinfo(request: Request) -> JSONResponse:
    state = get_state(request)
    claims, _grant = bearer_grant(request)
    user = state.users.get(claims.user_id or "")
    if user is None:
        raise OAuthError("invalid_token", status=401)
    body: dict[str, Any] = {"sub": user.user_id.replace("-", ""), "xero_userid": user.user_id}
    if "profile" in claims.scopes:
        body.update(given_name=user.first_name, family_name=user.last_name)
    if "email" in claims.scopes:
        body["email"] = user.email
    return JSONResponse(body, media_type=JSON_TYPE)


@router.get("/.well-known/openid-configuration")
def discovery(request: Request) -> JSONResponse:
    base = str(request.base_url).rstrip("/")
    state = get_state(request)
    return JSONResponse({
        "issuer": state.config.issuer,
        "authorization_endpoint": f"{base}/identity/connect/authorize",
        "token_endpoint": f"{base}/connect/token",
        "revocation_endpoint": f"{base}/connect/revocation",
        "userinfo_endpoint": f"{base}/connect/userinfo",
        "jwks_uri": f"{base}/.well-known/openid-configuration/jwks",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": sorted(IDENTITY_SCOPES),
    }, media_type=JSON_TYPE)


@router.get("/.well-known/openid-configuration/jwks")
def jwks(request: Request) -> JSONResponse:
    state = get_state(request)
    key: dict[str, Any] = RSAAlgorithm.to_jwk(state.signing_key.public_key(), as_dict=True)
    key.update(kid=state.signing_key_id, use="sig", alg="RS256")
    return JSONResponse({"keys": [key]}, media_type=JSON_TYPE)
