"""The public JWK Set (RFC 7517): what verifiers and the JWKS endpoint read, apart from the private keys.

`authctl keys` writes it into its own SSM String parameter, `<SIGNING_KEY_PARAMETER>-jwks`,
whenever the keys change, and publishes a new key there before
anything signs with it. Only the functions that sign read the SecureString of private keys; the
JWKS function and the bearer-token verifiers read this one (least privilege, catalogue R2-9).
A missing, empty or invalid set fails closed (KeyConfigError, a 503): never a fallback to the
private keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from authlayer import clock
from authlayer.config import Settings
from authlayer.keys import MIN_RSA_BITS, KeyConfigError, KeySet, parse_key_set

if TYPE_CHECKING:  # cryptography and pyjwt load only where a key is parsed
    from cryptography.hazmat.primitives.asymmetric import rsa

    from authlayer.jwt_backend import VerificationKeys

JWKS_SUFFIX = "-jwks"
JWKS_MAX_AGE = 300  # Cache-Control max-age of the JWKS endpoint; `authctl keys` waits it out too
# At most one cache-bypassing read of the set per container in this many seconds, so tokens with
# made-up kids cannot turn into a stream of SSM calls (and SSM throttling for everyone).
RELOAD_INTERVAL = 30
# RFC 7518 §6.3.2 (RSA private members) and §6.4.1 (symmetric "k"): never in a published set.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
FIX_HINT = "write it with `authctl keys sync-jwks`"


def parameter_name_for(signing_key_parameter: str) -> str:
    """Where `authctl keys` and the local runner put the public set of a signing-key parameter."""
    return signing_key_parameter + JWKS_SUFFIX


def parameter_name(settings: Settings) -> str:
    # Derived, never configured apart: authctl, the local runner and the template's IAM statement
    # all name it this way, so the functions cannot look anywhere the keys are not written.
    if settings.signing_key_parameter:
        return parameter_name_for(settings.signing_key_parameter)
    raise KeyConfigError("set SIGNING_KEY (PEM) or SIGNING_KEY_PARAMETER (SSM parameter name)")


def document(key_set: KeySet) -> str:
    """The public JWK Set of these keys as the parameter stores it (the signing key first)."""
    return json.dumps(key_set.jwks(), separators=(",", ":"))


def check_document(text: str) -> dict[str, Any]:
    """A JWK Set fit to publish, by JSON alone (the JWKS function serves it without cryptography)."""
    try:
        parsed = json.loads(text)
    except ValueError:
        raise KeyConfigError(f"the public JWK Set is not JSON; {FIX_HINT}") from None
    keys = parsed.get("keys") if isinstance(parsed, dict) else None
    if not isinstance(keys, list) or not keys:
        raise KeyConfigError(f"the public JWK Set holds no keys; {FIX_HINT}")
    kids: set[str] = set()
    for jwk in keys:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("alg", "RS256") != "RS256":
            raise KeyConfigError(f"the public JWK Set must hold RS256 keys only; {FIX_HINT}")
        if _PRIVATE_MEMBERS & jwk.keys():
            raise KeyConfigError(f"the public JWK Set holds private key material: replace it; {FIX_HINT}")
        kid, n, e = jwk.get("kid"), jwk.get("n"), jwk.get("e")
        if not (isinstance(kid, str) and kid and isinstance(n, str) and n and isinstance(e, str) and e):
            raise KeyConfigError(f"every key of the public JWK Set needs kid, n and e; {FIX_HINT}")
        if kid in kids:  # RFC 7517 §4.5: kids tell the keys of a set apart
            raise KeyConfigError(f"the public JWK Set has kid {kid} twice; {FIX_HINT}")
        kids.add(kid)
    return {"keys": keys}


@dataclass(frozen=True)
class PublicKey:
    kid: str
    public_key: rsa.RSAPublicKey


@dataclass(frozen=True)
class PublicKeySet:
    keys: tuple[PublicKey, ...]

    def by_kid(self, kid: str) -> PublicKey | None:
        return next((k for k in self.keys if k.kid == kid), None)


@lru_cache(maxsize=4)
def parse_public_key_set(text: str) -> PublicKeySet:
    """Parameter text -> public keys, once per container and value (cached)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm
    from jwt.exceptions import InvalidKeyError

    keys = []
    for jwk in check_document(text)["keys"]:
        try:
            key = RSAAlgorithm.from_jwk(jwk)
        except (InvalidKeyError, ValueError, TypeError, KeyError):
            raise KeyConfigError(f"key {jwk['kid']} of the public JWK Set is unusable; {FIX_HINT}") from None
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
            raise KeyConfigError(f"public keys must be RSA of at least {MIN_RSA_BITS} bits (RS256); {FIX_HINT}")
        keys.append(PublicKey(jwk["kid"], key))
    return PublicKeySet(tuple(keys))


def _read(name: str, *, force_fetch: bool = False) -> str:
    from authlayer.dal.parameters import get_public_parameter

    text = get_public_parameter(name, force_fetch=force_fetch)  # 503 when SSM fails
    if not text.strip():
        raise KeyConfigError(f"SSM parameter {name} is empty; {FIX_HINT}")
    return text


def published_document(settings: Settings) -> dict[str, Any]:
    """The JWK Set the JWKS endpoint serves: the public parameter as it is, checked."""
    if settings.signing_key_pem:  # keys from the environment (local, tests): nothing is stored apart
        return parse_key_set(settings.signing_key_pem).jwks()
    return check_document(_read(parameter_name(settings)))


class _Reloads:
    """When this container last re-read the set for an unknown kid (one per container)."""

    last: int | None = None

    @classmethod
    def allowed(cls) -> bool:
        now = clock.now()
        if cls.last is not None and now - cls.last < RELOAD_INTERVAL:
            return False
        cls.last = now
        return True


def forget_reloads() -> None:
    """A fresh container (tests)."""
    _Reloads.last = None


class _ReloadOnUnknownKid:
    """The cached set, re-read once when a token names a kid it lacks (RFC 7517 §4.5).

    The parameter cache keeps a set for five minutes, so a container may not know a key that
    `authctl keys rotate` published moments ago; a token signed by a key in SSM must still verify.
    The re-read bypasses the cache (and refreshes it) at most every RELOAD_INTERVAL seconds.
    """

    def __init__(self, name: str, keys: PublicKeySet) -> None:
        self._name, self._keys = name, keys

    def by_kid(self, kid: str) -> PublicKey | None:
        key = self._keys.by_kid(kid)
        if key is None and _Reloads.allowed():
            self._keys = parse_public_key_set(_read(self._name, force_fetch=True))
            key = self._keys.by_kid(kid)
        return key


def verification_keys(settings: Settings) -> VerificationKeys:
    """The keys access tokens are verified with: the public set, never the private keys' parameter."""
    if settings.signing_key_pem:  # the environment holds the keys themselves (local, tests)
        return parse_key_set(settings.signing_key_pem)
    name = parameter_name(settings)
    return _ReloadOnUnknownKid(name, parse_public_key_set(_read(name)))
