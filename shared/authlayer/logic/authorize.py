"""The revocation-aware Lambda REQUEST authorizer's decision (API Gateway HTTP API, payload 2.0).

API Gateway's JWT authorizer checks only the signature and claims, so a logged-out session
lasts until its access token expires (15 minutes by default). This one verifies the token
exactly as our own routes do, then checks that its session and user are still live with one
strongly consistent BatchGetItem (the /api/users/me check, logic.me.current_user): logout,
logout-everywhere, password change, reset, blocking and deletion reach the API within the
authorizer's cache TTL (ASVS 5.0 7.4.1-7.4.3: sessions end when they are ended).

Answers are API Gateway's simple responses (EnableSimpleResponses):
- ``{"isAuthorized": true, "context": {...}}``: API Gateway passes the context to the route as
  ``requestContext.authorizer.lambda`` (values must be strings, numbers or booleans);
- ``{"isAuthorized": false}``: API Gateway answers 403 Forbidden.
An unavailable DynamoDB or SSM is not an answer: it raises (authlayer.http.authorizer_handler),
and API Gateway answers 500 without calling the route (fail closed, never authorize).
"""

from __future__ import annotations

from typing import Any

from authlayer import access_tokens, issuers
from authlayer.config import Settings
from authlayer.errors import UnauthorizedError
from authlayer.http import bearer_token_of
from authlayer.jwks import verification_keys
from authlayer.logic.me import current_user
from authlayer.observability import logger

DENY: dict[str, Any] = {"isAuthorized": False}


def bearer_token(event: dict[str, Any]) -> str | None:
    """The token of ``Authorization: Bearer <token>``: the identity source, else the header itself."""
    sources = event.get("identitySource") or []
    headers = event.get("headers") or {}
    value = sources[0] if sources and isinstance(sources[0], str) else headers.get("authorization", "")
    return bearer_token_of(str(value))


def context_of(claims: access_tokens.AccessClaims) -> dict[str, str | int]:
    """What the route sees in requestContext.authorizer.lambda (strings and numbers only)."""
    context: dict[str, str | int] = {
        "sub": claims.user_id,
        "sid": claims.session_id,
        "iss": claims.issuer,
        "aud": claims.audience,
        "exp": claims.expires_at,
    }
    if claims.scope is not None:
        context["scope"] = claims.scope
    return context


def authorize(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    """Allow a valid access token of a live session and user; deny anything else."""
    token = bearer_token(event)
    if token is None:
        logger.info("authorizer denied", extra={"reason": "no bearer token"})
        return DENY
    domain = str((event.get("requestContext") or {}).get("domainName", ""))
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    issuer = issuers.issuer_of(settings, domain, headers)
    try:
        # RS256 pinned, typ at+jwt, iss, aud, exp and every claim required (RFC 8725 §3.1, §3.11).
        claims = access_tokens.verify(settings, verification_keys(settings), issuer, token)
    except UnauthorizedError:
        logger.info("authorizer denied", extra={"reason": "invalid access token"})
        return DENY
    try:
        current_user(claims)
    except UnauthorizedError:
        reason = "session or user no longer live"
        logger.info("authorizer denied", extra={"reason": reason, "session_id": claims.session_id})
        return DENY
    logger.info("authorizer allowed", extra={"user_id": claims.user_id, "session_id": claims.session_id})
    return {"isAuthorized": True, "context": context_of(claims)}
