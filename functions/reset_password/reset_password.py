"""POST /api/auth/reset-password: Strapi's {code, password, passwordConfirmation} -> {jwt, user}.

Every other session of the user ends; the caller gets a new one, as at login.
"""

from authlayer.bodies import ResetPasswordBody, parse
from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler
from authlayer.keys import load_key_set
from authlayer.logic import recovery, sessions
from authlayer.transport import signed_in

SETTINGS = get_settings()


@api_handler
def handler(request: Request) -> Response:
    body = parse(ResetPasswordBody, request.json())
    keys = load_key_set(SETTINGS)  # before any write: no session without a way to sign for it
    user = recovery.reset_password(body.code, body.password, body.passwordConfirmation)
    renewed = sessions.start(SETTINGS, user.id, request.user_agent, request.source_ip)
    return signed_in(SETTINGS, request, keys, user.id, renewed, {"user": user.sanitized()})
