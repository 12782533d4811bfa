"""One-time code items in the users table: CODE#<hash> -> user, purpose and expiry (TTL).

The user item holds the hash of its one live code per purpose (``reset_code``, ``confirm_code``):
a new code replaces it, so at most one reset code per user works at a time, and spending a code
is one transaction conditional on it still being that one (single use, even for racing requests).
DynamoDB's TTL deletes expired items late (up to days), so the expiry is also checked in code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from authlayer.config import get_settings
from authlayer.dal import dynamo, users
from authlayer.errors import ServiceUnavailableError
from authlayer.one_time_codes import Purpose


def _table() -> str:
    return get_settings().users_table


def _key(hashed: str) -> dict[str, Any]:
    return {"pk": {"S": f"CODE#{hashed}"}}


def store(user_id: str, purpose: Purpose, hashed: str, expires_at: int, now: int) -> bool:
    """Make ``hashed`` the user's one live code of this purpose. False if the user is gone or blocked."""
    item = dynamo.to_item(
        {
            "pk": f"CODE#{hashed}",
            "user_id": user_id,
            "purpose": purpose.value,
            "expires_at": expires_at,  # the table's TTL attribute
            "created_at": now,
        }
    )
    try:
        dynamo.transact_write(
            "store_code",
            [
                {"Put": {"TableName": _table(), "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
                {
                    "Update": {
                        "TableName": _table(),
                        "Key": users.user_key(user_id),
                        "UpdateExpression": "SET #code = :hash",
                        "ConditionExpression": "attribute_exists(pk) AND blocked = :false",
                        "ExpressionAttributeNames": {"#code": purpose.user_attribute},
                        "ExpressionAttributeValues": dynamo.to_values({":hash": hashed, ":false": False}),
                    }
                },
            ],
        )
    except ClientError as error:
        if "ConditionalCheckFailed" in dynamo.cancellation_codes(error):
            return False
        raise ServiceUnavailableError() from None
    return True


def find(purpose: Purpose, hashed: str, now: int) -> str | None:
    """The user id of a live code of this purpose (strongly consistent), else None."""
    with dynamo.unavailable_on_failure("get_code"):
        item = dynamo.client().get_item(TableName=_table(), Key=_key(hashed), ConsistentRead=True).get("Item")
    if not item:
        return None
    v = dynamo.from_item(item)
    if v.get("purpose") != purpose.value or int(v.get("expires_at", 0)) <= now:
        return None
    return str(v["user_id"])


def spend(
    user_id: str, purpose: Purpose, hashed: str, updated_at: str, also: Sequence[dict[str, Any]] = (), **fields: Any
) -> bool:
    """Spend the code and set ``fields`` on the user in one transaction, only while the code is
    still the user's live one and the user is not blocked. False: spent, replaced or refused.
    ``also``: more TransactWriteItems entries that land with it or not at all (the new session)."""
    names = {"#code": purpose.user_attribute, **{f"#{k}": k for k in fields}}
    values = {":hash": hashed, ":false": False, ":now": updated_at, **{f":{k}": v for k, v in fields.items()}}
    assignments = "".join(f", #{k} = :{k}" for k in fields)
    try:
        dynamo.transact_write(
            "spend_code",
            [
                {
                    "Update": {
                        "TableName": _table(),
                        "Key": users.user_key(user_id),
                        "UpdateExpression": f"SET updated_at = :now{assignments} REMOVE #code",
                        "ConditionExpression": "#code = :hash AND blocked = :false",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": dynamo.to_values(values),
                    }
                },
                {"Delete": {"TableName": _table(), "Key": _key(hashed)}},
                *also,
            ],
        )
    except ClientError as error:
        if "ConditionalCheckFailed" in dynamo.cancellation_codes(error):
            return False
        raise ServiceUnavailableError() from None
    return True


def claim_mail(user_id: str, purpose: Purpose, now: int, message_id: str, interval: int, per_day: int) -> bool:
    """Count one mail of this purpose to the user, if the account's mail limits allow it.

    At most one per ``interval`` seconds and ``per_day`` per UTC day (no mail bombing, whatever
    the number of requests). A retry of the same queue message (``message_id``) is not counted
    twice: its first attempt may have failed after the claim.
    """
    p = purpose.value
    names = {"#day": f"mail_{p}_day", "#count": f"mail_{p}_count", "#at": f"mail_{p}_at", "#msg": f"mail_{p}_msg"}
    today = now // 86400
    values = {":today": today, ":edge": now - interval, ":max": per_day, ":now": now, ":msg": message_id, ":one": 1}
    same_message = "#msg = :msg"
    spaced = "(attribute_not_exists(#at) OR #at <= :edge)"
    attempts = [
        # Same day, under the daily count: one more.
        (
            "SET #count = #count + :one, #at = :now, #msg = :msg",
            f"attribute_exists(pk) AND #day = :today AND #count < :max AND {spaced}",
        ),
        # First mail of the day: the count starts again.
        (
            "SET #day = :today, #count = :one, #at = :now, #msg = :msg",
            f"attribute_exists(pk) AND (attribute_not_exists(#day) OR #day <> :today) AND {spaced}",
        ),
        # The retry of a message that was already counted.
        ("SET #at = :now", f"attribute_exists(pk) AND {same_message}"),
    ]
    for update, condition in attempts:
        text = update + condition  # DynamoDB refuses names and values an expression does not use
        if dynamo.update_if(
            "claim_mail",
            TableName=_table(),
            Key=users.user_key(user_id),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={k: v for k, v in names.items() if k in text},
            ExpressionAttributeValues=dynamo.to_values({k: v for k, v in values.items() if k in text}),
        ):
            return True
    return False
