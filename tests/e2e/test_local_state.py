"""End to end over HTTP: `make dev` keeps users, sessions and the signing key across restarts.

The runner leads its own process group, as in a terminal: Ctrl-C is SIGINT to the group, and
kill -9 is SIGKILL to the group.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the fixtures come from conftest.py; importing it again would run it twice
    from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT = 30.0  # seconds; a clean stop also writes the snapshot

COOKIE = "refreshToken"
ALICE = {"username": "alice", "email": "alice@example.com", "password": "alice's long passphrase"}
BOB = {"username": "bob", "email": "bob@example.com", "password": "bob's long passphrase"}


def signal_group(runner: Runner, signum: signal.Signals) -> int:
    os.killpg(runner.process.pid, signum)
    return runner.process.wait(STOP_TIMEOUT)


def demo_password(runner: Runner) -> str:
    match = re.search(r"demo user: .* password (\S+)", runner.log.read_text())
    assert match, runner.log_tail()
    return match.group(1)


def state_banner(runner: Runner) -> str:
    match = re.search(r"^State: .*$", runner.log.read_text(), re.MULTILINE)
    assert match, runner.log_tail()
    return match.group(0)


def log_in(runner: Runner, identifier: str, password: str) -> tuple[int, str, str]:
    answer = runner.request("POST", "/api/auth/local", {"identifier": identifier, "password": password})
    return answer.status, (answer.body or {}).get("jwt", ""), answer.cookie(COOKIE) or ""


def refresh(runner: Runner, cookie: str) -> tuple[int, str]:
    answer = runner.request("POST", "/api/token/refresh", {}, {"Cookie": f"{COOKIE}={cookie}"})
    return answer.status, answer.cookie(COOKIE) or ""


def me(runner: Runner, jwt: str) -> int:
    return runner.request("GET", "/api/users/me", headers={"Authorization": f"Bearer {jwt}"}).status


def dev_clean(state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - make, our Makefile
        ["make", "--no-print-directory", "-s", "dev-clean", f"LOCAL_STATE={state_dir}"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_users_sessions_and_the_signing_key_survive_ctrl_c_kill_9_and_only_make_dev_clean_forgets_them(
    tmp_path: Path, start_in_group: Callable[..., Runner], port: int
) -> None:
    state_dir = tmp_path / "state"

    def start(**settings: str) -> Runner:
        # The same port each time, as `make dev` uses 3000 (the issuer stays the same); a random
        # demo password (DEMO_PASSWORD empty), so the kept one can be told from a new one.
        return start_in_group(state_dir, port=port, DEMO_PASSWORD="", **settings)

    # Given a runner where alice registered and logged in
    first = start()
    try:
        assert first.request("POST", "/api/auth/local/register", ALICE).status == 200
        status, jwt, cookie = log_in(first, "alice", ALICE["password"])
        assert status == 200 and jwt and cookie
        password = demo_password(first)
        assert state_banner(first).startswith("State: new")
    finally:
        # When Ctrl-C stops it
        assert signal_group(first, signal.SIGINT) == 0, first.log_tail()

    # And the runner starts again
    second = start()
    try:
        # Then it says what it loaded, the demo user kept its password, alice logs in again,
        # her old refresh cookie refreshes and her old access token still verifies
        assert re.search(r"loaded from .*: 2 users, 2 sessions", state_banner(second)), state_banner(second)
        assert demo_password(second) == password
        assert log_in(second, "demo", password)[0] == 200
        assert log_in(second, "alice", ALICE["password"])[0] == 200
        status, rotated = refresh(second, cookie)
        assert status == 200 and rotated not in ("", cookie)
        assert me(second, jwt) == 200

        # When a write is answered and the whole process group is killed right after it
        assert second.request("POST", "/api/auth/local/register", BOB).status == 200
        status, last_cookie = refresh(second, rotated)
        assert status == 200
    finally:
        assert signal_group(second, signal.SIGKILL) == -signal.SIGKILL

    # Then after a start (with a setting changed) the writes are there: bob logs in, and the last
    # rotation holds; the changed setting applies, since settings are not state
    third = start(ACCESS_TOKEN_TTL="123s")
    try:
        assert re.search(r"3 users, .*journal lines replayed", state_banner(third)), state_banner(third)
        status, bobs_jwt, _ = log_in(third, "bob", BOB["password"])
        assert status == 200
        claims = json.loads(base64.urlsafe_b64decode(bobs_jwt.split(".")[1] + "=="))
        assert claims["exp"] - claims["iat"] == 123
        assert refresh(third, last_cookie)[0] == 200
        # make dev-clean refuses to pull the state from under a running runner
        refused = dev_clean(state_dir)
        assert refused.returncode != 0 and "in use by another runner" in refused.stderr
    finally:
        assert signal_group(third, signal.SIGINT) == 0, third.log_tail()

    # When make dev-clean empties the state
    cleaned = dev_clean(state_dir)
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"removed {state_dir / 'aws'}" in cleaned.stdout

    # Then the next start is fresh: nobody from before, a new demo password
    fresh = start()
    try:
        assert state_banner(fresh).startswith("State: new")
        assert log_in(fresh, "alice", ALICE["password"])[0] == 400
        assert demo_password(fresh) != password
        assert me(fresh, jwt) == 401  # a new signing key: the old access token is dead
    finally:
        assert signal_group(fresh, signal.SIGINT) == 0, fresh.log_tail()
