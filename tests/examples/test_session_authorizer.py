"""The revocation-aware authorizer (functions/authorizer), tested with the authfixtures plugin.

Given a caller with a live session, when the session or user is ended by any of our flows
(logout, logout-all, change-password, reset-password, blocking, deletion), then the next
authorizer call denies: revocation reaches the API within the authorizer's cache TTL, not the
access token's lifetime (ASVS 5.0 7.4.1-7.4.3). Every forged or misused token is denied
(RFC 8725), one BatchGetItem decides, and an outage raises so API Gateway answers 500.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from authfixtures import load_function
from authlayer.dal import dynamo
from authlayer.errors import ServiceUnavailableError
from authlayer.keys import KeyConfigError
from tests.integration.test_faults import FailingCall
from tests.integration.test_token_attacks import ATTACKS

ROOT = Path(__file__).resolve().parents[2]
COOKIE = "__Host-refreshToken"  # COOKIE_SECURE is true in the template's Globals
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def authorizer(auth_aws):
    return load_function(ROOT / "functions" / "authorizer" / "authorizer.py")


@pytest.fixture
def call(authorizer, apigw_event, lambda_context):
    """The authorizer's answer for a request with this caller's (or any) Authorization header."""

    def run(caller=None, authorization=None):
        headers = {"authorization": authorization} if authorization is not None else None
        return authorizer(apigw_event.authorizer_request("GET", "/api/orders", caller=caller, headers=headers), lambda_context)

    return run


@pytest.fixture
def our(apigw_event, lambda_context):
    """One of this project's own routes, called as API Gateway calls it."""

    def run(function, method, path, **event):
        handler = load_function(ROOT / "functions" / function / f"{function}.py")
        answer = handler(apigw_event(method, path, **event), lambda_context)
        return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None

    return run


def test_a_live_session_is_authorized_with_its_claims_in_the_context(auth_tokens, call):
    caller = auth_tokens.caller(scopes=["orders:read"])
    answer = call(caller)
    assert answer == {
        "isAuthorized": True,
        "context": {
            "sub": caller.user.id,
            "sid": caller.session_id,
            "iss": caller.claims["iss"],
            "aud": "sam-refresh-auth",
            "exp": caller.claims["exp"],
            "scope": "orders:read",
        },
    }
    # API Gateway accepts only strings, numbers and booleans as context values
    assert all(isinstance(v, str | int | bool) for v in answer["context"].values())


def test_no_scope_claim_means_no_scope_in_the_context(auth_tokens, call):
    assert "scope" not in call(auth_tokens.caller())["context"]


def test_the_sample_request_event_is_authorized(auth_aws, auth_tokens, authorizer, lambda_context):
    caller = auth_tokens.caller()
    text = (ROOT / "events" / "authorizer-request.json").read_text().replace("REPLACE_WITH_ACCESS_TOKEN", caller.access_token)
    assert authorizer(json.loads(text), lambda_context)["isAuthorized"] is True


def test_the_context_is_what_whoami_live_answers(auth_tokens, call, apigw_event, lambda_context):
    # Given the authorizer's answer, when API Gateway hands its context to the route
    caller = auth_tokens.caller(scopes=["orders:read"])
    event = apigw_event("GET", "/api/whoami/live", caller=caller)
    event["requestContext"]["authorizer"] = {"lambda": call(caller)["context"]}
    whoami = load_function(ROOT / "functions" / "whoami" / "whoami.py")
    body = json.loads(whoami(event, lambda_context)["body"])
    assert body["authorizer"] == "lambda" and body["sub"] == caller.user.id and body["scopes"] == ["orders:read"]


def test_asvs5_7_4_1_logout_ends_the_session_for_the_authorizer(auth_tokens, call, our):
    caller = auth_tokens.caller()
    assert call(caller)["isAuthorized"] is True
    status, _ = our("logout", "POST", "/api/auth/logout", body={}, cookies=[f"{COOKIE}={caller.refresh_token}"])
    assert status == 204
    assert call(caller) == {"isAuthorized": False}


def test_asvs5_7_4_1_logout_everywhere_ends_the_users_other_sessions(auth_tokens, call, our):
    caller = auth_tokens.caller("bob")
    second = auth_tokens.session_of(caller.user)  # the same user on another device
    assert call(second)["isAuthorized"] is True
    status, _ = our(
        "logout", "POST", "/api/auth/logout", body={"scope": "all"}, cookies=[f"{COOKIE}={caller.refresh_token}"]
    )
    assert status == 204
    assert call(second) == {"isAuthorized": False}
    assert call(caller) == {"isAuthorized": False}


def test_asvs5_7_4_3_a_password_change_ends_the_old_session(auth_tokens, call, our):
    caller = auth_tokens.caller(password="an old passphrase")
    body = {"currentPassword": "an old passphrase", "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD}
    status, answer = our("change_password", "POST", "/api/auth/change-password", caller=caller, body=body)
    assert status == 200
    assert call(caller) == {"isAuthorized": False}
    # the session change-password started is live
    assert call(authorization=f"Bearer {answer['jwt']}")["isAuthorized"] is True


def test_asvs5_7_4_3_a_password_reset_ends_every_session(auth_tokens, call, our):
    from authlayer import clock, one_time_codes
    from authlayer.dal import codes
    from authlayer.one_time_codes import Purpose

    caller = auth_tokens.caller()
    code = one_time_codes.new_code()  # what the mailer stores and mails
    now = clock.now()
    assert codes.store(caller.user.id, Purpose.RESET, one_time_codes.code_hash(code), now + 3600, now)
    body = {"code": code, "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD}
    status, _ = our("reset_password", "POST", "/api/auth/reset-password", body=body)
    assert status == 200
    assert call(caller) == {"isAuthorized": False}


def test_asvs5_7_4_2_blocking_a_user_denies_their_tokens(auth_tokens, call):
    from authlayer.logic.accounts import set_blocked

    caller = auth_tokens.caller()
    set_blocked(caller.user.id, True)
    assert call(caller) == {"isAuthorized": False}


def test_asvs5_7_4_2_deleting_a_user_denies_their_tokens(auth_tokens, call):
    from authlayer.logic.accounts import delete_user

    caller = auth_tokens.caller()
    delete_user(caller.user.id)
    assert call(caller) == {"isAuthorized": False}


def test_a_blocked_users_fresh_token_is_denied(auth_tokens, call):
    assert call(auth_tokens.caller(blocked=True)) == {"isAuthorized": False}


@pytest.mark.parametrize("attack", ATTACKS)
def test_rfc8725_forged_and_misused_access_tokens_are_denied(auth_tokens, call, attack):
    caller = auth_tokens.caller()
    token = ATTACKS[attack](caller.user.id, caller.session_id)
    assert call(authorization=f"Bearer {token}") == {"isAuthorized": False}


def test_the_forging_helpers_make_tokens_the_authorizer_allows_when_not_attacking(auth_tokens, call):
    # Guards the test above: same key, issuer and audience as the plugin's, so only the attack differs.
    from tests.integration.test_token_attacks import claims, rs256

    caller = auth_tokens.caller()
    assert call(authorization=f"Bearer {rs256(claims(caller.user.id, caller.session_id))}")["isAuthorized"] is True


def test_rfc8725_3_12_a_refresh_token_as_bearer_is_denied(auth_tokens, call):
    caller = auth_tokens.caller()
    assert call(authorization=f"Bearer {caller.refresh_token}") == {"isAuthorized": False}


@pytest.mark.parametrize(
    "authorization", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "garbage", "Bearer not.a.jwt", "Bearer " + "a" * 9000]
)
def test_rfc6750_anything_but_one_valid_bearer_token_is_denied(auth_tokens, call, authorization):
    auth_tokens.caller()
    assert call(authorization=authorization) == {"isAuthorized": False}


def test_rfc7519_4_1_4_an_expired_token_is_denied(auth_tokens, call):
    from datetime import UTC, datetime, timedelta

    from freezegun import freeze_time

    caller = auth_tokens.caller()
    with freeze_time(datetime.now(UTC) + timedelta(seconds=15 * 60 + 31)):  # past ACCESS_TOKEN_TTL and the 30 s leeway
        assert call(caller) == {"isAuthorized": False}


def test_the_bearer_scheme_is_case_insensitive(auth_tokens, call):
    caller = auth_tokens.caller()
    assert call(authorization=f"bearer {caller.access_token}")["isAuthorized"] is True


def test_exactly_one_batch_get_item_decides(auth_tokens, call):
    caller = auth_tokens.caller()
    calls: list[str] = []
    dynamo.client().meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    call(caller)
    call(caller)
    assert calls == ["BatchGetItem", "BatchGetItem"]


@pytest.mark.parametrize("error", ["ProvisionedThroughputExceededException", "InternalServerError"])
def test_fail_closed_dynamodb_unavailable_raises_so_api_gateway_answers_500(auth_tokens, call, error):
    caller = auth_tokens.caller()
    with FailingCall("BatchGetItem", error), pytest.raises(ServiceUnavailableError):
        call(caller)
    assert call(caller)["isAuthorized"] is True  # and recovers with DynamoDB


def test_fail_closed_without_the_public_keys_raises(auth_aws, auth_tokens, call):
    from authlayer import jwks

    caller = auth_tokens.caller()
    auth_aws.ssm.delete_parameter(Name=jwks.parameter_name_for(auth_aws.environment["SIGNING_KEY_PARAMETER"]))
    with pytest.raises((ServiceUnavailableError, KeyConfigError)):
        call(caller)


def test_owasp_logging_the_decision_is_logged_without_the_token(auth_tokens, call, caplog):
    caller = auth_tokens.caller()
    caplog.set_level(logging.DEBUG, logger="sam-refresh-auth")
    call(caller)
    call(authorization=f"Bearer {caller.access_token[:-4]}AAAA")
    records = [r for r in caplog.records if r.getMessage().startswith("authorizer")]
    decisions = [(r.levelname, r.getMessage(), getattr(r, "reason", None)) for r in records]
    assert decisions == [("INFO", "authorizer allowed", None), ("INFO", "authorizer denied", "invalid access token")]
    logged = "\n".join(r.getMessage() + " " + str(r.__dict__) for r in caplog.records)
    assert caller.access_token.split(".")[2][:20] not in logged and caller.refresh_token not in logged
