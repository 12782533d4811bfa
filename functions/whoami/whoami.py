"""GET /api/whoami and /api/whoami/live on AppApi: who is calling, as the authorizer saw it.

Copy this for your own function. API Gateway has already checked the caller before this runs:
- /api/whoami: its JWT authorizer (signature, iss, aud, exp) puts the token's claims, every
  value a string, in requestContext.authorizer.jwt.claims, and its scopes in .jwt.scopes;
- /api/whoami/live: our revocation-aware Lambda authorizer (the session and user are still
  live, too) puts sub, sid, iss, aud, exp and scope in requestContext.authorizer.lambda.
So a function behind either reads the caller from the event and needs no token code, no key
and no table access of its own (its role only writes its logs).
"""

import json

HEADERS = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}


def caller(event: dict) -> dict | None:
    """The caller's claims from either authorizer, or None if the route has no authorizer."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    if authorizer.get("jwt"):
        claims, kind = authorizer["jwt"].get("claims") or {}, "jwt"
        scopes = authorizer["jwt"].get("scopes")  # a list, or null when the route asks for none
    elif authorizer.get("lambda"):
        claims, kind, scopes = authorizer["lambda"], "lambda", None
    else:
        return None
    if scopes is None:
        scopes = str(claims.get("scope", "")).split()  # RFC 9068 §2.2.3: space-separated
    return {
        "sub": claims["sub"],
        "sid": claims["sid"],
        "iss": claims["iss"],
        "aud": claims["aud"],
        "exp": int(claims["exp"]),  # a string in the JWT authorizer's claims
        "scopes": list(scopes),
        "authorizer": kind,
    }


def handler(event: dict, context: object) -> dict:
    who = caller(event)
    if who is None:  # a route deployed without an authorizer: fail closed
        error = {"status": 401, "name": "UnauthorizedError", "message": "Missing or invalid credentials", "details": {}}
        body = {"data": None, "error": error}  # Strapi's error envelope, as our own routes answer
        return {"statusCode": 401, "headers": HEADERS, "body": json.dumps(body)}
    return {"statusCode": 200, "headers": HEADERS, "body": json.dumps(who)}
