"""The embedded AWS: a moto server with the template's tables and queues, the signing key, a
verified mail sender and a demo user."""

from __future__ import annotations

import os
import secrets
import sys
import traceback
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.server import ThreadedMotoServer

from localdev.atomic import make_moto_atomic
from localdev.settings import aws_environment
from localdev.template import REGION, create_queues, create_tables

DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@example.com"


def start_moto(host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadedMotoServer, str]:
    """Port 0 lets the OS pick a free port, so two runners (or a runner and tests) never clash."""
    make_moto_atomic()  # conditional writes race-free, as on AWS
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    _, actual_port = server.get_host_and_port()
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - a comparison
    return server, f"http://{connect_host}:{actual_port}"


def client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def generate_signing_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def jwks_parameter_name(signing_key_parameter: str) -> str:
    from authlayer import jwks  # noqa: PLC0415 - the layer, only where a key is provisioned

    return jwks.parameter_name_for(signing_key_parameter)


def write_public_jwks(endpoint: str, signing_key_parameter: str, pem: str) -> None:
    """The public JWK Set in its own String parameter, as `authctl keys` writes it (authlayer.jwks)."""
    from authlayer import jwks, keys  # noqa: PLC0415 - the layer, only where a key is provisioned

    client("ssm", endpoint).put_parameter(
        Name=jwks.parameter_name_for(signing_key_parameter),
        Value=jwks.document(keys.parse_key_set(pem)),
        Type="String",
        Overwrite=True,
    )


@dataclass(frozen=True)
class Provisioned:
    tables: list[str]
    queues: list[str]


def _has_parameter(ssm: Any, name: str) -> bool:
    try:
        ssm.get_parameter(Name=name)
    except ssm.exceptions.ParameterNotFound:
        return False
    return True


def provision(
    endpoint: str,
    template: Mapping[str, Any],
    signing_key_parameter: str,
    mail_from: str = "",
    load_state: Callable[[], None] = lambda: None,
) -> Provisioned:
    """Tables and queues from the template, then `load_state` (what the last run kept), a fresh
    signing key in SSM where the functions look for it unless one was kept, and MAIL_FROM
    verified in SES (which refuses any other sender, as on AWS)."""
    tables = create_tables(client("dynamodb", endpoint), template)
    queues = create_queues(client("sqs", endpoint), template)
    load_state()
    ssm = client("ssm", endpoint)
    # A kept key keeps every access token of the last run valid.
    if signing_key_parameter and not _has_parameter(ssm, signing_key_parameter):
        pem = generate_signing_key()
        write_public_jwks(endpoint, signing_key_parameter, pem)  # published before anything signs
        ssm.put_parameter(Name=signing_key_parameter, Value=pem, Type="SecureString", Overwrite=True)
    elif signing_key_parameter and not _has_parameter(ssm, jwks_parameter_name(signing_key_parameter)):
        # A kept key without its public set (state from an older runner): publish the kept keys.
        kept = ssm.get_parameter(Name=signing_key_parameter, WithDecryption=True)["Parameter"]["Value"]
        write_public_jwks(endpoint, signing_key_parameter, kept)
    if mail_from:
        client("sesv2", endpoint).create_email_identity(EmailIdentity=mail_from)
    return Provisioned(tables, queues)


@contextmanager
def _process_environment(env: Mapping[str, str]):
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def create_demo_user(
    endpoint: str,
    function_env: Mapping[str, str],
    layers: tuple[Path, ...],
    password: str | None = None,
    kept_password: str | None = None,
) -> str | None:
    """Create the demo user through the layer itself, so its hash and items are the real ones.

    Returns the password, or None (with a warning) when the layer cannot do it yet. A demo user
    kept from the last run stays as it is: then the result is `kept_password`, its password.
    """
    password = password or kept_password or secrets.token_urlsafe(12)
    for path in reversed(layers):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    with _process_environment({**function_env, **aws_environment(endpoint)}):
        try:
            from authlayer.accounts import create_user  # noqa: PLC0415 - the layer is on sys.path only now
            from authlayer.dal.users import AlreadyTaken  # noqa: PLC0415
        except ImportError as exc:
            print(f"warning: no demo user ({exc})", file=sys.stderr)
            return None
        try:
            # Confirmed even with EMAIL_CONFIRMATION=true: the printed login must work at once.
            create_user(DEMO_USERNAME, DEMO_EMAIL, password, confirmed=True)
        except AlreadyTaken:
            if kept_password is None:
                print("warning: the demo user was kept, not its password (make dev-clean resets it)", file=sys.stderr)
            elif password != kept_password:
                print("note: DEMO_PASSWORD does not apply to the kept demo user (make dev-clean)", file=sys.stderr)
            return kept_password
        except Exception:  # the runner stays useful (register works) while the layer is being fixed
            traceback.print_exc()
            print("warning: no demo user (create_user failed)", file=sys.stderr)
            return None
    return password
