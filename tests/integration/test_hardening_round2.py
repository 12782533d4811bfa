"""Hardening, second round (issue 14, security-catalogue "Round 2"): cookie in / cookie out,
CSRF checks on every route that sets the refresh cookie, deeply nested JSON, change-password's
guesses on the login counter, and answers that are true after a committed write."""

import json
import logging

import pytest

from tests.conftest import DEMO_PASSWORD, cookie_value
from tests.integration.recovery_helpers import code_from, run_mailer, sent_mail
from tests.integration.test_faults import FailingCall, assert_unavailable

BODY_MODE = {"x-refresh-token-transport": "body"}
NEW_PASSWORD = "a brand new passphrase"
REGISTRATION = {"username": "newcomer", "email": "newcomer@example.com", "password": "newcomer's passphrase"}


def items(aws, table):
    return aws["dynamodb"].scan(TableName=table)["Items"]


def change_password(api, jwt, current=DEMO_PASSWORD, new=NEW_PASSWORD, headers=None, **kwargs):
    body = {"currentPassword": current, "password": new, "passwordConfirmation": new}
    headers = {"authorization": f"Bearer {jwt}", **(headers or {})}
    return api.call("change_password", "change-password.json", body, headers=headers, **kwargs)


def reset_code(api, aws):
    assert api.call("mail_request", "forgot-password.json", {"email": "demo@example.com"}).status == 200
    run_mailer(aws)
    return code_from(sent_mail()[-1])


def reset(api, code, **kwargs):
    body = {"code": code, "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD}
    return api.call("reset_password", "reset-password.json", body, **kwargs)


# --- R2-1: cookie in, cookie out (ASVS 5.0 3.3.4) ---------------------------------------------


def test_asvs5_3_3_4_r2_1_cookie_refresh_asking_for_body_transport_is_400_and_rotates_nothing(api, demo_user, aws):
    token = cookie_value(api.login())
    before = items(aws, "SessionsTable")[0]["token_hash"]
    answer = api.refresh_cookie(token, headers=BODY_MODE)
    assert answer.status == 400 and answer.error_name == "ValidationError"
    assert answer.cookies == [] and "refreshToken" not in json.dumps(answer.body)
    assert items(aws, "SessionsTable")[0]["token_hash"] == before
    assert api.refresh_cookie(token).status == 200  # the browser's cookie still works


def test_asvs5_3_3_4_r2_1_no_token_route_answers_in_the_body_to_a_request_carrying_the_cookie(api, demo_user, aws):
    token = cookie_value(api.login())
    carried = [f"__Host-refreshToken={token}"]
    login = api.login(headers=BODY_MODE, cookies=carried)
    jwt = api.login().body["jwt"]
    change = change_password(api, jwt, headers=BODY_MODE, cookies=carried)
    for answer in (login, change):
        assert answer.status == 400 and answer.cookies == [] and "refreshToken" not in json.dumps(answer.body)
    assert len(items(aws, "SessionsTable")) == 2  # neither made a session
    assert api.login(headers=BODY_MODE).status == 200  # body transport without the cookie: as before


# --- R2-4: routes that set the cookie refuse cross-site requests before any work --------------

ROUTES = {
    "login": lambda api, **kw: api.login(**kw),
    "register": lambda api, **kw: api.call("register", "register.json", REGISTRATION, **kw),
    "refresh-body": lambda api, **kw: api.refresh_body("A" * 22 + "." + "B" * 43, **kw),
    "reset-password": lambda api, **kw: reset(api, "C" * 43, **kw),
}
REFUSALS = [
    ({"content-type": None}, 415, "UnsupportedMediaTypeError"),  # a no-cors fetch needs no preflight
    ({"content-type": "text/plain"}, 415, "UnsupportedMediaTypeError"),
    ({"origin": "https://evil.example"}, 403, "ForbiddenError"),
    ({"origin": "null"}, 403, "ForbiddenError"),
    ({"sec-fetch-site": "cross-site"}, 403, "ForbiddenError"),
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(("headers", "status", "name"), REFUSALS)
def test_asvs4_13_2_3_r2_4_cookie_setting_routes_refuse_cross_site_requests_before_any_work(
    api, demo_user, aws, monkeypatch, route, headers, status, name
):
    from authlayer import passwords

    hashed = []
    monkeypatch.setattr(passwords, "verify_password", lambda *a: hashed.append(a) or False)
    monkeypatch.setattr(passwords, "hash_password", lambda *a: hashed.append(a) or "x")
    users_before = items(aws, "UsersTable")
    answer = ROUTES[route](api, headers=headers)
    assert (answer.status, answer.error_name) == (status, name)
    assert answer.cookies == [] and hashed == []
    assert items(aws, "UsersTable") == users_before and items(aws, "SessionsTable") == []


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, native apps, servers: no Origin at all
        {"origin": "https://abc123.execute-api.us-east-1.amazonaws.com", "sec-fetch-site": "same-origin"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_asvs4_13_2_3_r2_4_clients_without_a_foreign_origin_are_unaffected(api, demo_user, headers):
    assert api.login(headers=headers).status == 200
    assert api.call("register", "register.json", REGISTRATION | {"username": f"user{len(headers)}", "email": f"user{len(headers)}@example.com"}, headers=headers).status == 200


def test_r2_4_allowed_origin_passes_the_check(api, demo_user, settings_env):
    settings_env(ALLOWED_ORIGINS="https://app.example")
    assert api.login(headers={"origin": "https://app.example"}).status == 200


# --- R2-6: deeply nested JSON (ASVS 5.0 15.3) --------------------------------------------------


@pytest.mark.parametrize("raw", ["[" * 5000, '{"a":' * 2000, "[" * 6000 + "]" * 6000])  # all under the 12 KB limit
def test_asvs5_15_3_r2_6_deeply_nested_json_is_400_without_a_stack_trace(api, demo_user, caplog, capsys, raw):
    caplog.set_level(logging.DEBUG)
    answer = api.call("login", "login.json", raw_body=raw)
    assert answer.status == 400 and answer.error_name == "ValidationError"
    logged = capsys.readouterr().out + caplog.text
    assert "Traceback" not in logged and "RecursionError" not in logged and "unhandled" not in logged


# --- R2-3: change-password's currentPassword is a guess (ASVS 4.0.3 2.2.1) --------------------


def test_asvs4_2_2_1_r2_3_wrong_current_passwords_hit_the_login_counter_and_get_429(api, demo_user, aws):
    jwt = api.login().body["jwt"]
    answers = [change_password(api, jwt, current=f"guess number {i}") for i in range(12)]
    statuses = [a.status for a in answers]
    assert statuses == [400] * 5 + [429] * 7
    throttled = answers[-1]
    assert throttled.error_name == "RateLimitError" and int(throttled.headers["Retry-After"]) >= 1
    # The same counter as login's: the account now cools down there too, even with the right password.
    assert api.login().status == 429
    # ...and a right currentPassword is refused while it does, so guessing gains nothing.
    assert change_password(api, jwt).status == 429


def test_r2_3_a_successful_change_clears_the_counter(api, demo_user, aws):
    jwt = api.login().body["jwt"]
    for i in range(3):
        assert change_password(api, jwt, current=f"guess {i}").status == 400
    assert change_password(api, jwt).status == 200
    user = next(i for i in items(aws, "UsersTable") if i["pk"]["S"].startswith("USER#"))
    assert user["failed_logins"]["N"] == "0"


def test_r2_3_refusals_that_need_no_password_check_are_not_counted(api, demo_user, aws):
    jwt = api.login().body["jwt"]
    for _ in range(8):
        body = {"currentPassword": DEMO_PASSWORD, "password": NEW_PASSWORD, "passwordConfirmation": "other"}
        answer = api.call("change_password", "change-password.json", body, headers={"authorization": f"Bearer {jwt}"})
        assert answer.status == 400
    assert change_password(api, jwt).status == 200


# --- R2-12: a 503 after a committed write is never the answer (ASVS 5.0 16.5.2) ---------------


def test_asvs5_16_5_2_r2_12_register_writes_user_and_session_together_so_a_retry_after_503_registers(api, aws):
    api.login("nobody", "x")  # the client exists (and leaves the THROTTLE# counter of "nobody")
    users_before = items(aws, "UsersTable")
    with FailingCall("TransactWriteItems", "ThrottlingException"):
        assert_unavailable(api.call("register", "register.json", REGISTRATION))
    assert items(aws, "UsersTable") == users_before and items(aws, "SessionsTable") == []
    retry = api.call("register", "register.json", REGISTRATION)
    assert retry.status == 200 and api.refresh_cookie(cookie_value(retry)).status == 200
    assert len(items(aws, "SessionsTable")) == 1  # one transaction: a user never lacks its session


def test_asvs5_16_5_2_r2_12_change_password_503_changes_nothing(api, demo_user, aws):
    old = api.login()
    with FailingCall("TransactWriteItems", "ThrottlingException"):
        assert_unavailable(change_password(api, old.body["jwt"]))
    assert api.refresh_cookie(cookie_value(old)).status == 200
    assert api.login(password=NEW_PASSWORD).status == 400
    assert api.login().status == 200


def test_asvs5_16_5_2_r2_12_change_password_is_200_once_committed_even_if_marking_sessions_fails(api, demo_user, aws):
    other, mine = api.login(), api.login()
    with FailingCall("Query", "ThrottlingException"):  # the session list, read after the commit
        answer = change_password(api, mine.body["jwt"])
    assert answer.status == 200
    assert api.refresh_cookie(cookie_value(answer)).status == 200 and api.me(answer.body["jwt"]).status == 200
    for old in (other, mine):  # ended by the not-before all the same (ASVS 5.0 7.4.3)
        assert api.refresh_cookie(cookie_value(old)).status == 401 and api.me(old.body["jwt"]).status == 401
    assert api.login(password=NEW_PASSWORD).status == 200


def test_asvs5_16_5_2_r2_12_reset_password_503_leaves_the_code_for_the_retry(api, demo_user, aws):
    code = reset_code(api, aws)
    with FailingCall("TransactWriteItems", "ThrottlingException"):
        assert_unavailable(reset(api, code))
    assert api.login().status == 200  # nothing changed
    retry = reset(api, code)
    assert retry.status == 200 and api.refresh_cookie(cookie_value(retry)).status == 200


def test_asvs5_16_5_2_r2_12_reset_password_is_200_once_committed_even_if_marking_sessions_fails(api, demo_user, aws):
    old = api.login()
    code = reset_code(api, aws)
    with FailingCall("Query", "ThrottlingException"):
        answer = reset(api, code)
    assert answer.status == 200 and api.me(answer.body["jwt"]).status == 200
    assert api.refresh_cookie(cookie_value(old)).status == 401
    assert reset(api, code).status == 400  # spent: the 200 was the whole truth


def test_asvs5_16_5_2_r2_12_registration_with_confirmation_is_200_when_the_mail_queue_fails(api, aws, settings_env):
    settings_env(EMAIL_CONFIRMATION="true")
    from authlayer.dal import queue
    from authlayer.errors import ServiceUnavailableError

    def down(_message):
        raise ServiceUnavailableError()

    original = queue.enqueue
    queue.enqueue = down
    try:
        answer = api.call("register", "register.json", REGISTRATION)
    finally:
        queue.enqueue = original
    assert answer.status == 200 and answer.body["user"]["confirmed"] is False
    # The account exists; the user asks for the mail again, as the answer let them expect.
    again = api.call("mail_request", "send-email-confirmation.json", {"email": REGISTRATION["email"]})
    assert again.status == 200
