"""Starts the local runner (`python -m localdev`) as a subprocess and talks to it over HTTP."""

from __future__ import annotations

import email
import email.policy
import email.utils
import functools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "e2e demo password"
START_TIMEOUT = 90.0  # seconds; a cold start imports moto, boto3 and Powertools on slow machines
STOP_TIMEOUT = 15.0
MAIL_POLL_INTERVAL = 0.1  # seconds between looks into the outbox
# Settings a developer's shell may hold; a run must not depend on them.
SETTING_NAMES = (
    "PORT",
    "LOCAL_BIND",
    "MOTO_PORT",
    "ACCESS_TOKEN_TTL",
    "REFRESH_IDLE_TTL",
    "REFRESH_ABSOLUTE_TTL",
    "REFRESH_REUSE_GRACE",
    "ALLOWED_ORIGINS",
    "REGISTRATION_ENABLED",
    "TOKEN_ISSUER",
    "TOKEN_AUDIENCE",
    "COOKIE_SECURE",
    "COOKIE_SAMESITE",
    "JWT_SECRET_EXPIRES",
    "REFRESH_TOKEN_EXPIRES",
    "MAIL_FROM",
    "RESET_PASSWORD_URL",
    "EMAIL_CONFIRMATION",
    "EMAIL_CONFIRMATION_REDIRECT",
    "RESET_TOKEN_TTL",
    "EMAIL_CONFIRMATION_TTL",
)


@dataclass
class Answer:
    status: int
    headers: Message
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    def cookie(self, name: str) -> str | None:
        """The value of a Set-Cookie by name (each cookie is its own header)."""
        for header in self.headers.get_all("Set-Cookie") or []:
            key, _, rest = header.partition("=")
            if key == name:
                return rest.split(";", 1)[0]
        return None


@dataclass
class Runner:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    demo_password: str = DEMO_PASSWORD
    env: dict[str, str] = field(default_factory=dict)
    state_dir: Path | None = None  # the runner's --state-dir

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, error.headers, error.read())

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def outbox(self) -> list[Path]:
        """The runner's sent mail, oldest first (the file names sort by time)."""
        assert self.state_dir is not None, "runner started without a state dir"
        return sorted((self.state_dir / "outbox").glob("*.eml"))

    def wait_for_mail(self, to: str, after: int, timeout: float = 20) -> EmailMessage:
        """The first mail to `to` among those after the first `after` (len(outbox()) taken before
        the request); the mailer sends asynchronously, from its queue."""
        deadline = time.monotonic() + timeout
        while True:
            for path in self.outbox()[after:]:
                message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                addresses = [a.lower() for _, a in email.utils.getaddresses(message.get_all("To", []))]
                if to.lower() in addresses:
                    assert isinstance(message, EmailMessage)
                    return message
            if time.monotonic() >= deadline:
                raise AssertionError(f"no mail to {to} within {timeout}s:\n{self.log_tail()}")
            time.sleep(MAIL_POLL_INTERVAL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_runner(state_dir: Path, port: int | None = None, own_group: bool = False, **settings: str) -> Runner:
    """own_group: the runner leads a process group of its own, as `make dev` does in a terminal,
    so a test can signal the whole group (Ctrl-C, kill -9) without reaching pytest."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update({"DEMO_PASSWORD": DEMO_PASSWORD, "PYTHONUNBUFFERED": "1", **settings})
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / "runner.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "localdev", "--port", str(port), "--state-dir", str(state_dir)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            process_group=0 if own_group else None,
        )
    runner = Runner(f"http://127.0.0.1:{port}", process, log, env=settings, state_dir=state_dir)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"runner exited with {process.returncode}:\n{runner.log_tail()}")
        try:
            # Any answer means ready: the runner serves only after tables, key and demo user exist.
            if runner.request("GET", "/__readiness-probe").status == 404:
                return runner
        except OSError:
            pass
        time.sleep(0.2)
    stop_runner(runner)
    raise RuntimeError(f"runner not ready after {START_TIMEOUT}s:\n{runner.log_tail()}")


def stop_runner(runner: Runner) -> int:
    """terminate (SIGTERM: the runner's clean shutdown), then kill if it does not finish in time."""
    runner.process.terminate()
    try:
        return runner.process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        runner.process.kill()
        runner.process.wait()
        raise AssertionError(f"runner did not stop within {STOP_TIMEOUT}s:\n{runner.log_tail()}") from None


@pytest.fixture(scope="session")
def start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Runner]]:
    """Start a runner with given settings (env var names); every runner is stopped at the end."""
    started: list[Runner] = []

    def _start(**settings: str) -> Runner:
        runner = start_runner(tmp_path_factory.mktemp("runner"), **settings)
        started.append(runner)
        return runner

    yield _start
    codes = [stop_runner(runner) for runner in started]
    assert codes == [0] * len(started), "runner did not exit cleanly"


@pytest.fixture(scope="session")
def runner(start: Callable[..., Runner]) -> Runner:
    """Given the local runner with the template's defaults and the local ones."""
    return start()


@pytest.fixture
def start_in_group() -> Callable[..., Runner]:
    """start_runner(state_dir, port=..., **settings) for tests that stop (signal) and restart their
    runners themselves: each leads its own process group, as `make dev` does in a terminal."""
    return functools.partial(start_runner, own_group=True)


@pytest.fixture
def port() -> int:
    """One free port for several runners in turn (a restart keeps the issuer, as `make dev` does)."""
    return free_port()
