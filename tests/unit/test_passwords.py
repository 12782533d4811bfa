"""Passwords: argon2id at OWASP's minimum, exact verification, bcrypt imports (ASVS 5.0 11.4.2, 6.2.8)."""

import bcrypt

from authlayer import passwords


def test_asvs_11_4_2_hash_is_argon2id_at_owasp_minimum_with_unique_salt():
    first, second = passwords.hash_password("pw-123456"), passwords.hash_password("pw-123456")
    assert first.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert first != second  # unique salts


def test_asvs_6_2_8_verifies_exactly_as_received():
    stored = passwords.hash_password("Pässwörd 🔑 " + "x" * 60)
    assert passwords.verify_password("Pässwörd 🔑 " + "x" * 60, stored)
    assert not passwords.verify_password("Pässwörd 🔑 " + "x" * 60 + "x", stored)
    assert not passwords.verify_password("pässwörd 🔑 " + "x" * 60, stored)
    assert not passwords.verify_password(" Pässwörd 🔑 " + "x" * 60, stored)


def test_garbage_hash_is_a_mismatch_not_an_error():
    assert not passwords.verify_password("pw", "not a hash")
    assert passwords.needs_rehash("not a hash")


def test_strapi_bcrypt_hashes_verify_and_need_rehash():
    stored = bcrypt.hashpw(b"strapi-password", bcrypt.gensalt(rounds=4)).decode().replace("$2b$", "$2a$")
    assert passwords.verify_password("strapi-password", stored)
    assert not passwords.verify_password("strapi-passwordX", stored)
    assert passwords.needs_rehash(stored)


def test_bcrypt_never_truncates_long_passwords():
    long = "a" * 72
    stored = bcrypt.hashpw(long.encode(), bcrypt.gensalt(rounds=4)).decode()
    assert passwords.verify_password(long, stored)
    assert not passwords.verify_password(long + "b", stored)  # bcrypt alone would accept it


def test_weaker_argon2_parameters_need_rehash():
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("pw")
    assert passwords.verify_password("pw", weak)
    assert passwords.needs_rehash(weak)
    assert not passwords.needs_rehash(passwords.hash_password("pw"))


def test_asvs5_6_3_8_unknown_users_cost_one_verification_with_the_same_parameters(monkeypatch):
    # Given the constant dummy hash: it has today's parameters, so it costs what a real user's does
    assert not passwords.needs_rehash(passwords.DUMMY_HASH)
    # When an unknown user's password is burnt, Then exactly one verification runs, no hashing
    calls = []
    hasher = type(passwords._hasher)  # slotted: patch the class
    real_verify = hasher.verify
    monkeypatch.setattr(hasher, "hash", lambda *a, **k: calls.append("hash"))
    monkeypatch.setattr(hasher, "verify", lambda self, h, p: calls.append("verify") or real_verify(self, h, p))
    passwords.burn_verification("anything")
    assert calls == ["verify"]
