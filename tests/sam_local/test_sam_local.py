"""The stack under `sam local start-api` (real Lambda containers, arm64), over HTTP: login, me,
cookie refresh, reuse detection, logout, and JWKS/discovery naming the origin the client called.

Each test prints how long its requests took (`make test-sam-local` runs with -s, so CI logs show
them); nothing asserts a duration.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from localdev.template import functions, load_template
from tests.e2e.conftest import ROOT, Answer, Runner

COOKIE = "refreshToken"  # CookieSecure=false (plain http): not __Host-
JSON = {"Content-Type": "application/json"}
WARM_SAMPLES = 5


class Timings:
    """Request times per function: its first request (SAM starts its container: cold) and the
    warm ones after, printed once at the end."""

    def __init__(self) -> None:
        template = load_template(ROOT / "template.yaml")
        self.function = {r.route_key: f.name for f in functions(template, ROOT) for r in f.routes}
        self.rows: dict[str, list[tuple[str, float]]] = {}

    def request(self, runner: Runner, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        started = time.perf_counter()
        answer = runner.request(method, path, body, headers)
        self.rows.setdefault(self.function[f"{method} {path}"], []).append((path, time.perf_counter() - started))
        return answer

    def report(self) -> str:
        lines = ["sam local request times per function (first: its container starts; warm: the same container after):"]
        for name, rows in self.rows.items():
            (path, first), warm = rows[0], [seconds for _, seconds in rows[1:]]
            median = f", warm median {statistics.median(warm) * 1000:.0f} ms of {len(warm)}" if warm else ""
            lines.append(f"  {name:22} first {first * 1000:6.0f} ms ({path}){median}")
        return "\n".join(lines)


@pytest.fixture(scope="module")
def timed() -> Iterator[Timings]:
    timings = Timings()
    yield timings
    print("\n" + timings.report())


def log_in(runner: Runner, timed: Timings) -> Answer:
    answer = timed.request(runner, "POST", "/api/auth/local", {"identifier": "demo", "password": runner.demo_password})
    assert answer.status == 200, (answer.status, answer.raw, runner.log_tail())
    return answer


def cookie_post(runner: Runner, timed: Timings, path: str, cookie: str) -> Answer:
    # A cookie-authenticated POST is JSON, as a browser's fetch sends it (the CSRF rule, ASVS 5.0 3.5.1-3.5.3).
    return timed.request(runner, "POST", path, {}, {**JSON, "Cookie": f"{COOKIE}={cookie}"})


def test_discovery_and_jwks_name_the_origin_the_client_called(sam_local: Runner, timed: Timings):
    # Given sam local with no TokenIssuer override (its requestContext.domainName is "localhost")
    # When the discovery document is fetched, then its jwks_uri
    for _ in range(1 + WARM_SAMPLES):
        discovery = timed.request(sam_local, "GET", "/.well-known/openid-configuration")
    assert discovery.status == 200, (discovery.raw, sam_local.log_tail())
    # Then the issuer is the URL the document was fetched under (OpenID Connect Discovery 1.0 §4.3)
    assert discovery.body["issuer"] == sam_local.url
    assert discovery.body["jwks_uri"] == f"{sam_local.url}/.well-known/jwks.json"
    jwks = timed.request(sam_local, "GET", "/.well-known/jwks.json")
    assert jwks.status == 200
    assert jwks.body["keys"] and all(k["kty"] == "RSA" and k["kid"] and "d" not in k for k in jwks.body["keys"])


def test_login_then_me_and_the_jwt_verifies_against_its_own_discovery_document(sam_local: Runner, timed: Timings):
    # Given the demo user logged in (browser mode: the refresh token in an httpOnly cookie)
    login = log_in(sam_local, timed)
    cookie = login.cookie(COOKIE)
    assert cookie and "refreshToken" not in login.body
    set_cookie = next(h for h in login.headers.get_all("Set-Cookie") if h.startswith(f"{COOKIE}="))
    assert "HttpOnly" in set_cookie and "Path=/api" in set_cookie and "Secure" not in set_cookie
    token = login.body["jwt"]
    # When /api/users/me is called with it
    for _ in range(1 + WARM_SAMPLES):
        me = timed.request(sam_local, "GET", "/api/users/me", headers={"Authorization": f"Bearer {token}"})
    # Then it is the demo user
    assert me.status == 200 and me.body["username"] == "demo", (me.raw, sam_local.log_tail())
    # And the token verifies with the keys the discovery document points at, for its issuer (RFC 8725 §3.8-3.9)
    discovery = sam_local.request("GET", "/.well-known/openid-configuration").body
    key = jwt.PyJWKClient(discovery["jwks_uri"], cache_keys=False).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience="sam-refresh-auth",
        issuer=discovery["issuer"],
        options={"require": ["iss", "aud", "sub", "exp", "iat", "jti", "sid"]},
    )
    assert claims["iss"] == sam_local.url and jwt.get_unverified_header(token)["typ"] == "at+jwt"


def test_cookie_refresh_rotates_and_a_replayed_cookie_ends_the_session(sam_local: Runner, timed: Timings):
    # Given a session and its first refresh cookie (RefreshReuseGrace=0: no grace window)
    first = log_in(sam_local, timed).cookie(COOKIE)
    assert first
    # When the cookie is used to refresh
    refreshed = cookie_post(sam_local, timed, "/api/auth/refresh", first)
    # Then a new access token and a rotated cookie come back
    assert refreshed.status == 200 and refreshed.body["jwt"], (refreshed.raw, sam_local.log_tail())
    second = refreshed.cookie(COOKIE)
    assert second and second != first
    # When the first cookie is replayed (the tutorial's path this time)
    replay = cookie_post(sam_local, timed, "/api/token/refresh", first)
    # Then it is refused and the whole session is revoked: the live cookie fails too (RFC 9700 §4.14.2)
    assert replay.status == 401 and replay.body["error"]["name"] == "UnauthorizedError"
    assert cookie_post(sam_local, timed, "/api/auth/refresh", second).status == 401
    me = sam_local.request("GET", "/api/users/me", headers={"Authorization": f"Bearer {refreshed.body['jwt']}"})
    assert me.status == 401


def test_logout_ends_the_session(sam_local: Runner, timed: Timings):
    # Given a session
    login = log_in(sam_local, timed)
    cookie = login.cookie(COOKIE)
    assert cookie
    # When it logs out with its cookie
    logout = cookie_post(sam_local, timed, "/api/auth/logout", cookie)
    # Then the cookie is cleared and neither it nor the access token works any more
    assert logout.status == 204, (logout.raw, sam_local.log_tail())
    assert logout.cookie(COOKIE) == ""
    assert cookie_post(sam_local, timed, "/api/auth/refresh", cookie).status == 401
    me = sam_local.request("GET", "/api/users/me", headers={"Authorization": f"Bearer {login.body['jwt']}"})
    assert me.status == 401


def test_an_unknown_route_is_sams_403_not_api_gateways_404(sam_local: Runner):
    # Given sam local / When a route the template does not declare is called
    answer = sam_local.request("GET", "/api/no-such-route")
    # Then SAM CLI answers 403 "Missing Authentication Token" (a REST API's answer); an HTTP API
    # and make dev answer 404 {"message":"Not Found"} (docs/local-dev.md says so)
    assert (answer.status, answer.body) == (403, {"message": "Missing Authentication Token"})


def test_the_revocation_aware_authorizer_runs_under_sam_local_and_refuses_a_logged_out_session(
    sam_local: Runner, timed: Timings
):
    # Given a session, and its token on the example route behind the revocation-aware Lambda
    # authorizer (SAM invokes Lambda REQUEST authorizers, uncached)
    login = log_in(sam_local, timed)
    bearer = {"Authorization": f"Bearer {login.body['jwt']}"}
    for _ in range(1 + WARM_SAMPLES):
        live = timed.request(sam_local, "GET", "/api/whoami/live", headers=bearer)
    # Then the authorizer allowed it (its issuer is the origin the login handed out, authlayer/issuers.py)
    assert live.status == 200, (live.raw, sam_local.log_tail())
    assert live.body["authorizer"] == "lambda" and live.body["iss"] == sam_local.url
    # When the session logs out
    assert cookie_post(sam_local, timed, "/api/auth/logout", login.cookie(COOKIE)).status == 204
    # Then the same, unexpired token is refused at once (SAM caches no authorizer answer), with
    # SAM's 403 body (samcli/local/apigw/service_error_responses.py; API Gateway's is "Forbidden")
    refused = sam_local.request("GET", "/api/whoami/live", headers=bearer)
    assert (refused.status, refused.body) == (403, {"message": "User is not authorized to access this resource"})


def test_sam_local_skips_jwt_authorizers_and_whoami_fails_closed(sam_local: Runner):
    # Given sam local, which does not run JWT authorizers (docs/local-dev.md): /api/whoami reaches
    # the function with no requestContext.authorizer at all
    answer = sam_local.request("GET", "/api/whoami")
    # Then the example function itself refuses (it trusts only an authorizer's context), where
    # API Gateway and make dev answer the JWT authorizer's 401 {"message":"Unauthorized"}
    assert answer.status == 401 and answer.body["error"]["name"] == "UnauthorizedError", answer.raw
