"""POST /api/auth/local/register: Strapi registration (REGISTRATION_ENABLED=false closes it)."""

from authlayer.bodies import RegisterBody, parse
from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler
from authlayer.keys import load_key_set
from authlayer.logic import login as logic
from authlayer.transport import check_token_request, issuer, signed_in

SETTINGS = get_settings()


@api_handler
def handler(request: Request) -> Response:
    check_token_request(SETTINGS, request)  # before any work: no cookie for a refused request
    body = parse(RegisterBody, request.json())
    keys = load_key_set(SETTINGS)
    if SETTINGS.email_confirmation:
        # EMAIL_CONFIRMATION=true: no tokens until the mailed link is followed (Strapi's answer).
        user = logic.register_unconfirmed(SETTINGS, body, issuer(SETTINGS, request))
        return Response(200, {"user": user.sanitized()})
    user, renewed = logic.register(SETTINGS, body, request.user_agent, request.source_ip)
    return signed_in(SETTINGS, request, keys, user.id, renewed, {"user": user.sanitized()})
