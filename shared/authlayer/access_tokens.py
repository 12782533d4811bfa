"""Access tokens: short-lived RS256 JWTs (RFC 9068 profile) that API Gateway's JWT authorizer accepts."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authlayer import clock, jwt_backend
from authlayer.config import Settings
from authlayer.errors import UnauthorizedError
from authlayer.keys import KeySet

TYP = "at+jwt"  # RFC 9068 §2.1; refresh tokens are opaque, so the two can never be confused
REQUIRED_CLAIMS = ["iss", "aud", "sub", "id", "iat", "exp", "jti", "sid"]


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    session_id: str
    expires_at: int
    issuer: str = ""
    audience: str = ""
    scope: str | None = None  # RFC 8693 §4.2 / RFC 9068 §2.2.3: space-separated, when the token has one


def issue(
    settings: Settings,
    keys: KeySet,
    issuer: str,
    user_id: str,
    session_id: str,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """``extra_claims`` (e.g. ``scope``; tests and operator tools) never replace the claims below."""
    issued_at = clock.now()
    claims: dict[str, Any] = {
        **(extra_claims or {}),
        "iss": issuer,
        "aud": settings.token_audience,
        "sub": user_id,
        "id": user_id,  # Strapi clients read `id`
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + settings.access_token_ttl,
        "jti": secrets.token_urlsafe(16),
        "sid": session_id,
    }
    return jwt_backend.encode(claims, keys, typ=TYP)


def verify(settings: Settings, keys: jwt_backend.VerificationKeys, issuer: str, token: str) -> AccessClaims:
    try:
        claims = jwt_backend.decode(
            token,
            keys,
            typ=TYP,
            issuer=issuer,
            audience=settings.token_audience,
            required=REQUIRED_CLAIMS,
            leeway=settings.leeway,
        )
    except jwt_backend.TokenError:
        raise UnauthorizedError("Missing or invalid credentials") from None
    sub, sid = claims["sub"], claims["sid"]
    # RFC 8725 §3.8: sub must be a valid subject; id must agree with it.
    if not isinstance(sub, str) or not sub or claims["id"] != sub or not isinstance(sid, str) or not sid:
        raise UnauthorizedError("Missing or invalid credentials")
    scope = claims.get("scope")
    return AccessClaims(
        user_id=sub,
        session_id=sid,
        expires_at=int(claims["exp"]),
        issuer=claims["iss"],
        audience=settings.token_audience,  # strict_aud: aud is exactly this one string
        scope=scope if isinstance(scope, str) else None,
    )
