"""POST /api/auth/change-password: Strapi's shape; other sessions end, the caller gets new tokens."""

from authlayer.bearer import authenticate
from authlayer.bodies import ChangePasswordBody, parse
from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler
from authlayer.keys import load_key_set
from authlayer.logic import accounts
from authlayer.transport import check_token_request, signed_in

SETTINGS = get_settings()


@api_handler
def handler(request: Request) -> Response:
    check_token_request(SETTINGS, request)  # before any work: no cookie for a refused request
    body = parse(ChangePasswordBody, request.json())
    keys = load_key_set(SETTINGS)
    _, user = authenticate(SETTINGS, request)
    renewed = accounts.change_password(
        SETTINGS,
        user,
        body.currentPassword,
        body.password,
        body.passwordConfirmation,
        request.user_agent,
        request.source_ip,
    )
    return signed_in(SETTINGS, request, keys, user.id, renewed, {"user": user.sanitized()})
