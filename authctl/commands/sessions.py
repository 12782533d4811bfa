"""sessions list | revoke | revoke-all: a user's live sessions, and ending them."""

from __future__ import annotations

import argparse

from authctl.commands.users import resolve_user
from authctl.errors import NotFound
from authctl.output import Output, table
from authlayer import clock, refresh_tokens
from authlayer.dal import sessions as session_store
from authlayer.logic import accounts as account_logic
from authlayer.logic.sessions import active_for_user
from authlayer.models import Session, iso

COLUMNS = [
    ("id", "SESSION"),
    ("createdAt", "CREATED"),
    ("lastUsedAt", "LAST USED"),
    ("expiresAt", "EXPIRES"),
    ("ip", "IP"),
    ("userAgent", "USER AGENT"),
]


def _view(session: Session) -> dict[str, object]:
    return {
        "id": session.id,
        "userId": session.user_id,
        "createdAt": iso(session.created_at / 1000),
        "lastUsedAt": iso(session.last_used_at),
        "expiresAt": iso(min(session.idle_expires_at, session.absolute_expires_at)),
        "ip": session.ip,
        "userAgent": session.user_agent,
    }


def list_sessions(args: argparse.Namespace) -> Output:
    user = resolve_user(args.user)
    views = [_view(s) for s in active_for_user(user.id, user.tokens_not_before)]
    return Output(views, table(views, COLUMNS, {"userAgent": 50}))


def revoke(args: argparse.Namespace) -> Output:
    session = session_store.get(args.session) if refresh_tokens.valid_session_id(args.session) else None
    if session is None:
        raise NotFound(f"session {args.session!r} not found")
    now = clock.now()
    if session.ended(now):  # idempotent: the operator's goal is already met
        return Output(
            {"id": session.id, "revoked": False, "alreadyEnded": True},
            f"session {session.id} had already ended",
        )
    session_store.revoke(session.id, now, "revoked by operator")
    return Output({"id": session.id, "revoked": True, "alreadyEnded": False}, f"session {session.id} revoked")


def revoke_all(args: argparse.Namespace) -> Output:
    user = resolve_user(args.user)
    ended = account_logic.end_all_sessions(user.id, "revoked by operator")
    data = {"id": user.id, "username": user.username, "sessionsEnded": ended}
    return Output(data, f"{ended} session(s) of {user.username} ({user.id}) ended")
