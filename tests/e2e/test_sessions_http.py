"""Issue 4 over HTTP against the local runner: two sessions, revoke one, change the password,
log out everywhere (ASVS 5.0 7.4.1-7.4.3). Issue 14: logout acts only for a live session (R2-2),
racing tabs inside the grace window are not reuse (R2-11)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

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


@pytest.fixture(scope="module")
def strict_runner(start: Callable[..., Runner]) -> Runner:
    """A runner without a grace window: any replay of a rotated token is reuse, no waiting."""
    return start(REFRESH_REUSE_GRACE="0s")


def new_user(runner: Runner) -> tuple[str, str]:
    name, password = "u" + uuid.uuid4().hex[:10], "passphrase " + uuid.uuid4().hex[:8]
    registered = runner.request("POST", "/api/auth/local/register", {"username": name, "email": f"{name}@example.com", "password": password})
    assert registered.status == 200, registered.raw
    return name, password


def test_asvs5_7_4_1_r2_2_thief_after_reuse_detection_cannot_log_the_victim_out_everywhere(strict_runner: Runner) -> None:
    runner = strict_runner
    name, password = new_user(runner)
    # Given a thief who stole the victim's refresh token and refreshed first
    stolen = login(runner, name, password).cookie(COOKIE) or ""
    thiefs = refresh(runner, stolen)
    assert thiefs.status == 200
    # And the victim's next refresh with it is detected as reuse: that session ends
    assert refresh(runner, stolen).status == 401
    assert refresh(runner, thiefs.cookie(COOKIE) or "").status == 401
    # When the victim logs in again and the thief asks, with either token, to log out everywhere
    victim = login(runner, name, password)
    for token in (thiefs.cookie(COOKIE), stolen, thiefs.cookie(COOKIE)):
        out = runner.request("POST", "/api/auth/logout", {"scope": "all"}, {"Cookie": f"{COOKIE}={token}"})
        assert out.status == 204
    # Then the victim's new session still works
    renewed = refresh(runner, victim.cookie(COOKIE) or "")
    assert renewed.status == 200, renewed.raw
    assert runner.request("GET", "/api/users/me", headers=bearer(renewed)).status == 200


def test_rfc9700_r2_11_three_tabs_racing_over_http_end_on_the_one_live_token(runner: Runner) -> None:
    # Given tabs A and B holding P; A refreshes P -> C, then C -> D (inside the 10 s window)
    name, password = new_user(runner)
    parent = login(runner, name, password).cookie(COOKIE) or ""
    c = refresh(runner, parent).cookie(COOKIE) or ""
    d = refresh(runner, c).cookie(COOKIE)
    # When B's refresh of P arrives
    b = refresh(runner, parent)
    # Then it is one race, not a theft: B holds the live token D and the session lives on
    assert b.status == 200, b.raw
    assert b.cookie(COOKIE) == d and d not in (None, c)
    assert runner.request("GET", "/api/users/me", headers=bearer(b)).status == 200
    assert refresh(runner, d or "").status == 200
