"""POST /api/auth/local: Strapi login with username or email and password."""

from authlayer.bodies import LoginBody, parse
from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler
from authlayer.keys import load_key_set
from authlayer.logic import login as logic
from authlayer.transport import check_token_request, signed_in

SETTINGS = get_settings()  # a bad setting stops the function at start, naming the variable


@api_handler
def handler(request: Request) -> Response:
    check_token_request(SETTINGS, request)  # before any work: no cookie for a refused request
    body = parse(LoginBody, request.json())  # pydantic only for an unusual body
    keys = load_key_set(SETTINGS)  # before any write: no session without a way to sign for it
    user, renewed = logic.login(SETTINGS, body, request.user_agent, request.source_ip)
    return signed_in(SETTINGS, request, keys, user.id, renewed, {"user": user.sanitized(), "status": "Authenticated"})
