"""Key rotation over HTTP against the local runner (catalogue R2-8, RFC 7517 §4.5 kid): warm
function workers that cached the old key set accept tokens of every key in SSM, and the JWKS is
served from the public parameter `authctl keys` writes (R2-9)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import boto3
import jwt
import pytest

from authlayer import access_tokens
from authlayer.config import Settings
from authlayer.keys import KeySet, parse_key_set
from tests.e2e.test_authctl_local import BODY_MODE, STATE_FILE, authctl

if TYPE_CHECKING:  # the fixtures come from conftest.py; importing it again would run it twice
    from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e


def ssm_of(state_dir) -> object:
    """The runner's embedded SSM, as authctl --local reaches it."""
    state = json.loads((state_dir / STATE_FILE).read_text())
    return boto3.client(
        "ssm",
        endpoint_url=state["ssm_endpoint"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_r2_8_over_http_warm_workers_accept_tokens_of_every_key_in_ssm_through_a_rotation(
    start: Callable[..., Runner],
) -> None:
    # Given a runner of its own, demo logged in, and warm me/sessions/JWKS workers that cached key A
    runner = start()
    state_dir = runner.log.parent
    login = runner.request(
        "POST", "/api/auth/local", {"identifier": "demo", "password": runner.demo_password}, BODY_MODE
    )
    assert login.status == 200, login.raw
    first = login.body["jwt"]
    bearer = {"Authorization": f"Bearer {first}"}
    assert runner.request("GET", "/api/users/me", headers=bearer).status == 200
    assert runner.request("GET", "/api/auth/sessions", headers=bearer).status == 200
    old_kid = jwt.get_unverified_header(first)["kid"]
    assert [k["kid"] for k in runner.request("GET", "/.well-known/jwks.json").body["keys"]] == [old_kid]

    # When the operator publishes key B, and activates it at once (--force: the wait is refused)
    rotated = authctl(state_dir, "keys", "rotate", "--json")
    assert rotated.returncode == 0, rotated.stderr
    new_kid = json.loads(rotated.stdout)["published"]
    early = authctl(state_dir, "keys", "activate", new_kid)
    assert early.returncode == 1 and "--force" in early.stderr
    forced = authctl(state_dir, "keys", "activate", new_kid, "--force")
    assert forced.returncode == 0, forced.stderr

    # Then a token signed by each key now in SSM is accepted by the workers that cached only A
    ssm = ssm_of(state_dir)
    name = json.loads((state_dir / STATE_FILE).read_text())["signing_key_parameter"]
    in_ssm = parse_key_set(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])  # type: ignore[attr-defined]
    assert [k.kid for k in in_ssm.all] == [new_kid, old_kid]
    claims = jwt.decode(first, options={"verify_signature": False})
    settings = Settings(users_table="UsersTable", sessions_table="SessionsTable", token_audience=claims["aud"])
    for key in in_ssm.all:
        token = access_tokens.issue(settings, KeySet(key, (key,)), claims["iss"], claims["sub"], claims["sid"])
        for path in ("/api/users/me", "/api/auth/sessions"):
            answer = runner.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            assert answer.status == 200, f"{path} refused a token of {key.kid}, a key in SSM: {answer.raw!r}"

    # And the public parameter, a String, holds both keys and no private member
    public = ssm.get_parameter(Name=f"{name}-jwks")["Parameter"]  # type: ignore[attr-defined]
    assert public["Type"] == "String"
    assert {k["kid"] for k in json.loads(public["Value"])["keys"]} == {new_kid, old_kid}
    assert all("d" not in k for k in json.loads(public["Value"])["keys"])
