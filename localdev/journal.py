"""The write-ahead journal: every write moto answers is on disk before its answer leaves.

One JSON line per answered write, appended and fdatasync'ed while the request still holds moto's
lock (localdev/atomic.py), so the journal's order is the order moto applied the writes, and a
client that saw 200 finds the write again after `kill -9` or a power cut. A line holds the
*result* of the write, not the request: the new image of each DynamoDB item it touched (the
`Keys`/`NewImage` of a DynamoDB Streams record; no `NewImage` when the item is gone), the whole
version history of an SSM parameter, the messages of an SQS queue. Replaying results is
idempotent and never re-evaluates a condition (moto's request recorder replays requests: reads
too, conditions again, SQS receipt handles that no longer exist).
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from moto.server import DomainDispatcherApplication

from localdev import moto_state
from localdev.atomic import serialised

log = logging.getLogger("localdev")

Change = dict[str, Any]

_DYNAMODB = "DynamoDB_20120810."
_DYNAMODB_WRITES = frozenset(
    _DYNAMODB + op for op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
)
# Writes the journal cannot express as item images: answered, but not kept over a restart.
_UNKEPT_DYNAMODB = frozenset(
    _DYNAMODB + op
    for op in (
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
        "CreateTable",
        "DeleteTable",
        "UpdateTable",
    )
)
_SSM_WRITES = frozenset({"AmazonSSM.PutParameter", "AmazonSSM.DeleteParameter", "AmazonSSM.DeleteParameters"})
# Everything that can change which messages a queue holds (ReceiveMessage: redrive to the DLQ).
_SQS_CHANGES = frozenset(
    {
        "AmazonSQS.SendMessage",
        "AmazonSQS.SendMessageBatch",
        "AmazonSQS.DeleteMessage",
        "AmazonSQS.DeleteMessageBatch",
        "AmazonSQS.PurgeQueue",
        "AmazonSQS.ReceiveMessage",
    }
)


class Journal:
    """An append-only file of numbered change records, each durable before `append` returns."""

    def __init__(self, path: Path, last_seq: int = 0):
        self.path = path
        self.seq = last_seq
        self.lock = threading.Lock()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._queues: dict[str, list[str]] = {}  # message ids per queue, as last journaled

    def append(self, changes: list[Change]) -> None:
        with self.lock:
            self._write(changes)

    def append_queue_changes(self) -> None:
        """Journal the queues that changed; looked at and written in one go, so the last line wins."""
        with self.lock:
            self._write(self.queues_changed())

    def _write(self, changes: list[Change]) -> None:
        if not changes:
            return
        self.seq += 1
        line = moto_state.dumps({"seq": self.seq, "changes": changes}) + "\n"
        os.write(self._fd, line.encode())  # one write: a torn line can only be the last
        # fdatasync, not fsync: the data and the file's size, without its times.
        os.fdatasync(self._fd)

    def truncate(self) -> None:
        """Empty the journal once a snapshot holds everything it said (caller holds self.lock)."""
        os.ftruncate(self._fd, 0)
        os.fsync(self._fd)

    def queues_changed(self) -> list[Change]:
        """Each queue whose message ids differ from what was last journaled (caller holds self.lock)."""
        changes = []
        for queue in moto_state.queue_names():
            messages = moto_state.queue_messages(queue)
            ids = [m["MessageId"] for m in messages]
            if self._queues.get(queue, []) != ids:
                self._queues[queue] = ids
                changes.append({"queue": queue, "messages": messages})
        return changes

    def remember_queues(self) -> None:
        """The queues as loaded or snapshotted: nothing to journal until they change."""
        with self.lock:
            self.queues_changed()

    def close(self) -> None:
        os.close(self._fd)


def dynamodb_changes(operation: str, request: dict[str, Any]) -> list[Change]:
    """The item images a successful DynamoDB write left, one per item it touched."""
    keys: list[tuple[str, dict[str, Any]]] = []
    if operation == "PutItem":
        keys.append((request["TableName"], moto_state.key_of(request["TableName"], request["Item"])))
    elif operation in ("UpdateItem", "DeleteItem"):
        keys.append((request["TableName"], request["Key"]))
    elif operation == "BatchWriteItem":
        for table, writes in request["RequestItems"].items():
            for write in writes:
                if "PutRequest" in write:
                    keys.append((table, moto_state.key_of(table, write["PutRequest"]["Item"])))
                else:
                    keys.append((table, write["DeleteRequest"]["Key"]))
    elif operation == "TransactWriteItems":
        for entry in request["TransactItems"]:
            ((kind, op),) = entry.items()
            if kind == "Put":
                keys.append((op["TableName"], moto_state.key_of(op["TableName"], op["Item"])))
            elif kind in ("Update", "Delete"):
                keys.append((op["TableName"], op["Key"]))
    changes = []
    for table, key in keys:
        image = moto_state.get_item(table, key)
        changes.append({"table": table, "Keys": key} | ({"NewImage": image} if image is not None else {}))
    return changes


def ssm_changes(request: dict[str, Any]) -> list[Change]:
    names = request.get("Names") or [request["Name"]]
    return [{"parameter": name, "history": moto_state.parameter_history(name)} for name in names]


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request body, put back so that moto can read it too."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _journaling(method: Callable[..., Any], journal: Journal) -> Callable[..., Any]:
    warned: set[str] = set()

    @functools.wraps(method)
    def call(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if target in _UNKEPT_DYNAMODB and target not in warned:
            warned.add(target)
            log.warning("%s is answered but not kept over a restart (see docs/local-dev.md)", target)
        if target in _SQS_CHANGES:  # ReceiveMessage must not hold moto's lock (see atomic.py)
            response = method(self, environ, start_response)
            journal.append_queue_changes()
            return response
        if target not in _DYNAMODB_WRITES and target not in _SSM_WRITES:
            return method(self, environ, start_response)
        body = _read_body(environ)
        statuses: list[str] = []

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        with serialised():  # the request and its journal line, with no other write between them
            response = method(self, environ, recording_start_response)
            if not statuses or not statuses[0].startswith("200"):
                return response  # refused: nothing changed
            request = json.loads(body or b"{}")
            if target in _SSM_WRITES:
                journal.append(ssm_changes(request))
            else:
                journal.append(dynamodb_changes(target.removeprefix(_DYNAMODB), request))
        return response

    call.__journal_original__ = method  # type: ignore[attr-defined]
    return call


def install_journal(journal: Journal, setattr_: Callable[[Any, str, Any], None] = setattr) -> None:
    """Journal every write the moto server answers from now on (a second call replaces the first)."""
    method = DomainDispatcherApplication.__call__
    original = getattr(method, "__journal_original__", method)
    setattr_(DomainDispatcherApplication, "__call__", _journaling(original, journal))


def read_lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, line, complete) of a JSON-lines file; complete is False for a torn last line."""
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            yield number, line, line.endswith(b"\n")
