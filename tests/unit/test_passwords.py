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


# Made by bcryptjs 2.4.3 (Strapi's hasher): `require("bcryptjs").hashSync(password, 4)` in Node 20.
BCRYPTJS_LONG = "Strapi imported me with a passphrase far longer than bcrypt reads: é" * 2  # 138 bytes
BCRYPTJS_LONG_HASH = "$2a$04$Eovy4NYEPKxgnvY78BXnZeb9BhsWcLJywGlxuSvtaP2PLs/OZ.Ule"
BCRYPTJS_SPLIT = "x" * 71 + "é and the rest nobody hashed"  # 100 bytes; byte 72 is half of the é
BCRYPTJS_SPLIT_HASH = "$2a$04$thoXi0mlGyqATpH.T7H7UOw8HvVH4wt4dTimFR6G5XmTTU8y3PxgG"


def test_r2_10_bcryptjs_hash_of_a_password_over_72_bytes_verifies_as_bcryptjs_did():
    # bcryptjs hashed the first 72 UTF-8 bytes; its users type the whole password.
    assert passwords.verify_password(BCRYPTJS_LONG, BCRYPTJS_LONG_HASH)
    assert passwords.verify_password(BCRYPTJS_SPLIT, BCRYPTJS_SPLIT_HASH)  # cut inside a character
    # ...which is all such a hash can check: the 72 bytes, not what follows them.
    assert passwords.verify_password(BCRYPTJS_LONG[:71] + "anything", BCRYPTJS_LONG_HASH)
    assert not passwords.verify_password(BCRYPTJS_LONG[:70], BCRYPTJS_LONG_HASH)  # 71 bytes
    assert not passwords.verify_password("X" + BCRYPTJS_LONG[1:], BCRYPTJS_LONG_HASH)


def test_asvs5_6_2_8_argon2id_never_truncates_long_passwords():
    long = "a" * 300
    stored = passwords.hash_password(long)
    assert passwords.verify_password(long, stored)
    assert not passwords.verify_password(long + "b", stored)
    assert not passwords.verify_password(long[:72], stored)


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
