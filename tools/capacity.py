"""DynamoDB capacity units per request, computed by DynamoDB's published rules (issue 17).

Used by tests/integration/test_request_counts.py (which meters every flow against moto) and by
`make bench` (which prints the figures and prices them, tools/cost_model.py). The rules, each from
the Amazon DynamoDB Developer Guide (docs/cost.md links the pages):

- item size: attribute names plus values; strings by UTF-8 bytes, binaries by raw bytes, numbers
  about 1 byte per 2 significant digits + 1, booleans and nulls 1, lists and maps 3 bytes plus
  their elements ("Item sizes and capacity unit consumption", CapacityUnitCalculations.html);
- reads: 4 KB units; strongly consistent 1 per unit, eventually consistent half; a missing item
  still costs one unit; BatchGetItem rounds each item on its own; Query rounds the sum of the items
  it returns (index reads are eventually consistent);
- writes: 1 KB units; PutItem and UpdateItem by the larger of the item before and after, DeleteItem
  by the item deleted; a failed condition still costs the item's size (1 unit if it is absent);
- transactions: "two underlying reads or writes of every item in the transaction: one to prepare
  the transaction and one to commit" (transaction-apis.html, "Capacity management for
  transactions"), a ConditionCheck included, billed as a write (measured against DynamoDB by
  paritysuite/dynamodb-conformance#67: a lone ConditionCheck of a small item costs 2 write units);
- global secondary indexes: a write that changes what an index holds for the item writes the index
  too: 1 write to add or remove the entry, 2 when its index key changes, 1 when only projected
  attributes change, none otherwise (GSI.html, "Provisioned throughput considerations"); the
  entry is the projected attributes plus the keys. Index writes of a transaction are propagated
  after it, counted here at the standard rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024

Item = Mapping[str, Any]  # a DynamoDB item in its typed form ({"S": ...}, {"N": ...}, ...)


def value_size(value: Mapping[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "B":
        return len(raw)
    if kind == "N":
        digits = Decimal(raw).normalize().as_tuple().digits  # leading and trailing zeroes trimmed
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(value_size(v) for v in raw)
    if kind == "M":
        return 3 + item_size(raw)
    if kind in ("SS", "BS"):
        return sum(value_size({kind[0]: v}) for v in raw)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in raw)
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: Item | None) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def read_units(size: int, *, consistent: bool, transactional: bool = False) -> float:
    """One item read by key (GetItem, one key of a BatchGetItem); a missing item (size 0) costs one unit."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES)) * (2 if transactional else 1)
    return units if consistent or transactional else units / 2


def query_units(sizes: Iterable[int], *, consistent: bool = False) -> float:
    units = max(1, math.ceil(sum(sizes) / READ_UNIT_BYTES))
    return units if consistent else units / 2


def write_units(before: int, after: int, *, transactional: bool = False) -> int:
    return max(1, math.ceil(max(before, after) / WRITE_UNIT_BYTES)) * (2 if transactional else 1)


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    name: str
    keys: tuple[str, ...]
    indexes: tuple[Index, ...] = ()

    def key_of(self, item: Item) -> dict[str, Any]:
        return {k: item[k] for k in self.keys}

    def index_writes(self, before: Item | None, after: Item | None) -> int:
        """Write units the table's indexes consume when ``before`` becomes ``after``."""
        units = 0
        for index in self.indexes:
            old, new = self._entry(index, before), self._entry(index, after)
            if old == new:
                continue
            moved = old is not None and new is not None and any(old[k] != new[k] for k in index.keys)
            if old is None or new is None or not moved:  # added, removed, or projected values changed
                units += write_units(item_size(old), item_size(new))
            else:  # index key changed: the old entry is deleted, the new one put
                units += write_units(item_size(old), 0) + write_units(0, item_size(new))
        return units

    def _entry(self, index: Index, item: Item | None) -> dict[str, Any] | None:
        if item is None or any(k not in item for k in index.keys):
            return None  # not in the (sparse) index
        if index.projection == "ALL":
            return dict(item)
        kept = {*self.keys, *index.keys, *(index.included if index.projection == "INCLUDE" else ())}
        return {k: v for k, v in item.items() if k in kept}


def tables_of(definitions: Mapping[str, Mapping[str, Any]]) -> dict[str, Table]:
    """Tables from create_table arguments (localdev.template.table_definitions(template.yaml))."""
    tables = {}
    for name, args in definitions.items():
        indexes = tuple(
            Index(
                gsi["IndexName"],
                tuple(k["AttributeName"] for k in gsi["KeySchema"]),
                gsi["Projection"]["ProjectionType"],
                tuple(gsi["Projection"].get("NonKeyAttributes", ())),
            )
            for gsi in args.get("GlobalSecondaryIndexes", ())
        )
        tables[name] = Table(name, tuple(k["AttributeName"] for k in args["KeySchema"]), indexes)
    return tables


@dataclass
class Units:
    """Capacity of one request or one flow: read units, write units (table), write units (indexes)."""

    read: float = 0.0
    write: float = 0.0
    index_write: float = 0.0

    def __add__(self, other: Units) -> Units:
        return Units(self.read + other.read, self.write + other.write, self.index_write + other.index_write)

    @property
    def all_writes(self) -> float:
        return self.write + self.index_write

    def describe(self) -> str:
        index = f" + {self.index_write:g} index" if self.index_write else ""
        return f"{self.read:g} RRU + {self.write:g} WRU{index}"


Peek = Callable[[str, Mapping[str, Any]], Item | None]  # (table, key) -> the item as it is now


def _writes(operation: str, params: Mapping[str, Any], tables: Mapping[str, Table]) -> list[tuple[str, str, Any]]:
    """(table, action, key) of every item a write request touches."""
    if operation == "TransactWriteItems":
        touched = []
        for entry in params["TransactItems"]:
            ((action, body),) = entry.items()
            key = tables[body["TableName"]].key_of(body["Item"]) if action == "Put" else body["Key"]
            touched.append((body["TableName"], action, key))
        return touched
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        table = params["TableName"]
        key = tables[table].key_of(params["Item"]) if operation == "PutItem" else params["Key"]
        return [(table, operation.removesuffix("Item"), key)]
    return []


@dataclass
class Request:
    operation: str
    units: Units
    reported: float | None  # moto's ReturnConsumedCapacity total, None if it gave none


@dataclass
class Meter:
    """Counts the capacity of every request a botocore DynamoDB client sends (moto behind it).

    ``peek`` reads an item by key through *another* client (not metered), before and after each
    write, so write sizes and index changes are what DynamoDB would bill."""

    tables: Mapping[str, Table]
    peek: Peek
    requests: list[Request] = field(default_factory=list)
    _pending: dict[str, Any] = field(default_factory=dict)

    def attach(self, client: Any) -> None:
        client.meta.events.register("provide-client-params.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def detach(self, client: Any) -> None:
        client.meta.events.unregister("provide-client-params.dynamodb", self._before)
        client.meta.events.unregister("after-call.dynamodb", self._after)

    def clear(self) -> None:
        self.requests.clear()

    @property
    def operations(self) -> list[str]:
        return [r.operation for r in self.requests]

    @property
    def total(self) -> Units:
        return sum((r.units for r in self.requests), Units())

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")
        touched = _writes(model.name, params, self.tables)
        self._pending = {"params": params, "before": [self.peek(t, k) for t, _, k in touched], "touched": touched}

    def _after(self, parsed: Mapping[str, Any], model: Any, **_: Any) -> None:
        pending, self._pending = self._pending, {}
        params, touched = pending["params"], pending["touched"]
        failed = "Error" in parsed
        units = Units()
        if model.name == "GetItem":
            units.read = read_units(item_size(parsed.get("Item")), consistent=bool(params.get("ConsistentRead")))
        elif model.name == "BatchGetItem":
            for table, request in params["RequestItems"].items():
                for key in request["Keys"]:
                    size = item_size(self.peek(table, key))
                    units.read += read_units(size, consistent=bool(request.get("ConsistentRead")))
        elif model.name == "Query":
            sizes = [item_size(i) for i in parsed.get("Items", [])]
            units.read = query_units(sizes, consistent=bool(params.get("ConsistentRead")))
        transactional = model.name == "TransactWriteItems"
        for (table, action, key), before in zip(touched, pending["before"], strict=True):
            after = before if failed or action == "ConditionCheck" else self.peek(table, key)
            units.write += write_units(item_size(before), item_size(after), transactional=transactional)
            units.index_write += self.tables[table].index_writes(before, after)
        reported = parsed.get("ConsumedCapacity")
        if isinstance(reported, list):  # BatchGetItem, TransactWriteItems: one entry per table
            total = sum(float(c.get("CapacityUnits", 0)) for c in reported) if reported else None
        else:
            total = float(reported["CapacityUnits"]) if reported else None
        self.requests.append(Request(model.name, units, total))


# --- the request shapes of a refresh before issue 17 (GetItem, TransactWriteItems) -------------


def legacy_refresh_units(session_before: Item, session_after: Item, user: Item, sessions: Table) -> Units:
    """What a refresh cost before issue 17, for the same items: a strongly consistent GetItem of the
    session, then one TransactWriteItems of the session update and a ConditionCheck on the user."""
    return Units(
        read=read_units(item_size(session_before), consistent=True),
        write=write_units(item_size(session_before), item_size(session_after), transactional=True)
        + write_units(item_size(user), item_size(user), transactional=True),
        index_write=sessions.index_writes(session_before, session_after),
    )


def session_and_user_read_units(session: Item, user: Item) -> Units:
    """One strongly consistent BatchGetItem of a session and its user: the revocation-aware
    authorizer's request (SessionAuthorizerFunction), as the request-count test measures it."""
    return Units(read=read_units(item_size(session), consistent=True) + read_units(item_size(user), consistent=True))
