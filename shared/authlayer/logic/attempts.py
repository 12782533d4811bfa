"""Counting password guesses (ASVS 4.0.3 2.2.1): login's and change-password's, on one mechanism.

One conditional write per guess, before the hash is checked (dal.attempts), and one answer when
the counter is cooling down: 429 RateLimitError with Retry-After, whichever counter it was (the
account's, a device cookie's, or an unknown identifier's), so none tells which (ASVS 5.0 6.3.8).
"""

from __future__ import annotations

from typing import Any

from authlayer.config import Settings
from authlayer.dal import attempts
from authlayer.errors import RateLimitError
from authlayer.observability import count, logger

# How long a THROTTLE# or DEVICE# counter outlives its last attempt before DynamoDB's TTL may
# delete it. An account's own counter never expires; 30 days makes the difference observable
# only to someone who waits a month between two probes of one identifier (docs/login-throttling.md).
COUNTER_TTL = 30 * 24 * 3600


def count_attempt(
    settings: Settings, key: dict[str, Any], now: int, user_id: str | None, account: bool = False
) -> dict[str, Any]:
    """Claim one attempt on ``key`` (the item as written), or 429 with Retry-After: the same answer
    for every kind of counter, so none tells which one it was. ``account``: the user item, which
    must exist and never expires; the other counters are created on demand, with a TTL."""
    limits = (settings.login_max_failures, settings.login_lockout)
    if account:
        claim = attempts.claim(key, now, *limits, must_exist=True)
    else:
        claim = attempts.claim(key, now, *limits, expires_at=now + COUNTER_TTL)
    if claim.item is None:
        count("LoginThrottled")
        logger.warning("login throttled", extra={"user_id": user_id, "counter": key["pk"]["S"].split("#", 1)[0]})
        raise RateLimitError(
            "Too many login attempts, please try again later",
            max(1, claim.last_failed_at + settings.login_lockout - now),
        )
    return claim.item
