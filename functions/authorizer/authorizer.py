"""Revocation-aware Lambda REQUEST authorizer for *your* API's routes (payload 2.0, simple responses).

Allows a valid access token whose session and user are still live (one BatchGetItem); the route
gets sub, sid, iss, aud, exp (and scope) in requestContext.authorizer.lambda. API Gateway caches
the answer per Authorization header for the AuthorizerCacheTtl parameter (default 30 s): that is
how long a logout or a block takes to reach your API. See authlayer.logic.authorize.
"""

from authlayer.config import get_settings
from authlayer.http import authorizer_handler
from authlayer.logic.authorize import authorize

SETTINGS = get_settings()


@authorizer_handler
def handler(event: dict) -> dict:
    return authorize(SETTINGS, event)
