"""Bearer access-token authentication for our own routes: valid JWT *and* a live session."""

from __future__ import annotations

from authlayer import access_tokens
from authlayer.config import Settings
from authlayer.http import Request
from authlayer.jwks import verification_keys
from authlayer.logic.me import current_user
from authlayer.models import User
from authlayer.transport import issuer


def authenticate(settings: Settings, request: Request) -> tuple[access_tokens.AccessClaims, User]:
    # The public JWK Set, not the private keys: verifying needs no secret (catalogue R2-9).
    keys = verification_keys(settings)
    claims = access_tokens.verify(settings, keys, issuer(settings, request), request.bearer_token())
    return claims, current_user(claims)
