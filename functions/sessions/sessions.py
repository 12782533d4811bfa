"""GET /api/auth/sessions (the caller's active sessions) and DELETE /api/auth/sessions/{id}."""

from authlayer.bearer import authenticate
from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler
from authlayer.logic import sessions
from authlayer.models import session_view

SETTINGS = get_settings()


@api_handler
def handler(request: Request) -> Response:
    claims, user = authenticate(SETTINGS, request)
    if request.method == "DELETE":
        sessions.revoke_own(user.id, request.path_params.get("id", ""))
        return Response(204)
    active = sessions.active_for_user(user.id, user.tokens_not_before)
    return Response(200, {"data": [session_view(s, claims.session_id) for s in active]})
