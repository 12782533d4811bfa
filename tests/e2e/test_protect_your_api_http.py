"""Issue 16 over HTTP against the local runner (`make dev`): the example routes of AppApi are
protected as API Gateway protects them, by the JWT authorizer (/api/whoami) and by the
revocation-aware Lambda authorizer (/api/whoami/live).

API Gateway's answers (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html,
.../http-api-lambda-authorizer.html): a JWT authorizer refuses with 401 {"message":"Unauthorized"};
a Lambda authorizer's refusal ({"isAuthorized": false}) is 403 {"message":"Forbidden"}, and a
request without its identity source is 401 without invoking it.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import TYPE_CHECKING

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.e2e.conftest import Answer, Runner

pytestmark = pytest.mark.e2e
UNAUTHORIZED = {"message": "Unauthorized"}
FORBIDDEN = {"message": "Forbidden"}
CACHE_TTL = 1  # seconds: the revocation-aware authorizer's cache in this test's runner
REVOCATION_WAIT = 20.0  # bound on polling for the cached "yes" to run out (CACHE_TTL plus slack)


@pytest.fixture(scope="module")
def api(start: Callable[..., Runner]) -> Runner:
    """Given `make dev` with the revocation-aware authorizer's cache shortened to CACHE_TTL."""
    return start(AuthorizerCacheTtl=str(CACHE_TTL))


def new_user(api: Runner) -> tuple[str, str]:
    name, password = "u" + uuid.uuid4().hex[:10], "passphrase " + uuid.uuid4().hex[:8]
    answer = api.request("POST", "/api/auth/local/register", {"username": name, "email": f"{name}@example.com", "password": password})
    assert answer.status == 200, answer.raw
    return name, password


def login(api: Runner, name: str, password: str, transport: str | None = None) -> Answer:
    headers = {"X-Refresh-Token-Transport": transport} if transport else {}
    answer = api.request("POST", "/api/auth/local", {"identifier": name, "password": password}, headers)
    assert answer.status == 200, answer.raw
    return answer


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def whoami(api: Runner, token: str | None, path: str = "/api/whoami") -> Answer:
    return api.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token is not None else {})


def forged_like(token: str) -> str:
    """The same header (kid) and claims, signed RS256 with a key the issuer never published."""
    header = jwt.get_unverified_header(token)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims_of(token), other_key, algorithm="RS256", headers={"kid": header["kid"], "typ": header.get("typ")})


def test_jwt_authorizer_refuses_requests_without_a_valid_access_token_with_401(api: Runner) -> None:
    # Given a user logged in with the body transport (so the refresh token is at hand)
    name, password = new_user(api)
    logged_in = login(api, name, password, transport="body")
    access, refresh_token = logged_in.body["jwt"], logged_in.body["refreshToken"]

    # Then no token, a garbage token, a forged token (RFC 8725 §3.1: the signature decides) and a
    # refresh token used as a bearer token are all 401 {"message":"Unauthorized"}, API Gateway's body
    missing = api.request("GET", "/api/whoami")
    assert (missing.status, missing.body) == (401, UNAUTHORIZED)
    for token in ("garbage", "a.b.c", forged_like(access), refresh_token):
        answer = whoami(api, token)
        assert (answer.status, answer.body) == (401, UNAUTHORIZED), token[:20]
        assert answer.headers["apigw-requestid"]


def test_jwt_authorizer_passes_the_token_s_claims_to_the_function(api: Runner) -> None:
    # Given a user logged in
    name, password = new_user(api)
    access = login(api, name, password).body["jwt"]
    claims = claims_of(access)

    # When it calls the example route behind the JWT authorizer
    answer = whoami(api, access)

    # Then the function answers with what API Gateway passed: the claims (as strings) of this token,
    # the runner's own origin as the issuer
    assert answer.status == 200, answer.raw
    assert answer.body == {
        "sub": claims["sub"],
        "sid": claims["sid"],
        "iss": api.url,
        "aud": "sam-refresh-auth",
        "exp": claims["exp"],
        "scopes": [],
        "authorizer": "jwt",
    }


def test_revocation_aware_authorizer_refuses_a_logged_out_session_within_its_cache_ttl(api: Runner) -> None:
    # Given a user logged in, whose token the revocation-aware example accepts
    name, password = new_user(api)
    logged_in = login(api, name, password)
    access, cookie = logged_in.body["jwt"], logged_in.cookie("refreshToken")
    live = whoami(api, access, "/api/whoami/live")
    assert live.status == 200, live.raw
    assert live.body["authorizer"] == "lambda" and live.body["sid"] == claims_of(access)["sid"]
    assert whoami(api, None, "/api/whoami/live").body == UNAUTHORIZED  # no identity source: 401, not invoked

    # When the session logs out
    assert api.request("POST", "/api/auth/logout", {}, {"Cookie": f"refreshToken={cookie}"}).status == 204

    # Then, once the authorizer's cached answer (CACHE_TTL s) has run out, the revocation-aware
    # route refuses the same, unexpired token with API Gateway's 403, while the JWT authorizer,
    # which cannot see revocation, still lets it through until it expires
    deadline = time.monotonic() + REVOCATION_WAIT
    while (answer := whoami(api, access, "/api/whoami/live")).status == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (answer.status, answer.body) == (403, FORBIDDEN)
    assert whoami(api, access).status == 200
