"""Opaque refresh tokens: 256 random bits, hash-only storage, deterministic children (RFC 6819, RFC 9700)."""

import pytest

from authlayer import refresh_tokens

USER_ID = "0b7c6a52-3b0e-4d38-9a3e-0d7d3f3c1a11"


def test_rfc6819_tokens_carry_256_random_bits_and_parse_back():
    token = refresh_tokens.new_token(refresh_tokens.new_session_id(), USER_ID)
    assert len(token.secret) == 32
    assert refresh_tokens.parse(str(token)) == token
    assert token.hash != token.secret and len(token.hash) == 32


def test_issue17_a_token_names_its_user_so_refresh_reads_session_and_user_in_one_request():
    # Given a token of a session of USER_ID
    token = refresh_tokens.new_token(refresh_tokens.new_session_id(), USER_ID)
    # When it is written out and read back
    parsed = refresh_tokens.parse(str(token))
    # Then it names the user, after the legacy form's 66 characters, and the hash covers the secret only
    assert parsed is not None and parsed.user_id == USER_ID
    assert str(token)[:66] == f"{token.session_id}.{str(token)[23:66]}" and str(token)[66] == "."
    assert parsed.hash == refresh_tokens.token_hash(token.secret)


def test_issue17_a_token_issued_before_it_still_parses_and_its_children_keep_its_user():
    # Given a deployed token of the legacy form <session id>.<secret>
    legacy = refresh_tokens.RefreshToken(refresh_tokens.new_session_id(), bytes(range(32)))
    assert len(str(legacy)) == 66
    # When it is parsed, Then it names no user (the refresh reads the session first)
    parsed = refresh_tokens.parse(str(legacy))
    assert parsed == legacy and parsed.user_id == ""
    # and a token's children name the same user as their parent
    named = refresh_tokens.new_token(refresh_tokens.new_session_id(), USER_ID)
    assert named.child(refresh_tokens.new_nonce()).user_id == USER_ID


def test_child_is_deterministic_per_nonce_and_differs_from_parent():
    parent = refresh_tokens.new_token(refresh_tokens.new_session_id(), USER_ID)
    nonce = refresh_tokens.new_nonce()
    assert parent.child(nonce) == parent.child(nonce)
    assert parent.child(nonce) != parent.child(refresh_tokens.new_nonce())
    assert parent.child(nonce).secret != parent.secret and parent.child(nonce).session_id == parent.session_id


@pytest.mark.parametrize(
    "raw",
    ["", "x", None, 42, ["a"], "a" * 66, "a" * 22 + "." + "!" * 43, "a" * 22 + "." + "b" * 42, "a" * 21 + ".." + "b" * 42,
     "a" * 22 + "." + "b" * 43 + "=", "\ud800" * 66,
     # a user part that is empty, not base64url, not canonical, or not UTF-8
     "a" * 22 + "." + "A" * 43 + ".", "a" * 22 + "." + "A" * 43 + ".!!", "a" * 22 + "." + "A" * 43 + ".AB",
     "a" * 22 + "." + "A" * 43 + "._w", "a" * 22 + "." + "A" * 43 + "-" + "QQ"],
)
def test_malformed_tokens_parse_to_none(raw):
    assert refresh_tokens.parse(raw) is None
