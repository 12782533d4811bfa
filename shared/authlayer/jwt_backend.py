"""The only place that calls pyjwt. Pins RS256, requires every claim, checks typ/iss/aud.

pyjwt defaults are permissive (require=[], no typ check, any alg listed by the caller); this
backend sets them all and turns every pyjwt failure into one ``TokenError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from authlayer.keys import KeySet

ALGORITHM = "RS256"  # one algorithm, asymmetric only (RFC 8725 §3.1, ASVS 5.0 9.1.2)
# Headers that would make a verifier fetch or trust a key named by the token (RFC 8725 §3.10).
_FORBIDDEN_HEADERS = {"jku", "x5u", "jwk", "x5c"}
MAX_TOKEN_CHARS = 8192  # ours are ~800; refuse huge inputs before decoding them


class TokenError(Exception):
    """Any reason a token is not acceptable; callers answer 401 without details."""


class SignatureError(TokenError):
    """The token is a JWT, but the key does not verify its signature."""


class PublicKeyHolder(Protocol):
    @property
    def public_key(self) -> rsa.RSAPublicKey: ...


class VerificationKeys(Protocol):
    """Our own keys by exact kid: a signer's KeySet, or the public JWK Set (authlayer.jwks)."""

    def by_kid(self, kid: str) -> PublicKeyHolder | None: ...


def encode(claims: dict[str, Any], keys: KeySet, typ: str) -> str:
    import jwt  # imported on first use: handlers that neither sign nor verify never load pyjwt

    headers = {"kid": keys.current.kid, "typ": typ}
    return jwt.encode(claims, keys.current.private_key, algorithm=ALGORITHM, headers=headers)


def decode(
    token: str, keys: VerificationKeys, *, typ: str, issuer: str, audience: str, required: list[str], leeway: int
) -> dict[str, Any]:
    if not token.isascii() or len(token) > MAX_TOKEN_CHARS:  # compact JWS is base64url and dots
        raise TokenError("malformed token")
    import jwt  # see encode

    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise TokenError("malformed token") from error
    if header.get("alg") != ALGORITHM:
        raise TokenError("algorithm not allowed")
    if header.get("typ") != typ:  # RFC 8725 §3.11, RFC 9068 §4: explicit typing per token kind
        raise TokenError("wrong token type")
    if _FORBIDDEN_HEADERS & header.keys():
        raise TokenError("key-bearing header not allowed")
    kid = header.get("kid")
    key = keys.by_kid(kid) if isinstance(kid, str) else None
    if key is None:  # only our own keys, looked up by exact kid (RFC 8725 §3.10)
        raise TokenError("unknown key")
    try:
        return jwt.decode(
            token,
            key.public_key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            options={"require": required, "strict_aud": True, "verify_signature": True},
        )
    except jwt.PyJWTError as error:  # includes crit extensions pyjwt does not understand
        raise TokenError("invalid token") from error
    except (ValueError, TypeError) as error:  # defensive: malformed input never becomes a 500
        raise TokenError("invalid token") from error


def signed_claims(token: str, public_key: Any) -> dict[str, Any]:
    """The claims of a token whose RS256 signature `public_key` verifies; no claim is checked.

    For the local runner's API Gateway JWT authorizer (localdev/authorizers.py), which checks
    iss, aud/client_id, exp, nbf and iat itself, in API Gateway's terms and on its own clock.
    """
    import jwt  # see encode

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=[ALGORITHM],  # RFC 8725 §3.1: never the token's choice
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "verify_sub": False,
                "verify_jti": False,
            },
        )
    except jwt.InvalidSignatureError as error:
        raise SignatureError("invalid signature") from error
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise TokenError("invalid token") from error
    return claims
