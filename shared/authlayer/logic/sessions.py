"""Session lifecycle: start at login, rotate on refresh, detect reuse (RFC 9700 §4.14.2)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from authlayer import clock, refresh_tokens
from authlayer.config import Settings
from authlayer.dal import attempts
from authlayer.dal import sessions as store
from authlayer.dal import users as user_store
from authlayer.dal.sessions import Lost
from authlayer.errors import NotFoundError, UnauthorizedError
from authlayer.logic.token_standing import Standing, judge
from authlayer.models import Session, User
from authlayer.observability import count, logger
from authlayer.refresh_tokens import RefreshToken


@dataclass(frozen=True)
class Renewed:
    session: Session
    token: RefreshToken

    def cookie_max_age(self, now: int) -> int:
        return min(self.session.idle_expires_at, self.session.absolute_expires_at) - now


def start(
    settings: Settings,
    user_id: str,
    user_agent: str,
    ip: str,
    verified_hash: str | None = None,
    device_counter: dict[str, Any] | None = None,
) -> Renewed:
    """A new session (a new token family) for a successful login (ASVS 4.0.3 3.2.1).

    ``verified_hash``: the password hash a login checked; the session is only written while it is
    still the user's (dal.users.PasswordChanged otherwise). ``device_counter``: the key of the
    device cookie's counter the login was counted on; that one is reset, the account's is left."""
    renewed = new_session(settings, user_id, user_agent, ip)
    writes: list[dict[str, Any]] = []
    if verified_hash and device_counter is None:
        writes = [user_store.reset_login_attempts_item(user_id, verified_hash)]
    elif verified_hash and device_counter is not None:
        writes = [user_store.password_unchanged_check(user_id, verified_hash), attempts.reset_item(device_counter)]
    store.create(renewed.session, writes)
    return renewed


def new_session(settings: Settings, user_id: str, user_agent: str, ip: str, created_ms: int | None = None) -> Renewed:
    """A session and its first token, not yet stored: for writes that store it in the same
    transaction as the change that grants it (registration, change-password, reset-password).
    ``created_ms``: the not-before those set, so this session is the first one it lets live."""
    now = clock.now()
    session_id = refresh_tokens.new_session_id()
    token = refresh_tokens.new_token(session_id, user_id)
    absolute = now + settings.refresh_absolute_ttl
    session = Session(
        id=session_id,
        user_id=user_id,
        token_hash=token.hash,
        nonce=b"",
        rotated_at=now,
        created_at=clock.now_ms() if created_ms is None else created_ms,
        last_used_at=now,
        idle_expires_at=min(now + settings.refresh_idle_ttl, absolute),
        absolute_expires_at=absolute,
        user_agent=user_agent,
        ip=ip,
    )
    return Renewed(session, token)


def _invalid() -> UnauthorizedError:
    return UnauthorizedError("Invalid refresh token")


def refresh(settings: Settings, raw_token: str) -> Renewed:
    """Rotate the presented token, or replay the grace window, or detect reuse. 401 otherwise.

    Two requests (issue 17): one strongly consistent BatchGetItem of the session and its user, one
    conditional UpdateItem of the session. The user is judged here, not in the write, so a refresh
    is no write on the user's item (no partition cap for a user with many sessions, no conflict with
    that user's login); the window that opens is in docs/cost.md ("What the user check costs")."""
    token = refresh_tokens.parse(raw_token)
    if token is None:
        raise _invalid()
    session, user = _read(token)
    now = clock.now()
    for _ in range(3):  # a lost race judges the item the failed write returned, twice at most
        if session is None:
            raise _invalid()
        if session.ended(now):
            logger.info("refresh on ended session", extra={"session_id": session.id, "reason": session.revoked_reason})
            raise _invalid()
        verdict = judge(session, token, now, settings.refresh_reuse_grace)
        if verdict.standing is Standing.REUSED:
            _revoke_on_reuse(session, now, verdict.why)
            raise _invalid()
        if verdict.live is None or (token.user_id and token.user_id != session.user_id):
            # Right session id with an unknown secret (a guess, a truncated token), or a user id
            # the session does not have (not a token we issued): no side effects, so nobody who
            # merely knows a session id can end it (catalogue 17).
            raise _invalid()
        if user is None or not session.live_for(user, now):
            # Blocked, deleted, or sessions ended by a password change (ASVS 5.0 7.4.2-7.4.3).
            store.revoke(session.id, now, "user rejected")
            raise _invalid()
        if verdict.standing is Standing.LIVE:
            outcome = _rotate(settings, session, token, verdict.live, now)
        else:  # RACING
            outcome = _replay(settings, session, verdict.live, now)
        if isinstance(outcome, Renewed):
            return outcome
        session = outcome.current  # another request rotated or revoked it first
    raise _invalid()


def _read(token: RefreshToken) -> tuple[Session | None, User | None]:
    """The session and its user, strongly consistent: one BatchGetItem when the token names the
    user; a token of the legacy form (before issue 17) reads the session, then the user, once:
    its session's next token names the user."""
    if token.user_id:
        return store.get_with_user(token.session_id, token.user_id)
    session = store.get(token.session_id)
    return session, user_store.get(session.user_id) if session else None


def _rotate(settings: Settings, session: Session, token: RefreshToken, live: RefreshToken, now: int) -> Renewed | Lost:
    nonce = refresh_tokens.new_nonce()
    child = replace(live.child(nonce), user_id=session.user_id)  # a legacy token's child names its user
    lost = store.rotate(session, token.hash, child.hash, nonce, now)
    if lost is not None:
        return lost
    session.earlier_hops = store.kept_hops(session)
    session.history = [*session.history, token.hash][-store.HISTORY_LENGTH :]
    session.token_hash, session.nonce, session.rotated_at = child.hash, nonce, now
    session.idle_expires_at = min(now + settings.refresh_idle_ttl, session.absolute_expires_at)
    count("RefreshRotated")
    logger.info("refresh token rotated", extra={"user_id": session.user_id, "session_id": session.id})
    return Renewed(session, child)


def _replay(settings: Settings, session: Session, live: RefreshToken, now: int) -> Renewed | Lost:
    """Grace window: an ancestor re-derives the one live token (the stored nonces)."""
    lost = store.touch(session, now)
    if lost is not None:
        return lost
    session.idle_expires_at = min(now + settings.refresh_idle_ttl, session.absolute_expires_at)
    count("RefreshGraceReplay")
    logger.info("refresh grace replay", extra={"user_id": session.user_id, "session_id": session.id})
    return Renewed(session, replace(live, user_id=session.user_id))


def _revoke_on_reuse(session: Session, now: int, why: str) -> None:
    """Reuse of a rotated token: we cannot tell thief from owner, so end the family (RFC 9700 §4.14.2).

    That session only: the user's other sessions hold no token the thief has seen."""
    store.revoke(session.id, now, "reuse")
    logger.warning(
        "refresh token reuse detected, session revoked",
        extra={"session_id": session.id, "user_id": session.user_id, "why": why},
    )
    count("RefreshTokenReuse")


def logout(settings: Settings, raw_token: str | None, everywhere: bool) -> None:
    """End the presented token's session (or all of its user's). Always a quiet no-op otherwise.

    Only a token refresh would honour may end anything (ASVS 5.0 7.4.1, RFC 9700 §4.14.2): the
    live one or a racing ancestor inside the grace window, of a session that has not ended. A
    thief whose reuse was detected cannot log the owner out of their new sessions, and a guessed
    secret with a real session id changes nothing. A stale token is reuse, as on refresh: its own
    session ends, never the user's others.
    """
    token = refresh_tokens.parse(raw_token) if raw_token else None
    session = store.get(token.session_id) if token else None
    now = clock.now()
    if token is None or session is None or session.ended(now):
        return
    verdict = judge(session, token, now, settings.refresh_reuse_grace)
    if verdict.standing is Standing.REUSED:
        _revoke_on_reuse(session, now, verdict.why)
        return
    if not verdict.may_act:
        return
    if everywhere:
        from authlayer.logic.accounts import end_all_sessions

        # The session must still be the user's to speak for (not ended by a password change or
        # logout-all whose marking of the session items has not landed yet).
        user = user_store.get(session.user_id)
        if user is None or not session.live_for(user, now):
            return
        end_all_sessions(session.user_id, "logout all")
    else:
        store.revoke(session.id, now, "logout")
    count("Logout")
    logger.info("logout", extra={"user_id": session.user_id, "session_id": session.id, "everywhere": everywhere})


def active_for_user(user_id: str, tokens_not_before: int) -> list[Session]:
    now = clock.now()
    return [s for s in store.list_for_user(user_id) if not s.ended(now) and s.created_at >= tokens_not_before]


def revoke_own(user_id: str, session_id: str) -> None:
    """End one of the caller's sessions; someone else's is indistinguishable from a missing one."""
    session = store.get(session_id) if refresh_tokens.valid_session_id(session_id) else None
    if session is None or session.user_id != user_id or session.ended(clock.now()):
        raise NotFoundError("Session not found")
    store.revoke(session.id, clock.now(), "revoked by user")
    count("SessionsRevoked")
    logger.info("session revoked by user", extra={"user_id": user_id, "session_id": session.id})
