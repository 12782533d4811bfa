"""Sessions table: one item per login session, keyed by the session id the refresh token names.

Rotation is one conditional UpdateItem of the session: on the presented token still being the
live one (so two racing refreshes cannot both rotate, RFC 9700 §4.14.2), not revoked, and inside
its absolute lifetime. The user's standing (not blocked, not deleted, session not ended by a
password change or logout-all) is read with the session in one strongly consistent BatchGetItem
just before (get_with_user); docs/cost.md shows why that leaves no wider window than the former
ConditionCheck.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from authlayer.config import get_settings
from authlayer.dal import dynamo, users
from authlayer.errors import ServiceUnavailableError
from authlayer.models import Hop, Session, User

HISTORY_LENGTH = 16  # older token hashes kept to recognise reuse of a stolen token
# Rotations kept besides the last (nonce and time), so racing tabs holding an ancestor a few hops
# back inside the grace window re-derive the live token (logic.token_standing). Stored packed in
# "hops", 24 bytes each: at most 3 + 3 * 25 + 4 (name) = 82 bytes more per session item.
EARLIER_HOPS_KEPT = 3


def _pack(hop: Hop) -> bytes:
    return hop.rotated_at.to_bytes(8, "big") + hop.nonce


def _unpack(packed: bytes) -> Hop:
    return Hop(nonce=packed[8:], rotated_at=int.from_bytes(packed[:8], "big"))


def _table() -> str:
    return get_settings().sessions_table


def _key(session_id: str) -> dict[str, Any]:
    return {"pk": {"S": session_id}}


def _to_session(item: dict[str, Any]) -> Session:
    v = dynamo.from_item(item)
    return Session(
        id=v["pk"],
        user_id=v["user_id"],
        token_hash=v["token_hash"],
        nonce=v.get("nonce", b""),
        rotated_at=int(v["rotated_at"]),
        created_at=int(v["created_at"]),
        last_used_at=int(v["last_used_at"]),
        idle_expires_at=int(v["idle_expires_at"]),
        absolute_expires_at=int(v["absolute_expires_at"]),
        history=list(v.get("history", [])),
        user_agent=v.get("user_agent", ""),
        ip=v.get("ip", ""),
        revoked_at=int(v["revoked_at"]) if "revoked_at" in v else None,
        revoked_reason=v.get("revoked_reason", ""),
        earlier_hops=[_unpack(h) for h in v.get("hops", [])],
    )


def _item(s: Session) -> dict[str, Any]:
    return dynamo.to_item(
        {
            "pk": s.id,
            "user_id": s.user_id,
            "token_hash": s.token_hash,
            "nonce": s.nonce,
            "history": s.history,
            "rotated_at": s.rotated_at,
            "created_at": s.created_at,
            "last_used_at": s.last_used_at,
            "idle_expires_at": s.idle_expires_at,
            "absolute_expires_at": s.absolute_expires_at,
            "expires_at": min(s.idle_expires_at, s.absolute_expires_at),  # the TTL attribute
            "user_agent": s.user_agent,
            "ip": s.ip,
        }
    )


def put_request(session: Session) -> dict[str, Any]:
    """A TransactWriteItems Put of a new session, for writes that must land with it or not at all."""
    return {"Put": {"TableName": _table(), "Item": _item(session), "ConditionExpression": "attribute_not_exists(pk)"}}


def create(session: Session, user_writes: Sequence[dict[str, Any]] = ()) -> None:
    """Store a new session; with ``user_writes`` (from dal.users / dal.attempts: the login's
    counter reset, or change-password's new hash, the first of them conditional on the password
    hash being the one verified), in one transaction. users.PasswordChanged if that condition failed."""
    put = put_request(session)
    try:
        if user_writes:
            dynamo.transact_write("create_session", [put, *user_writes])
        else:
            dynamo.write("create_session", "put_item", put["Put"])
    except ClientError as error:
        codes = dynamo.cancellation_codes(error)
        if len(codes) >= 2 and codes[1] == "ConditionalCheckFailed":
            raise users.PasswordChanged() from None
        raise ServiceUnavailableError() from None  # a 128-bit id collision or a deleted user: retry


def get(session_id: str) -> Session | None:
    with dynamo.unavailable_on_failure("get_session"):
        item = dynamo.client().get_item(TableName=_table(), Key=_key(session_id), ConsistentRead=True).get("Item")
    return _to_session(item) if item else None


def get_with_user(session_id: str, user_id: str) -> tuple[Session | None, User | None]:
    """Session and user in one BatchGetItem (strongly consistent)."""
    settings = get_settings()
    request = {
        settings.sessions_table: {"Keys": [_key(session_id)], "ConsistentRead": True},
        settings.users_table: {"Keys": [users.user_key(user_id)], "ConsistentRead": True},
    }
    with dynamo.unavailable_on_failure("get_session_and_user"):
        answer = dynamo.client().batch_get_item(RequestItems=request)
    if answer.get("UnprocessedKeys"):
        raise ServiceUnavailableError()  # throttled part of the batch: fail closed, client retries
    found = answer.get("Responses", {})
    session_items = found.get(settings.sessions_table, [])
    user_items = found.get(settings.users_table, [])
    return (
        _to_session(session_items[0]) if session_items else None,
        users.to_user(user_items[0]) if user_items else None,
    )


@dataclass(frozen=True)
class Lost:
    """A rotation or touch whose condition failed: ``current`` is the session item as it is now
    (returned by the failed write itself, so no read is needed), None if it is gone."""

    current: Session | None


def rotate(session: Session, presented_hash: bytes, new_hash: bytes, nonce: bytes, now: int) -> Lost | None:
    """Make new_hash the live token, if presented_hash still is (one conditional write). None: done."""
    idle_expires = min(now + get_settings().refresh_idle_ttl, session.absolute_expires_at)
    history = [*session.history, presented_hash][-HISTORY_LENGTH:]
    hops = [_pack(h) for h in kept_hops(session)]
    update = {
        "UpdateExpression": "SET token_hash = :new, nonce = :nonce, history = :history, hops = :hops, "
        "rotated_at = :now, last_used_at = :now, idle_expires_at = :idle, expires_at = :idle",
        "values": {":new": new_hash, ":nonce": nonce, ":history": history, ":hops": hops, ":idle": idle_expires},
    }
    return _conditional_update(session, presented_hash, now, update)


def kept_hops(session: Session) -> list[Hop]:
    """The earlier hops a rotation of ``session`` stores: its hops so far, the newest few."""
    return session.hops()[-EARLIER_HOPS_KEPT:]


def touch(session: Session, now: int) -> Lost | None:
    """Record a use without rotating (the grace-window replay), under the same conditions."""
    idle_expires = min(now + get_settings().refresh_idle_ttl, session.absolute_expires_at)
    update = {
        "UpdateExpression": "SET last_used_at = :now, idle_expires_at = :idle, expires_at = :idle",
        "values": {":idle": idle_expires},
    }
    return _conditional_update(session, session.token_hash, now, update)


def _conditional_update(session: Session, live_hash: bytes, now: int, update: dict[str, Any]) -> Lost | None:
    """One UpdateItem of the session alone: 1 write unit for an item under 1 KB, where the former
    TransactWriteItems with a ConditionCheck on the user cost 4 (two underlying writes per item of a
    transaction, the check included). The user's standing was read with the session (get_with_user)."""
    values = {":live": live_hash, ":now": now, **update["values"]}
    request = {
        "TableName": _table(),
        "Key": _key(session.id),
        "UpdateExpression": update["UpdateExpression"],
        # Still the live token, not revoked, and not past its absolute lifetime.
        "ConditionExpression": "token_hash = :live AND attribute_not_exists(revoked_at) AND absolute_expires_at > :now",
        "ExpressionAttributeValues": dynamo.to_values(values),
        # A lost race (a concurrent refresh or a revocation) answers the item as it now is: the
        # caller judges again without another read.
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    try:
        dynamo.write("rotate_session", "update_item", request)
    except ClientError as error:  # only ConditionalCheckFailed gets past write()
        item = error.response.get("Item")
        return Lost(_to_session(item) if item else None)
    return None


def revoke(session_id: str, now: int, reason: str) -> bool:
    """End a session; its refresh tokens fail from now on. False if it was already ended."""
    return dynamo.update_if(
        "revoke_session",
        TableName=_table(),
        Key=_key(session_id),
        UpdateExpression="SET revoked_at = :now, revoked_reason = :reason",
        ConditionExpression="attribute_exists(pk) AND attribute_not_exists(revoked_at)",
        ExpressionAttributeValues=dynamo.to_values({":now": now, ":reason": reason}),
    )


def list_for_user(user_id: str) -> list[Session]:
    """All of a user's session items, newest first.

    by-user-keys is KEYS_ONLY (a rotation then writes no index entry, docs/cost.md), so the Query
    gives keys and the items are read by key, strongly consistent; a session deleted in between
    (TTL, a deleted user) is left out. (While a stack upgrades, the index may be the former by-user,
    whose ALL entries are read again all the same.)
    """
    keys = dynamo.all_items(
        "query",
        TableName=_table(),
        IndexName=get_settings().sessions_user_index,
        ProjectionExpression="pk",
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues=dynamo.to_values({":u": user_id}),
        ScanIndexForward=False,
    )
    found = {i["pk"]["S"]: i for i in dynamo.get_many("list_sessions", _table(), [{"pk": k["pk"]} for k in keys])}
    return [_to_session(found[k["pk"]["S"]]) for k in keys if k["pk"]["S"] in found]
