"""What keeping `make dev`'s state costs: restart time by state size, and a warm refresh's latency
over HTTP with the journal and without (--ephemeral). Part of `make bench` (tools/bench.py);
alone: `.venv/bin/python tools/bench_state.py [--sizes 0,2500,5000,10000] [--refreshes 300]`.

- Restart: a runner process from its start to its first answer, with a state of N users (three
  items each: the user and its two uniqueness guards) and N sessions, cloned from the items a real
  registration wrote; median of --runs starts per size, sizes interleaved. The part that grows
  with the state, reading and loading it, is also shown alone (the runner's own figure, in its
  "State: loaded" line): the whole start varies by seconds on a busy machine.
- Per write: two runners at once, one keeping state, one --ephemeral, refreshed in alternating
  blocks over HTTP (each refresh is one GetItem and one journaled TransactWriteItems); medians
  and their ratio, measured in the same run so that the machine's drift hits both alike.
- The fdatasync of one journal line, alone, on the same disk.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
READY_TIMEOUT = 120.0
PASSWORD = "bench user's passphrase"
Row = tuple[str, str, str, str, str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(url: str, method: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})} if data is not None else dict(headers or {})
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback only
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        with error:
            return error.code, None


class Runner:
    def __init__(self, state_dir: Path, *flags: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = state_dir.parent / f"{state_dir.name}-{self.port}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LOCAL_CONCURRENCY": "1", "DEMO_PASSWORD": PASSWORD}
        started = time.perf_counter()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our module
                [PYTHON, "-m", "localdev", "--port", str(self.port), "--state-dir", str(state_dir), *flags],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                process_group=0,
            )
        deadline = started + READY_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"bench_state: runner exited:\n{self.log.read_text()[-3000:]}")
            try:
                if _request(f"{self.url}/__ready", "GET")[0] == 404:
                    break
            except OSError:
                if time.perf_counter() > deadline:
                    self.stop()
                    raise SystemExit(f"bench_state: runner not ready:\n{self.log.read_text()[-3000:]}") from None
                time.sleep(0.05)
        self.start_seconds = time.perf_counter() - started

    def state_line(self) -> str:
        return next((line for line in self.log.read_text().splitlines() if line.startswith("State:")), "")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)  # Ctrl-C: the clean stop, which writes the snapshot
        self.process.wait(60)


def _log_in(runner: Runner, identifier: str) -> str:
    status, body = _request(
        f"{runner.url}/api/auth/local",
        "POST",
        {"identifier": identifier, "password": PASSWORD},
        {"X-Refresh-Token-Transport": "body"},
    )
    if status != 200:
        raise SystemExit(f"bench_state: login as {identifier} answered {status}")
    return str(body["refreshToken"])


def _seed(work: Path) -> list[dict[str, Any]]:
    """The snapshot of a real run in which one user registered and logged in (its lines)."""
    seed_dir = work / "seed"
    runner = Runner(seed_dir, "--no-demo-user")
    user = {"username": "seeduser", "email": "seed@example.com", "password": PASSWORD}
    status, _ = _request(f"{runner.url}/api/auth/local/register", "POST", user, {"X-Refresh-Token-Transport": "body"})
    if status != 200:
        raise SystemExit(f"bench_state: register answered {status}")
    runner.stop()
    return [json.loads(line) for line in (seed_dir / "aws" / "snapshot.jsonl").read_text().splitlines()]


def _state_of_size(seed: list[dict[str, Any]], size: int, state_dir: Path) -> None:
    """A state directory holding `size` users and sessions cloned from the seed's (all distinct)."""
    header, *records, end = seed
    rows = [r for r in records if "table" in r]
    others = [r for r in records if "table" not in r]
    user = next(r for r in rows if r["Item"]["pk"]["S"].startswith("USER#"))
    user_id = user["Item"]["id"]["S"]
    session = next(r for r in rows if r["table"] == "SessionsTable")
    session_id = session["Item"]["pk"]["S"]
    clonable = [json.dumps(r) for r in rows if r["table"] == "UsersTable"]
    (state_dir / "aws").mkdir(parents=True, exist_ok=True)
    with (state_dir / "aws" / "snapshot.jsonl").open("w") as out:
        out.write(json.dumps(header) + "\n")
        for n in range(size):
            suffix = f"{n:06d}"
            for text in clonable:
                out.write(
                    text.replace(user_id, f"{user_id[:-6]}{suffix}")
                    .replace("seeduser", f"seeduser{suffix}")
                    .replace("seed@example.com", f"seed{suffix}@example.com")
                    + "\n"
                )
            clone = json.dumps(session).replace(session_id, f"{session_id[:-6]}{suffix}")
            out.write(clone.replace(user_id, f"{user_id[:-6]}{suffix}") + "\n")
        for record in others:
            out.write(json.dumps(record) + "\n")
        out.write(json.dumps(end) + "\n")


def restart_rows(work: Path, seed: list[dict[str, Any]], sizes: list[int], runs: int) -> list[Row]:
    """Sizes interleaved run by run (as bench.py's cold starts), so the machine's drift hits all."""
    totals: dict[int, list[float]] = {size: [] for size in sizes}
    loads: dict[int, list[float]] = {size: [] for size in sizes}
    for run in range(runs):
        for size in sizes:
            state_dir = work / f"size-{size}-{run}"
            _state_of_size(seed, size, state_dir)
            runner = Runner(state_dir, "--no-demo-user")
            line = runner.state_line()
            loaded = re.search(r"; in ([0-9.]+) s\)", line)
            if not loaded or f"{size} users, {size} sessions" not in line:
                raise SystemExit(f"bench_state: state not loaded as built: {line}")
            totals[size].append(runner.start_seconds)
            loads[size].append(float(loaded.group(1)))
            if size and run == 0:
                _log_in(runner, f"seeduser{size - 1:06d}")  # the last clone is a real, working user
            runner.stop()
    total = {size: statistics.median(t) for size, t in totals.items()}
    load = {size: statistics.median(t) for size, t in loads.items()}
    for size in sizes:
        print(f"restart, {size} users + sessions: {total[size]:.2f} s, loading {load[size]:.2f} s", file=sys.stderr)
    rows: list[Row] = []
    for size in sizes:
        detail = f"loading the state: {load[size]:.2f} s ({size * 4:,} items); median of {runs}"
        rows.append((f"make dev restart, {size:,} users + {size:,} sessions", f"{total[size]:.2f} s", detail, "", ""))
    if len(set(sizes)) > 1:
        slope, _ = statistics.linear_regression(sizes, [load[size] for size in sizes])
        fit = f"loading time, least-squares line over {len(sizes)} sizes"
        rows.append(("  restart grows per 1,000 users + 1,000 sessions", f"{slope * 1e6:.0f} ms", fit, "", ""))
    return rows


def _refresh_block(runner: Runner, token: str, count: int) -> tuple[str, list[float]]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        status, body = _request(
            f"{runner.url}/api/token/refresh",
            "POST",
            {"refreshToken": token},
            {"X-Refresh-Token-Transport": "body"},
        )
        latencies.append(time.perf_counter() - started)
        if status != 200:
            raise SystemExit(f"bench_state: refresh answered {status}")
        token = body["refreshToken"]
    return token, latencies


def per_write_rows(work: Path, refreshes: int, block: int = 20) -> list[Row]:
    kept = Runner(work / "kept")
    ephemeral = Runner(work / "ephemeral", "--ephemeral")
    try:
        tokens = {"kept": _log_in(kept, "demo"), "ephemeral": _log_in(ephemeral, "demo")}
        runners = {"kept": kept, "ephemeral": ephemeral}
        latencies: dict[str, list[float]] = {"kept": [], "ephemeral": []}
        for name in runners:  # warm both: containers started, caches filled
            tokens[name], _ = _refresh_block(runners[name], tokens[name], block)
        for _ in range(max(1, refreshes // block)):
            for name, runner in runners.items():
                tokens[name], measured = _refresh_block(runner, tokens[name], block)
                latencies[name] += measured
    finally:
        kept.stop()
        ephemeral.stop()
    with_state = statistics.median(latencies["kept"])
    without = statistics.median(latencies["ephemeral"])
    fsync = _fdatasync_median(work / "fsync-probe")
    n = len(latencies["kept"])
    return [
        ("warm refresh over HTTP, state kept (journal)", f"{with_state * 1000:.1f} ms", f"median of {n}", "", ""),
        ("warm refresh over HTTP, --ephemeral", f"{without * 1000:.1f} ms", f"{with_state / without:.2f}x", "", ""),
        ("  one journal line's fdatasync, alone", f"{fsync * 1e6:.0f} µs", "median of 200", "", ""),
    ]


def _fdatasync_median(path: Path) -> float:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    times = []
    try:
        line = b'{"seq":1,"changes":[' + b"x" * 600 + b"]}\n"  # about a refresh's line
        for _ in range(200):
            started = time.perf_counter()
            os.write(fd, line)
            os.fdatasync(fd)
            times.append(time.perf_counter() - started)
    finally:
        os.close(fd)
    return statistics.median(times)


def measure(sizes: list[int], runs: int, refreshes: int) -> list[Row]:
    # Under the project: the same disk as .local-state/, so fdatasync costs what make dev pays.
    with tempfile.TemporaryDirectory(prefix=".bench-state-", dir=ROOT) as tmp:
        work = Path(tmp)
        seed = _seed(work)
        return restart_rows(work, seed, sizes, runs) + per_write_rows(work, refreshes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,2500,5000,10000", help="users (and sessions) per restart measure")
    parser.add_argument("--runs", type=int, default=3, help="starts per size (median)")
    parser.add_argument("--refreshes", type=int, default=300, help="refreshes per runner (alternating blocks of 20)")
    args = parser.parse_args(argv)
    rows = measure([int(s) for s in args.sizes.split(",")], args.runs, args.refreshes)
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
