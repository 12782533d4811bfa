"""authctl's own AWS calls: a stack's outputs and resources, the signing-key and public JWKS parameters.

Besides authlayer.dal, the only module that touches boto3. Clients are made per call, after the
target's environment is in place, so they pick up its region and endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from authctl.errors import CliError, NotFound, Unavailable

_CONFIG = Config(connect_timeout=3, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3})


class _Expected(Exception):
    """An AWS error code the caller asked to handle itself (e.g. ParameterNotFound)."""

    def __init__(self, code: str) -> None:
        self.code = code


def _client(service: str, region: str | None = None) -> Any:
    return boto3.client(service, region_name=region, config=_CONFIG)


def _call(what: str, method: Callable[..., Any], expected: frozenset[str] = frozenset(), **kwargs: Any) -> Any:
    try:
        return method(**kwargs)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in expected:
            raise _Expected(code) from None
        # The code (AccessDenied, ExpiredToken...) says what to fix; the message may name ARNs.
        raise Unavailable(f"AWS unavailable: {what} failed ({code})") from None
    except BotoCoreError as error:
        raise Unavailable(f"AWS unavailable: {what} failed ({type(error).__name__}: {error})") from None


def stack_outputs(stack: str, region: str | None) -> dict[str, str]:
    cloudformation = _client("cloudformation", region)
    try:
        answer = _call(
            f"reading stack {stack}",
            cloudformation.describe_stacks,
            frozenset({"ValidationError"}),
            StackName=stack,
        )
    except _Expected:  # CloudFormation's "Stack with id ... does not exist"
        raise NotFound(f"stack {stack} not found (check the name and --region)") from None
    return {o["OutputKey"]: o["OutputValue"] for o in answer["Stacks"][0].get("Outputs", [])}


def stack_resource_id(stack: str, logical_id: str, region: str | None) -> str:
    """The physical id of one of the stack's resources (for an AWS::SQS::Queue: its URL)."""
    cloudformation = _client("cloudformation", region)
    try:
        answer = _call(
            f"reading resource {logical_id} of stack {stack}",
            cloudformation.describe_stack_resource,
            frozenset({"ValidationError"}),
            StackName=stack,
            LogicalResourceId=logical_id,
        )
    except _Expected:  # no such stack, or no such resource in it
        raise NotFound(f"stack {stack} has no resource {logical_id}: is it a sam-refresh-auth stack?") from None
    return str(answer["StackResourceDetail"].get("PhysicalResourceId") or "")


@dataclass(frozen=True)
class KeyParameter:
    value: str
    kms_key_id: str | None  # kept on rewrite, so a rotation never switches the KMS key
    version: int
    last_modified: float = 0.0  # SSM's LastModifiedDate (epoch seconds): when this value took effect


def get_key_parameter(name: str) -> KeyParameter | None:
    """The parameter's decrypted value, or None if it does not exist."""
    ssm = _client("ssm")
    what = f"reading SSM parameter {name}"
    try:
        found = _call(what, ssm.get_parameter, frozenset({"ParameterNotFound"}), Name=name, WithDecryption=True)
    except _Expected:
        return None
    described = _call(what, ssm.describe_parameters, ParameterFilters=[{"Key": "Name", "Values": [name]}])
    key_id = described["Parameters"][0].get("KeyId") if described["Parameters"] else None
    return KeyParameter(
        found["Parameter"]["Value"], key_id, int(found["Parameter"].get("Version", 0)), _modified(found)
    )


def _modified(found: dict[str, Any]) -> float:
    date = found["Parameter"].get("LastModifiedDate")
    return date.timestamp() if date is not None else 0.0


def get_public_parameter(name: str) -> KeyParameter | None:
    """A String parameter (the public JWK Set), or None if it does not exist."""
    ssm = _client("ssm")
    try:
        found = _call(f"reading SSM parameter {name}", ssm.get_parameter, frozenset({"ParameterNotFound"}), Name=name)
    except _Expected:
        return None
    return KeyParameter(found["Parameter"]["Value"], None, int(found["Parameter"].get("Version", 0)), _modified(found))


def put_public_parameter(name: str, value: str) -> int:
    """Write (or overwrite) the public JWK Set: a String, nothing in it is secret."""
    ssm = _client("ssm")
    answer = _call(
        f"writing SSM parameter {name}", ssm.put_parameter, Name=name, Value=value, Type="String", Overwrite=True
    )
    return int(answer.get("Version", 0))


def put_key_parameter(name: str, value: str, *, overwrite: bool, kms_key_id: str | None = None) -> int:
    """Write the SecureString; returns its new version."""
    args: dict[str, Any] = {"Name": name, "Value": value, "Type": "SecureString", "Overwrite": overwrite}
    if kms_key_id:
        args["KeyId"] = kms_key_id
    ssm = _client("ssm")
    try:
        answer = _call(
            f"writing SSM parameter {name}", ssm.put_parameter, frozenset({"ParameterAlreadyExists"}), **args
        )
    except _Expected:  # created by someone else since we looked: still never overwrite
        raise CliError(f"SSM parameter {name} already exists; use `keys rotate`, or --force to replace it") from None
    return int(answer.get("Version", 0))
