"""Ending sessions: logout, logout-all, the session list, revoking one, changing the password,
and operator actions (ASVS 5.0 7.4.1-7.4.3, RFC 9700 §4.14.2)."""

import pytest

from tests.conftest import DEMO_PASSWORD, cookie_value, load_event

NEW_PASSWORD = "a brand new passphrase"


def two_sessions(api):
    first, second = api.login(), api.login("demo@example.com")
    return first, second


def test_asvs5_7_4_1_logout_revokes_the_session_and_clears_the_cookie(api, demo_user):
    login = api.login()
    token = cookie_value(login)
    answer = api.logout(token)
    assert answer.status == 204
    # Cleared with the same name, path and attributes it was set with
    assert answer.cookies == ["__Host-refreshToken=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure"]
    assert api.refresh_cookie(token).status == 401
    assert api.me(login.body["jwt"]).status == 401  # sid is checked on our routes
    assert api.logout(token).status == 204  # logging out twice is not an error


def test_logout_without_a_token_is_still_204(api, demo_user):
    assert api.call("logout", "logout.json", cookies=[]).status == 204


def test_logout_all_ends_every_session_of_the_user(api, demo_user):
    first, second = two_sessions(api)
    assert api.logout(cookie_value(first), everywhere=True).status == 204
    assert api.refresh_cookie(cookie_value(first)).status == 401
    assert api.refresh_cookie(cookie_value(second)).status == 401
    assert api.me(second.body["jwt"]).status == 401


def test_logout_in_body_mode(api, demo_user):
    token = api.login(headers={"x-refresh-token-transport": "body"}).body["refreshToken"]
    answer = api.call("logout", "logout.json", {"refreshToken": token}, cookies=[])
    assert answer.status == 204
    assert api.refresh_body(token).status == 401


def test_logout_with_a_guessed_secret_changes_nothing(api, demo_user):
    token = cookie_value(api.login())
    guess = token.split(".")[0] + "." + "A" * 43
    assert api.logout(guess, everywhere=True).status == 204
    assert api.refresh_cookie(token).status == 200


def test_asvs4_13_2_3_cross_site_logout_is_refused(api, demo_user):
    token = cookie_value(api.login())
    answer = api.logout(token, headers={"origin": "https://evil.example"})
    assert answer.status == 403
    assert api.refresh_cookie(token).status == 200


def test_session_list_shows_active_sessions_and_the_current_one(api, demo_user):
    first, second = two_sessions(api)
    answer = api.sessions(second.body["jwt"])
    assert answer.status == 200
    listed = answer.body["data"]
    assert len(listed) == 2
    assert {s["current"] for s in listed} == {True, False}
    current = next(s for s in listed if s["current"])
    assert set(current) == {"id", "createdAt", "lastUsedAt", "userAgent", "ip", "current"}
    assert current["id"] == cookie_value(second).split(".")[0]
    assert current["userAgent"] == "curl/8.5.0" and current["ip"] == "203.0.113.10"


def test_revoking_the_other_session_ends_only_that_one(api, demo_user):
    first, second = two_sessions(api)
    other_id = cookie_value(first).split(".")[0]
    assert api.delete_session(second.body["jwt"], other_id).status == 204
    assert api.refresh_cookie(cookie_value(first)).status == 401
    assert api.refresh_cookie(cookie_value(second)).status == 200
    assert len(api.sessions(second.body["jwt"]).body["data"]) == 1


@pytest.mark.parametrize("target", ["someone else's", "unknown", "malformed"])
def test_revoking_a_session_that_is_not_yours_is_404(api, demo_user, target):
    from authlayer.accounts import create_user

    create_user("erin", "erin@example.com", "erin's passphrase")
    theirs = cookie_value(api.login("erin", "erin's passphrase"))
    mine = api.login()
    session_id = {"someone else's": theirs.split(".")[0], "unknown": "A" * 22, "malformed": "../x"}[target]
    answer = api.delete_session(mine.body["jwt"], session_id)
    assert answer.status == 404 and answer.error_name == "NotFoundError"
    assert api.refresh_cookie(theirs).status == 200


def test_session_routes_need_a_valid_access_token(api, demo_user):
    assert api.sessions("nope").status == 401
    assert api.delete_session("nope", "A" * 22).status == 401


def change_password(api, jwt, **overrides):
    body = {"currentPassword": DEMO_PASSWORD, "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD, **overrides}
    return api.call("change_password", "change-password.json", body, headers={"authorization": f"Bearer {jwt}"})


def test_asvs5_7_4_3_change_password_ends_other_sessions_and_issues_fresh_tokens(api, demo_user):
    first, second = two_sessions(api)
    answer = change_password(api, second.body["jwt"])
    assert answer.status == 200 and set(answer.body) == {"jwt", "user"}
    fresh = cookie_value(answer)
    for old in (first, second):
        assert api.refresh_cookie(cookie_value(old)).status == 401
        assert api.me(old.body["jwt"]).status == 401
    assert api.me(answer.body["jwt"]).status == 200
    assert api.refresh_cookie(fresh).status == 200
    assert api.login("demo", DEMO_PASSWORD).status == 400
    assert api.login("demo", NEW_PASSWORD).status == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"currentPassword": "wrong password"}, "The provided current password is invalid"),
        ({"passwordConfirmation": "something else entirely"}, "Passwords do not match"),
        ({"password": DEMO_PASSWORD, "passwordConfirmation": DEMO_PASSWORD}, "Your new password must be different than your current password"),
    ],
)
def test_change_password_refusals_change_nothing(api, demo_user, overrides, message):
    login = api.login()
    answer = change_password(api, login.body["jwt"], **overrides)
    assert answer.status == 400 and answer.error_name == "ValidationError" and answer.body["error"]["message"] == message
    assert api.refresh_cookie(cookie_value(login)).status == 200


def test_change_password_needs_a_bearer_token(api, demo_user):
    assert change_password(api, "nope").status == 401


@pytest.mark.parametrize("action", ["block", "delete", "set_password"])
def test_asvs5_7_4_2_operator_actions_end_sessions_at_once(api, demo_user, action):
    from authlayer.logic import accounts

    login = api.login()
    if action == "block":
        accounts.set_blocked(demo_user.id, True)
    elif action == "delete":
        accounts.delete_user(demo_user.id)
    else:
        accounts.set_password(demo_user.id, NEW_PASSWORD)
    assert api.refresh_cookie(cookie_value(login)).status == 401
    assert api.me(login.body["jwt"]).status == 401


def test_unblocked_user_can_log_in_again_but_old_sessions_stay_ended(api, demo_user):
    from authlayer.logic import accounts

    login = api.login()
    accounts.set_blocked(demo_user.id, True)
    accounts.set_blocked(demo_user.id, False)
    assert api.refresh_cookie(cookie_value(login)).status == 401
    assert api.login().status == 200


def test_deleted_user_frees_the_username_and_email(api, demo_user):
    from authlayer.accounts import create_user
    from authlayer.logic import accounts

    accounts.delete_user(demo_user.id)
    assert create_user("demo", "demo@example.com", DEMO_PASSWORD).id != demo_user.id


def test_every_page_of_a_query_is_read(api, demo_user):
    # Given five sessions and a page size of two (DynamoDB pages at 1 MB; Limit forces it here)
    from authlayer.dal import dynamo
    from authlayer.dal import sessions as store

    for _ in range(5):
        api.login()
    user_id = api.login().body["user"]["id"]
    # When all items are read, Then the loop follows LastEvaluatedKey to the last page
    items = dynamo.all_items(
        "query",
        TableName=store._table(),
        IndexName="by-user-keys",
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues=dynamo.to_values({":u": user_id}),
        Limit=2,
    )
    assert len(items) == 6 and len({i["pk"]["S"] for i in items}) == 6
    assert len(store.list_for_user(user_id)) == 6



def test_session_lists_the_user_agent_header_not_sam_locals_constant(api, demo_user, monkeypatch):
    # `sam local start-api` puts "Custom User Agent String" in requestContext.http.userAgent; API
    # Gateway puts the header's value there, so reading the header first is right under both.
    from tests import conftest

    def as_sam_local(name):
        event = load_event(name)
        event["requestContext"]["http"]["userAgent"] = "Custom User Agent String"
        return event

    monkeypatch.setattr(conftest, "load_event", as_sam_local)
    firefox = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
    login = api.login(headers={"user-agent": firefox})
    listed = api.sessions(login.body["jwt"]).body["data"]
    assert [s["userAgent"] for s in listed] == [firefox]
