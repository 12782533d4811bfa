"""Account changes that end sessions: block, delete, set or change a password, log out everywhere.

Each sets the user's ``tokens_not_before`` first: one conditional attribute that every refresh
checks in its transaction, so the sessions concerned end at once (ASVS 5.0 7.4.1-7.4.3), even
one created by a racing login. The session items are then marked revoked for the session list.
"""

from __future__ import annotations

from typing import Any

from authlayer import clock, passwords
from authlayer.dal import sessions as session_store
from authlayer.dal import users as user_store
from authlayer.errors import NotFoundError, ValidationError
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


def mark_revoked(user_id: str, reason: str) -> int:
    now = clock.now()
    ended = sum(
        session_store.revoke(s.id, now, reason) for s in session_store.list_for_user(user_id) if not s.ended(now)
    )
    count("SessionsRevoked")
    logger.info("sessions ended", extra={"user_id": user_id, "reason": reason, "count": ended})
    return ended


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


def change_password(user: User, current: str, new: str, confirmation: str) -> None:
    """Strapi's change-password rules; on success every existing session ends."""
    if not passwords.verify_password(current, user.password_hash):
        raise ValidationError("The provided current password is invalid")
    if new != confirmation:
        raise ValidationError("Passwords do not match")
    if current == new:
        raise ValidationError("Your new password must be different than your current password")
    set_password(user.id, new)
