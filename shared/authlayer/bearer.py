"""Bearer access-token authentication for our own routes: valid JWT *and* a live session."""

from __future__ import annotations

from authlayer import access_tokens, issuers
from authlayer.config import Settings
from authlayer.http import Request
from authlayer.jwks import verification_keys
from authlayer.logic.me import current_user
from authlayer.models import User


def authenticate(settings: Settings, request: Request) -> tuple[access_tokens.AccessClaims, User]:
    # The public JWK Set, not the private keys: verifying needs no secret (catalogue R2-9).
    keys = verification_keys(settings)
    # issuers, not transport: verifying needs none of the cookie and session-rotation code.
    iss = issuers.issuer_of(settings, request.domain, request.headers)
    claims = access_tokens.verify(settings, keys, iss, request.bearer_token())
    return claims, current_user(claims)
