"""The runner's state on disk (`.local-state/aws/`): loaded at start, kept current, compacted.

- `snapshot.jsonl`: a header (format, the journal position it covers, each table's key schema),
  one line per DynamoDB item in DynamoDB JSON (`{"table": ..., "Item": {...}}`, the line of
  DynamoDB's export to S3 plus its table), one per SSM parameter (its version history), one per
  SQS queue (its messages), and an end line. Written to a temporary file, fsync'ed, renamed.
- `journal.jsonl`: every write answered since that snapshot (localdev/journal.py).

Start: read both files whole, check them against template.yaml, then load; any doubt stops the
runner and leaves the files as they are. Then a new snapshot replaces snapshot + journal, at start
and at a clean stop, so a start replays at most one run's journal.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localdev import moto_state
from localdev.atomic import serialised
from localdev.journal import Journal, read_lines

FORMAT = "sam-refresh-auth localdev state"
VERSION = 1
CLEAN_HINT = "`make dev-clean` empties the state and starts fresh"


class StateError(Exception):
    """The state on disk cannot be loaded as it is; the message says why and what to do."""


def key_schema(definition: Mapping[str, Any]) -> list[list[str]]:
    """[[name, HASH|RANGE, S|N|B], ...]: what identifies an item; GSIs are derived and rebuilt."""
    types = {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]}
    return [[k["AttributeName"], k["KeyType"], types.get(k["AttributeName"], "?")] for k in definition["KeySchema"]]


@dataclass
class Loaded:
    """What the state held: item counts per table, parameters, queued messages, journal lines."""

    items: dict[str, int] = field(default_factory=dict)
    parameters: int = 0
    messages: int = 0
    journal_lines: int = 0
    seconds: float = 0.0  # reading, checking and loading both files


@dataclass
class _Parsed:
    seq: int = 0
    items: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # table -> key -> item
    parameters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    queues: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    journal_lines: int = 0


def _key_text(item_key: Mapping[str, Any]) -> str:
    return json.dumps(item_key, sort_keys=True)


class StateStore:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.snapshot = self.directory / "snapshot.jsonl"
        self.journal_path = self.directory / "journal.jsonl"
        self.journal: Journal | None = None
        self.loaded = False  # only a loaded store may write a snapshot: never empty over real state
        self._lock_fd: int | None = None

    # --- one runner per state directory ---

    def acquire(self) -> None:
        self._make_directory()
        fd = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateError(f"{self.directory} is in use by another runner: stop it first") from None
        self._lock_fd = fd

    def _make_directory(self) -> None:
        # 0700/0600: the files hold password hashes and the private signing key.
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def release(self) -> None:
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing drops the flock
            self._lock_fd = None

    # --- reading ---

    def _records(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        for number, line, complete in read_lines(path):
            where = f"{path}, line {number}"
            if not complete:
                raise StateError(
                    f"{where} is incomplete: a write cut off before it was answered (kill -9 or a crash while "
                    f"writing). The file is left as it is: delete that last line to keep everything before it, "
                    f"or {CLEAN_HINT}."
                )
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                raise StateError(f"{where} is not a state record (corrupt file, left as it is); {CLEAN_HINT}.")
            yield number, record

    def _parse(self, definitions: Mapping[str, Mapping[str, Any]]) -> _Parsed | None:
        if not self.snapshot.exists() and not self.journal_path.exists():
            return None
        parsed = _Parsed(items={name: {} for name in definitions})
        try:
            self._parse_snapshot(parsed, definitions)
            self._parse_journal(parsed)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(
                f"{self.directory}: a record lacks what it needs ({type(exc).__name__}: {exc}); the files are left "
                f"as they are; {CLEAN_HINT}."
            ) from None
        return parsed

    def _parse_snapshot(self, parsed: _Parsed, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        if not self.snapshot.exists():
            return  # a first run that died before its first snapshot: its journal starts from nothing
        records = self._records(self.snapshot)
        _, header = next(records, (0, {}))
        if header.get("format") != FORMAT or header.get("version") != VERSION:
            raise StateError(f"{self.snapshot} is not a state snapshot of this version; {CLEAN_HINT}.")
        self._check_tables(header["tables"], definitions)
        parsed.seq = int(header["seq"])
        ended = False
        for number, record in records:
            if ended:
                raise StateError(f"{self.snapshot}, line {number}: records after the end line; {CLEAN_HINT}.")
            if "table" in record:
                table = record["table"]
                item = record["Item"]
                parsed.items[table][_key_text(self._key(definitions[table], item))] = item
            elif "parameter" in record:
                parsed.parameters[record["parameter"]] = list(record["history"])
            elif "queue" in record:
                parsed.queues[record["queue"]] = list(record["messages"])
            elif "end" in record:
                ended = True
            else:
                raise StateError(f"{self.snapshot}, line {number}: unknown record; {CLEAN_HINT}.")
        if not ended:
            raise StateError(
                f"{self.snapshot} ends early (no end line): it is incomplete and left as it is; {CLEAN_HINT}."
            )

    def _check_tables(self, saved: Mapping[str, Any], definitions: Mapping[str, Mapping[str, Any]]) -> None:
        """New tables are created empty; a key schema change or a removed table would lose items."""
        for table, schema in saved.items():
            if table not in definitions:
                raise StateError(
                    f"table {table} is in the state ({self.snapshot}) but no longer in template.yaml: starting "
                    f"would drop its items. Put it back, or {CLEAN_HINT}."
                )
            now = key_schema(definitions[table])
            if schema != now:
                raise StateError(
                    f"the key schema of table {table} changed in template.yaml (state: {schema}, template: {now}): "
                    f"its items cannot be kept under the new key. Revert the change, or {CLEAN_HINT}."
                )

    @staticmethod
    def _key(definition: Mapping[str, Any], item: Mapping[str, Any]) -> dict[str, Any]:
        return {k["AttributeName"]: item[k["AttributeName"]] for k in definition["KeySchema"]}

    def _parse_journal(self, parsed: _Parsed) -> None:
        if not self.journal_path.exists():
            return
        last = parsed.seq
        for number, record in self._records(self.journal_path):
            seq = int(record["seq"])
            if seq <= parsed.seq:
                continue  # already in the snapshot (stopped between the snapshot and emptying the journal)
            if seq != last + 1:
                raise StateError(
                    f"{self.journal_path}, line {number}: record {seq} follows {last} (lines missing); {CLEAN_HINT}."
                )
            last = seq
            parsed.journal_lines += 1
            for change in record["changes"]:
                if "table" in change:
                    table = parsed.items[change["table"]]
                    key = _key_text(change["Keys"])
                    if "NewImage" in change:
                        table[key] = change["NewImage"]
                    else:
                        table.pop(key, None)
                elif "parameter" in change:
                    if change["history"] is None:
                        parsed.parameters.pop(change["parameter"], None)
                    else:
                        parsed.parameters[change["parameter"]] = list(change["history"])
                elif "queue" in change:
                    parsed.queues[change["queue"]] = list(change["messages"])
                else:
                    raise StateError(f"{self.journal_path}, line {number}: unknown change; {CLEAN_HINT}.")
        parsed.seq = last

    # --- loading and writing ---

    def load(self, definitions: Mapping[str, Mapping[str, Any]]) -> Loaded | None:
        """Load the state into moto (its tables and queues exist already); None when there is none.

        Opens the journal: every write moto answers from here on is kept.
        """
        started = time.perf_counter()
        parsed = self._parse(definitions)
        loaded = None
        if parsed is not None:
            missing = set(parsed.queues) - set(moto_state.queue_names())
            if missing:
                names = ", ".join(sorted(missing))
                raise StateError(f"queue(s) {names} in the state but not in template.yaml; {CLEAN_HINT}.")
            with moto_state.bulk_load():
                for table, found in parsed.items.items():
                    for item in found.values():
                        moto_state.put_item(table, item)
            for name, history in parsed.parameters.items():
                moto_state.put_parameter_history(name, history)
            for queue, messages in parsed.queues.items():
                moto_state.send_messages(queue, messages)
            loaded = Loaded(
                items={table: len(found) for table, found in parsed.items.items()},
                parameters=len(parsed.parameters),
                messages=sum(len(m) for m in parsed.queues.values()),
                journal_lines=parsed.journal_lines,
                seconds=time.perf_counter() - started,
            )
        self._make_directory()
        self.journal = Journal(self.journal_path, parsed.seq if parsed else 0)
        self.journal.remember_queues()
        self.loaded = True
        return loaded

    def compact(self, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        """Write moto's whole state as the snapshot, then empty the journal it now covers."""
        if not self.loaded or self.journal is None:
            return  # the state was never loaded: what is on disk is left alone
        with serialised(), self.journal.lock:  # no write lands between the snapshot and the truncation
            tmp = self.snapshot.with_name(f".{self.snapshot.name}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "w", encoding="utf-8") as out:
                header = {
                    "format": FORMAT,
                    "version": VERSION,
                    "seq": self.journal.seq,
                    "tables": {name: key_schema(d) for name, d in definitions.items()},
                }
                out.write(json.dumps(header) + "\n")
                for table in definitions:
                    for item in moto_state.items(table):
                        out.write(moto_state.dumps({"table": table, "Item": item}) + "\n")
                for name in moto_state.parameter_names():
                    history = moto_state.parameter_history(name)
                    if history:
                        out.write(moto_state.dumps({"parameter": name, "history": history}) + "\n")
                for queue in moto_state.queue_names():
                    out.write(moto_state.dumps({"queue": queue, "messages": moto_state.queue_messages(queue)}) + "\n")
                out.write(json.dumps({"end": True}) + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.snapshot)
            _fsync_directory(self.directory)  # the rename itself survives a power cut
            self.journal.truncate()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- make dev-clean ---

# What the runner writes into its state directory; anything else there is not ours to delete.
RUNNER_FILES = ("aws", "outbox", "demo-user.json", "sam-env.json", "authctl.json")


def _describe(path: Path) -> str:
    if path.name == "outbox":
        return f"{path} ({len(list(path.glob('*.eml')))} mails)"
    if path.is_dir():
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        return f"{path} ({size:,} bytes: tables, parameters, queues)"
    return str(path)


def clean(state_dir: Path) -> list[str]:
    """Remove what the runner keeps in `state_dir`; refused while a runner uses it."""
    store = StateStore(state_dir / "aws")
    if (state_dir / "aws").exists():
        store.acquire()  # raises StateError while a runner holds it
    removed = []
    try:
        for name in RUNNER_FILES:
            path = state_dir / name
            if not path.exists():
                continue
            removed.append(_describe(path))
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    finally:
        store.release()
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.state", description="make dev's kept state")
    parser.add_argument("command", choices=["clean"])
    parser.add_argument("--state-dir", type=Path, default=Path(__file__).resolve().parent.parent / ".local-state")
    args = parser.parse_args(argv)
    try:
        removed = clean(args.state_dir)
    except StateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in removed:
        print(f"removed {line}")
    print(f"{args.state_dir}: {'emptied' if removed else 'nothing to remove'}; the next `make dev` starts fresh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
