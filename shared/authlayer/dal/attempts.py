"""Login attempt counters in the users table: one conditional ADD per attempt.

Three kinds of item carry the same counter (failed_logins, last_failed_at):
- USER#<id>: the account's counter, for browsers the account does not know (dal.users);
- THROTTLE#<hmac>: an identifier without a password account, so an unknown identifier is slowed
  exactly like a real one and the lockout is no account oracle (ASVS 5.0 6.3.8);
- DEVICE#<hash>: a device cookie's own counter (OWASP "Slow Down Online Guessing Attacks with
  Device Cookies"), so strangers locking the account out do not lock out its owner's browser.
THROTTLE# and DEVICE# items carry ``expires_at`` (the table's TTL attribute), renewed by each attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from authlayer.config import get_settings
from authlayer.dal import dynamo


@dataclass(frozen=True)
class Claim:
    """The answer to one attempt: allowed (``item`` as the write left it) or cooling down."""

    item: dict[str, Any] | None
    last_failed_at: int  # of the attempt that started the cool-down, for Retry-After

    @property
    def allowed(self) -> bool:
        return self.item is not None


def throttle_key(identifier_mac: str) -> dict[str, Any]:
    return {"pk": {"S": f"THROTTLE#{identifier_mac}"}}


def device_key(device_hash: str) -> dict[str, Any]:
    return {"pk": {"S": f"DEVICE#{device_hash}"}}


def claim(
    key: dict[str, Any],
    now: int,
    max_failures: int,
    lockout: int,
    *,
    expires_at: int | None = None,
    must_exist: bool = False,
) -> Claim:
    """Count an attempt *before* the password is checked, atomically (ASVS 4.0.3 2.2.1, 11.1.6).

    Allowed while fewer than ``max_failures`` attempts failed since the last success, then once
    per ``lockout`` seconds: parallel guesses cannot all slip through, each one is one conditional
    ADD. A refused attempt returns the item's old values in the same request (no second read), so
    Retry-After costs every kind of counter the same.
    """
    window = "(attribute_not_exists(failed_logins) OR failed_logins < :max OR last_failed_at <= :edge)"
    values: dict[str, Any] = {":one": 1, ":now": now, ":max": max_failures, ":edge": now - lockout}
    update = "ADD failed_logins :one SET last_failed_at = :now"
    if expires_at is not None:
        update += ", expires_at = :expires"
        values[":expires"] = expires_at
    try:
        # Racing a transaction on the same item (a refresh's ConditionCheck, a login's session
        # write) is TransactionConflictException: nothing was counted, so write() sends it again.
        answer = dynamo.write(
            "claim_login_attempt",
            "update_item",
            dict(
                TableName=get_settings().users_table,
                Key=key,
                UpdateExpression=update,
                ConditionExpression=f"attribute_exists(pk) AND {window}" if must_exist else window,
                ExpressionAttributeValues=dynamo.to_values(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ),
        )
    except ClientError as error:  # only ConditionalCheckFailed gets past write()
        old = dynamo.from_item(error.response.get("Item") or {})
        return Claim(None, int(old.get("last_failed_at", 0)))
    return Claim(answer["Attributes"], now)


def reset_item(key: dict[str, Any]) -> dict[str, Any]:
    """A TransactWriteItems Delete: a successful login forgets the counter it used."""
    return {"Delete": {"TableName": get_settings().users_table, "Key": key}}
