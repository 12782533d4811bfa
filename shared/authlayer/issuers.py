"""The access tokens' issuer (iss), the same for the routes that sign and every verifier.

The issuer must be the URL its discovery document is fetched under (OpenID Connect Discovery 1.0
§4.3, RFC 8414 §3), so by default it is the auth API's own origin:
- TOKEN_ISSUER when set (a custom domain; the local runner sets its own origin);
- under ``sam local`` (AWS_SAM_LOCAL=true) ``requestContext.domainName`` is the constant
  ``localhost`` and the server plain http, so ``https://localhost`` would name nothing: there the
  origin is the Host header with the scheme SAM forwards (X-Forwarded-Proto: http, or https with
  --ssl-cert-file). sam local serves every API of the template on one origin, so this also holds
  for the revocation-aware authorizer judging a request to AppApi;
- AUTH_API_ORIGIN, set only for functions that judge requests made to *other* APIs (the
  revocation-aware authorizer), whose domain is not the issuer's;
- else ``https://<requestContext.domainName>``: what API Gateway's JWT authorizer expects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from authlayer.config import Settings

# host[:port] or [v6]:port; anything else (a path, a userinfo) keeps the https://domainName default.
_SAM_LOCAL_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")


def issuer_of(settings: Settings, domain: str, headers: Mapping[str, str]) -> str:
    """`headers` with lower-case names, as authlayer.http.Request holds them."""
    if settings.token_issuer:
        return settings.token_issuer
    if settings.sam_local:
        host = headers.get("host", "")
        scheme = headers.get("x-forwarded-proto", "http")
        if _SAM_LOCAL_HOST.fullmatch(host) and scheme in {"http", "https"}:
            return f"{scheme}://{host}"
    if settings.auth_api_origin:
        return settings.auth_api_origin
    return f"https://{domain}"
