"""forgot-password latency over HTTP for an address with an account and one without.

The design's rule: the answer must not tell whether an address has an account, by its time
either (the request path only validates and enqueues; the mailer does the lookup). This prints the
median latency of each over N requests, sent interleaved (each pair in random order) so that drift
in the machine's load falls on both alike. It measures; it asserts nothing.

    .venv/bin/python tools/recovery_latency.py                     # starts its own local runner
    .venv/bin/python tools/recovery_latency.py --url http://127.0.0.1:3000   # a running `make dev`

Against a runner of your own, the known address gets at most one mail (the mailer's per-account
limit drops the rest); the unknown one gets none.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH = "/api/auth/forgot-password"
START_TIMEOUT = 90.0  # seconds: a cold start imports moto, boto3 and Powertools
WARMUP = 5  # requests of each kind first: the functions' first calls are cold starts


def _post(url: str, email: str) -> float:
    """Seconds for one forgot-password request, connection to last byte."""
    data = json.dumps({"email": email}).encode()
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url + PATH, data=data, method="POST", headers=headers)  # noqa: S310 - http(s) only
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http(s) only (main)
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        with error:
            error.read()
            status = error.code
    elapsed = time.perf_counter() - started
    if status != 200:
        raise SystemExit(f"forgot-password for {email} answered {status}")
    return elapsed


def measure(url: str, known: str, unknown: str, count: int, warmup: int = WARMUP) -> dict[str, float]:
    """Median seconds of ``count`` requests for each address, interleaved."""
    url = url.rstrip("/")
    for _ in range(warmup):
        _post(url, known)
        _post(url, unknown)
    times: dict[str, list[float]] = {known: [], unknown: []}
    for _ in range(count):
        pair = [known, unknown]
        random.shuffle(pair)  # noqa: S311 - an order, not a secret
        for email in pair:
            times[email].append(_post(url, email))
    return {"known": statistics.median(times[known]), "unknown": statistics.median(times[unknown])}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_runner() -> Iterator[str]:
    """A local runner (python -m localdev) on a free port with a throwaway state dir."""
    with tempfile.TemporaryDirectory(prefix="recovery-latency-") as state:
        port = _free_port()
        log = Path(state) / "runner.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "localdev", "--port", str(port), "--state-dir", state],
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, process, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"runner exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            urllib.request.urlopen(url + "/__readiness-probe", timeout=5).close()  # noqa: S310 - loopback
        except urllib.error.HTTPError:
            return  # any answer (404) means ready: the runner serves once everything exists
        except OSError:
            time.sleep(0.2)
            continue
        return
    raise SystemExit(f"runner not ready after {START_TIMEOUT:.0f}s:\n{log.read_text(errors='replace')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running API (default: start a local runner for the measurement)")
    parser.add_argument("--known", default="demo@example.com", help="an address with an account (the demo user)")
    parser.add_argument("--unknown", help="an address without one (default: a random one)")
    parser.add_argument("-n", "--count", type=int, default=50, help="requests per address (default 50)")
    parser.add_argument("--json", action="store_true", help="milliseconds as JSON on stdout")
    args = parser.parse_args(argv)
    if args.url and not args.url.startswith(("http://", "https://")):
        parser.error("--url must be an http(s) URL")
    if args.count < 1:
        parser.error("--count must be at least 1")
    unknown = args.unknown or f"nobody-{secrets.token_hex(6)}@example.com"

    def run(url: str) -> dict[str, float]:
        return measure(url, args.known, unknown, args.count)

    if args.url:
        url, medians = args.url, run(args.url)
    else:
        with local_runner() as url:
            medians = run(url)
    known_ms, unknown_ms = medians["known"] * 1000, medians["unknown"] * 1000
    if args.json:
        print(json.dumps({"url": url, "count": args.count, "known_ms": known_ms, "unknown_ms": unknown_ms}))
    else:
        print(f"POST {PATH} on {url}, median of {args.count} each (interleaved):")
        print(f"  known   {args.known}: {known_ms:.2f} ms")
        print(f"  unknown {unknown}: {unknown_ms:.2f} ms")
        print(f"  known/unknown: {known_ms / unknown_ms:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
