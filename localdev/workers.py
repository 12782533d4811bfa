"""One small pool of long-lived worker processes per function, like warm Lambda containers.

A process per container gives each function its own environment and module state (caches,
clients) as Lambda does; a container handles one invocation at a time, and concurrent requests
get further containers up to a limit, so races between requests stay possible as in production.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from localdev.template import ACCOUNT_ID, REGION, Function

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
INIT_TIMEOUT = 30.0  # seconds; generous because a cold import of boto3 + powertools is slow here


class InvocationError(RuntimeError):
    """The function failed (init error, exception, timeout, crash): API Gateway answers 500."""


def _code_stamp(paths: tuple[Path, ...]) -> float:
    """Newest mtime of the Python sources: a change retires warm workers so edits take effect."""
    newest = 0.0
    for root in paths:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
            for name in filenames:
                if name.endswith(".py"):
                    newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime)
    return newest


class Worker:
    def __init__(self, function: Function, env: Mapping[str, str], log: TextIO):
        self.function = function
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our script, template paths
            [
                sys.executable,
                str(BOOTSTRAP),
                function.handler,
                str(function.code_uri),
                *map(str, function.layers),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=function.code_uri,
            # Own session: Ctrl-C reaches only the runner, which then stops the workers in order.
            start_new_session=True,
        )
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read_protocol, daemon=True).start()
        threading.Thread(target=self._copy_logs, args=(log,), daemon=True).start()
        message = self._receive(INIT_TIMEOUT)
        if "init_error" in message:
            self.close()
            error = message["init_error"]
            raise InvocationError(f"init failed: {error['errorType']}: {error['errorMessage']}")

    def _read_protocol(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)  # EOF: the process died

    def _copy_logs(self, log: TextIO) -> None:
        assert self.process.stderr is not None
        prefix = f"[{self.function.name}] "
        for raw in self.process.stderr:
            log.write(prefix + raw.decode("utf-8", "replace"))
            log.flush()

    def _receive(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.process.kill()  # as Lambda does with a timed-out sandbox: no grace period
            self.close()
            raise InvocationError(f"Task timed out after {timeout:.2f} seconds") from None
        if line is None:
            self.close()
            raise InvocationError(f"process exited with status {self.process.wait()}")
        return json.loads(line)

    def invoke(self, event: dict[str, Any], request_id: str) -> Any:
        deadline_ms = time.time() * 1000 + self.function.timeout * 1000
        context = {
            "aws_request_id": request_id,
            "function_name": self.function.name,
            "memory_limit_in_mb": self.function.memory_size,
            "invoked_function_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function.name}",
            "deadline_ms": deadline_ms,
        }
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"event": event, "context": context}).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self.close()
            raise InvocationError("worker is gone") from exc
        message = self._receive(self.function.timeout)
        if "error" in message:
            raise InvocationError(f"{message['error']['errorType']}: {message['error']['errorMessage']}")
        return message["result"]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, timeout: float = 3.0) -> None:
        """EOF on stdin ends the worker's loop; kill it if it does not go in time."""
        if self.process.stdin and not self.process.stdin.closed:
            with contextlib.suppress(OSError):  # already broken if the worker died
                self.process.stdin.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class FunctionPool:
    """Up to `size` warm workers of one function; each runs one invocation at a time."""

    def __init__(self, function: Function, env: Mapping[str, str], size: int = 4, log: TextIO = sys.stderr):
        self.function = function
        self.env = dict(env)
        self.size = size
        self.log = log
        self._paths = (function.code_uri, *function.layers)
        self._idle: list[tuple[float, Worker]] = []
        self._count = 0
        self._closed = False
        self._cond = threading.Condition()

    def _acquire(self) -> tuple[float, Worker | None]:
        stamp = _code_stamp(self._paths)
        with self._cond:
            while True:
                if self._closed:
                    raise InvocationError("runner is stopping")
                while self._idle:
                    worker_stamp, worker = self._idle.pop()
                    if worker_stamp == stamp and worker.alive:
                        return stamp, worker
                    self._count -= 1
                    threading.Thread(target=worker.close, daemon=True).start()
                if self._count < self.size:
                    self._count += 1
                    return stamp, None  # caller starts one outside the lock
                self._cond.wait()

    def _release(self, stamp: float, worker: Worker | None) -> None:
        with self._cond:
            if worker is not None and worker.alive and not self._closed:
                self._idle.append((stamp, worker))
            else:
                self._count -= 1
                if worker is not None:
                    threading.Thread(target=worker.close, daemon=True).start()
            self._cond.notify()

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Any:
        request_id = request_id or str(uuid.uuid4())
        stamp, worker = self._acquire()
        try:
            if worker is None:
                worker = Worker(self.function, self.env, self.log)
            return worker.invoke(event, request_id)
        finally:
            self._release(stamp, worker)

    def warm(self) -> None:
        """Start one worker ahead of the first request (and show init errors at start)."""
        try:
            stamp, worker = self._acquire()
        except InvocationError:
            return  # stopping already
        try:
            if worker is None:
                worker = Worker(self.function, self.env, self.log)
        except InvocationError as exc:
            self.log.write(f"[{self.function.name}] {exc}\n")
        finally:
            self._release(stamp, worker)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        close_in_parallel([worker.close for _, worker in idle])


def close_in_parallel(closers: list[Callable[[], None]]) -> None:
    """Each worker takes a moment to exit after EOF; waiting for them one by one adds up."""
    threads = [threading.Thread(target=close) for close in closers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
