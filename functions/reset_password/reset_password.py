"""POST /api/auth/reset-password: Strapi's {code, password, passwordConfirmation} -> {jwt, user}.

Every other session of the user ends; the caller gets a new one, as at login.
"""

from authlayer.bodies import ResetPasswordBody, parse
from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler
from authlayer.keys import load_key_set
from authlayer.logic import recovery
from authlayer.transport import check_token_request, signed_in

SETTINGS = get_settings()


@api_handler
def handler(request: Request) -> Response:
    check_token_request(SETTINGS, request)  # before any work: no cookie for a refused request
    body = parse(ResetPasswordBody, request.json())
    keys = load_key_set(SETTINGS)  # before any write: no session without a way to sign for it
    user, renewed = recovery.reset_password(
        SETTINGS, body.code, body.password, body.passwordConfirmation, request.user_agent, request.source_ip
    )
    return signed_in(SETTINGS, request, keys, user.id, renewed, {"user": user.sanitized()})
