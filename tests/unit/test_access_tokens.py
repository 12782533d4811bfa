"""Access JWTs: RS256 pinned, typ at+jwt, every claim required, iss/aud checked (RFC 8725, RFC 9068)."""

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from freezegun import freeze_time

from authlayer import access_tokens
from authlayer.config import load_settings
from authlayer.errors import UnauthorizedError
from authlayer.keys import KeyConfigError, parse_key_set
from tests.conftest import private_key_pem

ISS = "https://auth.example.com"
SETTINGS = load_settings({"USERS_TABLE": "U", "SESSIONS_TABLE": "S", "TOKEN_AUDIENCE": "my-api"})


@pytest.fixture(scope="module")
def keys():
    return parse_key_set(private_key_pem(0))


def claims(**overrides):
    now = int(time.time())
    base = {"iss": ISS, "aud": "my-api", "sub": "u1", "id": "u1", "iat": now, "nbf": now, "exp": now + 60, "jti": "j", "sid": "s1"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(keys, payload, **header):
    headers = {"kid": keys.current.kid, "typ": "at+jwt", **header}
    alg = headers.pop("alg", "RS256")
    if alg != "RS256" or not isinstance(headers["kid"], str):
        return jwt.encode(payload, keys.current.private_key, algorithm=alg, headers=headers) if alg != "RS256" else raw_rs256(keys, {"alg": "RS256", **headers}, payload)
    return jwt.encode(payload, keys.current.private_key, algorithm=alg, headers=headers)


def raw_rs256(keys, header, payload):
    """Sign by hand, for headers pyjwt itself refuses to write (a non-string kid)."""
    from jwt.algorithms import RSAAlgorithm

    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = RSAAlgorithm(RSAAlgorithm.SHA256).sign(signing_input.encode(), keys.current.private_key)
    return f"{signing_input}.{_b64(signature)}"


def verify(keys, token):
    return access_tokens.verify(SETTINGS, keys, ISS, token)


def test_issued_token_has_the_designed_header_and_claims(keys):
    token = access_tokens.issue(SETTINGS, keys, ISS, "u1", "s1")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "typ": "at+jwt", "kid": keys.current.kid}
    body = jwt.decode(token, options={"verify_signature": False})
    assert set(body) == {"iss", "aud", "sub", "id", "iat", "nbf", "exp", "jti", "sid"}
    assert body["exp"] - body["iat"] == SETTINGS.access_token_ttl
    assert verify(keys, token).user_id == "u1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, payload: dict, signature: str = "") -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}.{signature}"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_rfc8725_3_2_alg_none_in_any_spelling_is_rejected(keys, alg):
    with pytest.raises(UnauthorizedError):
        verify(keys, _unsigned({"alg": alg, "typ": "at+jwt", "kid": keys.current.kid}, claims()))


def test_rfc8725_3_1_hs256_signed_with_our_public_key_is_rejected(keys):
    import hashlib
    import hmac

    public_pem = keys.current.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": keys.current.kid}).encode())
    body = _b64(json.dumps(claims()).encode())
    mac = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    with pytest.raises(UnauthorizedError):
        verify(keys, f"{head}.{body}.{_b64(mac)}")


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "rs256"])
def test_rfc8725_3_1_only_rs256_is_allowed(keys, alg):
    token = sign(keys, claims(), alg=alg) if alg != "rs256" else _unsigned({"alg": alg, "typ": "at+jwt", "kid": keys.current.kid}, claims(), "x")
    with pytest.raises(UnauthorizedError):
        verify(keys, token)


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "jti", "iss", "aud", "sid", "id"])
def test_asvs5_9_2_1_every_claim_is_required(keys, missing):
    with pytest.raises(UnauthorizedError):
        verify(keys, sign(keys, claims(**{missing: None})))


@pytest.mark.parametrize(
    "bad",
    [
        {"iss": "https://auth.example.co"},  # prefix of ours (GHSA-75c5-xw7c-p5pm)
        {"iss": "https://auth.example.com.evil"},
        {"aud": "other"},
        {"aud": ["my-api", "other"]},
        {"id": "u2"},
        {"sub": ""},
    ],
)
def test_rfc8725_3_8_3_9_wrong_claims_are_rejected(keys, bad):
    with pytest.raises(UnauthorizedError):
        verify(keys, sign(keys, claims(**bad)))


@pytest.mark.parametrize(("claim", "offset", "accepted"), [
    ("exp", -29, True), ("exp", -31, False),  # leeway is 30 s (RFC 7519 §4.1.4)
    ("nbf", 29, True), ("nbf", 31, False),
    ("iat", 29, True), ("iat", 31, False),
])
def test_rfc7519_4_1_4_leeway_plus_minus_one_second(keys, claim, offset, accepted):
    with freeze_time("2026-11-29 12:00:00"):
        now = int(time.time())
        token = sign(keys, claims(**{claim: now + offset}))
        if accepted:
            assert verify(keys, token).user_id == "u1"
        else:
            with pytest.raises(UnauthorizedError):
                verify(keys, token)


@pytest.mark.parametrize("typ", [None, "JWT", "refresh+jwt", "AT+JWT"])
def test_rfc8725_3_11_only_typ_at_jwt_is_accepted(keys, typ):
    payload = claims()
    header = {"kid": keys.current.kid}
    if typ:
        header["typ"] = typ
    token = jwt.encode(payload, keys.current.private_key, algorithm="RS256", headers=header)
    if typ is None:  # pyjwt adds typ: JWT by default; strip it to test an absent typ
        token = jwt.encode(payload, keys.current.private_key, algorithm="RS256", headers={**header, "typ": None})
    with pytest.raises(UnauthorizedError):
        verify(keys, token)


@pytest.mark.parametrize(
    "header",
    [
        {"kid": "unknown"},
        {"kid": "../../dev/null"},
        {"kid": "' OR 1=1 --"},
        {"kid": 7},
        {"jku": "https://evil.example/jwks.json"},
        {"x5u": "https://evil.example/cert.pem"},
        {"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}},
        {"crit": ["exp"], "exp": 1},
    ],
)
def test_rfc8725_3_10_kid_and_key_bearing_headers_are_never_trusted(keys, header):
    with pytest.raises(UnauthorizedError):
        verify(keys, sign(keys, claims(), **header))


def test_rfc8725_3_3_tampered_payload_or_signature_is_rejected(keys):
    token = sign(keys, claims())
    head, body, sig = token.split(".")
    other = sign(keys, claims(sub="admin", id="admin")).split(".")
    for forged in (f"{head}.{other[1]}.{sig}", f"{head}.{body}.{sig[:-4]}AAAA", f"{head}.{body}.", f"{head}.{body}"):
        with pytest.raises(UnauthorizedError):
            verify(keys, forged)


@pytest.mark.parametrize("garbage", ["", "a", "a.b", "a.b.c.d", "!!!.???.***", "W10.e30.", "x" * 16384, "\ud800.a.b", "e30.e30.e30"])
def test_rfc8725_3_7_malformed_tokens_are_401_never_a_crash(keys, garbage):
    with pytest.raises(UnauthorizedError):
        verify(keys, garbage)


def test_token_signed_by_a_retired_key_is_rejected(keys):
    old = parse_key_set(private_key_pem(1))
    with pytest.raises(UnauthorizedError):
        verify(keys, sign(old, claims(), kid=keys.current.kid))


def test_previous_key_still_verifies_during_rotation():
    rotated = parse_key_set(private_key_pem(1) + "\n" + private_key_pem(0))
    previous = parse_key_set(private_key_pem(0))
    token = access_tokens.issue(SETTINGS, previous, ISS, "u1", "s1")
    assert verify(rotated, token).user_id == "u1"
    assert len(rotated.jwks()["keys"]) == 2 and rotated.current.kid != previous.current.kid


@pytest.mark.parametrize("pem", ["", "   ", "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"])
def test_asvs5_16_5_3_missing_or_bad_key_fails_closed(pem):
    with pytest.raises((KeyConfigError, ValueError)):
        parse_key_set(pem)


def _pem_with(numbers_of, **changes):
    """The PEM of a key whose private numbers are changed (cryptography builds it unchecked)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    n = numbers_of.private_numbers()
    fields = {k: getattr(n, k) for k in ("p", "q", "d", "dmp1", "dmq1", "iqmp")} | changes
    damaged = rsa.RSAPrivateNumbers(**fields, public_numbers=n.public_numbers).private_key(
        unsafe_skip_rsa_key_validation=True
    )
    return damaged.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_asvs5_16_5_3_a_key_whose_signatures_do_not_verify_fails_closed(keys):
    # Given a key with a wrong private exponent (its CRT values derived from it, so all agree)
    good = keys.current.private_key
    n = good.private_numbers()
    d = n.d + 2
    pem = _pem_with(good, d=d, dmp1=d % (n.p - 1), dmq1=d % (n.q - 1))
    # When it is loaded, Then the pairwise consistency test refuses it: no token is ever signed
    with pytest.raises(KeyConfigError, match="damaged"):
        parse_key_set(pem)


def test_a_crt_fault_in_the_key_never_yields_a_faulty_signature(keys):
    # Given a key whose CRT exponent is wrong (the Bellcore fault attack's precondition), loaded
    # without OpenSSL's full key check
    good = keys.current.private_key
    pem = _pem_with(good, dmp1=good.private_numbers().dmp1 ^ 2)  # stays odd, as cryptography requires
    damaged = parse_key_set(pem)
    # When it signs, Then OpenSSL's own check (verify with e, recompute without CRT) gives the
    # correct signature: the same bytes as the good key's (PKCS#1 v1.5 is deterministic)
    payload = claims()
    assert sign(damaged, payload) == sign(keys, payload)
    assert verify(keys, sign(damaged, payload)).user_id == "u1"
