"""A token issuer's OpenID discovery document and JWK Set (read from JWKS_FILE on each request)."""

import json
import os


def handler(event, context):
    if event["rawPath"].endswith("/jwks.json"):
        with open(os.environ["JWKS_FILE"], encoding="utf-8") as keys:
            body = keys.read()
    else:
        issuer = os.environ["TOKEN_ISSUER"]
        body = json.dumps({"issuer": issuer, "jwks_uri": f"{issuer}/.well-known/jwks.json"})
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": body}
