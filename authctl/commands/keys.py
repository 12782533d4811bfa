"""keys generate | rotate | list: the RS256 signing keys in the SSM SecureString parameter.

The parameter holds one or more PEM private keys: the first signs, the others are only
published in the JWKS (authlayer.keys.parse_key_set). Private material is never printed.
"""

from __future__ import annotations

import argparse
import os

from cryptography.hazmat.primitives import serialization

from authctl import aws
from authctl.errors import CliError, NotFound
from authctl.output import Output, table
from authlayer.dal.parameters import CACHE_SECONDS
from authlayer.keys import KeyConfigError, KeySet, SigningKey, generate_private_key_pem, parse_key_set

# 2048 bits (RFC 7518 §3.3's minimum, fine for RS256) keeps two keys within a Standard-tier
# parameter's 4 KB; larger keys would need the paid Advanced tier during every rotation.
KEY_BITS = 2048
COLUMNS = [("kid", "KID"), ("role", "ROLE"), ("bits", "BITS")]


def _parameter() -> str:
    return os.environ["SIGNING_KEY_PARAMETER"]


def _pem(key: SigningKey) -> str:
    return key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


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


def generate(args: argparse.Namespace) -> Output:
    name = _parameter()
    existing = aws.get_key_parameter(name)
    if existing and not args.force:
        raise CliError(f"SSM parameter {name} already exists; use `keys rotate`, or --force to replace it")
    pem = generate_private_key_pem(KEY_BITS)
    kms_key_id = args.kms_key_id or (existing.kms_key_id if existing else None)
    version = aws.put_key_parameter(name, pem, overwrite=existing is not None, kms_key_id=kms_key_id)
    key_set = parse_key_set(pem)
    data = {"parameter": name, "version": version, "keys": _rows(key_set), "replaced": existing is not None}
    notes = ["replaced the previous keys: access tokens they signed no longer verify"] if existing else []
    return Output(data, f"generated {key_set.current.kid} into {name} (version {version}); it signs", notes=notes)


def _require_parameter(name: str) -> aws.KeyParameter:
    existing = aws.get_key_parameter(name)
    if existing is None:
        raise NotFound(f"SSM parameter {name} does not exist; run `keys generate` first")
    return existing


def rotate(args: argparse.Namespace) -> Output:
    """New key first (it signs), the current signing key second (still verifies its tokens)."""
    name = _parameter()
    existing = _require_parameter(name)
    current = _parse(existing.value)
    new_pem = generate_private_key_pem(KEY_BITS)
    value = new_pem + _pem(current.current)
    version = aws.put_key_parameter(name, value, overwrite=True, kms_key_id=existing.kms_key_id)
    rotated = parse_key_set(value)
    dropped = [k.kid for k in current.all if k is not current.current]
    data = {"parameter": name, "version": version, "keys": _rows(rotated), "dropped": dropped}
    text = (
        f"rotated {name} (version {version})\n"
        f"  signs:     {rotated.current.kid}\n"
        f"  published: {current.current.kid} (the previous signing key, until its tokens expire)"
    )
    notes = [f"dropped {kid}: access tokens it signed no longer verify" for kid in dropped]
    notes.append(f"functions pick the new keys up within {CACHE_SECONDS // 60} minutes (parameter cache)")
    return Output(data, text, notes=notes)


def list_keys(args: argparse.Namespace) -> Output:
    name = _parameter()
    existing = _require_parameter(name)
    rows = _rows(_parse(existing.value))
    data = {"parameter": name, "version": existing.version, "keys": rows}
    return Output(data, f"{name} (version {existing.version})\n{table(rows, COLUMNS)}")


def prune(args: argparse.Namespace) -> Output:
    """Keep only the signing key: the last step of a rotation, once old tokens have expired."""
    name = _parameter()
    existing = _require_parameter(name)
    key_set = _parse(existing.value)
    dropped = [k.kid for k in key_set.all if k is not key_set.current]
    if not dropped:
        return Output({"parameter": name, "version": existing.version, "dropped": []}, "nothing to prune")
    version = aws.put_key_parameter(name, _pem(key_set.current), overwrite=True, kms_key_id=existing.kms_key_id)
    data = {"parameter": name, "version": version, "dropped": dropped}
    notes = [f"dropped {kid}: access tokens it signed no longer verify" for kid in dropped]
    return Output(data, f"{name} (version {version}) holds only {key_set.current.kid}", notes=notes)
