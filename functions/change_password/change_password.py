"""POST /api/auth/change-password: Strapi's shape; other sessions end, the caller gets new tokens."""

from authlayer.bearer import authenticate
from authlayer.bodies import ChangePasswordBody, parse
from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler
from authlayer.keys import load_key_set
from authlayer.logic import accounts, sessions
from authlayer.transport import signed_in

SETTINGS = get_settings()


@api_handler
def handler(request: Request) -> Response:
    body = parse(ChangePasswordBody, request.json())
    keys = load_key_set(SETTINGS)
    _, user = authenticate(SETTINGS, request)
    accounts.change_password(user, body.currentPassword, body.password, body.passwordConfirmation)
    renewed = sessions.start(SETTINGS, user.id, request.user_agent, request.source_ip)
    fresh = user.sanitized()
    return signed_in(SETTINGS, request, keys, user.id, renewed, {"user": fresh})
