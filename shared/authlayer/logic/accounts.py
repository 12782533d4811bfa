"""Account changes that end sessions: block, delete, set or change a password, log out everywhere.

Each sets the user's ``tokens_not_before`` first: one attribute that every refresh reads with
the session (strongly consistent), so the sessions concerned end at once (ASVS 5.0 7.4.1-7.4.3),
even one created by a racing login. The session items are then marked revoked, which a refresh's
conditional write also checks (docs/cost.md: the window between the two).
"""

from __future__ import annotations

from typing import Any

from authlayer import clock, passwords
from authlayer.config import Settings
from authlayer.dal import sessions as session_store
from authlayer.dal import users as user_store
from authlayer.errors import NotFoundError, ServiceUnavailableError, ValidationError
from authlayer.logic import sessions
from authlayer.logic.attempts import count_attempt
from authlayer.logic.sessions import Renewed
from authlayer.models import User, iso
from authlayer.observability import count, logger


def _require(user_id: str) -> User:
    user = user_store.get(user_id)
    if user is None:
        raise NotFoundError("User not found")
    return user


def end_all_sessions(user_id: str, reason: str) -> int:
    """End every session of the user; returns how many were still live."""
    if not user_store.update(user_id, iso(clock.now()), tokens_not_before=clock.now_ms()):
        raise NotFoundError("User not found")
    return mark_revoked(user_id, reason)


def mark_revoked(user_id: str, reason: str, created_before_ms: int | None = None) -> int:
    """Mark the user's live sessions revoked (those created before ``created_before_ms`` only, if
    given: the not-before that ended them, so a session written with the change stays)."""
    now = clock.now()
    ended = sum(
        session_store.revoke(s.id, now, reason)
        for s in session_store.list_for_user(user_id)
        if not s.ended(now) and (created_before_ms is None or s.created_at < created_before_ms)
    )
    count("SessionsRevoked")
    logger.info("sessions ended", extra={"user_id": user_id, "reason": reason, "count": ended})
    return ended


def mark_revoked_after_commit(user_id: str, reason: str, not_before_ms: int) -> None:
    """mark_revoked once the change has committed: the not-before already ends those sessions
    (every refresh and bearer check compares it), marking them is for the session list only. A
    failure here must not turn a committed change into a 503 (ASVS 5.0 16.5.2: an answer is true)."""
    try:
        mark_revoked(user_id, reason, not_before_ms)
    except ServiceUnavailableError:
        logger.warning("sessions not marked revoked; the not-before ends them", extra={"user_id": user_id})


def set_blocked(user_id: str, blocked: bool) -> User:
    fields: dict[str, Any] = {"blocked": blocked}
    if blocked:
        fields["tokens_not_before"] = clock.now_ms()
    if not user_store.update(user_id, iso(clock.now()), **fields):
        raise NotFoundError("User not found")
    if blocked:
        mark_revoked(user_id, "user blocked")
    return _require(user_id)


def delete_user(user_id: str) -> None:
    user = _require(user_id)
    user_store.delete(user)  # refreshes now fail: their transaction checks the user exists
    mark_revoked(user_id, "user deleted")


def set_password(user_id: str, new_password: str) -> None:
    """New hash and every session ended (ASVS 5.0 7.4.3); a pending reset code is void from now."""
    new_hash = passwords.hash_password(new_password)
    changed = user_store.update(
        user_id, iso(clock.now()), remove=("reset_code",), password_hash=new_hash, tokens_not_before=clock.now_ms()
    )
    if not changed:
        raise NotFoundError("User not found")
    mark_revoked(user_id, "password set")


def set_confirmed(user_id: str) -> User:
    """Operator confirmation (authctl users confirm): the account may log in from now."""
    if not user_store.update(user_id, iso(clock.now()), remove=("confirm_code",), confirmed=True):
        raise NotFoundError("User not found")
    return _require(user_id)


def change_password(
    settings: Settings, user: User, current: str, new: str, confirmation: str, user_agent: str, ip: str
) -> Renewed:
    """Strapi's change-password rules; on success every other session ends and the caller gets a
    new one, written in the same transaction as the new hash: a 503 means nothing changed, a 200
    that everything did (ASVS 5.0 16.5.2)."""
    if new != confirmation:
        raise ValidationError("Passwords do not match")
    if current == new:
        raise ValidationError("Your new password must be different than your current password")
    # currentPassword is a password guess: it counts on the login's per-account attempt counter,
    # claimed before the hash is checked (ASVS 4.0.3 2.2.1).
    counted = count_attempt(settings, user_store.user_key(user.id), clock.now(), user.id, account=True)
    claimed = user_store.to_user(counted)
    if not passwords.verify_password(current, claimed.password_hash):
        count("ChangePasswordFailed")
        logger.info("change-password refused", extra={"user_id": user.id, "reason": "wrong current password"})
        raise ValidationError(INVALID_CURRENT_PASSWORD)
    new_hash = passwords.hash_password(new)
    not_before = clock.now_ms()
    renewed = sessions.new_session(settings, user.id, user_agent, ip, created_ms=not_before)
    change = user_store.password_change_item(user.id, claimed.password_hash, new_hash, not_before, iso(clock.now()))
    try:
        session_store.create(renewed.session, [change])
    except user_store.PasswordChanged:  # a reset or another change landed since the check
        raise ValidationError(INVALID_CURRENT_PASSWORD) from None
    logger.info("password changed", extra={"user_id": user.id, "session_id": renewed.session.id})
    mark_revoked_after_commit(user.id, "password changed", not_before)
    return renewed


INVALID_CURRENT_PASSWORD = "The provided current password is invalid"  # Strapi's message
