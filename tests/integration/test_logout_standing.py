"""Logout acts only for a token refresh would honour: the live one, or a racing ancestor inside
the grace window, of a session that has not ended (ASVS 5.0 7.4.1; RFC 9700 §4.14.2; catalogue
R2-2). Anything else is a quiet 204 that ends nothing, except a stale token, which is reuse:
it ends its own session, never the user's others."""

import pytest
from freezegun import freeze_time

from authlayer import clock
from authlayer.dal import users as user_store
from authlayer.models import iso
from tests.conftest import cookie_value

T0 = "2026-11-29 12:00:00"


def test_asvs5_7_4_1_r2_2_thief_whose_reuse_was_detected_cannot_log_the_victim_out_again(api, demo_user):
    with freeze_time(T0) as frozen:
        # Given a thief who stole the victim's token and refreshed first (the thief holds the live one)
        stolen = cookie_value(api.login())
        thiefs_live = cookie_value(api.refresh_cookie(stolen))
        frozen.tick(11)
        # And the victim's replay after the window detected the reuse and ended that session
        assert api.refresh_cookie(stolen).status == 401
        for _ in range(2):  # again and again
            # When the victim logs in anew and the thief asks to log out everywhere
            victim = api.login()
            for token in (thiefs_live, stolen):
                assert api.logout(token, everywhere=True).status == 204
            # Then the victim's new session is untouched
            assert api.refresh_cookie(cookie_value(victim)).status == 200
            assert api.me(victim.body["jwt"]).status == 200


@pytest.mark.parametrize(
    ("age", "others_end"),
    [
        pytest.param(11, False, id="stale parent: reuse, its own session only"),
        pytest.param(5, True, id="parent inside the window: a tab that lost the race, every session"),
    ],
)
def test_rfc9700_r2_2_parent_on_logout_all_ends_everything_only_inside_the_window(
    api, demo_user, caplog, age, others_end
):
    with freeze_time(T0) as frozen:
        # Given a session whose parent was rotated away `age` seconds ago, and another session
        parent = cookie_value(api.login())
        child = cookie_value(api.refresh_cookie(parent))
        other = api.login("demo@example.com")
        frozen.tick(age)
        # When the parent asks to log out everywhere
        assert api.logout(parent, everywhere=True).status == 204
        # Then its own session ends either way (the live child too); the other only inside the window
        assert api.refresh_cookie(child).status == 401
        assert api.refresh_cookie(cookie_value(other)).status == (401 if others_end else 200)
    reuse_logged = any(
        "refresh token reuse detected" in r.getMessage() for r in caplog.records if r.levelname == "WARNING"
    )
    assert reuse_logged is not others_end


def test_rfc9700_r2_2_older_token_on_logout_revokes_its_own_session(api, demo_user):
    with freeze_time(T0) as frozen:
        oldest = cookie_value(api.login())
        middle = cookie_value(api.refresh_cookie(oldest))
        frozen.tick(11)
        live = cookie_value(api.refresh_cookie(middle))
        other = api.login("demo@example.com")
        # The oldest token (rotated away 11 s ago) logs out: reuse, so its session ends
        assert api.logout(oldest).status == 204
        assert api.refresh_cookie(live).status == 401
        assert api.refresh_cookie(cookie_value(other)).status == 200


def test_r2_2_logout_all_with_an_idle_expired_sessions_token_ends_nothing(api, demo_user):
    with freeze_time(T0) as frozen:
        expired = cookie_value(api.login())
        frozen.tick(2 * 86400 + 1)  # past the 2-day idle lifetime
        fresh = api.login()
        assert api.logout(expired, everywhere=True).status == 204
        assert api.refresh_cookie(cookie_value(fresh)).status == 200


def test_r2_2_logout_all_from_a_session_its_user_already_ended_ends_nothing(api, demo_user):
    with freeze_time(T0) as frozen:
        # Given a password change's not-before whose marking of the session items has not landed
        ended = cookie_value(api.login())
        frozen.tick(1)
        user_store.update(demo_user.id, iso(clock.now()), tokens_not_before=clock.now_ms())
        frozen.tick(1)
        fresh = api.login()
        # When the ended session's token asks to log out everywhere, Then the new session lives
        assert api.logout(ended, everywhere=True).status == 204
        assert api.refresh_cookie(cookie_value(fresh)).status == 200
