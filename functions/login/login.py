"""POST /api/auth/local: Strapi login with username or email and password."""

from authlayer import device_cookies
from authlayer.bodies import LoginBody, parse
from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler
from authlayer.keys import load_key_set
from authlayer.logic import login as logic
from authlayer.transport import check_token_request, set_device_cookie, signed_in, wants_body

SETTINGS = get_settings()  # a bad setting stops the function at start, naming the variable


@api_handler
def handler(request: Request) -> Response:
    check_token_request(SETTINGS, request)  # before any work: no cookie for a refused request
    body = parse(LoginBody, request.json())  # pydantic only for an unusual body
    keys = load_key_set(SETTINGS)  # before any write: no session without a way to sign for it
    device = request.cookies.get(device_cookies.name(SETTINGS.cookie_secure))
    user, renewed, new_device = logic.login(SETTINGS, body, request.user_agent, request.source_ip, keys, device)
    response = signed_in(
        SETTINGS, request, keys, user.id, renewed, {"user": user.sanitized(), "status": "Authenticated"}
    )
    if not wants_body(request):  # body-mode clients hold no cookies (design: no cookie in body mode)
        response.cookies.append(set_device_cookie(SETTINGS, new_device))
    return response
