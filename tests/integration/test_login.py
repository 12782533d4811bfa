"""POST /api/auth/local: Strapi's login contract, driven with events/login.json against moto."""

import json

import bcrypt
import pytest

from authlayer import refresh_tokens
from tests.conftest import DEMO_PASSWORD, cookie_value

SANITIZED_KEYS = {"id", "username", "email", "provider", "confirmed", "blocked", "createdAt", "updatedAt"}


def session_items(aws):
    return aws["dynamodb"].scan(TableName="SessionsTable")["Items"]


@pytest.mark.parametrize("identifier", ["demo", "DEMO", "demo@example.com", "Demo@EXAMPLE.com"])
def test_login_with_username_or_case_insensitive_email(api, demo_user, identifier):
    # Given the demo user / When logging in by username or email / Then Strapi's answer
    answer = api.login(identifier)
    assert answer.status == 200
    assert answer.body["status"] == "Authenticated"
    assert set(answer.body["user"]) == SANITIZED_KEYS
    assert answer.body["user"]["id"] == demo_user.id and answer.body["user"]["provider"] == "local"
    assert "refreshToken" not in answer.body  # browsers: the cookie only (ASVS 5.0 3.3.4)
    assert answer.headers["Cache-Control"] == "no-store"


def test_asvs4_3_4_refresh_cookie_is_host_prefixed_secure_httponly_strict(api, demo_user):
    cookie = api.login().cookies[0]
    name_value, *attributes = [p.strip() for p in cookie.split(";")]
    assert name_value.startswith("__Host-refreshToken=")
    assert set(attributes) == {"Path=/", "Max-Age=172800", "HttpOnly", "SameSite=Strict", "Secure"}
    assert "Domain" not in cookie and len(cookie) < 4096


def test_body_transport_returns_refresh_token_in_body_and_no_cookie(api, demo_user):
    answer = api.login(headers={"x-refresh-token-transport": "body"})
    assert answer.status == 200 and answer.cookies == []
    token = refresh_tokens.parse(answer.body["refreshToken"])
    assert token is not None and token.user_id == answer.body["user"]["id"]  # issue 17: it names its user


def test_asvs5_6_3_8_unknown_user_and_wrong_password_get_identical_answers(api, demo_user, aws):
    wrong = api.login("demo", DEMO_PASSWORD + "x")
    unknown = api.login("nobody", DEMO_PASSWORD)
    assert wrong.status == unknown.status == 400
    assert wrong.body == unknown.body == {
        "data": None,
        "error": {"status": 400, "name": "ValidationError", "message": "Invalid identifier or password", "details": {}},
    }
    assert wrong.headers == unknown.headers and wrong.cookies == unknown.cookies == []
    assert session_items(aws) == []


def test_unknown_user_still_costs_one_hash_verification(api, demo_user, monkeypatch):
    from authlayer import passwords

    calls = []
    monkeypatch.setattr(passwords, "_hasher", Spy(passwords._hasher, calls))
    api.login("nobody", "whatever")
    api.login("demo", "wrong")
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"blocked": True}, "Your account has been blocked by an administrator"),
        ({"confirmed": False}, "Your account email is not confirmed"),
    ],
)
def test_blocked_or_unconfirmed_user_gets_application_error_and_no_token(api, aws, flags, message):
    from authlayer.accounts import create_user

    create_user("carol", "carol@example.com", DEMO_PASSWORD, **flags)
    answer = api.login("carol")
    assert answer.status == 400
    assert answer.body["error"]["name"] == "ApplicationError" and answer.body["error"]["message"] == message
    assert answer.cookies == [] and "jwt" not in answer.body
    assert session_items(aws) == []  # the tutorial issued tokens before this check


def test_blocked_user_with_wrong_password_looks_like_any_wrong_password(api, aws):
    from authlayer.accounts import create_user

    create_user("carol", "carol@example.com", DEMO_PASSWORD, blocked=True)
    assert api.login("carol", "wrong").body == api.login("nobody", "wrong").body


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"identifier": "demo"},
        {"password": DEMO_PASSWORD},
        {"identifier": 1, "password": DEMO_PASSWORD},
        {"identifier": ["demo"], "password": DEMO_PASSWORD},
        {"identifier": "demo", "password": None},
        {"identifier": "demo", "password": True},
        {"identifier": "", "password": DEMO_PASSWORD},
        {"identifier": "demo", "password": DEMO_PASSWORD, "role": "admin"},
        {"identifier": "de\x00mo", "password": DEMO_PASSWORD},
        {"identifier": "demo\u202e", "password": DEMO_PASSWORD},
        {"identifier": "x" * 3000, "password": DEMO_PASSWORD},
        {"identifier": "demo", "password": "p" * 257},
    ],
)
def test_asvs5_15_3_malformed_bodies_are_validation_errors_with_details(api, demo_user, aws, body):
    answer = api.call("login", "login.json", body)
    assert answer.status == 400 and answer.error_name == "ValidationError"
    assert answer.body["error"]["details"]["errors"]
    assert session_items(aws) == []


@pytest.mark.parametrize("raw", ["{not json", "[]", '"string"', "null", "42", '{"identifier": "\\ud800", "password": "x"}'])
def test_non_object_or_invalid_json_is_400(api, demo_user, raw):
    answer = api.call("login", "login.json", raw_body=raw)
    assert answer.status == 400 and answer.error_name == "ValidationError"


def test_non_json_content_type_is_415(api, demo_user):
    answer = api.call("login", "login.json", raw_body="identifier=demo&password=x", headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status == 415 and answer.error_name == "UnsupportedMediaTypeError"


def test_oversized_body_is_413_before_any_hashing(api, demo_user, monkeypatch):
    from authlayer import passwords

    calls = []
    monkeypatch.setattr(passwords, "_hasher", Spy(passwords._hasher, calls))
    answer = api.call("login", "login.json", {"identifier": "demo", "password": "p" * 13000})
    assert answer.status == 413 and answer.error_name == "PayloadTooLargeError"
    long_password = api.call("login", "login.json", {"identifier": "demo", "password": "p" * 1025})
    assert long_password.status == 400 and long_password.error_name == "ValidationError"
    assert calls == []


def test_largest_valid_body_with_escaped_emoji_is_not_too_large(api, demo_user):
    emoji = "\\ud83d\\ude00"  # one code point, 12 bytes once JSON-escaped
    answer = api.call("login", "login.json", raw_body=json.dumps({"identifier": "@", "password": "@"}).replace("@", emoji * 254, 1).replace("@", emoji * 256, 1))
    assert answer.status == 400 and answer.body["error"]["message"] == "Invalid identifier or password"


@pytest.mark.parametrize("value", ["bodyy", "cookie", ""])
def test_unknown_transport_header_value_is_refused(api, demo_user, aws, value):
    answer = api.login(headers={"x-refresh-token-transport": value})
    assert answer.status == 400 and answer.error_name == "ValidationError" and answer.cookies == []
    assert session_items(aws) == []


class Spy:
    """Counts argon2 verifications (PasswordHasher has slots, so wrap it instead of patching)."""

    def __init__(self, hasher, calls):
        self._hasher, self._calls = hasher, calls

    def verify(self, stored, password):
        self._calls.append(stored)
        return self._hasher.verify(stored, password)

    def __getattr__(self, name):
        return getattr(self._hasher, name)


def test_strapi_bcrypt_user_logs_in_and_is_upgraded_to_argon2id(api, aws):
    from authlayer.accounts import create_user
    from authlayer.dal import users

    user = create_user("strapi", "strapi@example.com", "placeholder-pass")
    legacy = bcrypt.hashpw(b"from strapi", bcrypt.gensalt(rounds=4)).decode().replace("$2b$", "$2a$")
    assert users.replace_password_hash(user.id, user.password_hash, legacy, user.updated_at)
    assert api.login("strapi", "from strapi").status == 200
    assert users.get(user.id).password_hash.startswith("$argon2id$")
    assert api.login("strapi", "from strapi").status == 200


def test_r2_10_imported_bcryptjs_user_with_a_long_password_logs_in_and_every_byte_counts_after(api, aws):
    """bcryptjs read 72 bytes: on the import path only, those are checked; the argon2id rehash
    made at that login covers the whole password, so from then on the tail matters."""
    from authlayer.accounts import create_user
    from authlayer.dal import users
    from tests.unit.test_passwords import BCRYPTJS_LONG, BCRYPTJS_LONG_HASH

    user = create_user("longpass", "longpass@example.com", "placeholder-pass")
    assert users.replace_password_hash(user.id, user.password_hash, BCRYPTJS_LONG_HASH, user.updated_at)
    assert api.login("longpass", BCRYPTJS_LONG).status == 200
    assert users.get(user.id).password_hash.startswith("$argon2id$")
    assert api.login("longpass", BCRYPTJS_LONG[:72]).status == 400  # bcrypt would have let this in
    assert api.login("longpass", BCRYPTJS_LONG).status == 200


def test_rfc6819_sessions_store_only_token_hashes(api, demo_user, aws):
    token = cookie_value(api.login())
    stored = repr(session_items(aws))
    assert token not in stored and token.split(".")[1] not in stored
