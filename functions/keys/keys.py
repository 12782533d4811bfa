"""GET /.well-known/jwks.json and /.well-known/openid-configuration (for JWT authorizers)."""

from authlayer.config import get_settings
from authlayer.http import Request, Response, api_handler
from authlayer.jwks import JWKS_MAX_AGE, published_document
from authlayer.transport import issuer

SETTINGS = get_settings()
_PUBLIC_CACHE = {"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"}  # public keys; five minutes like our SSM cache


@api_handler
def handler(request: Request) -> Response:
    if request.path.endswith("/jwks.json"):
        # The public parameter as it is: no private key read, no cryptography import (R2-9).
        return Response(200, published_document(SETTINGS), headers=_PUBLIC_CACHE)
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
