"""authctl --local against the local runner: an operator action reaches the running API."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the fixtures come from conftest.py; importing it again would run it twice
    from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e

BODY_MODE = {"X-Refresh-Token-Transport": "body"}
STATE_FILE = "authctl.json"  # authctl.target.STATE_FILE, written by the runner into its --state-dir


def authctl(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as an operator runs it (python -m authctl as a fallback)."""
    script = Path(sys.executable).with_name("authctl")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "authctl"]
    # No AWS settings from the developer's shell: --local must need none of them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [*command, "--local", "--state-dir", str(state_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_authctl_local_users_block_ends_the_demo_users_session(start: Callable[..., Runner]) -> None:
    # Given a runner of its own (blocking demo would break the shared one) and demo logged in
    runner = start()
    state_dir = runner.log.parent
    assert (state_dir / STATE_FILE).exists()
    login = runner.request(
        "POST", "/api/auth/local", {"identifier": "demo", "password": runner.demo_password}, BODY_MODE
    )
    assert login.status == 200, login.raw
    refresh_token = login.body["refreshToken"]

    # When an operator blocks demo with `authctl --local users block demo`
    done = authctl(state_dir, "users", "block", "demo")

    # Then it succeeds, the next refresh is 401 and demo cannot log in
    assert done.returncode == 0, done.stderr
    assert "blocked demo" in done.stdout and "1 session(s) ended" in done.stdout
    refresh = runner.request("POST", "/api/token/refresh", {"refreshToken": refresh_token}, BODY_MODE)
    assert refresh.status == 401
    again = runner.request("POST", "/api/auth/local", {"identifier": "demo", "password": runner.demo_password})
    assert again.status == 400 and again.body["error"]["name"] == "ApplicationError"

    # And the same tool reads it back as JSON
    shown = authctl(state_dir, "users", "show", "demo", "--json")
    assert shown.returncode == 0 and '"blocked": true' in shown.stdout
