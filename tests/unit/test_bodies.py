"""Request bodies without pydantic (authlayer.bodies): the fast paths accept only what the pydantic
models accept, with the same values, and leave every other body to them (ASVS 5.0 15.3); the
handlers that use them import no pydantic for a cold start and a normal request."""

import json
import os
import subprocess
import sys
from dataclasses import MISSING, asdict, fields
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authlayer import bodies, errors, schemas
from authlayer.bodies import (
    ChangePasswordBody,
    EmailBody,
    LoginBody,
    LogoutBody,
    RefreshBody,
    RegisterBody,
    ResetPasswordBody,
)
from authlayer.models import (
    MAX_CODE,
    MAX_IDENTIFIER,
    MAX_PASSWORD,
    MAX_REFRESH_TOKEN_FIELD,
    MAX_USERNAME,
    MIN_NEW_PASSWORD,
    MIN_USERNAME,
)
from tests.conftest import BASE_ENV, HANDLERS, ROOT

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PRINTABLE = [chr(c) for c in range(0x20, 0x7F)]
any_text = st.one_of(
    st.text(),
    st.text(min_size=1).map(lambda s: s + "\ud800"),
    st.sampled_from(["\ud800", "\x00", "\x7f", "\t", "\n", "\u202e", "\ufeff", "é", "ｄｅｍｏ"]),
)
ascii_text = st.text(alphabet=PRINTABLE, max_size=20)
LENGTHS = [0, 1, 2, 3, 4, 7, 8, 9, 63, 64, 65, 253, 254, 255, 256, 257, 2047, 2048, 2049]
at_limits = st.sampled_from(LENGTHS).map(lambda n: "a" * n)
emails_at_limits = st.sampled_from([5, 6, 253, 254, 255]).map(lambda n: "a" * (n - 4) + "@b.c")
shaped = st.text(alphabet="ab@. \t", max_size=10)  # around the username and email patterns
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.lists(st.text(max_size=3), max_size=2),
    any_text,
    ascii_text,
    at_limits,
    emails_at_limits,
    shaped,
    st.emails(),
    st.sampled_from(["current", "all", "Current", "all ", ""]),
)
EXTRA_KEYS = ["role", "Identifier", "", "scope", "refreshToken", "password", "identifier", "code", "email"]


def either(*strategies):
    """One of these, each equally likely (st.one_of would weigh each branch of a one_of given to it)."""
    return st.sampled_from(strategies).flatmap(lambda strategy: strategy)


def sized(*lengths):
    return st.sampled_from(lengths).map(lambda n: "a" * n)


passwords = st.text(alphabet=PRINTABLE, min_size=8, max_size=40)
tokens = st.one_of(st.none(), st.text(alphabet="abcXYZ019-_.", max_size=80))
VALID = {
    "identifier": st.one_of(st.emails(), st.text(alphabet=PRINTABLE, min_size=1, max_size=30)),
    "password": passwords,
    "currentPassword": passwords,
    "passwordConfirmation": passwords,
    "username": st.text(alphabet=[c for c in PRINTABLE if c not in "@ "], min_size=3, max_size=64),
    "email": st.emails(),
    "scope": st.sampled_from(["current", "all"]),
    "refreshToken": tokens,
    "code": st.text(alphabet="abcXYZ019-_", min_size=1, max_size=60),
}
# Per field: values at the model's limits, around its patterns, and with one unusual character.
odd = st.sampled_from(["\ud800", "\x00", "\x1f", "\x7f", "\t", "\u202e", "\ufeff", "ü", "\u3000"]).map(
    lambda c: f"ab{c}cdefgh"
)
password_edges = [sized(0, 1, 7, 8, MAX_PASSWORD, MAX_PASSWORD + 1), odd]
EDGES = {
    "identifier": [sized(0, 1, MAX_IDENTIFIER, MAX_IDENTIFIER + 1), odd],
    "password": password_edges,
    "currentPassword": password_edges,
    "passwordConfirmation": password_edges,
    "username": [shaped, st.sampled_from(["a@b", "ab c", "abc@", " abc", "abc "]), sized(2, 3, 64, 65), odd],
    "email": [shaped, emails_at_limits, st.sampled_from(["a@b", "a@b.", "@b.c", "a@b@c.d", "a b@c.d", "a@b.c"])],
    "scope": [st.sampled_from(["Current", "all ", "", "none"])],
    "refreshToken": [sized(0, 1, MAX_REFRESH_TOKEN_FIELD, MAX_REFRESH_TOKEN_FIELD + 1), odd],
    "code": [sized(0, 1, 43, MAX_CODE, MAX_CODE + 1), odd],
}


@st.composite
def near_valid(draw, body):
    """A valid body (optional fields maybe left out) with at most one field changed to an edge or anything."""
    data = {f.name: draw(VALID[f.name]) for f in fields(body) if f.default is MISSING or draw(st.booleans())}
    changed = draw(st.sampled_from([None, *data]))
    if changed is not None:
        data[changed] = draw(either(*EDGES[changed], values))
    return data


def dicts_for(body):
    """Mostly bodies near the valid ones; else any subset of the body's fields and some others, with
    any values, or not a dict at all."""
    keys = sorted({f.name for f in fields(body)} | set(EXTRA_KEYS))
    anything = st.fixed_dictionaries({}, optional=dict.fromkeys(keys, values))
    return either(near_valid(body), near_valid(body), near_valid(body), anything, values)


def plain(value):
    return type(value) is str and value.isascii() and value.isprintable()


def outcome(parse, kind, data):
    try:
        return "accepted", parse(kind, data)
    except errors.ValidationError as error:
        return "refused", error.message, error.details


def assert_agrees_with_pydantic(body, data):
    # Given what the contract (the pydantic model) answers for this data
    expected = outcome(schemas.parse, getattr(schemas, body.model), data)
    # When the fast path parses it
    with mock.patch.object(schemas, "parse", wraps=schemas.parse) as pydantic:
        fast = outcome(bodies.parse, body, data)
    # Then the same body with the same values, or the same error, word for word
    if expected[0] == "refused":
        assert fast == expected
        return
    dumped = expected[1].model_dump()
    assert fast[0] == "accepted", fast
    assert {name: getattr(fast[1], name) for name in dumped} == dumped == asdict(fast[1])
    # and a valid body of plain printable ASCII strings never pays for pydantic
    if all(plain(value) or value is None for value in data.values()):
        assert not pydantic.called, data


@pytest.mark.parametrize(
    "body", [LoginBody, RegisterBody, ChangePasswordBody, RefreshBody, LogoutBody, EmailBody, ResetPasswordBody]
)
@FAST
@given(data=st.data())
def test_asvs5_15_3_fast_path_body_agrees_with_pydantic(body, data):
    assert_agrees_with_pydantic(body, data.draw(dicts_for(body)))


PASSWORD = "correct horse battery staple"
TYPICAL = [
    (LoginBody, {"identifier": "demo@example.com", "password": PASSWORD}, LoginBody("demo@example.com", PASSWORD)),
    (
        RegisterBody,
        {"username": "newuser", "email": "new.user@example.com", "password": PASSWORD},
        RegisterBody("newuser", "new.user@example.com", PASSWORD),
    ),
    (
        ChangePasswordBody,
        {
            "currentPassword": PASSWORD,
            "password": "a brand new passphrase",
            "passwordConfirmation": "a brand new passphrase",
        },
        ChangePasswordBody(PASSWORD, "a brand new passphrase", "a brand new passphrase"),
    ),
    (RefreshBody, {}, RefreshBody(None)),
    (RefreshBody, {"refreshToken": None}, RefreshBody(None)),
    (RefreshBody, {"refreshToken": "abc.def"}, RefreshBody("abc.def")),
    (LogoutBody, {}, LogoutBody("current", None)),
    (LogoutBody, {"scope": "all"}, LogoutBody("all", None)),
    (LogoutBody, {"scope": "current", "refreshToken": "abc.def"}, LogoutBody("current", "abc.def")),
    (EmailBody, {"email": "demo@example.com"}, EmailBody("demo@example.com")),
    (
        ResetPasswordBody,
        {"code": "a" * 43, "password": PASSWORD, "passwordConfirmation": PASSWORD},
        ResetPasswordBody("a" * 43, PASSWORD, PASSWORD),
    ),
]


@pytest.mark.parametrize(("body", "data", "expected"), TYPICAL)
def test_typical_valid_bodies_are_parsed_without_pydantic(monkeypatch, body, data, expected):
    # Given pydantic made unusable
    monkeypatch.setattr(schemas, "parse", mock.Mock(side_effect=AssertionError("pydantic was used")))
    # When a typical valid body is parsed
    parsed = bodies.parse(body, data)
    # Then the fast path answered it, with the model's values and defaults
    assert type(parsed) is body and parsed == expected


DEFERRED = [
    (LoginBody, {"identifier": "demo", "password": "pw", "role": "admin"}),  # extra key: refused (ASVS 5.0 15.3.3)
    (LoginBody, {"identifier": 42, "password": "pw"}),  # wrong type: strict, no coercion
    (LoginBody, {"identifier": "demo"}),  # missing field
    (LoginBody, {"identifier": "a" * (MAX_IDENTIFIER + 1), "password": "pw"}),  # too long
    (LoginBody, {"identifier": "jürgen", "password": "pässwörd"}),  # valid, not ASCII
    (LoginBody, {"identifier": "de\x00mo", "password": "pw"}),  # control character
    (RegisterBody, {"username": "a@b", "email": "a@b.c", "password": PASSWORD}),  # pattern
    (RegisterBody, {"username": "newuser", "email": "a@b.c", "password": "short"}),  # too short (ASVS 5.0 6.2.1)
    (RegisterBody, {"username": "jürgen", "email": "j@example.com", "password": PASSWORD}),  # valid, not ASCII
    (
        ChangePasswordBody,
        {"currentPassword": PASSWORD, "password": "p" * (MAX_PASSWORD + 1), "passwordConfirmation": "x"},
    ),
    (ChangePasswordBody, {"currentPassword": "pw\t", "password": PASSWORD, "passwordConfirmation": PASSWORD}),  # valid
    (RefreshBody, {"refreshToken": 1}),
    (RefreshBody, {"refreshToken": "t" * (MAX_REFRESH_TOKEN_FIELD + 1)}),
    (RefreshBody, {"refreshToken": "tök"}),  # valid, not ASCII
    (LogoutBody, {"scope": "everywhere"}),
    (LogoutBody, {"scope": None}),
    (LogoutBody, {"scope": "all", "refreshToken": ["t"]}),
]


@pytest.mark.parametrize(("body", "data"), DEFERRED)
def test_asvs5_15_3_any_other_body_is_left_to_pydantic(body, data):
    # Given a body that is not the plain common case
    # When it is parsed
    with mock.patch.object(schemas, "parse", wraps=schemas.parse) as pydantic:
        answer = outcome(bodies.parse, body, data)
    # Then pydantic decided, and its answer (or error, word for word) is the one given
    assert pydantic.called
    expected = outcome(schemas.parse, getattr(schemas, body.model), data)
    if expected[0] == "refused":
        assert answer == expected
    else:
        assert asdict(answer[1]) == expected[1].model_dump()


BASES = {
    LoginBody: {"identifier": "demo", "password": PASSWORD},
    RegisterBody: {"username": "newuser", "email": "new.user@example.com", "password": PASSWORD},
    ChangePasswordBody: {
        "currentPassword": PASSWORD,
        "password": PASSWORD + "!",
        "passwordConfirmation": PASSWORD + "!",
    },
    RefreshBody: {},
    LogoutBody: {},
    EmailBody: {"email": "demo@example.com"},
    ResetPasswordBody: {"code": "a" * 43, "password": PASSWORD, "passwordConfirmation": PASSWORD},
}
LIMITS = [  # body, field, lengths the model accepts, lengths it refuses
    (LoginBody, "identifier", [1, MAX_IDENTIFIER], [0, MAX_IDENTIFIER + 1]),
    (LoginBody, "password", [1, MAX_PASSWORD], [0, MAX_PASSWORD + 1]),
    (RegisterBody, "username", [MIN_USERNAME, MAX_USERNAME], [MIN_USERNAME - 1, MAX_USERNAME + 1]),
    (RegisterBody, "email", [5, MAX_IDENTIFIER], [MAX_IDENTIFIER + 1]),
    (RegisterBody, "password", [MIN_NEW_PASSWORD, MAX_PASSWORD], [MIN_NEW_PASSWORD - 1, MAX_PASSWORD + 1]),
    (ChangePasswordBody, "currentPassword", [1, MAX_PASSWORD], [0, MAX_PASSWORD + 1]),
    (ChangePasswordBody, "password", [MIN_NEW_PASSWORD, MAX_PASSWORD], [MIN_NEW_PASSWORD - 1, MAX_PASSWORD + 1]),
    (ChangePasswordBody, "passwordConfirmation", [1, MAX_PASSWORD], [0, MAX_PASSWORD + 1]),
    (RefreshBody, "refreshToken", [0, MAX_REFRESH_TOKEN_FIELD], [MAX_REFRESH_TOKEN_FIELD + 1]),
    (LogoutBody, "refreshToken", [0, MAX_REFRESH_TOKEN_FIELD], [MAX_REFRESH_TOKEN_FIELD + 1]),
    (EmailBody, "email", [5, MAX_IDENTIFIER], [MAX_IDENTIFIER + 1]),
    (ResetPasswordBody, "code", [1, MAX_CODE], [0, MAX_CODE + 1]),
    (ResetPasswordBody, "password", [MIN_NEW_PASSWORD, MAX_PASSWORD], [MIN_NEW_PASSWORD - 1, MAX_PASSWORD + 1]),
]


@pytest.mark.parametrize(("body", "field", "accepted", "refused"), LIMITS)
def test_asvs5_15_3_fast_paths_keep_the_models_length_limits(body, field, accepted, refused):
    def text(n):
        return "a" * (n - 4) + "@b.c" if field == "email" else "a" * n

    with mock.patch.object(schemas, "parse", wraps=schemas.parse) as pydantic:
        # Given a valid body, when the field is at one of the model's limits
        for n in accepted:
            parsed = bodies.parse(body, {**BASES[body], field: text(n)})
            # Then the fast path takes it as is
            assert getattr(parsed, field) == text(n)
        assert not pydantic.called
        # When it is one past a limit, then pydantic refuses it
        for n in refused:
            with pytest.raises(errors.ValidationError):
                bodies.parse(body, {**BASES[body], field: text(n)})
        assert pydantic.call_count == len(refused)


SERVE = """
import importlib, json, sys
from pathlib import Path
root = Path.cwd()
names = json.loads(sys.argv[1])
sys.path[:0] = [str(root / "shared"), str(root)] + [str(root / "functions" / name) for name in names]
imported = {}
for name in names:
    importlib.import_module(name)
    imported[name] = sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "pydantic_core"))[:3]

import boto3
from moto import mock_aws
from authlayer.accounts import create_user
from localdev.template import create_tables, load_template
from authlayer import jwks
from authlayer.keys import parse_key_set
from tests.conftest import DEMO_PASSWORD, JWKS_PARAMETER, KEY_PARAMETER, Api, cookie_value, private_key_pem

statuses = {}
with mock_aws():
    create_tables(boto3.client("dynamodb"), load_template(root / "template.yaml"))
    boto3.client("ssm").put_parameter(Name=KEY_PARAMETER, Value=private_key_pem(0), Type="SecureString")
    public = jwks.document(parse_key_set(private_key_pem(0)))
    boto3.client("ssm").put_parameter(Name=JWKS_PARAMETER, Value=public, Type="String")
    create_user("demo", "Demo@Example.com", DEMO_PASSWORD)
    api = Api()  # the events' own bodies: typical valid requests
    statuses["register"] = api.call("register", "register.json").status
    login = api.call("login", "login.json")
    statuses["login"] = login.status
    refreshed = api.refresh_cookie(cookie_value(login))
    statuses["refresh"] = refreshed.status
    jwt = refreshed.body["jwt"]
    changed = api.call("change_password", "change-password.json", headers={"authorization": f"Bearer {jwt}"})
    statuses["change_password"] = changed.status
    statuses["logout"] = api.logout(cookie_value(changed), everywhere=True).status
print(json.dumps({"imported": imported, "statuses": statuses, "after requests": "pydantic" in sys.modules}))
"""


def test_handlers_with_a_body_start_and_serve_a_normal_request_without_pydantic():
    # Given a fresh interpreter with the handlers' settings, as a Lambda cold start
    names = ["login", "register", "change_password", "logout", "refresh"]
    env = {"PATH": os.environ.get("PATH", ""), **BASE_ENV, "ALLOWED_ORIGINS": "https://app.example.com"}
    assert all(name in HANDLERS for name in names)
    # When each handler module is imported, then serves a typical valid request (moto behind)
    done = subprocess.run(
        [sys.executable, "-c", SERVE, json.dumps(names)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Then no import pulled in pydantic, the requests succeeded, and none of them needed it either
    assert result["imported"] == {name: [] for name in names}
    assert result["statuses"] == {"register": 200, "login": 200, "refresh": 200, "change_password": 200, "logout": 204}
    assert result["after requests"] is False
