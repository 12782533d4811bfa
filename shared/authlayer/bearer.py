"""Bearer access-token authentication for our own routes: valid JWT *and* a live session."""

from __future__ import annotations

from authlayer import access_tokens
from authlayer.config import Settings
from authlayer.http import Request
from authlayer.keys import load_key_set
from authlayer.logic.me import current_user
from authlayer.models import User
from authlayer.transport import issuer


def authenticate(settings: Settings, request: Request) -> tuple[access_tokens.AccessClaims, User]:
    claims = access_tokens.verify(settings, load_key_set(settings), issuer(settings, request), request.bearer_token())
    return claims, current_user(claims)
