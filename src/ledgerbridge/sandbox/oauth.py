"""The OAuth 2.0 rules of Xero's identity service, without HTTP (XERO_API_NOTES 1.3-1.9).

``identity`` turns requests into calls here; the API guard uses ``verify_access_token``.
Access and id tokens are RS256 JWTs signed with the sandbox's own key (published at
``/.well-known/openid-configuration/jwks``); refresh tokens are opaque and stored only as
SHA-256 hashes. All lifetimes run on the sandbox clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import jwt

from ledgerbridge.sandbox.errors import OAuthError, unauthorized
from ledgerbridge.sandbox.models import App, AuthCode, Connection, Grant, RefreshToken, User
from ledgerbridge.sandbox.state import SandboxState

__all__ = [
    "AccessClaims",
    "authenticate_client",
    "client_credentials_grant",
    "code_challenge",
    "create_app",
    "exchange_code",
    "issue_code",
    "refresh_grant",
    "revoke",
    "verify_access_token",
]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_client_id() -> str:
    """32 upper-case hex characters, like Xero's client ids."""
    return uuid.uuid4().hex.upper()


def new_client_secret() -> str:
    """48 URL-safe characters, like Xero's client secrets."""
    return secrets.token_urlsafe(36)


def code_challenge(verifier: str) -> str:
    """PKCE S256: BASE64URL(SHA256(verifier)) without padding (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def create_app(
    state: SandboxState,
    *,
    name: str,
    redirect_uris: list[str],
    pkce: bool = False,
    custom_connection_tenant_id: str | None = None,
    custom_connection_scopes: list[str] | None = None,
    webhook_url: str | None = None,
    granular_only: bool = False,
    client_id: str | None = None,
    client_secret: str | None = None,
    webhook_key: str | None = None,
) -> App:
    """Register a developer app, as Xero's developer portal does."""
    if custom_connection_tenant_id and pkce:
        raise ValueError("a custom connection needs a client secret, so it cannot be PKCE")
    if custom_connection_tenant_id and custom_connection_tenant_id not in state.orgs:
        raise ValueError(f"no organisation {custom_connection_tenant_id}")
    app = App(
        client_id=client_id or new_client_id(),
        client_secret=None if pkce else (client_secret or new_client_secret()),
        name=name,
        redirect_uris=list(redirect_uris),
        created_at=state.clock.now(),
        custom_connection_tenant_id=custom_connection_tenant_id,
        custom_connection_scopes=list(custom_connection_scopes or []),
        granular_only=granular_only,
    )
    app.webhook.url = webhook_url
    app.webhook.key = webhook_key or secrets.token_urlsafe(48)
    return state.add_app(app)


# -- client authentication ---------------------------------------------------------------


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client")
    return unquote(client_id), unquote(secret)


def authenticate_client(
    state: SandboxState, authorization: str | None, form: Mapping[str, str]
) -> tuple[App, bool]:
    """Identify the calling app from HTTP Basic or the form body (Xero accepts both).

    Returns the app and whether it proved its secret. A PKCE app has no secret and is
    identified by ``client_id`` alone; a confidential app must present its secret.
    """
    basic = _basic_credentials(authorization)
    client_id, secret = basic if basic else (form.get("client_id", ""), form.get("client_secret"))
    if basic and form.get("client_id") and form["client_id"] != client_id:
        raise OAuthError("invalid_request", "client_id differs between header and body")
    app = state.apps.get(client_id)
    if app is None:
        raise OAuthError("invalid_client")
    if app.client_secret is None:
        return app, False
    if not secret or not hmac.compare_digest(secret, app.client_secret):
        raise OAuthError("invalid_client")
    return app, True


# -- tokens --------------------------------------------------------------------------------


def _user_sub(user_id: str) -> str:
    return user_id.replace("-", "")


def _sign(state: SandboxState, claims: dict[str, Any]) -> str:
    return jwt.encode(
        claims, state.signing_key, algorithm="RS256", headers={"kid": state.signing_key_id}
    )


def _access_token(
    state: SandboxState, grant: Grant, scopes: list[str], auth_event_id: str | None
) -> str:
    now = int(state.clock.time())
    claims: dict[str, Any] = {
        "nbf": now,
        "exp": now + state.config.access_token_seconds,
        "iss": state.config.issuer,
        "aud": f"{state.config.issuer}/resources",
        "client_id": grant.client_id,
        "jti": uuid.uuid4().hex.upper(),
        "scope": list(scopes),
    }
    if grant.user_id is not None:
        claims.update(
            sub=_user_sub(grant.user_id),
            auth_time=int(grant.updated_at.timestamp()),
            xero_userid=grant.user_id,
            global_session_id=grant.global_session_id,
            authentication_event_id=auth_event_id,
        )
    else:
        claims["sub"] = grant.client_id
    return _sign(state, claims)


def _id_token(state: SandboxState, grant: Grant, scopes: list[str], nonce: str | None) -> str:
    user = state.users[grant.user_id] if grant.user_id else None
    now = int(state.clock.time())
    claims: dict[str, Any] = {
        "nbf": now,
        "iat": now,
        "exp": now + state.config.id_token_seconds,
        "iss": state.config.issuer,
        "aud": grant.client_id,
        "sub": _user_sub(user.user_id) if user else grant.client_id,
        "auth_time": int(grant.updated_at.timestamp()),
        "at_hash": secrets.token_urlsafe(16),
        "sid": grant.global_session_id,
        "global_session_id": grant.global_session_id,
    }
    if user is not None:
        claims["xero_userid"] = user.user_id
        if "profile" in scopes:
            claims.update(
                given_name=user.first_name,
                family_name=user.last_name,
                preferred_username=user.email,
            )
        if "email" in scopes:
            claims["email"] = user.email
    if nonce:
        claims["nonce"] = nonce
    return _sign(state, claims)


def _token_response(
    state: SandboxState,
    grant: Grant,
    scopes: list[str],
    auth_event_id: str,
    *,
    nonce: str | None = None,
) -> dict[str, Any]:
    """Mint a token set; a refresh token only with ``offline_access``."""
    response: dict[str, Any] = {}
    if "openid" in scopes:
        response["id_token"] = _id_token(state, grant, scopes, nonce)
    response.update(
        access_token=_access_token(state, grant, scopes, auth_event_id),
        expires_in=state.config.access_token_seconds,
        token_type="Bearer",  # noqa: S106 - the token type, not a secret
    )
    if "offline_access" in scopes and grant.user_id is not None:
        value = secrets.token_hex(32)
        token = RefreshToken(
            token_hash=_hash(value),
            client_id=grant.client_id,
            grant_id=grant.grant_id,
            auth_event_id=auth_event_id,
            scopes=list(scopes),
            issued_at=state.clock.time(),
        )
        state.refresh_tokens[token.token_hash] = token
        state.touch(token)
        response["refresh_token"] = value
    response["scope"] = " ".join(scopes)
    return response


# -- authorization code ------------------------------------------------------------------


def grant_for(state: SandboxState, client_id: str, user_id: str | None) -> Grant | None:
    return next(
        (g for g in state.grants.values() if g.client_id == client_id and g.user_id == user_id),
        None,
    )


def connect(
    state: SandboxState, app: App, user: User, scopes: list[str], tenant_ids: list[str]
) -> tuple[Grant, str]:
    """Record a consent: add scopes to the app's grant for this user (Xero's scopes are
    additive) and connect the chosen organisations under a new auth event."""
    now = state.clock.now()
    auth_event_id = str(uuid.uuid4())
    with state.transaction():
        grant = grant_for(state, app.client_id, user.user_id)
        if grant is None:
            grant = Grant(
                grant_id=str(uuid.uuid4()),
                client_id=app.client_id,
                user_id=user.user_id,
                scopes=[],
                created_at=now,
                updated_at=now,
                global_session_id=uuid.uuid4().hex,
            )
            state.grants[grant.grant_id] = grant
        grant.scopes = list(dict.fromkeys([*grant.scopes, *scopes]))
        grant.updated_at = now
        state.touch(grant)
        existing = {c.tenant_id: c for c in state.connections_of(grant.grant_id)}
        for tenant_id in tenant_ids:
            connection = existing.get(tenant_id)
            if connection is None:
                connection = Connection(
                    connection_id=str(uuid.uuid4()),
                    grant_id=grant.grant_id,
                    tenant_id=tenant_id,
                    auth_event_id=auth_event_id,
                    created_at=now,
                    updated_at=now,
                )
                state.connections[connection.connection_id] = connection
            else:
                connection.auth_event_id, connection.updated_at = auth_event_id, now
            state.touch(connection)
    return grant, auth_event_id


def issue_code(
    state: SandboxState,
    *,
    grant: Grant,
    user: User,
    redirect_uri: str,
    scopes: list[str],
    auth_event_id: str,
    code_challenge: str | None,
    nonce: str | None,
) -> str:
    code = secrets.token_hex(32)
    state.auth_codes[code] = AuthCode(
        code=code,
        client_id=grant.client_id,
        redirect_uri=redirect_uri,
        grant_id=grant.grant_id,
        user_id=user.user_id,
        scopes=list(scopes),
        auth_event_id=auth_event_id,
        code_challenge=code_challenge,
        nonce=nonce,
        expires_at=state.clock.time() + state.config.authorization_code_seconds,
    )
    return code


def exchange_code(
    state: SandboxState, app: App, authenticated: bool, form: Mapping[str, str]
) -> dict[str, Any]:
    """``grant_type=authorization_code``: single use, 5 minutes, same redirect URI, and
    the PKCE verifier when the authorize request carried a challenge."""
    with state.transaction():
        code = state.auth_codes.get(form.get("code", ""))
        if code is None or code.used or code.client_id != app.client_id:
            raise OAuthError("invalid_grant")
        if state.clock.time() > code.expires_at:
            raise OAuthError("invalid_grant", "authorization code expired")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match")
        if code.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            if not verifier or not hmac.compare_digest(
                code_challenge(verifier), code.code_challenge
            ):
                raise OAuthError("invalid_grant", "code_verifier does not match")
        elif not authenticated:
            raise OAuthError("invalid_client")
        code.used = True
        grant = state.grants.get(code.grant_id)
        if grant is None:
            raise OAuthError("invalid_grant")
        return _token_response(state, grant, code.scopes, code.auth_event_id, nonce=code.nonce)


# -- refresh -------------------------------------------------------------------------------


def refresh_grant(state: SandboxState, app: App, form: Mapping[str, str]) -> dict[str, Any]:
    """``grant_type=refresh_token`` with rotation, grace period and 60-day idle expiry.

    The old token keeps working for ``refresh_grace_seconds`` after its first use,
    returning the same successor (or a further pair, per ``grace_replay``), so a client
    that lost the response can recover; after that it is ``invalid_grant``.
    """
    config = state.config
    with state.transaction():
        token = state.refresh_tokens.get(_hash(form.get("refresh_token", "")))
        if token is None or token.revoked or token.client_id != app.client_id:
            raise OAuthError("invalid_grant")
        grant = state.grants.get(token.grant_id)
        if grant is None:
            raise OAuthError("invalid_grant")
        now = state.clock.time()
        if token.rotated_at is not None:
            if now > token.rotated_at + config.refresh_grace_seconds:
                raise OAuthError("invalid_grant")
            if config.grace_replay == "same" and token.successor is not None:
                return dict(token.successor)
            return _token_response(state, grant, token.scopes, token.auth_event_id)
        if now > token.issued_at + config.refresh_token_idle_seconds:
            raise OAuthError("invalid_grant")
        response = _token_response(state, grant, token.scopes, token.auth_event_id)
        token.rotated_at, token.successor = now, dict(response)
        state.touch(token)
        return response


def client_credentials_grant(state: SandboxState, app: App, authenticated: bool) -> dict[str, Any]:
    """``grant_type=client_credentials``: a custom connection's token for its one
    organisation; no refresh token."""
    tenant_id = app.custom_connection_tenant_id
    if not authenticated or tenant_id is None:
        raise OAuthError("unauthorized_client")
    if tenant_id not in state.orgs:
        raise OAuthError("invalid_grant", "the custom connection's organisation is gone")
    now = state.clock.now()
    with state.transaction():
        grant = grant_for(state, app.client_id, None)
        if grant is None:
            grant = Grant(str(uuid.uuid4()), app.client_id, None, [], now, now)
            state.grants[grant.grant_id] = grant
        grant.scopes = list(app.custom_connection_scopes)
        state.touch(grant)
        if tenant_id not in state.tenant_ids_of(grant.grant_id):
            connection = Connection(str(uuid.uuid4()), grant.grant_id, tenant_id,
                                    str(uuid.uuid4()), now, now)
            state.connections[connection.connection_id] = connection
            state.touch(connection)
        return _token_response(state, grant, grant.scopes, "")


def revoke(state: SandboxState, app: App, token_value: str) -> None:
    """Revoke a refresh token and, with it, the grant and all its connections (as
    xero-python documents). Unknown tokens are ignored (RFC 7009)."""
    with state.transaction():
        token = state.refresh_tokens.get(_hash(token_value))
        if token is None or token.client_id != app.client_id:
            return
        state.remove_grant(token.grant_id)


# -- verification ------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessClaims:
    """A verified access token."""

    client_id: str
    user_id: str | None
    scopes: frozenset[str]
    auth_event_id: str | None
    expires_at: int
    raw: dict[str, Any]


def verify_access_token(state: SandboxState, token: str) -> AccessClaims:
    """Check signature and lifetime (on the sandbox clock). 401 in Xero's shape if bad."""
    try:
        claims = jwt.decode(
            token,
            state.signing_key.public_key(),
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_nbf": False, "verify_aud": False,
                     "verify_iss": False},
        )
    except jwt.PyJWTError as exc:
        raise unauthorized("AuthenticationUnsuccessful") from exc
    exp = int(claims.get("exp", 0))
    if state.clock.time() >= exp:
        stamp = datetime.fromtimestamp(exp, UTC).strftime("%m/%d/%Y %H:%M:%S")
        raise unauthorized(f"TokenExpired: token expired at {stamp}")
    scope = claims.get("scope", [])
    scopes = frozenset(scope.split() if isinstance(scope, str) else scope)
    return AccessClaims(
        client_id=str(claims.get("client_id", "")),
        user_id=claims.get("xero_userid"),
        scopes=scopes,
        auth_event_id=claims.get("authentication_event_id"),
        expires_at=exp,
        raw=claims,
    )
