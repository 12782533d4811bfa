"""Key rotation without spurious 401s (catalogue R2-8, RFC 7517 §4.5 kid): no access token signed by
a key that is in SSM is ever refused, across publish, wait, activate and retire, by a container
that cached the old key set as much as by a fresh one.

Containers are this process's handlers: their parameter cache (Powertools, 5 minutes) lives across
calls as in a warm Lambda; freezegun moves the clock that cache, SSM's LastModifiedDate and the
layer all read.
"""

from __future__ import annotations

import jwt
import pytest
from aws_lambda_powertools.utilities import parameters
from freezegun import freeze_time

from authlayer import access_tokens
from authlayer.config import get_settings
from authlayer.keys import KeySet, parse_key_set
from tests.authctl.test_authctl import authctl  # noqa: F401 - the fixture
from tests.conftest import ISSUER, KEY_PARAMETER, private_key_pem

PUBLISH_WAIT = 600  # the functions' parameter cache (300 s) + the JWKS endpoint's max-age (300 s)
RETIRE_WAIT = 300 + 15 * 60 + 30  # parameter cache + default access-token lifetime + leeway


@pytest.fixture
def operator(authctl):  # noqa: F811 - the fixture imported above
    """authctl as an operator runs it, in a process of its own: the containers' caches survive it.

    In-process, authctl resets the layer's caches (Powertools' SSM provider among them) around each
    command; the warm containers of a real deployment would keep theirs, so put them back.
    """

    def run(*args: str):
        warm = dict(parameters.ssm.DEFAULT_PROVIDERS)
        try:
            return authctl(*args)
        finally:
            parameters.ssm.DEFAULT_PROVIDERS.clear()
            parameters.ssm.DEFAULT_PROVIDERS.update(warm)

    return run


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def keys_in_ssm(aws) -> KeySet:
    return parse_key_set(aws["ssm"].get_parameter(Name=KEY_PARAMETER, WithDecryption=True)["Parameter"]["Value"])


def token_signed_by_each_key_in_ssm(aws, login_jwt: str) -> dict[str, str]:
    """What any function holding the SecureString right now could sign, for the logged-in session."""
    claims = jwt.decode(login_jwt, options={"verify_signature": False})
    return {
        key.kid: access_tokens.issue(get_settings(), KeySet(key, (key,)), ISSUER, claims["sub"], claims["sid"])
        for key in keys_in_ssm(aws).all
    }


def assert_no_token_of_a_key_in_ssm_is_refused(api, aws, login_jwt: str) -> None:
    for kid, token in token_signed_by_each_key_in_ssm(aws, login_jwt).items():
        assert api.me(token).status == 200, f"me refused a token of {kid}, a key in SSM"
        assert api.sessions(token).status == 200, f"sessions refused a token of {kid}, a key in SSM"


def test_r2_8_rfc7517_a_container_that_cached_the_old_set_accepts_tokens_of_a_key_just_rotated_in(
    operator, api, demo_user, aws
):
    # Given warm verifiers that have read the key set (one key) into their 5-minute cache
    login = api.login().body["jwt"]
    assert api.me(login).status == 200 and api.sessions(login).status == 200

    # When the operator rotates, and something signs with any key now in SSM at once
    assert operator("keys", "rotate").code == 0

    # Then no such token is refused, though no cache has expired
    assert len(keys_in_ssm(aws).all) == 2
    assert_no_token_of_a_key_in_ssm_is_refused(api, aws, login)


def test_r2_8_rfc7517_no_token_signed_by_a_key_in_ssm_is_refused_across_publish_activate_retire(
    operator, api, demo_user, aws
):
    with freeze_time("2026-12-01 12:00:00") as clock:
        # Given warm containers: signers, verifiers and the JWKS function have cached key A
        first = api.login().body["jwt"]
        old_kid = kid_of(first)
        assert api.me(first).status == 200 and api.sessions(first).status == 200
        assert [k["kid"] for k in api.call("keys", "jwks.json").body["keys"]] == [old_kid]

        # When a new key B is published (phase one)
        rotated = operator("keys", "rotate", "--json")
        assert rotated.code == 0, rotated.err
        new_kid = rotated.json["published"]
        assert rotated.json["wait_seconds"] == PUBLISH_WAIT
        assert rotated.json["activate_after"] == "2026-12-01T12:10:00Z"

        # Then A still signs, and tokens of A and of B both verify in the containers that cached A
        assert keys_in_ssm(aws).current.kid == old_kid
        assert kid_of(api.login().body["jwt"]) == old_kid
        assert_no_token_of_a_key_in_ssm_is_refused(api, aws, first)

        # When activated before every cache has B / Then refused, nothing changed
        clock.tick(PUBLISH_WAIT - 1)
        early = operator("keys", "activate", new_kid)
        assert early.code == 1 and "--force" in early.err and "2026-12-01T12:10:00Z" in early.err
        assert keys_in_ssm(aws).current.kid == old_kid
        # (meanwhile the JWKS endpoint's cache has expired: it serves both)
        assert {k["kid"] for k in api.call("keys", "jwks.json").body["keys"]} == {old_kid, new_kid}
        stale_signer = api.login().body["jwt"]  # the login container caches [A, B] for 5 minutes

        # When the wait is over and B is activated (phase two)
        clock.tick(1)
        activated = operator("keys", "activate", "--json")
        assert activated.code == 0, activated.err
        assert activated.json["activated"] == new_kid and keys_in_ssm(aws).current.kid == new_kid

        # Then the container that cached [A, B] still signs with A, and nothing in SSM is refused
        still_old = api.login().body["jwt"]
        assert kid_of(still_old) == old_kid and api.me(still_old).status == 200 and api.me(stale_signer).status == 200
        assert_no_token_of_a_key_in_ssm_is_refused(api, aws, first)
        clock.tick(300)  # every parameter cache has expired: B signs everywhere
        assert kid_of(api.login().body["jwt"]) == new_kid
        assert_no_token_of_a_key_in_ssm_is_refused(api, aws, first)

        # When A is retired before its last tokens expired / Then refused, A stays
        early = operator("keys", "retire", old_kid)
        assert early.code == 1 and "--force" in early.err and len(keys_in_ssm(aws).all) == 2

        # When retired once they have expired
        clock.tick(RETIRE_WAIT - 300)
        retired = operator("keys", "retire", old_kid, "--json")
        assert retired.code == 0, retired.err
        assert [k.kid for k in keys_in_ssm(aws).all] == [new_kid]

        # Then only B is published, B's tokens verify, and a fresh login is signed by B
        clock.tick(300)
        assert [k["kid"] for k in api.call("keys", "jwks.json").body["keys"]] == [new_kid]
        latest = api.login().body["jwt"]
        assert kid_of(latest) == new_kid
        assert_no_token_of_a_key_in_ssm_is_refused(api, aws, latest)


def test_r2_8_activate_force_skips_the_wait_and_containers_reread_the_set_for_the_new_kid(
    operator, api, demo_user, aws
):
    with freeze_time("2026-12-01 12:00:00"):
        # Given verifiers that cached key A, and B published a moment ago
        first = api.login().body["jwt"]
        assert api.me(first).status == 200
        new_kid = operator("keys", "rotate", "--json").json["published"]

        # When B is activated at once with --force
        forced = operator("keys", "activate", new_kid, "--force")

        # Then it signs, and its tokens verify in the containers that cached A
        assert forced.code == 0, forced.err
        assert keys_in_ssm(aws).current.kid == new_kid
        assert_no_token_of_a_key_in_ssm_is_refused(api, aws, first)


def test_r2_8_unknown_kids_reread_the_public_set_at_most_once_per_container_every_30_seconds(
    api, demo_user, monkeypatch
):
    from authlayer.dal import parameters

    forced = []
    real = parameters.get_public_parameter

    def counting(name, *, force_fetch=False):
        forced.extend([name] if force_fetch else [])
        return real(name, force_fetch=force_fetch)

    monkeypatch.setattr(parameters, "get_public_parameter", counting)
    with freeze_time("2026-12-01 12:00:00") as clock:
        # Given a session, and tokens signed by a key that is not in SSM (made-up kids)
        login = api.login().body["jwt"]
        claims = jwt.decode(login, options={"verify_signature": False})
        stranger = parse_key_set(private_key_pem(1))
        forged = access_tokens.issue(get_settings(), stranger, ISSUER, claims["sub"], claims["sid"])

        # When many arrive / Then each is refused, and SSM is read past the cache only once
        assert [api.me(forged).status for _ in range(5)] == [401] * 5
        assert len(forced) == 1
        clock.tick(29)
        assert api.me(forged).status == 401 and len(forced) == 1
        # And 30 seconds on, one more read is allowed
        clock.tick(1)
        assert api.me(forged).status == 401 and len(forced) == 2
        assert api.me(login).status == 200  # a known kid never forces a read
        assert len(forced) == 2
