"""POST /api/token/refresh and /api/auth/refresh: rotation, reuse detection, grace window and
lifetimes (RFC 9700 §4.14.2, ASVS 5.0 10.4.5, 7.3.1-7.3.2), with a controlled clock."""

import pytest
from freezegun import freeze_time

from tests.conftest import cookie_value

T0 = "2026-11-29 12:00:00"


def session_item(aws):
    items = aws["dynamodb"].scan(TableName="SessionsTable")["Items"]
    assert len(items) == 1
    return items[0]


def login_token(api):
    return cookie_value(api.login())


@pytest.mark.parametrize("event", ["refresh.json", "refresh-strapi5.json"])
def test_rfc9700_both_paths_rotate_the_token(api, demo_user, aws, event):
    # Given a logged-in browser
    first = login_token(api)
    # When it refreshes through either path
    answer = api.call("refresh", event, {}, cookies=[f"__Host-refreshToken={first}"])
    # Then a new access JWT and a new cookie; the old token is history, the new one the only live one
    assert answer.status == 200 and set(answer.body) == {"jwt"}
    second = cookie_value(answer)
    assert second != first and second.split(".")[0] == first.split(".")[0]
    item = session_item(aws)
    assert len(item["history"]["L"]) == 1
    assert api.me(answer.body["jwt"]).status == 200


def test_rotated_token_keeps_rotating(api, demo_user):
    token = login_token(api)
    seen = {token}
    for _ in range(5):
        answer = api.refresh_cookie(token)
        assert answer.status == 200
        token = cookie_value(answer)
        seen.add(token)
    assert len(seen) == 6


def test_body_transport_refresh_answers_in_body_only(api, demo_user):
    token = api.login(headers={"x-refresh-token-transport": "body"}).body["refreshToken"]
    answer = api.refresh_body(token)
    assert answer.status == 200 and answer.cookies == []
    assert set(answer.body) == {"jwt", "refreshToken"} and answer.body["refreshToken"] != token


def test_cookie_wins_over_a_body_token(api, demo_user):
    # The tutorial's frontend sends its access JWT as "refreshToken" next to the cookie.
    login = api.login()
    answer = api.call("refresh", "refresh.json", {"refreshToken": login.body["jwt"][:2000]}, cookies=[f"__Host-refreshToken={cookie_value(login)}"])
    assert answer.status == 200


def test_without_body_mode_a_body_token_is_answered_with_a_cookie(api, demo_user):
    token = api.login(headers={"x-refresh-token-transport": "body"}).body["refreshToken"]
    answer = api.call("refresh", "refresh.json", {"refreshToken": token}, cookies=[])
    assert answer.status == 200 and "refreshToken" not in answer.body and answer.cookies


def test_rfc9700_reuse_after_grace_revokes_the_whole_session(api, demo_user):
    with freeze_time(T0) as clock:
        parent = login_token(api)
        child = cookie_value(api.refresh_cookie(parent))
        clock.tick(11)  # past the 10 s grace window
        # When the rotated parent comes back
        replay = api.refresh_cookie(parent)
        # Then 401, and the legitimate child is dead too (Keycloak's reuse test)
        assert replay.status == 401 and replay.error_name == "UnauthorizedError"
        assert api.refresh_cookie(child).status == 401


def test_rfc9700_reuse_also_ends_access_to_users_me(api, demo_user):
    with freeze_time(T0) as clock:
        login = api.login()
        parent = cookie_value(login)
        refreshed = api.refresh_cookie(parent)
        clock.tick(11)
        api.refresh_cookie(parent)
        assert api.me(refreshed.body["jwt"]).status == 401


def test_grace_window_replay_of_the_parent_gets_the_same_live_token(api, demo_user, aws):
    with freeze_time(T0) as clock:
        parent = login_token(api)
        child = cookie_value(api.refresh_cookie(parent))
        clock.tick(9)
        # When a second tab replays the parent inside the window
        replay = api.refresh_cookie(parent)
        # Then it works and lands on the same single live token
        assert replay.status == 200 and cookie_value(replay) == child
        assert api.me(replay.body["jwt"]).status == 200
        next_answer = api.refresh_cookie(child)
        assert next_answer.status == 200


def test_grace_window_runs_from_the_replayed_tokens_own_rotation(api, demo_user):
    with freeze_time(T0) as clock:
        grandparent = login_token(api)
        parent = cookie_value(api.refresh_cookie(grandparent))
        clock.tick(9)
        child = cookie_value(api.refresh_cookie(parent))
        clock.tick(2)
        # The grandparent was rotated away 11 s ago: theft, however recent the later hop
        # (django-oauth-toolkit#1617: a window must not stretch to every older token)
        assert api.refresh_cookie(grandparent).status == 401
        assert api.refresh_cookie(child).status == 401


def test_grace_zero_makes_any_replay_theft(api, demo_user, settings_env):
    settings_env(REFRESH_REUSE_GRACE="0")
    with freeze_time(T0):
        parent = login_token(api)
        child = cookie_value(api.refresh_cookie(parent))
        assert api.refresh_cookie(parent).status == 401  # even within the same second
        assert api.refresh_cookie(child).status == 401


def test_reuse_is_logged_as_a_warning_and_counted(api, demo_user, capsys, caplog):
    with freeze_time(T0) as clock:
        parent = login_token(api)
        api.refresh_cookie(parent)
        clock.tick(30)
        capsys.readouterr()
        api.refresh_cookie(parent)
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert any("refresh token reuse detected" in r.getMessage() for r in warnings)
    assert '"RefreshTokenReuse"' in capsys.readouterr().out  # EMF metric


def test_asvs5_7_3_1_idle_lifetime_is_checked_in_code(api, demo_user, settings_env):
    settings_env(REFRESH_IDLE_TTL="1h")
    with freeze_time(T0) as clock:
        token = login_token(api)
        clock.tick(3599)
        token = cookie_value(api.refresh_cookie(token))  # use resets the idle clock
        clock.tick(3599)
        token = cookie_value(api.refresh_cookie(token))
        clock.tick(3600)
        # The item is still in the table (TTL deletes late), but the session is over.
        assert api.refresh_cookie(token).status == 401


def test_asvs5_10_4_8_absolute_lifetime_ends_even_an_active_session(api, demo_user, settings_env):
    settings_env(REFRESH_IDLE_TTL="1h", REFRESH_ABSOLUTE_TTL="3h")
    with freeze_time(T0) as clock:
        token = login_token(api)
        for _ in range(4):
            clock.tick(2400)  # 40 min: within the idle limit each time
            answer = api.refresh_cookie(token)
            assert answer.status == 200
            token = cookie_value(answer)
        clock.tick(1199)  # 10 799 s after login: still inside
        token = cookie_value(api.refresh_cookie(token))
        clock.tick(1)  # exactly 3 h after login
        assert api.refresh_cookie(token).status == 401


def test_cookie_max_age_never_outlives_the_absolute_lifetime(api, demo_user, settings_env):
    settings_env(REFRESH_IDLE_TTL="1h", REFRESH_ABSOLUTE_TTL="90m")
    with freeze_time(T0) as clock:
        token = login_token(api)
        clock.tick(3000)
        answer = api.refresh_cookie(token)
        assert "Max-Age=2400" in answer.cookies[0]


def test_ttl_attribute_follows_the_earlier_expiry(api, demo_user, aws, settings_env):
    settings_env(REFRESH_IDLE_TTL="1h")
    with freeze_time(T0):
        login_token(api)
        item = session_item(aws)
        assert int(item["expires_at"]["N"]) == int(item["idle_expires_at"]["N"]) == int(item["last_used_at"]["N"]) + 3600


@pytest.mark.parametrize("change", ["block", "delete"])
def test_asvs5_7_4_2_blocked_or_deleted_user_cannot_refresh_or_call_me(api, demo_user, aws, change):
    login = api.login()
    key = {"pk": {"S": f"USER#{demo_user.id}"}}
    if change == "block":
        aws["dynamodb"].update_item(TableName="UsersTable", Key=key, UpdateExpression="SET blocked = :t", ExpressionAttributeValues={":t": {"BOOL": True}})
    else:
        aws["dynamodb"].delete_item(TableName="UsersTable", Key=key)
    assert api.refresh_cookie(cookie_value(login)).status == 401
    assert api.me(login.body["jwt"]).status == 401


def test_missing_refresh_token_is_401(api, demo_user):
    answer = api.call("refresh", "refresh.json", {}, cookies=[])
    assert answer.status == 401 and answer.error_name == "UnauthorizedError"


def test_rfc8725_3_12_access_jwt_as_refresh_token_is_401(api, demo_user):
    jwt = api.login().body["jwt"]
    assert api.refresh_cookie(jwt).status == 401
    assert api.refresh_body(jwt[:2000]).status == 401


def test_guessed_secret_for_a_real_session_is_401_without_side_effects(api, demo_user):
    token = login_token(api)
    session_id = token.split(".")[0]
    guess = session_id + "." + "A" * 43
    truncated = token[:-1]
    for bad in (guess, truncated, "x" * 66):
        assert api.refresh_cookie(bad).status == 401
    assert api.refresh_cookie(token).status == 200  # nobody who knows a session id can end it


def test_another_users_token_only_touches_its_own_session(api, demo_user):
    from authlayer.accounts import create_user

    create_user("erin", "erin@example.com", "erin's passphrase")
    mine = login_token(api)
    theirs = cookie_value(api.login("erin", "erin's passphrase"))
    assert api.refresh_cookie(theirs).status == 200
    assert api.refresh_cookie(mine).status == 200


def test_asvs4_13_2_3_cross_site_form_refresh_is_refused_and_rotates_nothing(api, demo_user, aws):
    token = login_token(api)
    before = session_item(aws)["token_hash"]
    plain = api.call("refresh", "refresh.json", raw_body="", cookies=[f"__Host-refreshToken={token}"], headers={"content-type": "text/plain"})
    foreign = api.call("refresh", "refresh.json", {}, cookies=[f"__Host-refreshToken={token}"], headers={"origin": "https://evil.example"})
    assert plain.status == 415 and foreign.status == 403 and foreign.error_name == "ForbiddenError"
    assert session_item(aws)["token_hash"] == before
    assert api.refresh_cookie(token).status == 200


def test_refresh_body_with_unknown_fields_is_400(api, demo_user):
    answer = api.call("refresh", "refresh-body.json", {"refreshToken": "x", "admin": True})
    assert answer.status == 400 and answer.error_name == "ValidationError"


# --- issue 17: the token names its user; the user is read with the session, not checked in the write ---


def test_issue17_a_token_issued_before_the_upgrade_keeps_working_and_its_child_names_the_user(api, demo_user):
    from authlayer import refresh_tokens
    from authlayer.dal import dynamo

    # Given a deployed token of the legacy form <session id>.<secret> (what login issued before)
    legacy = login_token(api)[:66]
    calls: list[str] = []
    dynamo.client().meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    # When it refreshes
    answer = api.refresh_cookie(legacy)
    # Then it works, reading the session and then its user (once: three requests), and its child
    # names the user, so the next refresh is the usual two
    assert answer.status == 200 and calls == ["GetItem", "GetItem", "UpdateItem"]
    child = refresh_tokens.parse(cookie_value(answer))
    assert child is not None and child.user_id == demo_user.id
    calls.clear()
    assert api.refresh_cookie(cookie_value(answer)).status == 200
    assert calls == ["BatchGetItem", "UpdateItem"]


def test_issue17_a_token_naming_another_user_is_401_without_side_effects(api, demo_user, aws):
    from authlayer import refresh_tokens
    from authlayer.accounts import create_user

    # Given a live token, and another user
    other = create_user("other", "other@example.com", "another long passphrase")
    token = refresh_tokens.parse(login_token(api))
    before = session_item(aws)
    # When the token is altered to name the other user (its secret is still the live one)
    forged = str(refresh_tokens.RefreshToken(token.session_id, token.secret, other.id))
    # Then 401, and the session is untouched: its owner's token still works
    assert api.refresh_cookie(forged).status == 401
    assert session_item(aws) == before
    assert api.refresh_cookie(str(token)).status == 200


def test_issue17_a_block_landing_between_the_read_and_the_write_lets_that_one_refresh_through_and_no_more(
    api, demo_user
):
    from authlayer import clock
    from authlayer.dal import users as user_store
    from authlayer.models import iso
    from tests.integration.test_grace_race import JustBeforeNextWrite

    # Given a session, and an operator's block whose user update lands after this refresh read the
    # user but before its write (the session items are not marked revoked yet)
    token = login_token(api)

    def block_user_item():
        user_store.update(demo_user.id, iso(clock.now()), blocked=True, tokens_not_before=clock.now_ms())

    with JustBeforeNextWrite(block_user_item):
        answer = api.refresh_cookie(token)
    # Then that one refresh is answered (the window, docs/cost.md), but its access token is refused
    # on our own routes at once (the sid / not-before check, ASVS 5.0 7.4.2) and its refresh token
    # at the next refresh, which reads the user again
    assert answer.status == 200
    assert api.me(answer.body["jwt"]).status == 401
    assert api.refresh_cookie(cookie_value(answer)).status == 401


def test_issue17_a_whole_block_landing_between_the_read_and_the_write_is_caught_by_the_write(api, demo_user):
    from authlayer.logic.accounts import set_blocked
    from tests.integration.test_grace_race import JustBeforeNextWrite

    # Given a block (user item, then the session items marked revoked) landing between read and write
    token = login_token(api)
    with JustBeforeNextWrite(lambda: set_blocked(demo_user.id, True)):
        answer = api.refresh_cookie(token)
    # Then the write's own condition (not revoked) fails: no refresh gets through
    assert answer.status == 401
