"""Forgot/reset password and email confirmation (Strapi v4's contract), handlers + SQS + SES in moto.

Each test is named after the rule it shows (ASVS 5.0 6.3.8 no enumeration, 6.4 recovery, 7.4.3
sessions end on a password change; OWASP Forgot Password Cheat Sheet).
"""

from __future__ import annotations

import json
from unittest import mock

import pytest
from freezegun import freeze_time

from tests.conftest import DEMO_PASSWORD, MAIL_FROM, cookie_value
from tests.integration.recovery_helpers import code_from, link_in, queue_url, run_mailer, sent_mail, text_part

NEW_PASSWORD = "a brand new passphrase"
T0 = "2026-12-01 10:00:00"


def frozen(at: str = T0):
    return freeze_time(at)


def forgot(api, email="demo@example.com", **kwargs):
    return api.call("mail_request", "forgot-password.json", {"email": email}, **kwargs)


def reset(api, code, password=NEW_PASSWORD, confirmation=None, **kwargs):
    body = {"code": code, "password": password, "passwordConfirmation": confirmation or password}
    return api.call("reset_password", "reset-password.json", body, **kwargs)


def queued(aws):
    attributes = aws["sqs"].get_queue_attributes(QueueUrl=queue_url(aws), AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def reset_code(api, aws, email="demo@example.com"):
    assert forgot(api, email).status == 200
    run_mailer(aws)
    return code_from(sent_mail()[-1])


def items(aws):
    return aws["dynamodb"].scan(TableName="UsersTable")["Items"]


# --- forgot-password -----------------------------------------------------------------------------


def test_asvs5_6_3_8_forgot_password_answers_alike_for_known_unknown_blocked_and_unconfirmed(api, aws, demo_user):
    # Given a known, a blocked and an unconfirmed account, and an address without one
    from authlayer.accounts import create_user
    from authlayer.logic.accounts import set_blocked

    set_blocked(create_user("blocked", "blocked@example.com", DEMO_PASSWORD).id, True)
    create_user("pending", "pending@example.com", DEMO_PASSWORD, confirmed=False)
    answers = [forgot(api, e) for e in ("Demo@Example.com", "nobody@example.com", "blocked@example.com", "pending@example.com")]
    # Then every answer is the same, byte for byte (status, body, headers, no cookie)
    assert {a.status for a in answers} == {200}
    assert all(a.body == {"ok": True} for a in answers)
    assert all(a.headers == answers[0].headers and a.cookies == [] for a in answers)
    # And each only enqueued a request: the HTTP path did the same work for every address
    assert queued(aws) == 4
    # When the mailer runs, only the accounts that can reset get mail (email matched case-insensitively)
    assert run_mailer(aws) == {"batchItemFailures": []}
    assert sorted(m["To"] for m in sent_mail()) == ["demo@example.com", "pending@example.com"]


def test_reset_mail_has_text_and_html_parts_and_strapis_link(api, aws, demo_user):
    code = reset_code(api, aws)
    (message,) = sent_mail()
    assert message["From"] == MAIL_FROM and message["Subject"] == "Reset password" and message["Date"]
    assert {p.get_content_type() for p in message.walk()} >= {"text/plain", "text/html"}
    assert link_in(message) == f"https://app.example.com/reset-password?code={code}"


def test_codes_are_256_bit_and_stored_only_as_a_hash_with_a_ttl(api, aws, demo_user):
    code = reset_code(api, aws)
    assert len(code) == 43  # 32 bytes, base64url
    stored = json.dumps(items(aws))
    assert code not in stored  # only the SHA-256 hash is kept
    code_items = [i for i in items(aws) if i["pk"]["S"].startswith("CODE#")]
    assert len(code_items) == 1 and "expires_at" in code_items[0]  # the table's TTL attribute


def test_no_code_is_ever_logged(api, aws, demo_user, capsys):
    code = reset_code(api, aws)
    assert reset(api, code).status == 200
    out = capsys.readouterr()
    assert code not in out.out + out.err


# --- reset-password ------------------------------------------------------------------------------


def test_asvs5_7_4_3_reset_answers_like_login_and_ends_every_other_session(api, aws, demo_user):
    # Given two sessions of the demo user
    first, second = api.login(), api.login()
    code = reset_code(api, aws)
    # When the password is reset with the mailed code
    answer = reset(api, code)
    # Then {jwt, user} and a new session's cookie, as at login
    assert answer.status == 200 and set(answer.body) == {"jwt", "user"}
    assert answer.body["user"]["email"] == "demo@example.com"
    assert api.refresh_cookie(cookie_value(answer)).status == 200
    assert api.me(answer.body["jwt"]).status == 200
    # And the other sessions are over: refresh tokens and, on our routes, access tokens
    for old in (first, second):
        assert api.refresh_cookie(cookie_value(old)).status == 401
        assert api.me(old.body["jwt"]).status == 401
    # And the new password logs in, the old one does not
    assert api.login(password=NEW_PASSWORD).status == 200
    assert api.login(password=DEMO_PASSWORD).status == 400


def test_reset_in_body_transport_gives_the_refresh_token_in_the_body(api, aws, demo_user):
    answer = reset(api, reset_code(api, aws), headers={"x-refresh-token-transport": "body"})
    assert answer.status == 200 and answer.cookies == [] and answer.body["refreshToken"]


def test_a_code_works_once(api, aws, demo_user):
    code = reset_code(api, aws)
    assert reset(api, code).status == 200
    again = reset(api, code, password="yet another passphrase")
    assert again.status == 400 and again.body["error"] == {
        "status": 400, "name": "ValidationError", "message": "Incorrect code provided", "details": {}
    }


def test_an_expired_code_fails_and_expiry_is_checked_in_code(api, aws, demo_user):
    with frozen() as clock:
        code = reset_code(api, aws)
        clock.tick(3601)  # RESET_TOKEN_TTL is 1 h; DynamoDB's TTL may not have deleted the item yet
        answer = reset(api, code)
    assert answer.status == 400 and answer.body["error"]["message"] == "Incorrect code provided"


@pytest.mark.parametrize(
    ("password", "confirmation", "message"),
    [
        (NEW_PASSWORD, NEW_PASSWORD + "!", "Passwords do not match"),
        ("short", "short", None),  # the rules of registration: 8 characters at least
    ],
)
def test_a_refused_reset_does_not_spend_the_code(api, aws, demo_user, password, confirmation, message):
    code = reset_code(api, aws)
    refused = reset(api, code, password, confirmation)
    assert refused.status == 400 and refused.error_name == "ValidationError"
    if message:
        assert refused.body["error"]["message"] == message
    assert api.login().status == 200  # the password did not change
    assert reset(api, code).status == 200  # and the code still works


@pytest.mark.parametrize("code", ["", "x" * 43, "not a code", "a" * 129])
def test_a_wrong_code_fails_and_changes_nothing(api, aws, demo_user, code):
    before = items(aws)
    answer = reset(api, code)
    assert answer.status == 400 and answer.error_name == "ValidationError"
    assert items(aws) == before


def test_a_new_request_replaces_the_previous_code(api, aws, demo_user):
    with frozen() as clock:
        first = reset_code(api, aws)
        clock.tick(61)  # past the one-mail-a-minute limit
        second = reset_code(api, aws)
        assert first != second
        assert reset(api, first).status == 400
        assert reset(api, second).status == 200


def test_change_password_voids_a_pending_code(api, aws, demo_user):
    code = reset_code(api, aws)
    jwt = api.login().body["jwt"]
    changed = api.call(
        "change_password",
        "change-password.json",
        {"currentPassword": DEMO_PASSWORD, "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD},
        headers={"authorization": f"Bearer {jwt}"},
    )
    assert changed.status == 200
    assert reset(api, code, password="yet another passphrase").status == 400


def test_a_blocked_users_code_fails(api, aws, demo_user):
    from authlayer.logic.accounts import set_blocked

    code = reset_code(api, aws)
    set_blocked(demo_user.id, True)
    assert reset(api, code).status == 400


# --- no mail bombing -------------------------------------------------------------------------------


def test_no_mail_bombing_one_reset_mail_a_minute_and_five_a_day(api, aws, demo_user):
    with frozen() as clock:
        # When the same address is asked for twenty times in a burst
        for _ in range(20):
            assert forgot(api).body == {"ok": True}  # the answer stays the same
        run_mailer(aws), run_mailer(aws)
        # Then one mail went out
        assert len(sent_mail()) == 1
        # And a minute apart, the mails stop at five a day
        for _ in range(8):
            clock.tick(61)
            forgot(api)
            run_mailer(aws)
        assert len(sent_mail()) == 5
        # And the next day it starts again
        clock.tick(86400)
        forgot(api)
        run_mailer(aws)
        assert len(sent_mail()) == 6


# --- the mailer --------------------------------------------------------------------------------------


def test_mailer_reports_partial_batch_failures_so_one_bad_message_is_retried_alone(api, aws, demo_user):
    aws["sqs"].send_message(QueueUrl=queue_url(aws), MessageBody="not json")
    assert forgot(api).status == 200
    answer = run_mailer(aws)
    assert len(answer["batchItemFailures"]) == 1  # only the bad one
    assert len(sent_mail()) == 1  # the good one was sent
    assert queued(aws) == 1  # and only the bad one is left for a retry


def test_a_mail_that_ses_refuses_is_retried_not_lost(api, aws, demo_user):
    from authlayer.dal import mail

    # (failed messages come back at once instead of after the queue's 60 s visibility timeout)
    aws["sqs"].set_queue_attributes(QueueUrl=queue_url(aws), Attributes={"VisibilityTimeout": "0"})
    assert forgot(api).status == 200
    with mock.patch.object(mail, "_client") as client:
        client.return_value.send_email.side_effect = mail.ClientError(
            {"Error": {"Code": "Throttling", "Message": "x"}}, "SendEmail"
        )
        assert len(run_mailer(aws)["batchItemFailures"]) == 1
    # When the message comes back, the retry sends it
    assert run_mailer(aws) == {"batchItemFailures": []}
    assert len(sent_mail()) == 1  # the claim of the first attempt did not block the retry


def test_a_message_that_always_fails_ends_in_the_dead_letter_queue(api, aws):
    url = queue_url(aws)
    aws["sqs"].set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
    aws["sqs"].send_message(QueueUrl=url, MessageBody='{"purpose": "nonsense"}')
    for _ in range(10):  # maxReceiveCount is 5; bounded
        run_mailer(aws)
    dlq = queue_url(aws, "MailDeadLetterQueue")
    moved = aws["sqs"].receive_message(QueueUrl=dlq).get("Messages", [])
    assert [m["Body"] for m in moved] == ['{"purpose": "nonsense"}']


# --- email confirmation ----------------------------------------------------------------------------

NEW = {"username": "newuser", "email": "New.User@Example.com", "password": "a long enough passphrase"}


@pytest.fixture
def confirmation_on(settings_env):
    settings_env(EMAIL_CONFIRMATION="true")


def confirm(api, token):
    return api.call(
        "email_confirmation", "email-confirmation.json", raw_body="", headers={}, query={"confirmation": token}
    )


def test_registration_with_confirmation_answers_user_only_and_mails_a_link(api, aws, confirmation_on):
    answer = api.call("register", "register.json", NEW)
    assert answer.status == 200 and set(answer.body) == {"user"}
    assert answer.body["user"]["confirmed"] is False and answer.cookies == []
    run_mailer(aws)
    (message,) = sent_mail()
    assert message["To"] == "new.user@example.com" and message["Subject"] == "Account confirmation"
    assert link_in(message).startswith(
        "https://abc123.execute-api.us-east-1.amazonaws.com/api/auth/email-confirmation?confirmation="
    )


def test_unconfirmed_login_gets_strapis_message_only_with_the_right_password(api, aws, confirmation_on):
    api.call("register", "register.json", NEW)
    right = api.login("newuser", NEW["password"])
    assert right.status == 400 and right.body["error"]["name"] == "ApplicationError"
    assert right.body["error"]["message"] == "Your account email is not confirmed"
    wrong = api.login("newuser", "a wrong passphrase")
    assert wrong.status == 400 and wrong.body["error"]["message"] == "Invalid identifier or password"


def test_the_confirmation_link_confirms_once_then_redirects(api, aws, confirmation_on):
    api.call("register", "register.json", NEW)
    run_mailer(aws)
    token = code_from(sent_mail()[0], "confirmation")
    answer = confirm(api, token)
    assert answer.status == 302 and answer.headers["Location"] == "https://app.example.com/email-confirmed"
    assert api.login("newuser", NEW["password"]).status == 200
    again = confirm(api, token)
    assert again.status == 400 and again.error_name == "ValidationError"


@pytest.mark.parametrize("token", [None, "", "x" * 43, "a" * 500])
def test_a_bad_confirmation_token_is_a_validation_error(api, aws, token):
    query = {} if token is None else {"confirmation": token}
    answer = api.call("email_confirmation", "email-confirmation.json", headers={}, query=query)
    assert answer.status == 400 and answer.error_name == "ValidationError"


def test_an_expired_confirmation_link_fails(api, aws, confirmation_on):
    with frozen() as clock:
        api.call("register", "register.json", NEW)
        run_mailer(aws)
        clock.tick(86401)
        assert confirm(api, code_from(sent_mail()[0], "confirmation")).status == 400


def test_asvs5_6_3_8_send_email_confirmation_answers_alike_and_only_unconfirmed_accounts_get_mail(
    api, aws, demo_user, confirmation_on
):
    api.call("register", "register.json", NEW)
    run_mailer(aws)
    assert len(sent_mail()) == 1
    with frozen("2030-01-01"):  # a day later: the mail limits allow another one
        answers = {
            e: api.call("mail_request", "send-email-confirmation.json", {"email": e})
            for e in ("new.user@example.com", "demo@example.com", "nobody@example.com")
        }
        for sent_to, a in answers.items():
            assert a.status == 200 and a.body == {"email": sent_to, "sent": True}
        run_mailer(aws)
    assert [m["To"] for m in sent_mail()] == ["new.user@example.com", "new.user@example.com"]


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "event", "body"),
    [
        ("mail_request", "forgot-password.json", {}),
        ("mail_request", "forgot-password.json", {"email": 42}),
        ("mail_request", "forgot-password.json", {"email": "not-an-email"}),
        ("mail_request", "forgot-password.json", {"email": "demo@example.com", "extra": 1}),
        ("mail_request", "forgot-password.json", ["demo@example.com"]),
        ("mail_request", "send-email-confirmation.json", {"email": None}),
        ("reset_password", "reset-password.json", {"code": "abc"}),
        ("reset_password", "reset-password.json", {"code": 1, "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD}),
    ],
)
def test_bad_input_is_a_validation_error_and_nothing_is_written(api, aws, demo_user, handler, event, body):
    before = items(aws)
    answer = api.call(handler, event, body)
    assert answer.status == 400 and answer.error_name == "ValidationError"
    assert queued(aws) == 0 and items(aws) == before


def test_a_too_large_body_is_413(api, aws):
    answer = api.call("mail_request", "forgot-password.json", raw_body=json.dumps({"email": "a" * 20000}))
    assert answer.status == 413 and queued(aws) == 0


# --- the login that races a reset ---------------------------------------------------------------------


def test_asvs5_7_4_3_a_login_racing_a_reset_leaves_no_session_that_outlives_it(api, aws, demo_user):
    # Given a reset code, and a login whose password check is slow
    code = reset_code(api, aws)
    from authlayer import passwords

    real_verify = passwords.verify_password
    done = []

    def verify_then_reset(password, hashed):
        ok = real_verify(password, hashed)
        if not done:  # the reset lands between the login's check and its session write
            done.append(reset(api, code).status)
        return ok

    with mock.patch.object(passwords, "verify_password", verify_then_reset):
        answer = api.login()
    # Then the reset went through, and the login with the old password got no session
    assert done == [200]
    assert answer.status == 400 and answer.body["error"]["message"] == "Invalid identifier or password"
    assert text_part(sent_mail()[0])  # (the mail was the real one)
    live = [
        s for s in aws["dynamodb"].scan(TableName="SessionsTable")["Items"] if "revoked_at" not in s
    ]
    assert len(live) == 1  # only the session the reset itself started


def test_owasp_fp_links_come_from_configuration_never_from_the_host_header(api, aws, demo_user, settings_env):
    # Given requests whose Host header names an attacker's site
    evil = {"host": "evil.example", "x-forwarded-host": "evil.example"}
    assert forgot(api, headers=evil).status == 200
    settings_env(EMAIL_CONFIRMATION="true")
    api.call("register", "register.json", NEW, headers=evil)
    run_mailer(aws)
    # Then the reset link is RESET_PASSWORD_URL's and the confirmation link the API's own domain
    reset_mail, confirm_mail = sent_mail()
    assert link_in(reset_mail).startswith("https://app.example.com/reset-password?code=")
    assert link_in(confirm_mail).startswith("https://abc123.execute-api.us-east-1.amazonaws.com/api/auth/")
    assert "evil" not in text_part(reset_mail) + text_part(confirm_mail)
