"""Issue 4 over HTTP against the local runner: two sessions, revoke one, change the password,
log out everywhere (ASVS 5.0 7.4.1-7.4.3)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import Answer, Runner

pytestmark = pytest.mark.e2e
COOKIE = "refreshToken"


def login(runner: Runner, name: str, password: str) -> Answer:
    answer = runner.request("POST", "/api/auth/local", {"identifier": name, "password": password})
    assert answer.status == 200, answer.raw
    return answer


def refresh(runner: Runner, cookie: str) -> Answer:
    return runner.request("POST", "/api/token/refresh", {}, {"Cookie": f"{COOKIE}={cookie}"})


def bearer(answer: Answer) -> dict[str, str]:
    return {"Authorization": f"Bearer {answer.body['jwt']}"}


def test_two_sessions_revoke_one_change_password_then_log_out_everywhere(runner: Runner) -> None:
    # Given a new user logged in on two devices
    name, password = "u" + uuid.uuid4().hex[:10], "first passphrase " + uuid.uuid4().hex[:6]
    registered = runner.request("POST", "/api/auth/local/register", {"username": name, "email": f"{name}@example.com", "password": password})
    assert registered.status == 200, registered.raw
    laptop, phone = login(runner, name, password), login(runner, name, password)

    # When the laptop lists the sessions: all three (register opened one), the laptop's is current
    listed = runner.request("GET", "/api/auth/sessions", headers=bearer(laptop)).body["data"]
    assert len(listed) == 3 and sum(s["current"] for s in listed) == 1
    phone_id = phone.cookie(COOKIE).split(".")[0]

    # And revokes the phone's: the phone's refresh fails, the laptop's works
    assert runner.request("DELETE", f"/api/auth/sessions/{phone_id}", headers=bearer(laptop)).status == 204
    assert refresh(runner, phone.cookie(COOKIE)).status == 401
    laptop_cookie = refresh(runner, laptop.cookie(COOKIE)).cookie(COOKIE)
    assert laptop_cookie

    # When the password changes on a third device: every older session fails, the new one works
    desk = login(runner, name, password)
    new_password = "second passphrase " + uuid.uuid4().hex[:6]
    changed = runner.request("POST", "/api/auth/change-password",
                             {"currentPassword": password, "password": new_password, "passwordConfirmation": new_password},
                             bearer(desk))
    assert changed.status == 200, changed.raw
    assert refresh(runner, laptop_cookie).status == 401
    assert refresh(runner, desk.cookie(COOKIE)).status == 401
    fresh = changed.cookie(COOKIE)
    assert fresh

    # When two new sessions exist and one logs out everywhere: every refresh fails
    other = login(runner, name, new_password)
    out = runner.request("POST", "/api/auth/logout", {"scope": "all"}, {"Cookie": f"{COOKIE}={fresh}"})
    assert out.status == 204 and "Max-Age=0" in (out.headers.get("Set-Cookie") or "")
    assert refresh(runner, fresh).status == 401
    assert refresh(runner, other.cookie(COOKIE)).status == 401
