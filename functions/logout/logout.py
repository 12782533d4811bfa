"""POST /api/auth/logout: end this session, or all of the user's with {"scope": "all"}."""

from authlayer.bodies import LogoutBody, parse
from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler
from authlayer.logic import sessions
from authlayer.transport import clear_cookie, presented_refresh_token

SETTINGS = get_settings()


@api_handler
def handler(request: Request) -> Response:
    body = request.json()
    logout = parse(LogoutBody, body)
    presented = presented_refresh_token(SETTINGS, request, body)
    sessions.logout(SETTINGS, presented, everywhere=logout.scope == "all")
    # Always clear the cookie with the attributes it was set with; a second logout is no error.
    return Response(204, cookies=[clear_cookie(SETTINGS)])
