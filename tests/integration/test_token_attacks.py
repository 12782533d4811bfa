"""Every endpoint that takes a token refuses forged, tampered, mistyped and expired ones with
401, never 500 (RFC 8725 §3.1-3.12, RFC 9068 §4, ASVS 5.0 9.1-9.2)."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from authlayer.keys import parse_key_set
from tests.conftest import ISSUER, cookie_value, private_key_pem

KEYS = parse_key_set(private_key_pem(0))
OTHER_KEYS = parse_key_set(private_key_pem(1))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(user_id, session_id, **overrides):
    now = int(time.time())
    base = {"iss": ISSUER, "aud": "sam-refresh-auth", "sub": user_id, "id": user_id, "iat": now, "nbf": now, "exp": now + 300, "jti": "j", "sid": session_id}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def rs256(payload, keys=KEYS, **header):
    head = {"alg": "RS256", "typ": "at+jwt", "kid": keys.current.kid, **header}
    head = {k: v for k, v in head.items() if v is not None}
    signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(payload).encode())}"
    from jwt.algorithms import RSAAlgorithm

    return f"{signing_input}.{b64(RSAAlgorithm(RSAAlgorithm.SHA256).sign(signing_input.encode(), keys.current.private_key))}"


def hs256_with_public_key(payload):
    pem = KEYS.current.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'at+jwt', 'kid': KEYS.current.kid}).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"


def unsigned(alg, payload):
    return f"{b64(json.dumps({'alg': alg, 'typ': 'at+jwt', 'kid': KEYS.current.kid}).encode())}.{b64(json.dumps(payload).encode())}."


ATTACKS = {
    "alg none": lambda u, s: unsigned("none", claims(u, s)),
    "alg NONE": lambda u, s: unsigned("NONE", claims(u, s)),
    "alg None": lambda u, s: unsigned("None", claims(u, s)),
    "HS256 with our public key": lambda u, s: hs256_with_public_key(claims(u, s)),
    "unknown kid": lambda u, s: rs256(claims(u, s), kid="not-ours"),
    "injected kid": lambda u, s: rs256(claims(u, s), kid="../../../dev/null' OR '1'='1"),
    "jku header": lambda u, s: rs256(claims(u, s), jku="http://127.0.0.1:9/jwks.json"),
    "x5u header": lambda u, s: rs256(claims(u, s), x5u="http://127.0.0.1:9/cert.pem"),
    "jwk header": lambda u, s: rs256(claims(u, s), jwk=OTHER_KEYS.current.jwk()),
    "crit header": lambda u, s: rs256(claims(u, s), crit=["x"], x=1),
    "foreign key": lambda u, s: rs256(claims(u, s), keys=OTHER_KEYS, kid=KEYS.current.kid),
    "tampered payload": lambda u, s: (lambda t: t.split(".")[0] + "." + b64(json.dumps(claims("admin", s)).encode()) + "." + t.split(".")[2])(rs256(claims(u, s))),
    "stripped signature": lambda u, s: rs256(claims(u, s)).rsplit(".", 1)[0] + ".",
    "missing exp": lambda u, s: rs256(claims(u, s, exp=None)),
    "missing sid": lambda u, s: rs256(claims(u, s, sid=None)),
    "wrong iss": lambda u, s: rs256(claims(u, s, iss="https://evil.example")),
    "iss prefix": lambda u, s: rs256(claims(u, s, iss=ISSUER[:-3])),
    "wrong aud": lambda u, s: rs256(claims(u, s, aud="someone-else")),
    "typ JWT": lambda u, s: rs256(claims(u, s), typ="JWT"),
    "no typ": lambda u, s: rs256(claims(u, s), typ=None),
    "expired beyond leeway": lambda u, s: rs256(claims(u, s, exp=int(time.time()) - 60)),
    "not yet valid beyond leeway": lambda u, s: rs256(claims(u, s, nbf=int(time.time()) + 60)),
}
BEARER_ROUTES = [("me", "me.json"), ("sessions", "sessions-list.json"), ("sessions", "sessions-delete.json"), ("change_password", "change-password.json")]


@pytest.fixture
def victim(api, demo_user):
    login = api.login()
    return demo_user.id, cookie_value(login).split(".")[0], login


@pytest.mark.parametrize("route", BEARER_ROUTES, ids=lambda r: r[1])
@pytest.mark.parametrize("attack", ATTACKS)
def test_rfc8725_forged_access_tokens_are_401_on_every_bearer_route(api, victim, attack, route):
    user_id, sid, _ = victim
    token = ATTACKS[attack](user_id, sid)
    answer = api.call(route[0], route[1], headers={"authorization": f"Bearer {token}"})
    assert answer.status == 401 and answer.error_name == "UnauthorizedError"


def test_the_forging_helpers_make_valid_tokens_when_not_attacking(api, victim):
    # Guards the test above: the same helper without the attack is accepted.
    user_id, sid, _ = victim
    assert api.me(rs256(claims(user_id, sid))).status == 200


@pytest.mark.parametrize("route", [("refresh", "refresh.json"), ("logout", "logout.json")])
def test_rfc8725_3_12_access_token_as_refresh_token_is_refused(api, victim, route):
    _, _, login = victim
    answer = api.call(route[0], route[1], {}, cookies=[f"__Host-refreshToken={login.body['jwt']}"])
    assert answer.status in (401, 204)  # logout of an unknown token is a no-op 204
    assert api.refresh_cookie(cookie_value(login)).status == 200


@pytest.mark.parametrize("route", BEARER_ROUTES, ids=lambda r: r[1])
def test_rfc8725_3_12_refresh_token_as_bearer_is_401(api, victim, route):
    _, _, login = victim
    answer = api.call(route[0], route[1], headers={"authorization": f"Bearer {cookie_value(login)}"})
    assert answer.status == 401


def test_jku_header_makes_no_outbound_request(api, victim, monkeypatch):
    import socket
    import urllib.request

    def refuse(*args, **kwargs):
        raise AssertionError("the verifier tried to fetch a key")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    user_id, sid, _ = victim
    assert api.me(rs256(claims(user_id, sid), jku="http://127.0.0.1:9/jwks.json")).status == 401


def test_pyjwt_is_wrapped_once():
    # The design's rule: nothing but authlayer.jwt_backend calls jwt.encode / jwt.decode.
    from tests.conftest import ROOT

    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("shared", "functions", "localdev", "authctl")
        for p in (ROOT / folder).rglob("*.py")
        if ("jwt.encode(" in p.read_text() or "jwt.decode(" in p.read_text()) and p.name != "jwt_backend.py"
    ]
    assert offenders == []


def test_decoder_uses_pyjwt_at_a_safe_version():
    major, minor = (int(x) for x in jwt.__version__.split(".")[:2])
    assert (major, minor) >= (2, 13)  # GHSA-xgmm-8j9v-c9wx
