"""Starts `tools/sam_local.sh` (what `make sam-local` runs) on free ports and talks to `sam local
start-api` over HTTP on 127.0.0.1. Needs a Docker engine: without one the tests skip, or fail when
CI is set. `make test-sam-local` builds the stack and the image first; `make test` ignores this folder.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, SETTING_NAMES, Runner, free_port

# First start: make dev's moto, then sam local reads the built template; each function's first
# request builds its container image on the base image (SAM copies the layer in, under qemu).
START_TIMEOUT = 300.0
STOP_TIMEOUT = 90.0  # the script allows its parts 60 s: sam stops its warm containers, make dev writes its snapshot
READY = "sam local ready: "
DEMO_PASSWORD = f"sam local {secrets.token_hex(8)}"
# RFC 9700 §4.14.2 reuse detection without waiting out the default 10 s grace window.
OVERRIDES = "RefreshReuseGrace=0"


def docker_problem() -> str | None:
    docker = os.environ.get("DOCKER", "docker")
    try:
        # The server's version: only a daemon that answers has one (stderr says why not).
        done = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}}"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{docker} version: {exc}"
    return None if done.returncode == 0 else f"{docker} version: {done.stderr.decode(errors='replace').strip()[:300]}"


def stop_group(process: subprocess.Popen[bytes], logs: Path) -> None:
    """SIGTERM to the script's group (its trap stops sam local and make dev), then SIGKILL to
    whatever is left of it and of the groups it started (their ids are in logs/*.pgid)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(STOP_TIMEOUT)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for pgid_file in logs.glob("*.pgid"):
        try:
            os.killpg(int(pgid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            continue


@pytest.fixture(scope="module")
def sam_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """Given `sam local start-api` on the built stack, its data in make dev's moto (fresh state)."""
    problem = docker_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a usable Docker engine for tests/sam_local: {problem}")
        pytest.skip(f"no usable Docker engine: {problem}")
    workdir = tmp_path_factory.mktemp("sam-local")
    logs = workdir / "logs"
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update({"DEMO_PASSWORD": DEMO_PASSWORD, "SAM_LOCAL_LOGS": str(logs)})
    api_port, data_port, moto_port = free_port(), free_port(), free_port()
    log = workdir / "sam_local.log"
    command = [str(ROOT / "tools" / "sam_local.sh"), "--api-port", str(api_port), "--data-port", str(data_port)]
    command += ["--moto-port", str(moto_port), "--state-dir", str(workdir / "state"), "--parameter-overrides", OVERRIDES]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    runner = Runner(f"http://127.0.0.1:{api_port}", process, log, demo_password=DEMO_PASSWORD)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while READY not in log.read_text(errors="replace"):
            assert process.poll() is None, f"tools/sam_local.sh exited with {process.returncode}:\n{runner.log_tail(60)}"
            assert time.monotonic() < deadline, f"sam local not ready after {START_TIMEOUT}s:\n{runner.log_tail(60)}"
            time.sleep(0.2)
        yield runner
    finally:
        stop_group(process, logs)
