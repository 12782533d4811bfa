"""Who is calling: an access token whose session and user are still good."""

from __future__ import annotations

from authlayer import access_tokens, clock
from authlayer.dal import sessions as session_store
from authlayer.errors import UnauthorizedError
from authlayer.models import User


def current_user(claims: access_tokens.AccessClaims) -> User:
    """The token's user, if its session has not ended (ASVS 5.0 7.4.1) and the user may act (7.4.2)."""
    session, user = session_store.get_with_user(claims.session_id, claims.user_id)
    if session is None or user is None or not session.live_for(user, clock.now()):
        raise UnauthorizedError("Missing or invalid credentials")
    return user
