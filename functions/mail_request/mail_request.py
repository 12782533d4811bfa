"""POST /api/auth/forgot-password and POST /api/auth/send-email-confirmation (Strapi v4).

Validate and enqueue, nothing else: the same answer, headers and work for every address, so
nobody learns whether an account exists (ASVS 5.0 6.3.8). The mailer does the rest.
"""

from authlayer.bodies import EmailBody, parse
from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler
from authlayer.logic import recovery
from authlayer.one_time_codes import Purpose
from authlayer.transport import issuer

SETTINGS = get_settings()


@api_handler
def handler(request: Request) -> Response:
    body = parse(EmailBody, request.json())
    if request.path.endswith("/forgot-password"):
        recovery.request_mail(Purpose.RESET, body.email, issuer(SETTINGS, request))
        return Response(200, {"ok": True})
    recovery.request_mail(Purpose.CONFIRM, body.email, issuer(SETTINGS, request))
    # Strapi answers "Already confirmed" or "User blocked" here: an account oracle we do not copy.
    return Response(200, {"email": body.email, "sent": True})
