"""POST /api/token/refresh (the tutorial's path) and POST /api/auth/refresh (Strapi v5's)."""

from authlayer.bodies import RefreshBody, parse
from authlayer.config import get_settings
from authlayer.errors import UnauthorizedError
from authlayer.http import Request, Response, api_handler
from authlayer.keys import load_key_set
from authlayer.logic import sessions
from authlayer.transport import check_token_request, presented_refresh_token, signed_in

SETTINGS = get_settings()


@api_handler
def handler(request: Request) -> Response:
    check_token_request(SETTINGS, request)  # before any work: no cookie for a refused request
    body = request.json()
    parse(RefreshBody, body)  # validation only: the token is read below, cookie first
    presented = presented_refresh_token(SETTINGS, request, body)
    if presented is None:
        raise UnauthorizedError("Missing refresh token")
    keys = load_key_set(SETTINGS)
    renewed = sessions.refresh(SETTINGS, presented)
    return signed_in(SETTINGS, request, keys, renewed.session.user_id, renewed)
