"""Hardening round 2 over real HTTP against the local runner (issue 14): cookie in / cookie out,
login CSRF on every cookie-setting route, nested JSON, and change-password's guesses."""

from __future__ import annotations

import http.client
import urllib.parse
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import Answer

if TYPE_CHECKING:
    from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e
COOKIE = "refreshToken"
LOGIN = "/api/auth/local"


def raw_post(runner: Runner, path: str, data: bytes, headers: dict[str, str]) -> Answer:
    """A POST with exactly these headers (urllib would add a form Content-Type to a bare body)."""
    url = urllib.parse.urlsplit(runner.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request("POST", path, body=data, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, response.msg, response.read())
    finally:
        connection.close()


def new_user(runner: Runner) -> tuple[str, str]:
    name = "r" + uuid.uuid4().hex[:10]
    password = "pw " + uuid.uuid4().hex
    body = {"username": name, "email": f"{name}@example.com", "password": password}
    answer = runner.request("POST", "/api/auth/local/register", body)
    assert answer.status == 200, answer.raw
    return name, password


def test_asvs5_3_3_4_r2_1_cookie_refresh_never_answers_the_token_in_the_body(runner: Runner) -> None:
    name, password = new_user(runner)
    cookie = runner.request("POST", LOGIN, {"identifier": name, "password": password}).cookie(COOKIE)
    assert cookie
    mixed = runner.request(
        "POST", "/api/token/refresh", {}, {"Cookie": f"{COOKIE}={cookie}", "X-Refresh-Token-Transport": "body"}
    )
    assert mixed.status == 400 and mixed.headers.get_all("Set-Cookie") is None
    assert b"refreshToken" not in mixed.raw or mixed.body["error"]["name"] == "ValidationError"
    assert "refreshToken" not in (mixed.body.get("data") or {})
    assert runner.request("POST", "/api/token/refresh", {}, {"Cookie": f"{COOKIE}={cookie}"}).status == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 415),  # fetch(url, {mode: "no-cors", body: new Blob([json])}): no Content-Type, no preflight
        ({"Content-Type": "text/plain;charset=UTF-8"}, 415),
        ({"Content-Type": "application/json", "Origin": "https://evil.example"}, 403),
        ({"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403),
    ],
)
@pytest.mark.parametrize("path", [LOGIN, "/api/auth/local/register", "/api/auth/refresh", "/api/auth/reset-password"])
def test_asvs4_13_2_3_r2_4_cross_site_posts_to_cookie_setting_routes_are_refused_without_a_cookie(
    runner: Runner, path: str, headers: dict[str, str], status: int
) -> None:
    body = {
        LOGIN: b'{"identifier":"demo","password":"%s"}' % runner.demo_password.encode(),
        "/api/auth/local/register": b'{"username":"csrfuser","email":"csrf@example.com","password":"long enough pw"}',
        "/api/auth/refresh": b'{"refreshToken":"x"}',
        "/api/auth/reset-password": b'{"code":"x","password":"long enough pw","passwordConfirmation":"long enough pw"}',
    }[path]
    answer = raw_post(runner, path, body, headers)
    assert answer.status == status, answer.raw
    assert answer.headers.get_all("Set-Cookie") is None


def test_r2_4_a_client_sending_no_origin_logs_in_as_before(runner: Runner) -> None:
    body = b'{"identifier":"demo","password":"%s"}' % runner.demo_password.encode()
    answer = raw_post(runner, LOGIN, body, {"Content-Type": "application/json"})  # curl, a native app
    assert answer.status == 200 and answer.cookie(COOKIE)


def test_asvs5_15_3_r2_6_deeply_nested_json_is_400_and_logs_no_stack_trace(runner: Runner) -> None:
    answer = raw_post(runner, LOGIN, b"[" * 5000, {"Content-Type": "application/json"})
    assert answer.status == 400 and answer.body["error"]["name"] == "ValidationError"
    assert "RecursionError" not in runner.log_tail(200) and "Traceback" not in runner.log_tail(200)


def test_asvs4_2_2_1_r2_3_change_password_guesses_get_429_on_the_login_counter(runner: Runner) -> None:
    name, password = new_user(runner)
    jwt = runner.request("POST", LOGIN, {"identifier": name, "password": password}).body["jwt"]
    statuses, retry_after = [], None
    for i in range(8):
        body = {"currentPassword": f"guess {i}", "password": "a new passphrase", "passwordConfirmation": "a new passphrase"}
        answer = runner.request("POST", "/api/auth/change-password", body, {"Authorization": f"Bearer {jwt}"})
        statuses.append(answer.status)
        retry_after = answer.headers.get("Retry-After")
    assert statuses == [400] * 5 + [429] * 3 and retry_after and int(retry_after) >= 1
    assert runner.request("POST", LOGIN, {"identifier": name, "password": password}).status == 429
