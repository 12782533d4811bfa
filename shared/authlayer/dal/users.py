"""Users table. Items: USER#<id> (the user), USERNAME#<key> and EMAIL#<key> (uniqueness guards).

The guards are written in the same transaction as the user, so two registrations can never
share a username or an email (ASVS 5.0 15.4.2). Login finds a user with one index query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from authlayer.config import get_settings
from authlayer.dal import dynamo
from authlayer.errors import ServiceUnavailableError
from authlayer.models import User, email_key, username_key


class AlreadyTaken(Exception):
    """The username or the email belongs to another user."""


class PasswordChanged(Exception):
    """The password hash changed between a login's check and its session write."""


def _table() -> str:
    return get_settings().users_table


def user_key(user_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"USER#{user_id}"}}


def to_user(item: dict[str, Any]) -> User:
    v = dynamo.from_item(item)
    return User(
        id=v["id"],
        username=v["username"],
        email=v["email"],
        password_hash=v.get("password_hash", ""),
        provider=v.get("provider", "local"),
        confirmed=bool(v.get("confirmed", True)),
        blocked=bool(v.get("blocked", False)),
        created_at=v.get("created_at", ""),
        updated_at=v.get("updated_at", ""),
        tokens_not_before=int(v.get("tokens_not_before", 0)),
        failed_logins=int(v.get("failed_logins", 0)),
        last_failed_at=int(v.get("last_failed_at", 0)),
        reset_code=v.get("reset_code", ""),
        confirm_code=v.get("confirm_code", ""),
    )


def user_item(user: User) -> dict[str, Any]:
    return dynamo.to_item(
        {
            "pk": f"USER#{user.id}",
            "id": user.id,
            "username": user.username,
            "email": user.email,
            "username_key": username_key(user.username),
            "email_key": email_key(user.email),
            "password_hash": user.password_hash,
            "provider": user.provider,
            "confirmed": user.confirmed,
            "blocked": user.blocked,
            "created_at": user.created_at,
            "updated_at": user.updated_at,
            "tokens_not_before": user.tokens_not_before,
        }
    )


def create(user: User, also: Sequence[dict[str, Any]] = ()) -> None:
    """Put the user and both guards atomically; AlreadyTaken when either name is in use.

    ``also``: more TransactWriteItems entries that land with the user or not at all (registration's
    first session: a 503 then means that nothing was written, ASVS 5.0 16.5.2)."""
    table = _table()
    absent = "attribute_not_exists(pk)"
    items = [
        user_item(user),
        dynamo.to_item({"pk": f"USERNAME#{username_key(user.username)}", "user_id": user.id}),
        dynamo.to_item({"pk": f"EMAIL#{email_key(user.email)}", "user_id": user.id}),
    ]
    puts = [{"Put": {"TableName": table, "Item": i, "ConditionExpression": absent}} for i in items]
    try:
        dynamo.transact_write("create_user", [*puts, *also])
    except ClientError as error:
        if "ConditionalCheckFailed" in dynamo.cancellation_codes(error)[: len(puts)]:
            raise AlreadyTaken() from None
        raise ServiceUnavailableError() from None  # cancelled for another reason: nothing was written


def get(user_id: str) -> User | None:
    with dynamo.unavailable_on_failure("get_user"):
        item = dynamo.client().get_item(TableName=_table(), Key=user_key(user_id), ConsistentRead=True).get("Item")
    return to_user(item) if item else None


def find_by_identifier(identifier: str) -> User | None:
    """Email first (case-insensitive), then username: one query on the common path.

    Registration refuses '@' in usernames, so an identifier with '@' is looked up as an email,
    and only imported users whose username contains '@' need the second query (deterministic:
    an email match always wins, catalogue 28).
    """
    if "@" in identifier:
        user = _query_one("by-email", "email_key", email_key(identifier))
        if user:
            return user
    return _query_one("by-username", "username_key", username_key(identifier))


def find_id_for_login(identifier: str) -> str | None:
    """The id of the user an identifier names, from the uniqueness guards: one strongly
    consistent key read for every identifier, found or not (ASVS 5.0 6.3.8: a Query on a miss
    and a second one for '@' identifiers, as find_by_identifier does, would tell an unknown
    address by its request count). With '@' both guards are read at once and the email wins
    (catalogue 28: imported usernames may contain '@'). Login needs only the id: the attempt
    counter's write returns the user."""
    keys = [{"pk": {"S": f"USERNAME#{username_key(identifier)}"}}]
    if "@" in identifier:
        keys.insert(0, {"pk": {"S": f"EMAIL#{email_key(identifier)}"}})
    table = _table()
    with dynamo.unavailable_on_failure("find_user_id"):
        if len(keys) == 1:
            item = dynamo.client().get_item(TableName=table, Key=keys[0], ConsistentRead=True).get("Item")
            found = [item] if item else []
        else:
            answer = dynamo.client().batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
            if answer.get("UnprocessedKeys"):
                raise ServiceUnavailableError()  # throttled part of the batch: fail closed, client retries
            found = answer.get("Responses", {}).get(table, [])
    by_key = {item["pk"]["S"]: item for item in found}
    for key in keys:
        guard = by_key.get(key["pk"]["S"])
        if guard and "user_id" in guard:
            return str(guard["user_id"]["S"])
    return None


def identifier_key(identifier: str) -> str:
    """The identifier normalised as find_by_identifier looks it up: an email case-insensitively,
    anything else as a username key (the login throttle of unknown identifiers is keyed by it)."""
    return f"email:{email_key(identifier)}" if "@" in identifier else f"username:{username_key(identifier)}"


def _query_one(index: str, attribute: str, value: str) -> User | None:
    with dynamo.unavailable_on_failure("find_user"):
        items = dynamo.client().query(
            TableName=_table(),
            IndexName=index,
            KeyConditionExpression="#k = :v",
            ExpressionAttributeNames={"#k": attribute},
            ExpressionAttributeValues=dynamo.to_values({":v": value}),
            Limit=2,
        )["Items"]
    return to_user(items[0]) if len(items) == 1 else None


def replace_password_hash(user_id: str, old_hash: str, new_hash: str, updated_at: str) -> bool:
    """Upgrade a hash on login (argon2 parameters changed, or a bcrypt import). Only if unchanged."""
    return dynamo.update_if(
        "rehash",
        TableName=_table(),
        Key=user_key(user_id),
        UpdateExpression="SET password_hash = :new, updated_at = :now",
        ConditionExpression="password_hash = :old",
        ExpressionAttributeValues=dynamo.to_values({":new": new_hash, ":old": old_hash, ":now": updated_at}),
    )


def update(user_id: str, updated_at: str, *, remove: tuple[str, ...] = (), **fields: Any) -> bool:
    """Set some of: blocked, confirmed, password_hash, tokens_not_before; remove some of the live
    codes (reset_code, confirm_code). False if no such user."""
    allowed = {"blocked", "confirmed", "password_hash", "tokens_not_before"}
    if not fields or not set(fields) <= allowed or not set(remove) <= {"reset_code", "confirm_code"}:
        raise ValueError(f"can only update {sorted(allowed)}")
    names = {f"#{k}": k for k in [*fields, *remove]}
    values = {f":{k}": v for k, v in fields.items()} | {":now": updated_at}
    assignments = ", ".join(f"#{k} = :{k}" for k in fields)
    removal = f" REMOVE {', '.join(f'#{k}' for k in remove)}" if remove else ""
    return dynamo.update_if(
        "update_user",
        TableName=_table(),
        Key=user_key(user_id),
        UpdateExpression=f"SET {assignments}, updated_at = :now{removal}",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=dynamo.to_values(values),
    )


def find_by_email(email: str) -> User | None:
    """The user of an address (case-insensitive), by the by-email index."""
    return _query_one("by-email", "email_key", email_key(email))


def delete(user: User) -> None:
    """Remove the user and both guards in one transaction (the names become free again)."""
    keys = [
        user_key(user.id),
        {"pk": {"S": f"USERNAME#{username_key(user.username)}"}},
        {"pk": {"S": f"EMAIL#{email_key(user.email)}"}},
    ]
    dynamo.transact_write("delete_user", [{"Delete": {"TableName": _table(), "Key": key}} for key in keys])


def list_all() -> list[User]:
    """Every user, for operators (authctl). A scan is fine here: never on a request path."""
    items = dynamo.all_items(
        "scan",
        TableName=_table(),
        FilterExpression="begins_with(pk, :prefix)",
        ExpressionAttributeValues=dynamo.to_values({":prefix": "USER#"}),
    )
    return sorted((to_user(i) for i in items), key=lambda u: u.created_at)


def password_change_item(
    user_id: str, verified_hash: str, new_hash: str, not_before_ms: int, updated_at: str
) -> dict[str, Any]:
    """A TransactWriteItems Update for change-password, written with the caller's new session:
    the new hash, every older session ended (not-before), the attempt counter cleared and a
    pending reset code void, only while the hash is still the one the current password matched."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": user_key(user_id),
            "UpdateExpression": "SET password_hash = :new, tokens_not_before = :nb, failed_logins = :zero, "
            "updated_at = :now REMOVE reset_code",
            "ConditionExpression": "attribute_exists(pk) AND password_hash = :verified",
            "ExpressionAttributeValues": dynamo.to_values(
                {":new": new_hash, ":nb": not_before_ms, ":zero": 0, ":now": updated_at, ":verified": verified_hash}
            ),
        }
    }


def reset_login_attempts_item(user_id: str, verified_hash: str) -> dict[str, Any]:
    """A TransactWriteItems Update that clears the attempt counter after a successful login,
    only while the password hash is still the one verified: a password change or reset that
    lands between the check and the session write makes the login fail (no session outlives it)."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": user_key(user_id),
            "UpdateExpression": "SET failed_logins = :zero",
            "ConditionExpression": "attribute_exists(pk) AND password_hash = :verified",
            "ExpressionAttributeValues": dynamo.to_values({":zero": 0, ":verified": verified_hash}),
        }
    }


def password_unchanged_check(user_id: str, verified_hash: str) -> dict[str, Any]:
    """A TransactWriteItems ConditionCheck: the password hash is still the one a login verified
    (as reset_login_attempts_item, for a login counted on a device's counter, not the account's)."""
    return {
        "ConditionCheck": {
            "TableName": _table(),
            "Key": user_key(user_id),
            "ConditionExpression": "attribute_exists(pk) AND password_hash = :verified",
            "ExpressionAttributeValues": dynamo.to_values({":verified": verified_hash}),
        }
    }
