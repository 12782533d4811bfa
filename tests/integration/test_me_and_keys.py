"""GET /api/users/me, the JWKS and the OpenID configuration; faults of the key source."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest

from tests.conftest import (
    ISSUER,
    JWKS_PARAMETER,
    KEY_PARAMETER,
    LambdaContext,
    cookie_value,
    load_event,
    load_handler,
    reset_caches,
)


def test_me_returns_the_sanitized_user(api, demo_user):
    answer = api.me(api.login().body["jwt"])
    assert answer.status == 200 and answer.body["id"] == demo_user.id
    assert "password" not in json.dumps(answer.body) and "argon2" not in json.dumps(answer.body)


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Basic ZGVtbzpwdw==", "Bearer not.a.jwt"])
def test_missing_or_invalid_access_token_is_401(api, demo_user, authorization):
    answer = api.call("me", "me.json", headers={"authorization": authorization})
    assert answer.status == 401 and answer.error_name == "UnauthorizedError"


def test_rfc8725_3_12_refresh_token_as_bearer_is_401(api, demo_user):
    assert api.me(cookie_value(api.login())).status == 401


def test_expired_access_token_is_401(api, demo_user, settings_env):
    from freezegun import freeze_time

    settings_env(ACCESS_TOKEN_TTL="60s")
    with freeze_time("2026-11-29 12:00:00") as clock:
        jwt_ = api.login().body["jwt"]
        clock.tick(60 + 29)
        assert api.me(jwt_).status == 200  # inside the 30 s leeway
        clock.tick(2)
        assert api.me(jwt_).status == 401


def test_jwks_and_openid_configuration(api, demo_user):
    jwks = api.call("keys", "jwks.json")
    assert jwks.status == 200 and jwks.body["keys"][0]["kty"] == "RSA" and jwks.body["keys"][0]["alg"] == "RS256"
    assert "d" not in jwks.body["keys"][0] and "p" not in jwks.body["keys"][0]  # public parts only
    config = api.call("keys", "openid-configuration.json")
    assert config.body["issuer"] == ISSUER and config.body["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    token = api.login().body["jwt"]
    assert jwt.get_unverified_header(token)["kid"] == jwks.body["keys"][0]["kid"]


def test_pyjwkclient_verifies_an_access_token_against_the_served_jwks(api, demo_user):
    # Given the keys handler served over loopback HTTP (what API Gateway's JWT authorizer does)
    keys_handler = load_handler("keys")

    class Serve(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            event = load_event("jwks.json")
            result = keys_handler(event, LambdaContext())
            self.send_response(result["statusCode"])
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(result["body"].encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        token = api.login().body["jwt"]
        client = jwt.PyJWKClient(f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json")
        signing_key = client.get_signing_key_from_jwt(token)
        # When verified the way a resource server would: pinned alg, iss and aud checked
        claims = jwt.decode(token, signing_key.key, algorithms=["RS256"], issuer=ISSUER, audience="sam-refresh-auth")
        assert claims["sub"] == demo_user.id == claims["id"]
    finally:
        server.shutdown()
        server.server_close()


def test_signing_key_from_the_environment_wins_over_ssm(api, demo_user, settings_env):
    from tests.conftest import private_key_pem

    settings_env(SIGNING_KEY=private_key_pem(1), SIGNING_KEY_PARAMETER="/does/not/exist")
    token = api.login().body["jwt"]
    kid = api.call("keys", "jwks.json").body["keys"][0]["kid"]
    assert jwt.get_unverified_header(token)["kid"] == kid
    assert api.me(token).status == 200


@pytest.mark.parametrize("problem", ["missing", "empty", "garbage"])
def test_asvs5_16_5_3_missing_or_unusable_key_fails_closed_with_503(api, demo_user, aws, settings_env, problem):
    if problem == "missing":
        aws["ssm"].delete_parameter(Name=KEY_PARAMETER)
    else:
        aws["ssm"].put_parameter(Name=KEY_PARAMETER, Value=" " if problem == "empty" else "garbage", Type="SecureString", Overwrite=True)
    settings_env()
    answer = api.login()
    assert answer.status == 503 and answer.error_name == "ServiceUnavailableError" and answer.cookies == []
    assert answer.headers["Retry-After"]
    assert aws["dynamodb"].scan(TableName="SessionsTable")["Items"] == []  # nothing half-written


def test_r2_9_jwks_function_serves_the_public_parameter_and_verifiers_need_no_private_key(api, demo_user, aws):
    # Given a token, then the private keys out of reach (as for roles without SigningKeyReadPolicy)
    token = api.login().body["jwt"]
    public = json.loads(aws["ssm"].get_parameter(Name=JWKS_PARAMETER)["Parameter"]["Value"])
    aws["ssm"].delete_parameter(Name=KEY_PARAMETER)

    # When the JWKS is fetched and the token used, in fresh containers
    api.reload()
    reset_caches()
    jwks = api.call("keys", "jwks.json")

    # Then the JWKS is the public parameter as written, and the verifiers still accept the token
    assert jwks.status == 200 and jwks.body == public
    assert jwks.headers["Cache-Control"] == "public, max-age=300"
    assert api.me(token).status == 200 and api.sessions(token).status == 200


@pytest.mark.parametrize(
    "problem, value",
    [
        ("missing", None),
        ("empty", " "),
        ("not JSON", "{keys"),
        ("no keys", '{"keys": []}'),
        ("not RSA", '{"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}'),
        ("private members", "PRIVATE"),
        ("a kid twice", "TWICE"),
    ],
)
def test_r2_9_missing_or_invalid_public_jwks_fails_closed_with_503_never_the_private_key(
    api, demo_user, aws, problem, value
):
    # Given a token, and the public set broken while the private keys are fine
    token = api.login().body["jwt"]
    good = json.loads(aws["ssm"].get_parameter(Name=JWKS_PARAMETER)["Parameter"]["Value"])
    if value == "PRIVATE":  # what a JWK of the private key would add (RFC 7518 §6.3.2)
        value = json.dumps({"keys": [{**good["keys"][0], "d": "AQAB", "p": "AQAB", "q": "AQAB"}]})
    if value == "TWICE":
        value = json.dumps({"keys": good["keys"] * 2})
    if value is None:
        aws["ssm"].delete_parameter(Name=JWKS_PARAMETER)
    else:
        aws["ssm"].put_parameter(Name=JWKS_PARAMETER, Value=value, Type="String", Overwrite=True)

    # When the JWKS is fetched and the token used, in fresh containers
    api.reload()
    reset_caches()
    jwks = api.call("keys", "jwks.json")
    me = api.me(token)

    # Then both answer 503 (the public set is never rebuilt from the private keys)
    assert jwks.status == 503 and jwks.error_name == "ServiceUnavailableError", problem
    assert "AQAB" not in json.dumps(jwks.body)  # no key material in the error
    assert me.status == 503 and me.error_name == "ServiceUnavailableError", problem
