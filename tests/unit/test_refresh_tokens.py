"""Opaque refresh tokens: 256 random bits, hash-only storage, deterministic children (RFC 6819, RFC 9700)."""

import pytest

from authlayer import refresh_tokens


def test_rfc6819_tokens_carry_256_random_bits_and_parse_back():
    token = refresh_tokens.new_token(refresh_tokens.new_session_id())
    assert len(token.secret) == 32
    assert refresh_tokens.parse(str(token)) == token
    assert token.hash != token.secret and len(token.hash) == 32


def test_child_is_deterministic_per_nonce_and_differs_from_parent():
    parent = refresh_tokens.new_token(refresh_tokens.new_session_id())
    nonce = refresh_tokens.new_nonce()
    assert parent.child(nonce) == parent.child(nonce)
    assert parent.child(nonce) != parent.child(refresh_tokens.new_nonce())
    assert parent.child(nonce).secret != parent.secret and parent.child(nonce).session_id == parent.session_id


@pytest.mark.parametrize(
    "raw",
    ["", "x", None, 42, ["a"], "a" * 66, "a" * 22 + "." + "!" * 43, "a" * 22 + "." + "b" * 42, "a" * 21 + ".." + "b" * 42,
     "a" * 22 + "." + "b" * 43 + "=", "\ud800" * 66],
)
def test_malformed_tokens_parse_to_none(raw):
    assert refresh_tokens.parse(raw) is None
