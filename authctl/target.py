"""Which deployment a command acts on: --stack, --local or explicit names, turned into the
environment the layer reads (USERS_TABLE, SESSIONS_TABLE, SIGNING_KEY_PARAMETER, endpoints).

The layer caches its settings and its DynamoDB client, so the environment is set first and the
caches are cleared; both are restored afterwards (tests call ``main`` many times in one process).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from authctl import aws
from authctl.errors import CliError

STATE_FILE = "authctl.json"  # written by the local runner (python -m localdev) into its --state-dir
DEFAULT_STATE_DIR = Path(".local-state")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_LAYER_ENV = {
    "users_table": "USERS_TABLE",
    "sessions_table": "SESSIONS_TABLE",
    "key_parameter": "SIGNING_KEY_PARAMETER",
}
_STATE_FIELDS = {
    "users_table": "users_table",
    "sessions_table": "sessions_table",
    "key_parameter": "signing_key_parameter",
}
_STACK_OUTPUTS = {
    "users_table": "UsersTableName",
    "sessions_table": "SessionsTableName",
    "key_parameter": "SigningKeyParameter",
}


@dataclass(frozen=True)
class Target:
    where: str  # for messages: "stack auth-prod", "local runner", "explicit names"
    users_table: str
    sessions_table: str
    key_parameter: str

    def require(self, needs: str) -> None:
        hint = "say where: --stack NAME, --local, or"
        if needs == "tables" and not (self.users_table and self.sessions_table):
            raise CliError(f"no tables known from {self.where}; {hint} --users-table and --sessions-table")
        if needs == "key" and not self.key_parameter:
            raise CliError(f"no signing-key parameter known from {self.where}; {hint} --key-parameter")


def _clear_layer_caches() -> None:
    from aws_lambda_powertools.utilities import parameters

    from authlayer.config import get_settings
    from authlayer.dal import dynamo

    get_settings.cache_clear()
    dynamo.client.cache_clear()
    parameters.clear_caches()


def _local_state(state_dir: Path) -> dict[str, Any]:
    path = state_dir / STATE_FILE
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        raise CliError(f"{path} not found: is the local runner (python -m localdev) running?") from None
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read {path}: {error}") from None
    keys = (
        "region",
        "dynamodb_endpoint",
        "ssm_endpoint",
        "users_table",
        "sessions_table",
        "signing_key_parameter",
    )
    missing = [k for k in keys if not isinstance(state.get(k), str) or not state[k]]
    if missing:
        raise CliError(f"{path} lacks {', '.join(missing)}")
    for key in ("dynamodb_endpoint", "ssm_endpoint"):
        # --local uses dummy credentials and must never reach anything but this machine.
        if urlsplit(state[key]).hostname not in _LOOPBACK:
            raise CliError(f"{path}: {key} {state[key]} is not on this machine")
    return state


def _local_environment(state: dict[str, Any]) -> dict[str, str | None]:
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": state["dynamodb_endpoint"],
        "AWS_ENDPOINT_URL_SSM": state["ssm_endpoint"],
        "AWS_DEFAULT_REGION": state["region"],
        "AWS_REGION": state["region"],
        # moto accepts any credentials; the operator's real ones stay out of it.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _set(env: dict[str, str | None]) -> None:
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _configure(options: dict[str, Any]) -> Target:
    stack, local = options.get("stack"), options.get("local")
    if stack and local:
        raise CliError("choose one of --stack and --local")
    names = {key: os.environ.get(env, "") for key, env in _LAYER_ENV.items()}
    where = "the environment"
    if local:
        state = _local_state(Path(options.get("state_dir") or DEFAULT_STATE_DIR))
        _set(_local_environment(state))
        names = {key: state[field] for key, field in _STATE_FIELDS.items()}
        where = "the local runner"
    if options.get("region"):
        _set({"AWS_DEFAULT_REGION": options["region"], "AWS_REGION": options["region"]})
    if options.get("endpoint_url"):
        url = options["endpoint_url"]
        _set({"AWS_ENDPOINT_URL_DYNAMODB": url, "AWS_ENDPOINT_URL_SSM": url, "AWS_ENDPOINT_URL": url})
    if stack:
        outputs = aws.stack_outputs(stack, options.get("region"))
        missing = [o for o in _STACK_OUTPUTS.values() if not outputs.get(o)]
        if missing:
            raise CliError(f"stack {stack} has no output {', '.join(missing)}: is it a sam-refresh-auth stack?")
        names = {key: outputs[output] for key, output in _STACK_OUTPUTS.items()}
        where = f"stack {stack}"
    explicit = {key: str(options[key]) for key in _LAYER_ENV if options.get(key)}
    if explicit and not (stack or local):
        where = "the names given"
    names.update(explicit)
    # SIGNING_KEY (a PEM) in the shell would shadow the parameter being managed.
    _set({env: names[key] or None for key, env in _LAYER_ENV.items()} | {"SIGNING_KEY": None})
    return Target(where, names["users_table"], names["sessions_table"], names["key_parameter"])


@contextlib.contextmanager
def configured(options: dict[str, Any]) -> Iterator[Target]:
    """Point the layer at the target for the duration of one command, then put everything back."""
    saved = dict(os.environ)
    try:
        target = _configure(options)
        _clear_layer_caches()
        yield target
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _clear_layer_caches()
