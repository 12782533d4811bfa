"""GET /api/auth/email-confirmation?confirmation=TOKEN: confirm, then 302 to EMAIL_CONFIRMATION_REDIRECT."""

from authlayer.config import get_settings
from authlayer.errors import ValidationError
from authlayer.http import Request, Response, api_handler
from authlayer.logic import recovery
from authlayer.models import MAX_CODE

SETTINGS = get_settings()


@api_handler
def handler(request: Request) -> Response:
    token = request.query.get("confirmation", "")
    if not token or len(token) > MAX_CODE:
        raise ValidationError("Invalid token" if token else "confirmation is required")
    recovery.confirm_email(token)
    # No token in the Location: the redirect target only learns that it worked.
    return Response(302, None, headers={"Location": SETTINGS.email_confirmation_redirect})
