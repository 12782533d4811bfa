"""The whoami example, tested as a user tests their own function: with the authfixtures plugin
(loaded by `-p authfixtures` in pyproject's addopts) and nothing of this project's test suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from authfixtures import load_function

ROOT = Path(__file__).resolve().parents[2]
WHOAMI = ROOT / "functions" / "whoami" / "whoami.py"


def sample(name: str) -> dict:
    return json.loads((ROOT / "events" / name).read_text())


@pytest.fixture
def whoami():
    return load_function(WHOAMI)


def test_behind_the_jwt_authorizer_it_answers_the_callers_claims(auth_tokens, apigw_event, lambda_context, whoami):
    # Given a caller whose token has two scopes, and the event API Gateway's JWT authorizer passes on
    caller = auth_tokens.caller("alice", scopes=["orders:read", "orders:write"])
    event = apigw_event("GET", "/api/whoami", caller=caller, authorizer="jwt")
    # When whoami runs
    answer = whoami(event, lambda_context)
    # Then it answers 200 with the claims, exp as a number although API Gateway passed a string
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {
        "sub": caller.user.id,
        "sid": caller.session_id,
        "iss": caller.claims["iss"],
        "aud": "sam-refresh-auth",
        "exp": caller.claims["exp"],
        "scopes": ["orders:read", "orders:write"],
        "authorizer": "jwt",
    }
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["exp"] == str(caller.claims["exp"])


def test_jwt_authorizer_scopes_win_over_the_scope_claim(auth_tokens, apigw_event, lambda_context, whoami):
    # Given a route with AuthorizationScopes: API Gateway fills jwt.scopes itself
    caller = auth_tokens.caller(scopes=["a", "b"])
    event = apigw_event("GET", "/api/whoami", caller=caller, authorizer="jwt", scopes=["b"])
    # Then those are the scopes
    assert json.loads(whoami(event, lambda_context)["body"])["scopes"] == ["b"]


def test_a_token_without_scope_has_no_scopes(auth_tokens, apigw_event, lambda_context, whoami):
    caller = auth_tokens.caller()
    body = json.loads(whoami(apigw_event("GET", "/api/whoami", caller=caller, authorizer="jwt"), lambda_context)["body"])
    assert body["scopes"] == [] and body["sub"] == caller.user.id


def test_behind_the_revocation_aware_authorizer_it_answers_from_the_lambda_context(
    auth_tokens, apigw_event, lambda_context, whoami
):
    caller = auth_tokens.caller(scopes=["orders:read"])
    answer = whoami(apigw_event("GET", "/api/whoami/live", caller=caller, authorizer="lambda"), lambda_context)
    body = json.loads(answer["body"])
    assert answer["statusCode"] == 200
    assert body["authorizer"] == "lambda" and body["sid"] == caller.session_id and body["scopes"] == ["orders:read"]
    assert body["exp"] == caller.claims["exp"]


def test_owasp_deny_by_default_a_route_deployed_without_an_authorizer_is_401(apigw_event, lambda_context, whoami):
    answer = whoami(apigw_event("GET", "/api/whoami"), lambda_context)
    assert answer["statusCode"] == 401
    assert json.loads(answer["body"])["error"]["name"] == "UnauthorizedError"
    assert answer["headers"]["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("event_file", "kind", "scopes"),
    [("whoami.json", "jwt", ["orders:read", "orders:write"]), ("whoami-live.json", "lambda", ["orders:read", "orders:write"])],
)
def test_the_sample_events_answer_their_claims(lambda_context, whoami, event_file, kind, scopes):
    event = sample(event_file)
    body = json.loads(whoami(event, lambda_context)["body"])
    assert body == {
        "sub": "0b7c6a52-3b0e-4d38-9a3e-0d7d3f3c1a11",
        "sid": "3q2-7wEAAAAAAAAAAAAAAA",
        "iss": "https://abc123.execute-api.us-east-1.amazonaws.com",
        "aud": "sam-refresh-auth",
        "exp": 1795914900,
        "scopes": scopes,
        "authorizer": kind,
    }


@pytest.mark.parametrize(("event_file", "kind"), [("whoami.json", "jwt"), ("whoami-live.json", "lambda")])
def test_the_event_builder_has_the_shape_of_the_sample_events(auth_tokens, apigw_event, event_file, kind):
    # The builder and events/ (API Gateway's documented payload 2.0) have the same fields, so a
    # user's test built with it sees what a deployed function sees.
    caller = auth_tokens.caller(scopes=["orders:read"])
    built, documented = apigw_event("GET", "/api/whoami", caller=caller, authorizer=kind), sample(event_file)

    def shape(value):
        return {k: shape(v) for k, v in value.items()} if isinstance(value, dict) else type(value).__name__

    assert set(built) == set(documented)
    assert set(built["requestContext"]) == set(documented["requestContext"])
    built_auth, documented_auth = built["requestContext"]["authorizer"], documented["requestContext"]["authorizer"]
    if kind == "jwt":
        assert built_auth["jwt"]["scopes"] is documented_auth["jwt"]["scopes"] is None
        assert shape(built_auth["jwt"]["claims"]) == shape(documented_auth["jwt"]["claims"])  # all strings
    else:
        assert shape(built_auth) == shape(documented_auth)
