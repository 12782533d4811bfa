"""SSM Parameter Store through Powertools parameters (cached across warm invocations)."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import BotoCoreError, ClientError

from authlayer.dal import dynamo
from authlayer.errors import ServiceUnavailableError
from authlayer.observability import logger

CACHE_SECONDS = 300  # a rotated key reaches every container within five minutes


def _install_provider() -> None:
    """Make Powertools' default SSM provider use our boto3 session (see dynamo.session).

    Left alone when one is installed already (the first call made it, or a test put a stubbed one).
    """
    if "ssm" not in parameters.ssm.DEFAULT_PROVIDERS:
        parameters.ssm.DEFAULT_PROVIDERS["ssm"] = parameters.SSMProvider(boto3_session=dynamo.session())


def get_secure_parameter(name: str) -> str:
    """The signing keys (SecureString, decrypted): only the functions that sign may call this."""
    return _get(name, decrypt=True, force_fetch=False)


def get_public_parameter(name: str, *, force_fetch: bool = False) -> str:
    """The public JWK Set (String, no decryption). ``force_fetch`` bypasses and refreshes the cache."""
    return _get(name, decrypt=False, force_fetch=force_fetch)


def _get(name: str, *, decrypt: bool, force_fetch: bool) -> str:
    _install_provider()
    try:
        value = parameters.get_parameter(name, decrypt=decrypt, max_age=CACHE_SECONDS, force_fetch=force_fetch)
    except parameters.exceptions.GetParameterError as error:
        cause = error.__cause__
        code = cause.response.get("Error", {}).get("Code", "") if isinstance(cause, ClientError) else ""
        logger.error("key parameter unavailable", extra={"parameter": name, "code": code})
        if code == "ParameterNotFound":
            from authlayer.keys import KeyConfigError

            raise KeyConfigError(f"SSM parameter {name} does not exist") from None
        raise ServiceUnavailableError() from None
    except (BotoCoreError, ClientError):
        logger.error("key parameter unavailable", extra={"parameter": name})
        raise ServiceUnavailableError() from None
    return str(value)
