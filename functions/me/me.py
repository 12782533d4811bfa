"""GET /api/users/me: the caller's sanitized user, for a valid access token of a live session."""

from authlayer.bearer import authenticate
from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler

SETTINGS = get_settings()


@api_handler
def handler(request: Request) -> Response:
    _, user = authenticate(SETTINGS, request)
    return Response(200, user.sanitized())
