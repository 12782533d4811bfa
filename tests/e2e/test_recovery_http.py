"""Forgot/reset password end to end over HTTP: the local runner, its mail queue, the mailer and
the outbox (.eml files), as a user with a mail client would go through it."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the fixtures come from conftest.py; importing it again would run it twice
    from tests.e2e.conftest import Answer, Runner

pytestmark = pytest.mark.e2e

LATENCY_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "recovery_latency.py"
COOKIE = "refreshToken"  # COOKIE_SECURE=false locally: no __Host- prefix over plain http
DEMO_EMAIL = "demo@example.com"
NEW_PASSWORD = "a new e2e passphrase"
# Differ on every answer by nature: when it was sent, and API Gateway's id of the request.
PER_REQUEST_HEADERS = {"date", "apigw-requestid"}
LATENCY_COUNT = 50
MAIL_STATE_KEYS = ("sqs_endpoint", "mail_queue_url", "issuer")  # what `authctl users send-reset` reads


@pytest.fixture(scope="module")
def recovery_runner(start: Callable[..., Runner]) -> Runner:
    """Given a runner of its own: the demo user's password changes here."""
    return start()


def forgot(runner: Runner, email: str) -> Answer:
    return runner.request("POST", "/api/auth/forgot-password", {"email": email})


def comparable_headers(answer: Answer) -> list[tuple[str, str]]:
    return [(k.lower(), v) for k, v in answer.headers.items() if k.lower() not in PER_REQUEST_HEADERS]


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(preferencelist=("plain",)), message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None, "the mail needs a text and an HTML part"
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    return plain.get_content(), html.get_content()


def test_forgot_password_mail_resets_the_password_and_ends_the_old_session(recovery_runner: Runner) -> None:
    runner = recovery_runner
    # Given the demo user logged in (a refresh cookie), and an address without an account
    login = runner.request("POST", "/api/auth/local", {"identifier": "demo", "password": runner.demo_password})
    assert login.status == 200, login.raw
    old_cookie = login.cookie(COOKIE)
    assert old_cookie
    unknown = f"nobody-{secrets.token_hex(4)}@example.com"
    before = len(runner.outbox())

    # When forgot-password is asked for both
    known_answer, unknown_answer = forgot(runner, DEMO_EMAIL), forgot(runner, unknown)

    # Then the answers are identical: status, body bytes and headers (but Date and the request id)
    assert known_answer.status == unknown_answer.status == 200
    assert known_answer.raw == unknown_answer.raw and known_answer.body == {"ok": True}
    assert comparable_headers(known_answer) == comparable_headers(unknown_answer)
    assert known_answer.cookie(COOKIE) is None

    # And a mail to demo lands in the outbox as an .eml file, with To, Subject, Date, text and HTML
    message = runner.wait_for_mail(DEMO_EMAIL, before)
    new_files = runner.outbox()[before:]
    assert new_files and all(path.suffix == ".eml" for path in new_files)
    assert message["To"] == DEMO_EMAIL
    assert message["Subject"] == "Reset password"
    assert message["Date"] and message["From"]
    text, html = text_and_html(message)
    link = re.search(r"http://\S+", text)
    assert link and link.group(0).startswith(f"{runner.url}/?code="), text  # RESET_PASSWORD_URL locally
    code = link.group(0).split("?code=", 1)[1]
    assert f"?code={code}" in html.replace("&amp;", "&")

    # When the code resets the password
    reset = runner.request(
        "POST",
        "/api/auth/reset-password",
        {"code": code, "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD},
    )

    # Then the answer is Strapi's {jwt, user}, and the new password logs in, the old one not
    assert reset.status == 200, reset.raw
    assert set(reset.body) >= {"jwt", "user"} and reset.body["user"]["email"] == DEMO_EMAIL
    relogin = runner.request("POST", "/api/auth/local", {"identifier": "demo", "password": NEW_PASSWORD})
    assert relogin.status == 200, relogin.raw
    old = runner.request("POST", "/api/auth/local", {"identifier": "demo", "password": runner.demo_password})
    assert old.status == 400 and old.body["error"]["name"] == "ValidationError"

    # And the session from before the reset is over: its refresh cookie fails
    refresh = runner.request("POST", "/api/token/refresh", {}, {"Cookie": f"{COOKIE}={old_cookie}"})
    assert refresh.status == 401 and refresh.body["error"]["name"] == "UnauthorizedError"

    # And the code works once only
    again = runner.request(
        "POST",
        "/api/auth/reset-password",
        {"code": code, "password": "yet another passphrase", "passwordConfirmation": "yet another passphrase"},
    )
    assert again.status == 400 and again.body["error"]["message"] == "Incorrect code provided"


def register(runner: Runner, prefix: str, password: str) -> str:
    email = f"{prefix}-{secrets.token_hex(4)}@example.com"
    answer = runner.request(
        "POST",
        "/api/auth/local/register",
        {"username": email.split("@")[0].replace("-", ""), "email": email, "password": password},
    )
    assert answer.status == 200, answer.raw
    return email


def test_authctl_send_reset_mails_a_working_code_through_the_runner(recovery_runner: Runner) -> None:
    # Given a user, and the runner's state file (which must record its mail queue)
    runner = recovery_runner
    assert runner.state_dir is not None
    state = json.loads((runner.state_dir / "authctl.json").read_text())
    lacking = [k for k in MAIL_STATE_KEYS if not state.get(k)]
    if lacking:
        pytest.skip(f"the runner's authctl.json lacks {', '.join(lacking)} (localdev does not record them yet)")
    email = register(runner, "operator-reset", "operator reset passphrase")
    before = len(runner.outbox())

    # When an operator sends a reset with `authctl --local users send-reset`
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "authctl",
            "--local",
            "--state-dir",
            str(runner.state_dir),
            "users",
            "send-reset",
            email,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    # Then the mailer sends the same reset mail forgot-password would, and its code works
    text, _ = text_and_html(runner.wait_for_mail(email, before))
    code = re.search(r"\?code=([A-Za-z0-9_-]+)", text)
    assert code, text
    reset = runner.request(
        "POST",
        "/api/auth/reset-password",
        {"code": code.group(1), "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD},
    )
    assert reset.status == 200 and reset.body["user"]["email"] == email


def test_measure_forgot_password_latency_known_vs_unknown(recovery_runner: Runner) -> None:
    """Measures and prints (pytest -s); asserts nothing about time (this machine's timing is noisy)."""
    # Given an address with an account of its own (the demo user's mail stays with the test above)
    runner = recovery_runner
    known = register(runner, "latency", "latency passphrase")

    # When tools/recovery_latency.py times forgot-password for it and for an unknown address
    done = subprocess.run(
        [
            sys.executable,
            str(LATENCY_SCRIPT),
            "--url",
            runner.url,
            "--known",
            known,
            "--count",
            str(LATENCY_COUNT),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # Then it reports both medians
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    print(
        f"\nforgot-password over HTTP, median of {figures['count']} each:"
        f" known {figures['known_ms']:.2f} ms, unknown {figures['unknown_ms']:.2f} ms"
        f" (known/unknown {figures['known_ms'] / figures['unknown_ms']:.3f})"
    )
    assert figures["count"] == LATENCY_COUNT and figures["known_ms"] > 0 and figures["unknown_ms"] > 0
