"""End to end over HTTP: the local runner serving template.yaml's functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the fixtures come from conftest.py; importing it again would run it twice
    from tests.e2e.conftest import Answer, Runner

pytestmark = pytest.mark.e2e

ALLOWED_ORIGIN = "http://localhost:5173"
COOKIE = "refreshToken"  # COOKIE_SECURE=false locally: no __Host- prefix over plain http


def login(runner: Runner, **headers: str) -> tuple[str, str]:
    answer = runner.request(
        "POST", "/api/auth/local", {"identifier": "demo", "password": runner.demo_password}, headers
    )
    assert answer.status == 200, answer.raw
    cookie = answer.cookie(COOKIE)
    assert cookie
    return answer.body["jwt"], cookie


def refresh(runner: Runner, cookie: str, path: str = "/api/token/refresh") -> Answer:
    return runner.request("POST", path, {}, {"Cookie": f"{COOKIE}={cookie}"})


def test_login_me_and_refresh_as_the_demo_user(runner: Runner) -> None:
    # Given the demo user created at start
    # When they log in
    answer = runner.request(
        "POST", "/api/auth/local", {"identifier": "demo", "password": runner.demo_password}
    )

    # Then they get a JWT, Strapi's user and an httpOnly refresh cookie scoped to /api
    assert answer.status == 200
    assert answer.body["status"] == "Authenticated"
    assert answer.body["user"]["username"] == "demo"
    assert answer.body["user"]["email"] == "demo@example.com"
    set_cookie = next(h for h in answer.headers.get_all("Set-Cookie", []) if h.startswith(f"{COOKIE}="))
    assert "HttpOnly" in set_cookie
    assert "Path=/api" in set_cookie
    jwt, cookie = answer.body["jwt"], answer.cookie(COOKIE)
    assert cookie

    # When they call /api/users/me with the JWT
    me = runner.request("GET", "/api/users/me", headers={"Authorization": f"Bearer {jwt}"})

    # Then it is them
    assert me.status == 200
    assert me.body["username"] == "demo"

    # When they refresh with the cookie, on the tutorial's and on Strapi 5's path
    first = refresh(runner, cookie)
    assert first.status == 200, first.raw
    rotated = first.cookie(COOKIE)
    second = refresh(runner, rotated or "", "/api/auth/refresh")

    # Then each refresh gives a new JWT that works and a rotated cookie
    assert second.status == 200, second.raw
    assert rotated and rotated != cookie
    assert second.cookie(COOKIE) not in (None, cookie, rotated)
    again = runner.request("GET", "/api/users/me", headers={"Authorization": f"Bearer {second.body['jwt']}"})
    assert again.status == 200


def test_reusing_an_old_refresh_token_after_the_grace_window_revokes_the_session(
    start: Callable[..., Runner],
) -> None:
    # Given a runner without a reuse grace window, and a session refreshed once
    strict = start(REFRESH_REUSE_GRACE="0s")
    _, old_cookie = login(strict)
    rotated = refresh(strict, old_cookie)
    assert rotated.status == 200, rotated.raw
    current_cookie = rotated.cookie(COOKIE)

    # When the old cookie is replayed (a 0 s window allows no replay at all)
    replay = refresh(strict, old_cookie)

    # Then it is refused with Strapi's envelope, and the whole session is revoked
    assert replay.status == 401
    assert replay.body["data"] is None
    assert replay.body["error"]["status"] == 401
    assert replay.body["error"]["name"] == "UnauthorizedError"
    after = refresh(strict, current_cookie or "")
    assert after.status == 401


def test_preflight_from_an_allowed_origin(runner: Runner) -> None:
    # Given a browser app on an allowed origin
    # When it sends a CORS preflight for a credentialed login
    answer = runner.request(
        "OPTIONS",
        "/api/auth/local",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )

    # Then the gateway allows exactly that origin, with credentials, as the template configures
    assert answer.status == 204
    assert answer.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in answer.headers["Access-Control-Allow-Methods"].split(",")
    assert "content-type" in answer.headers["Access-Control-Allow-Headers"].split(",")
    assert answer.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in answer.headers["Vary"]


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
def test_preflight_from_a_foreign_origin_is_not_allowed(runner: Runner, origin: str) -> None:
    # Given a page on an origin that is not configured
    # When it sends a CORS preflight
    answer = runner.request(
        "OPTIONS", "/api/token/refresh", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )

    # Then nothing in the answer lets the browser proceed
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert "Access-Control-Allow-Credentials" not in answer.headers


def test_cors_headers_on_normal_responses_only_for_allowed_origins(runner: Runner) -> None:
    # Given the public JWKS endpoint
    # When an allowed and a foreign origin read it
    allowed = runner.request("GET", "/.well-known/jwks.json", headers={"Origin": ALLOWED_ORIGIN})
    foreign = runner.request("GET", "/.well-known/jwks.json", headers={"Origin": "https://evil.example"})

    # Then only the allowed one gets CORS headers
    assert allowed.status == foreign.status == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Origin" in allowed.headers["Vary"]
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert allowed.body["keys"]


def test_unknown_route_gets_api_gateways_404(runner: Runner) -> None:
    # Given no such route in the template
    # When it is called
    answer = runner.request("GET", "/api/nothing-here")

    # Then API Gateway's own answer comes back
    assert answer.status == 404
    assert answer.body == {"message": "Not Found"}
