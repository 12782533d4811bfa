"""Issue 14 item 5 over HTTP against the local runner: the lockout is no account oracle (ASVS 5.0
6.3.8), and the owner's known browser is not locked out by strangers (OWASP device cookies)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import Answer, Runner

pytestmark = pytest.mark.e2e
DEVICE = "deviceCookie"  # the runner serves plain http: COOKIE_SECURE=false, so no __Secure- prefix
VARYING = {"date", "apigw-requestid"}  # per response, whoever answers
RUNS = 6  # a run is repeated only when a second boundary fell inside a pair that decides Retry-After


def login(runner: Runner, identifier: str, password: str, device: str | None = None) -> Answer:
    headers = {"Cookie": f"{DEVICE}={device}"} if device else {}
    return runner.request("POST", "/api/auth/local", {"identifier": identifier, "password": password}, headers)


def register(runner: Runner) -> tuple[str, str]:
    name = "u" + uuid.uuid4().hex[:10]
    password = "pw " + uuid.uuid4().hex
    answer = runner.request(
        "POST", "/api/auth/local/register", {"username": name, "email": f"{name}@example.com", "password": password}
    )
    assert answer.status == 200, answer.raw
    return name, password


def shape(answer: Answer) -> tuple[int, dict[str, str], bytes]:
    headers = {k.lower(): v for k, v in answer.headers.items() if k.lower() not in VARYING}
    return answer.status, headers, answer.raw


def eight_wrong_passwords_each(runner: Runner) -> tuple[list[Answer], list[Answer], bool]:
    """Eight wrong passwords for a real account and a made-up identifier, interleaved.

    Retry-After counts whole seconds from the attempt that started the cool-down (the fifth), so
    the two sequences agree to the second when each pair from the fifth on ran within one
    second of the clock: the Date of the answer before the pair equals the Date of the pair's
    last answer. ``same_second`` says whether that held, i.e. whether the comparison is exact.
    """
    name, _ = register(runner)
    made_up = "nobody-" + uuid.uuid4().hex[:10]
    real: list[Answer] = []
    unknown: list[Answer] = []
    same_second = True
    for i in range(8):
        real.append(login(runner, name, "wrong password"))
        unknown.append(login(runner, made_up, "wrong password"))
        if i >= 4:
            same_second &= unknown[i - 1].headers["Date"] == unknown[i].headers["Date"]
    return real, unknown, same_second


def test_asvs5_6_3_8_eight_wrong_passwords_identical_statuses_and_headers_over_http(runner: Runner) -> None:
    for _ in range(RUNS):
        real, unknown, same_second = eight_wrong_passwords_each(runner)
        assert [a.status for a in real] == [a.status for a in unknown] == [400] * 5 + [429] * 3
        assert all(1 <= int(a.headers["Retry-After"]) <= 60 for a in real[5:] + unknown[5:])
        if same_second:
            break
    else:
        pytest.fail(f"no run of {RUNS} had its deciding pairs within one second each")
    # Same statuses, same headers (Retry-After's value included), same bodies, answer by answer
    assert [shape(a) for a in real] == [shape(a) for a in unknown]


def device_cookie(answer: Answer) -> tuple[str, set[str]]:
    headers = [h for h in answer.headers.get_all("Set-Cookie") or [] if h.startswith(f"{DEVICE}=")]
    assert len(headers) == 1, f"expected one {DEVICE} Set-Cookie, got {answer.headers.get_all('Set-Cookie')}"
    (header,) = headers
    value, *attributes = [part.strip() for part in header.split(";")]
    return value.split("=", 1)[1], set(attributes)


def test_owasp_device_cookie_owner_logs_in_during_a_stranger_lockout_over_http(runner: Runner) -> None:
    # Given the owner signed in from this browser before: it holds a device cookie
    name, password = register(runner)
    first = login(runner, name, password)
    device, attributes = device_cookie(first)
    assert attributes == {"Path=/api/auth/local", "Max-Age=31536000", "HttpOnly", "SameSite=Strict"}
    # When strangers lock the account out
    assert [login(runner, name, "stranger's guess").status for _ in range(5)] == [400] * 5
    assert login(runner, name, password).status == 429  # any browser without the cookie waits
    # Then the owner's browser still gets in, by username or email, and the lockout stands for others
    owner = login(runner, name, password, device)
    assert owner.status == 200 and owner.body["jwt"]
    renewed, _ = device_cookie(owner)
    assert login(runner, f"{name}@example.com", password, renewed).status == 200
    tampered = renewed[:-1] + ("A" if renewed[-1] != "A" else "B")
    assert login(runner, name, password, tampered).status == 429  # a tampered cookie is merely untrusted
    assert login(runner, name, password).status == 429
