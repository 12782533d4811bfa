"""GET /.well-known/jwks.json and /.well-known/openid-configuration (for JWT authorizers)."""

from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler
from authlayer.keys import load_key_set
from authlayer.transport import issuer

SETTINGS = get_settings()
_PUBLIC_CACHE = {"Cache-Control": "public, max-age=300"}  # public keys; five minutes like our SSM cache


@api_handler
def handler(request: Request) -> Response:
    if request.path.endswith("/jwks.json"):
        return Response(200, load_key_set(SETTINGS).jwks(), headers=_PUBLIC_CACHE)
    iss = issuer(SETTINGS, request)
    document = {
        "issuer": iss,
        "jwks_uri": f"{iss}/.well-known/jwks.json",
        "token_endpoint": f"{iss}/api/auth/local",
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["none"],
    }
    return Response(200, document, headers=_PUBLIC_CACHE)
