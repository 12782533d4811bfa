"""strapi-sdk-js (npm), unchanged, against the local runner: Strapi clients work as they are.

tests/e2e/strapi_sdk/recovery_flow.mjs drives the SDK (url = the runner, prefix "/api") through
register, forgotPassword, the mailed code from the runner's outbox, resetPassword, login with the
new password and sendEmailConfirmation. `make test` installs the SDK first (npm ci, from
package-lock.json); without Node.js and npm the test skips, except in CI, where it must run.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the fixtures come from conftest.py; importing it again would run it twice
    from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e

SDK_DIR = Path(__file__).resolve().parent / "strapi_sdk"
SCRIPT = SDK_DIR / "recovery_flow.mjs"
INSTALLED = SDK_DIR / "node_modules" / "strapi-sdk-js" / "package.json"
INSTALL = "make tests/e2e/strapi_sdk/node_modules/.installed"
SCRIPT_TIMEOUT = 120  # seconds, for the whole flow (the mail comes within the script's own 20 s)


def _unavailable(reason: str) -> None:
    # Like the browser tests' Chromium: optional on a developer's machine, required in CI.
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must have it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if not found or not shutil.which("npm"):
        _unavailable("Node.js and npm are needed for strapi-sdk-js")
    if not INSTALLED.exists():
        _unavailable(f"strapi-sdk-js is not installed: run `{INSTALL}`")
    assert found
    return found


def test_strapi_sdk_forgot_reset_login_and_send_email_confirmation(node: str, start: Callable[..., Runner]) -> None:
    # Given a runner of its own, the SDK as npm ships it, and a fresh user (demo's password stays)
    runner = start()
    assert runner.state_dir is not None
    suffix = secrets.token_hex(4)
    user = {
        "username": f"sdk{suffix}",
        "email": f"sdk.{suffix}@example.com",
        "password": "strapi sdk old passphrase",
        "newPassword": "strapi sdk new passphrase",
    }
    version = json.loads(INSTALLED.read_text())["version"]

    # When the SDK registers, asks for a reset, takes the code from the outbox, resets, logs in
    # and asks for a confirmation mail
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps({"url": runner.url, "outbox": str(runner.state_dir / "outbox"), **user}),
        cwd=SDK_DIR,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"strapi-sdk-js {version}: {done.stderr}\n{runner.log_tail()}"
    out = json.loads(done.stdout)

    # Then every call got Strapi's answer: register and login with the SDK's {user, jwt}
    assert out["register"]["hasJwt"] and out["register"]["user"]["email"] == user["email"]
    assert out["forgotPassword"] == {"ok": True}
    assert out["mail"]["linkMatchesRunner"] and out["mail"]["codeLength"] == 43
    assert out["mail"]["file"] in {path.name for path in runner.outbox()}
    assert out["resetPassword"]["hasJwt"] and out["resetPassword"]["user"]["username"] == user["username"]
    assert out["login"]["hasJwt"] and out["login"]["user"]["id"] == out["register"]["user"]["id"]
    # And the old password and the spent code are refused with Strapi's envelope
    assert out["oldPasswordLogin"] == {
        "refused": True,
        "status": 400,
        "name": "ValidationError",
        "message": "Invalid identifier or password",
    }
    assert out["codeReused"] == {
        "refused": True,
        "status": 400,
        "name": "ValidationError",
        "message": "Incorrect code provided",
    }
    assert out["sendEmailConfirmation"] == {"email": user["email"], "sent": True}

    # And over plain HTTP too: the new password logs in, the demo user is untouched
    new_login = runner.request(
        "POST", "/api/auth/local", {"identifier": user["username"], "password": user["newPassword"]}
    )
    assert new_login.status == 200, new_login.raw
    demo = runner.request("POST", "/api/auth/local", {"identifier": "demo", "password": runner.demo_password})
    assert demo.status == 200, demo.raw
