"""The hardening rules over real HTTP against the local runner (issue 7): token attacks, CSRF,
enumeration, brute force, input limits and racing refreshes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.request
import uuid
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import Answer, Runner

pytestmark = pytest.mark.e2e
COOKIE = "refreshToken"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def login(runner: Runner, identifier: str = "demo", password: str | None = None) -> Answer:
    return runner.request("POST", "/api/auth/local", {"identifier": identifier, "password": password or runner.demo_password})


def register(runner: Runner) -> tuple[str, str]:
    name = "u" + uuid.uuid4().hex[:10]
    password = "pw " + uuid.uuid4().hex
    answer = runner.request("POST", "/api/auth/local/register", {"username": name, "email": f"{name}@example.com", "password": password})
    assert answer.status == 200, answer.raw
    return name, password


def refresh(runner: Runner, cookie: str, **headers: str) -> Answer:
    return runner.request("POST", "/api/token/refresh", {}, {"Cookie": f"{COOKIE}={cookie}", **headers})


def forged_from_public_jwks(runner: Runner, jwt: str, alg: str, **header_extra: object) -> str:
    """What an attacker can build from the public JWKS and a token they saw."""
    payload = jwt.split(".")[1]
    header = {"alg": alg, "typ": "at+jwt", "kid": runner.request("GET", "/.well-known/jwks.json").body["keys"][0]["kid"], **header_extra}
    signing_input = f"{b64(json.dumps(header).encode())}.{payload}"
    if alg != "HS256":
        return signing_input + "."
    jwk = runner.request("GET", "/.well-known/jwks.json").body["keys"][0]
    from cryptography.hazmat.primitives import serialization
    from jwt.algorithms import RSAAlgorithm

    pem = RSAAlgorithm.from_jwk(json.dumps(jwk)).public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"{signing_input}.{b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"


@pytest.mark.parametrize("attack", ["none", "NONE", "HS256", "jku", "typ JWT", "tampered"])
@pytest.mark.parametrize("path", ["/api/users/me", "/api/auth/sessions"])
def test_rfc8725_forged_tokens_over_http_are_401(runner: Runner, attack: str, path: str) -> None:
    jwt = login(runner).body["jwt"]
    head, payload, signature = jwt.split(".")
    if attack in ("none", "NONE", "HS256"):
        token = forged_from_public_jwks(runner, jwt, attack)
    elif attack == "jku":
        token = forged_from_public_jwks(runner, jwt, "RS256", jku="http://127.0.0.1:9/jwks.json")[:-1] + signature
    elif attack == "typ JWT":
        header = json.loads(base64.urlsafe_b64decode(head + "=="))
        token = f"{b64(json.dumps({**header, 'typ': 'JWT'}).encode())}.{payload}.{signature}"
    else:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        token = f"{head}.{b64(json.dumps({**claims, 'sub': 'someone-else'}).encode())}.{signature}"
    answer = runner.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 401 and answer.body["error"]["name"] == "UnauthorizedError"
    assert runner.request("GET", path, headers={"Authorization": f"Bearer {jwt}"}).status == 200


def test_rfc8725_3_12_token_kinds_are_not_interchangeable_over_http(runner: Runner) -> None:
    answer = login(runner)
    cookie = answer.cookie(COOKIE)
    assert refresh(runner, answer.body["jwt"]).status == 401
    assert runner.request("GET", "/api/users/me", headers={"Authorization": f"Bearer {cookie}"}).status == 401


def test_asvs4_13_2_3_cross_site_refresh_is_refused_and_rotates_nothing(runner: Runner) -> None:
    cookie = login(runner).cookie(COOKIE)
    plain = runner.request("POST", "/api/token/refresh", None, {"Cookie": f"{COOKIE}={cookie}", "Content-Type": "text/plain"})
    form = urllib.request.Request(runner.url + "/api/token/refresh", data=b"a=b", method="POST",
                                  headers={"Cookie": f"{COOKIE}={cookie}", "Content-Type": "application/x-www-form-urlencoded"})
    try:
        form_status = urllib.request.urlopen(form, timeout=30).status  # noqa: S310 - loopback only
    except urllib.error.HTTPError as error:
        form_status = error.code
    foreign = refresh(runner, cookie, Origin="https://evil.example")
    assert (plain.status, form_status, foreign.status) == (415, 415, 403)
    assert refresh(runner, cookie).status == 200  # the refused calls changed nothing


def test_asvs5_6_3_8_unknown_user_and_wrong_password_look_the_same_over_http(runner: Runner) -> None:
    name, _ = register(runner)
    wrong, unknown = login(runner, name, "wrong password"), login(runner, "nobody-" + name, "wrong password")
    assert (wrong.status, wrong.body) == (unknown.status, unknown.body) == (400, {"data": None, "error": {
        "status": 400, "name": "ValidationError", "message": "Invalid identifier or password", "details": {}}})
    varying = {"date", "apigw-requestid", "content-length"}
    assert {k.lower(): v for k, v in wrong.headers.items() if k.lower() not in varying} == {
        k.lower(): v for k, v in unknown.headers.items() if k.lower() not in varying}


def test_asvs4_2_2_1_brute_force_is_slowed_with_retry_after_over_http(runner: Runner) -> None:
    name, password = register(runner)
    statuses = [login(runner, name, "guess").status for _ in range(5)]
    throttled = login(runner, name, password)
    assert statuses == [400] * 5
    assert throttled.status == 429 and throttled.body["error"]["name"] == "RateLimitError"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60


@pytest.mark.parametrize(("raw", "content_type", "status"), [
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b'{"identifier": "\\ud800", "password": "x"}', "application/json", 400),
    (b'{"identifier": "de\\u0000mo", "password": "x"}', "application/json", 400),
    (b'{"identifier": "demo", "password": "x", "role": "admin"}', "application/json", 400),
    (b'{"identifier": "' + b"x" * 13000 + b'", "password": "x"}', "application/json", 413),
    (b"identifier=demo&password=x", "application/x-www-form-urlencoded", 415),
])
def test_asvs5_15_3_bad_input_over_http_is_a_clear_4xx(runner: Runner, raw: bytes, content_type: str, status: int) -> None:
    request = urllib.request.Request(runner.url + "/api/auth/local", data=raw, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            code, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        code, body = error.code, error.read()
    assert code == status
    assert json.loads(body)["data"] is None


def test_rfc9700_racing_refreshes_over_http_end_with_one_live_token(runner: Runner) -> None:
    cookie = login(runner).cookie(COOKIE)
    workers = 8
    barrier = threading.Barrier(workers)
    answers: list[Answer | None] = [None] * workers

    def one(i: int) -> None:
        barrier.wait(timeout=10)
        answers[i] = refresh(runner, cookie)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(a is not None and a.status == 200 for a in answers), [a and a.status for a in answers]
    children = {a.cookie(COOKIE) for a in answers if a}
    assert len(children) == 1  # every caller holds the one live token
    (child,) = children
    assert child and refresh(runner, child).status == 200

