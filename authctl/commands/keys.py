"""keys generate | rotate | activate | retire | prune | list | sync-jwks: the RS256 signing keys.

The SSM SecureString parameter holds one or more PEM private keys: the first signs, the others are
only published. Their public JWK Set lives apart, in the String parameter `<name>-jwks` that the
JWKS function and the verifiers read (authlayer.jwks). Every command that changes the keys writes
both, in the order that keeps each key of the SecureString in the public set at every moment.
Private material is never printed.

Rotation has two phases, so no token signed by a key in SSM is ever refused (RFC 7517 §4.5 kid,
catalogue R2-8): `rotate` publishes a new key that does not sign yet; `activate` makes it sign once
every cache has seen it (PUBLISH_WAIT after the public set last changed, from SSM's
LastModifiedDate: a later change only makes the wait longer, never too short); `retire` drops the
previous key once every token it signed has expired.
"""

from __future__ import annotations

import argparse
import math
import os
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization

from authctl import aws
from authctl.errors import CliError, NotFound
from authctl.output import Output, table
from authlayer import clock, jwks
from authlayer.config import ConfigError, Settings, parse_duration
from authlayer.dal.parameters import CACHE_SECONDS
from authlayer.keys import KeyConfigError, KeySet, SigningKey, generate_private_key_pem, parse_key_set

# 2048 bits (RFC 7518 §3.3's minimum, fine for RS256) keeps two keys within a Standard-tier
# parameter's 4 KB; larger keys would need the paid Advanced tier during every rotation.
KEY_BITS = 2048
COLUMNS = [("kid", "KID"), ("role", "ROLE"), ("bits", "BITS")]
# A published key may sign once the functions' parameter cache has expired everywhere (they verify
# with the public set) and the JWKS endpoint's answers cached by others (max-age) have too.
PUBLISH_WAIT = CACHE_SECONDS + jwks.JWKS_MAX_AGE


def _parameter() -> str:
    return os.environ["SIGNING_KEY_PARAMETER"]


def _public_parameter() -> str:
    return jwks.parameter_name_for(_parameter())


def _pem(key: SigningKey) -> str:
    return key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _value(keys: list[SigningKey]) -> str:
    return "".join(_pem(k) for k in keys)


def _parse(value: str) -> KeySet:
    try:
        return parse_key_set(value)
    except (KeyConfigError, ValueError) as error:
        raise CliError(f"the parameter {_parameter()} does not hold usable keys: {error}") from None


def _rows(key_set: KeySet) -> list[dict[str, object]]:
    return [
        {
            "kid": k.kid,
            "role": "signs" if k is key_set.current else "published",
            "signing": k is key_set.current,
            "bits": k.private_key.key_size,
        }
        for k in key_set.all
    ]


def _at(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _published_kids(public: aws.KeyParameter | None) -> set[str] | None:
    """The kids of the public JWK Set, or None when it is missing or unusable."""
    if public is None:
        return None
    try:
        return {k["kid"] for k in jwks.check_document(public.value)["keys"]}
    except KeyConfigError:
        return None


def _publish(key_set: KeySet) -> bool:
    """Write the public set of these keys unless it holds exactly that already; True if written."""
    name, text = _public_parameter(), jwks.document(key_set)
    existing = aws.get_public_parameter(name)
    if existing is not None and existing.value == text:
        return False  # its LastModifiedDate (the start of an activation's wait) stays as it is
    aws.put_public_parameter(name, text)
    return True


def generate(args: argparse.Namespace) -> Output:
    name = _parameter()
    existing = aws.get_key_parameter(name)
    if existing and not args.force:
        raise CliError(f"SSM parameter {name} already exists; use `keys rotate`, or --force to replace it")
    pem = generate_private_key_pem(KEY_BITS)
    key_set = parse_key_set(pem)
    kms_key_id = args.kms_key_id or (existing.kms_key_id if existing else None)
    if existing:  # replacing: publish first, so nothing signs with a key the public set lacks
        _publish(key_set)
    # A new parameter is created without overwrite (two operators racing never replace each
    # other's key), then published; nothing can have signed with it before it existed.
    version = aws.put_key_parameter(name, pem, overwrite=existing is not None, kms_key_id=kms_key_id)
    if not existing:
        _publish(key_set)
    data = {
        "parameter": name,
        "jwks_parameter": _public_parameter(),
        "version": version,
        "keys": _rows(key_set),
        "replaced": existing is not None,
    }
    notes = ["replaced the previous keys: access tokens they signed no longer verify"] if existing else []
    text = f"generated {key_set.current.kid} into {name} (version {version}); it signs\n  public: {_public_parameter()}"
    return Output(data, text, notes=notes)


def _require_parameter(name: str) -> aws.KeyParameter:
    existing = aws.get_key_parameter(name)
    if existing is None:
        raise NotFound(f"SSM parameter {name} does not exist; run `keys generate` first")
    return existing


def rotate(args: argparse.Namespace) -> Output:
    """Phase one: publish a new key after the signing one; it verifies everywhere but does not sign."""
    name = _parameter()
    existing = _require_parameter(name)
    current = _parse(existing.value)
    waiting = [k.kid for k in current.all if k is not current.current]
    if waiting:  # two keys fill a Standard-tier parameter; never drop one silently
        kid = waiting[0]
        raise CliError(
            f"{name} already holds {kid} besides the signing key: `keys activate {kid}` to make it sign,"
            f" or `keys retire {kid}` once the tokens it signed have expired; then rotate"
        )
    rotated = parse_key_set(_value([current.current]) + generate_private_key_pem(KEY_BITS))
    new = rotated.all[1]
    _publish(rotated)  # first: the public set holds every key the SecureString will hold
    version = aws.put_key_parameter(name, _value(list(rotated.all)), overwrite=True, kms_key_id=existing.kms_key_id)
    ready = clock.now() + PUBLISH_WAIT
    data = {
        "parameter": name,
        "version": version,
        "keys": _rows(rotated),
        "published": new.kid,
        "wait_seconds": PUBLISH_WAIT,
        "activate_after": _at(ready),
    }
    text = (
        f"published {new.kid} in {name} (version {version}); it does not sign yet\n"
        f"  signs:     {current.current.kid}\n"
        f"  published: {new.kid}\n"
        f"wait {PUBLISH_WAIT // 60} minutes ({CACHE_SECONDS // 60} for the functions' parameter cache,"
        f" {jwks.JWKS_MAX_AGE // 60} for JWKS caches), then, not before {_at(ready)}:\n"
        f"  authctl keys activate {new.kid}"
    )
    return Output(data, text)


def _other_key(key_set: KeySet, kid: str | None, action: str) -> SigningKey:
    """The key named, or the only one that does not sign; never the signing key itself."""
    others = [k for k in key_set.all if k is not key_set.current]
    if kid is None:
        if len(others) != 1:
            hint = "`keys rotate` publishes one first" if not others else "name its kid"
            raise CliError(f"no key to {action}: {hint}")
        return others[0]
    chosen = key_set.by_kid(kid)
    if chosen is None:
        raise NotFound(f"no key {kid} in {_parameter()} (`keys list` shows them)")
    if chosen is key_set.current:
        raise CliError(f"{kid} is the signing key: it cannot be {action}d")
    return chosen


def activate(args: argparse.Namespace) -> Output:
    """Phase two: the published key signs, the previous signing key stays published."""
    name = _parameter()
    existing = _require_parameter(name)
    key_set = _parse(existing.value)
    chosen = _other_key(key_set, args.kid, "activate")
    public_name = _public_parameter()
    public = aws.get_public_parameter(public_name)
    if chosen.kid not in (_published_kids(public) or set()):
        raise CliError(
            f"{chosen.kid} is not in the public JWK Set {public_name}: run `authctl keys sync-jwks`,"
            f" wait {PUBLISH_WAIT // 60} minutes, then activate"
        )
    assert public is not None  # it holds the kid
    ready = public.last_modified + PUBLISH_WAIT
    if clock.now() < ready and not args.force:
        raise CliError(
            f"{chosen.kid} may sign from {_at(ready)} ({math.ceil(ready - clock.now())} s from now), once"
            " every function and JWKS cache has it; tokens it signed earlier could be refused."
            " --force activates it anyway"
        )
    activated = KeySet(current=chosen, all=(chosen, *(k for k in key_set.all if k is not chosen)))
    version = aws.put_key_parameter(name, _value(list(activated.all)), overwrite=True, kms_key_id=existing.kms_key_id)
    _publish(activated)  # the same keys, the signing one first
    data = {"parameter": name, "version": version, "keys": _rows(activated), "activated": chosen.kid}
    text = (
        f"{chosen.kid} signs (version {version}); {key_set.current.kid} stays published\n"
        f"functions pick it up within {CACHE_SECONDS // 60} minutes; retire {key_set.current.kid} once"
        " the tokens it signed have expired:\n"
        f"  authctl keys retire {key_set.current.kid}"
    )
    return Output(data, text)


def _access_token_ttl(args: argparse.Namespace) -> int:
    raw = args.access_token_ttl or os.environ.get("ACCESS_TOKEN_TTL") or os.environ.get("JWT_SECRET_EXPIRES")
    if not raw:
        return Settings.access_token_ttl  # the functions' default (AccessTokenTtl 15m)
    try:
        return parse_duration("--access-token-ttl", raw)
    except ConfigError as error:
        raise CliError(str(error)) from None


def retire(args: argparse.Namespace) -> Output:
    """Drop published keys that do not sign: their tokens stop verifying, so wait for them to expire."""
    name = _parameter()
    existing = _require_parameter(name)
    key_set = _parse(existing.value)
    if getattr(args, "kid", None) is None and len(key_set.all) == 1:
        return Output({"parameter": name, "version": existing.version, "dropped": []}, "nothing to prune")
    dropped = [_other_key(key_set, args.kid, "retire")] if args.kid else list(key_set.all[1:])
    # A container may sign with the previous key until its cache expires after the last change
    # (the activation); those tokens live the access-token lifetime, plus the verifiers' leeway.
    ready = existing.last_modified + CACHE_SECONDS + _access_token_ttl(args) + Settings.leeway
    if clock.now() < ready and not args.force:
        raise CliError(
            f"{', '.join(k.kid for k in dropped)} may have signed tokens that are still valid: retire from"
            f" {_at(ready)} ({math.ceil(ready - clock.now())} s from now; access tokens of"
            f" {_access_token_ttl(args)} s, --access-token-ttl if yours differ), or --force"
        )
    kept = KeySet(current=key_set.current, all=tuple(k for k in key_set.all if all(k is not d for d in dropped)))
    # The SecureString first: the public set never lacks a key that is still in it.
    version = aws.put_key_parameter(name, _value(list(kept.all)), overwrite=True, kms_key_id=existing.kms_key_id)
    _publish(kept)
    data = {"parameter": name, "version": version, "dropped": [k.kid for k in dropped]}
    notes = [f"dropped {k.kid}: access tokens it signed no longer verify" for k in dropped]
    return Output(data, f"{name} (version {version}) holds {', '.join(k.kid for k in kept.all)}", notes=notes)


def list_keys(args: argparse.Namespace) -> Output:
    name = _parameter()
    existing = _require_parameter(name)
    key_set = _parse(existing.value)
    rows = _rows(key_set)
    public_name = _public_parameter()
    in_sync = _published_kids(aws.get_public_parameter(public_name)) == {k.kid for k in key_set.all}
    data = {
        "parameter": name,
        "version": existing.version,
        "keys": rows,
        "jwks_parameter": public_name,
        "jwks_in_sync": in_sync,
    }
    notes = (
        [] if in_sync else [f"the public JWK Set {public_name} is missing or out of date: run `authctl keys sync-jwks`"]
    )
    return Output(data, f"{name} (version {existing.version})\n{table(rows, COLUMNS)}", notes=notes)


def sync_jwks(args: argparse.Namespace) -> Output:
    """(Re)write the public JWK Set from the signing keys: first deployment of it, or a repair."""
    name = _parameter()
    key_set = _parse(_require_parameter(name).value)
    written = _publish(key_set)
    public_name = _public_parameter()
    data = {"parameter": name, "jwks_parameter": public_name, "written": written, "keys": _rows(key_set)}
    text = f"wrote the public JWK Set {public_name}" if written else f"{public_name} is up to date"
    return Output(data, text)
