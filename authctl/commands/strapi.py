"""import-strapi FILE: users from a Strapi export, keeping their ids and bcrypt hashes.

Accepted shapes: a list of users (up_users rows, /api/users, content-manager export), the same
under {"data": [...]}, and v4 REST entries {"id", "attributes": {...}}. Hashes verify at login
and are upgraded to argon2id then. Re-running the import is safe: present users are reported.

Strapi's resetPasswordToken and confirmationToken are never read: Strapi keeps them in plain text
without expiry, and this service accepts only codes it made itself, stored as hashes with a TTL.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from authctl.errors import EXIT_FAILED, CliError
from authctl.output import Output, clean, table
from authlayer import accounts, clock
from authlayer.dal import users as user_store
from authlayer.models import email_key, iso, username_key

# What bcryptjs (Strapi) writes: $2a$/$2b$ (and PHP's $2y$), cost, 22 chars salt + 31 chars hash.
BCRYPT_HASH = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COLUMNS = [("id", "STRAPI ID"), ("username", "USERNAME"), ("result", "RESULT"), ("reason", "REASON")]
HELP = """\
import users from a Strapi export (users-permissions' up_users)

Kept: id, username, email, the bcrypt password hash (replaced by argon2id at the
first login), provider, confirmed, blocked, createdAt and updatedAt. An unconfirmed
user stays unconfirmed: `authctl users confirm NAME` lets them in.

Not imported: Strapi's resetPasswordToken and confirmationToken (plain text, no
expiry). Reset and confirmation links Strapi mailed stop working; users ask again
(forgot-password, send-email-confirmation), or `authctl users send-reset NAME`."""


class Refused(Exception):
    """This entry cannot be imported as it is; the reason never quotes a password."""


@dataclass(frozen=True)
class StrapiUser:
    id: str
    username: str
    email: str
    password_hash: str
    provider: str
    confirmed: bool
    blocked: bool
    created_at: str
    updated_at: str


def load(path: Path) -> list[Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"{path} not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CliError(f"cannot read {path} as JSON: {error}") from None
    entries = document.get("data") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise CliError(f'{path}: expected a list of users or {{"data": [...]}}')
    return entries


def _text(entry: dict[str, Any], name: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise Refused(f"{name} missing or not printable text")
    return value


def _flag(entry: dict[str, Any], name: str, default: bool) -> bool:
    value = entry.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or value in (0, 1):  # SQL dumps write 0/1
        return bool(value)
    raise Refused(f"{name} is not a boolean")


def _timestamp(entry: dict[str, Any], *names: str) -> str:
    """ISO 8601 as Strapi writes it (or an SQL dump's naive UTC), normalised to the layer's format."""
    raw = next((entry[n] for n in names if entry.get(n) is not None), None)
    if raw is None:
        return iso(clock.now())
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        raise Refused(f"{names[0]} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment.timestamp())


def parse_entry(raw: Any) -> StrapiUser:
    if not isinstance(raw, dict):
        raise Refused("not a JSON object")
    entry = {"id": raw.get("id"), **raw["attributes"]} if isinstance(raw.get("attributes"), dict) else raw
    strapi_id = entry.get("id")
    if isinstance(strapi_id, bool) or not isinstance(strapi_id, int | str) or not str(strapi_id).strip():
        raise Refused("id missing")
    password = entry.get("password")
    if not isinstance(password, str) or not password:
        raise Refused("no password hash (provider login or a sanitized export?)")
    if not BCRYPT_HASH.match(password):
        # A plaintext (or unknown scheme) must never be stored as if it were a hash.
        raise Refused("password is not a bcrypt hash")
    email = _text(entry, "email")
    if not EMAIL.match(email.strip()):
        raise Refused("email is not an email address")
    return StrapiUser(
        id=str(strapi_id).strip(),
        username=_text(entry, "username"),
        email=email,
        password_hash=password,
        provider=entry["provider"] if isinstance(entry.get("provider"), str) and entry["provider"] else "local",
        confirmed=_flag(entry, "confirmed", False),  # Strapi's column defaults
        blocked=_flag(entry, "blocked", False),
        created_at=_timestamp(entry, "createdAt", "created_at"),
        updated_at=_timestamp(entry, "updatedAt", "updated_at"),
    )


def import_one(user: StrapiUser) -> tuple[str, str]:
    """(result, reason): imported, already present, or skipped because an id or a name is taken."""
    existing = user_store.get(user.id)
    if existing is not None:
        same = (username_key(existing.username), email_key(existing.email)) == (
            username_key(user.username),
            email_key(user.email),
        )
        if same:
            return "already present", ""
        return "skipped", f"id {user.id} belongs to {existing.username}"
    try:
        accounts.import_user(
            user.id,
            user.username,
            user.email,
            user.password_hash,
            provider=user.provider,
            confirmed=user.confirmed,
            blocked=user.blocked,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )
    except user_store.AlreadyTaken:
        return "skipped", "username or email taken by another user"
    return "imported", ""


def _label(raw: Any, position: int) -> tuple[str, str]:
    """The Strapi id and username to report, whatever shape the entry has."""
    if not isinstance(raw, dict):
        return f"#{position}", ""
    attributes = raw["attributes"] if isinstance(raw.get("attributes"), dict) else raw
    strapi_id = raw.get("id")
    return (f"#{position}" if strapi_id is None else clean(strapi_id)), clean(attributes.get("username", ""), 40)


def import_strapi(args: argparse.Namespace) -> Output:
    results = []
    for position, raw in enumerate(load(Path(args.file)), start=1):
        strapi_id, username = _label(raw, position)
        try:
            result, reason = import_one(parse_entry(raw))
        except Refused as refused:
            result, reason = "refused", str(refused)
        results.append({"id": strapi_id, "username": username, "result": result, "reason": reason})
    counts = {k: sum(r["result"] == k for r in results) for k in ("imported", "already present", "skipped", "refused")}
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    problems = [r for r in results if r["result"] in ("skipped", "refused")]
    text = f"{table(problems, COLUMNS)}\n{summary}" if problems else summary
    # Non-zero while some users could not be imported, so a script notices; a re-run of a clean
    # import (everything "already present") succeeds.
    return Output({"counts": counts, "results": results}, text, EXIT_FAILED if problems else 0)
