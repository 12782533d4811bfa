"""Property tests: arbitrary input to the token verifier and the request parser gives 401 or
400, never an exception (RFC 8725 §3.7, ASVS 5.0 2.2.1). Surrogates are added by hand: the
default text strategy leaves them out."""

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authlayer import access_tokens, errors, refresh_tokens
from authlayer.config import load_settings
from authlayer.http import Request
from authlayer.keys import parse_key_set
from authlayer.schemas import LoginRequest, RefreshRequest, RegisterRequest, parse
from tests.conftest import private_key_pem

SETTINGS = load_settings({"USERS_TABLE": "U", "SESSIONS_TABLE": "S"})
KEYS = parse_key_set(private_key_pem(0))
surrogates = st.sampled_from(["\ud800", "\udfff", "\x00", "\u202e", "\ufeff"])
any_text = st.one_of(st.text(), st.text(alphabet=st.characters(), min_size=1).map(lambda s: s + "\ud800"), surrogates)
jwt_like = st.lists(st.one_of(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/"), any_text), min_size=1, max_size=5).map(".".join)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), any_text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(any_text, inner, max_size=3)),
    max_leaves=8,
)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.one_of(any_text, jwt_like))
def test_rfc8725_3_7_any_string_to_the_access_token_verifier_is_401(token):
    try:
        access_tokens.verify(SETTINGS, KEYS, "https://issuer.example", token)
    except errors.UnauthorizedError:
        return
    raise AssertionError("an arbitrary string verified")


@FAST
@given(st.one_of(any_text, json_values))
def test_any_value_parses_to_a_refresh_token_or_none(raw):
    assert refresh_tokens.parse(raw) is None or isinstance(raw, str)


@FAST
@given(
    body=st.one_of(st.binary(max_size=600).map(lambda b: b.decode("latin-1")), any_text, json_values.map(json.dumps)),
    content_type=st.sampled_from(["application/json", "text/plain", "", "application/json; charset=utf-8", "multipart/form-data"]),
    b64=st.booleans(),
)
def test_any_body_parses_or_is_a_4xx(body, content_type, b64):
    event = {"headers": {"content-type": content_type}, "body": body, "isBase64Encoded": b64, "requestContext": {"http": {"method": "POST"}}}
    try:
        data = Request.from_event(event).json()
        for model in (LoginRequest, RegisterRequest, RefreshRequest):
            with contextlib.suppress(errors.ValidationError):
                parse(model, data)
    except errors.AuthError as error:
        assert 400 <= error.status < 500


@FAST
@given(json_values)
def test_any_json_value_against_the_login_schema_is_a_model_or_a_validation_error(value):
    data = value if isinstance(value, dict) else {"identifier": value, "password": value}
    try:
        parsed = parse(LoginRequest, data)
    except errors.ValidationError as error:
        assert error.details["errors"]
        json.dumps(error.details)  # details are serialisable: never a 500 while answering
        return
    parsed.identifier.encode("utf-8")
    parsed.password.encode("utf-8")
