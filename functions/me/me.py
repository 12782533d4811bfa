"""GET /api/users/me: the caller's sanitized user, for a valid access token of a live session."""

from authlayer import access_tokens
from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler
from authlayer.keys import load_key_set
from authlayer.logic.me import current_user
from authlayer.transport import issuer

SETTINGS = get_settings()


@api_handler
def handler(request: Request) -> Response:
    token = request.bearer_token()
    claims = access_tokens.verify(SETTINGS, load_key_set(SETTINGS), issuer(SETTINGS, request), token)
    return Response(200, current_user(claims).sanitized())
