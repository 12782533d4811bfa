"""Which deployment a command acts on: --stack, --local or explicit names, turned into the
environment the layer reads (USERS_TABLE, SESSIONS_TABLE, SIGNING_KEY_PARAMETER, MAIL_QUEUE_URL,
endpoints).

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
# Mail (users send-reset): the request queue and the API's origin that forgot-password puts in
# every request. Only the commands that enqueue need them, so older state files and stacks keep
# working for everything else.
_MAIL_STATE_FIELDS = {"mail_queue": "mail_queue_url", "api_url": "issuer"}
_MAIL_ENV = {"mail_queue": "MAIL_QUEUE_URL", "api_url": "TOKEN_ISSUER"}  # the functions' names
_STACK_MAIL_OUTPUTS = {"mail_queue": "MailQueueUrl", "api_url": "Issuer"}  # no such queue output yet
MAIL_QUEUE_RESOURCE = "MailQueue"  # template.yaml's logical id, for stacks without MailQueueUrl


@dataclass(frozen=True)
class Target:
    where: str  # for messages: "stack auth-prod", "local runner", "explicit names"
    users_table: str
    sessions_table: str
    key_parameter: str
    mail_queue: str = ""  # MAIL_QUEUE_URL: a queue URL, or a queue name (the local runner)
    api_url: str = ""  # what forgot-password passes as the API's origin (the token issuer)
    missing_hint: str = ""  # set when the local runner's state file lacks the mail keys

    def require(self, needs: str) -> None:
        hint = "say where: --stack NAME, --local, or"
        if needs in ("tables", "mail") and not (self.users_table and self.sessions_table):
            raise CliError(f"no tables known from {self.where}; {hint} --users-table and --sessions-table")
        if needs == "key" and not self.key_parameter:
            raise CliError(f"no signing-key parameter known from {self.where}; {hint} --key-parameter")
        if needs == "mail" and self.missing_hint:
            raise CliError(self.missing_hint)
        if needs == "mail" and not (self.mail_queue and self.api_url):
            unknown = " and ".join(
                name for name, value in (("mail queue", self.mail_queue), ("API URL", self.api_url)) if not value
            )
            raise CliError(f"no {unknown} known from {self.where}; {hint} --mail-queue and --api-url")


def _clear_layer_caches() -> None:
    from aws_lambda_powertools.utilities import parameters

    from authlayer.config import get_settings
    from authlayer.dal import dynamo, queue

    get_settings.cache_clear()
    dynamo.client.cache_clear()
    queue.clear_caches()
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
    for key in ("dynamodb_endpoint", "ssm_endpoint", "sqs_endpoint"):
        # --local uses dummy credentials and must never reach anything but this machine.
        if key in state and (not isinstance(state[key], str) or urlsplit(state[key]).hostname not in _LOOPBACK):
            raise CliError(f"{path}: {key} {state[key]} is not on this machine")
    return state


def _local_mail(state: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The mail queue and issuer the state file records, and the mail keys it lacks."""
    present = {k: v for k, v in state.items() if isinstance(v, str) and v}
    mail = {key: present.get(field, "") for key, field in _MAIL_STATE_FIELDS.items()}
    return mail, [k for k in ("sqs_endpoint", *_MAIL_STATE_FIELDS.values()) if k not in present]


def _local_environment(state: dict[str, Any]) -> dict[str, str | None]:
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": state["dynamodb_endpoint"],
        "AWS_ENDPOINT_URL_SSM": state["ssm_endpoint"],
        # Without a recorded SQS endpoint no command that enqueues runs (Target.require), and
        # nothing from the shell may point SQS elsewhere.
        "AWS_ENDPOINT_URL_SQS": state.get("sqs_endpoint"),
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
    mail = {key: os.environ.get(env, "") for key, env in _MAIL_ENV.items()}
    state_lacks: list[str] = []
    where = "the environment"
    state_dir = Path(options.get("state_dir") or DEFAULT_STATE_DIR)
    if local:
        state = _local_state(state_dir)
        _set(_local_environment(state))
        names = {key: state[field] for key, field in _STATE_FIELDS.items()}
        mail, state_lacks = _local_mail(state)
        where = "the local runner"
    if options.get("region"):
        _set({"AWS_DEFAULT_REGION": options["region"], "AWS_REGION": options["region"]})
    if options.get("endpoint_url"):
        url = options["endpoint_url"]
        _set(
            {"AWS_ENDPOINT_URL_DYNAMODB": url, "AWS_ENDPOINT_URL_SSM": url, "AWS_ENDPOINT_URL_SQS": url}
            | {"AWS_ENDPOINT_URL": url}
        )
    if stack:
        outputs = aws.stack_outputs(stack, options.get("region"))
        missing = [o for o in _STACK_OUTPUTS.values() if not outputs.get(o)]
        if missing:
            raise CliError(f"stack {stack} has no output {', '.join(missing)}: is it a sam-refresh-auth stack?")
        names = {key: outputs[output] for key, output in _STACK_OUTPUTS.items()}
        mail = {key: outputs.get(output, "") for key, output in _STACK_MAIL_OUTPUTS.items()}
        if options.get("needs") == "mail" and not (mail["mail_queue"] or options.get("mail_queue")):
            # Only for the commands that enqueue: the template has no output for the queue, and
            # the physical id of an AWS::SQS::Queue is its URL.
            mail["mail_queue"] = aws.stack_resource_id(stack, MAIL_QUEUE_RESOURCE, options.get("region"))
        where = f"stack {stack}"
    explicit = {key: str(options[key]) for key in _LAYER_ENV if options.get(key)}
    explicit_mail = {key: str(options[key]) for key in _MAIL_ENV if options.get(key)}
    if (explicit or explicit_mail) and not (stack or local):
        where = "the names given"
    names.update(explicit)
    mail.update(explicit_mail)
    given = {"sqs_endpoint": "endpoint_url", **{field: key for key, field in _MAIL_STATE_FIELDS.items()}}
    state_lacks = [k for k in state_lacks if not options.get(given[k])]
    # SIGNING_KEY (a PEM) in the shell would shadow the parameter being managed.
    _set(
        {env: names[key] or None for key, env in _LAYER_ENV.items()}
        | {"MAIL_QUEUE_URL": mail["mail_queue"] or None, "SIGNING_KEY": None}
    )
    return Target(
        where,
        names["users_table"],
        names["sessions_table"],
        names["key_parameter"],
        mail_queue=mail["mail_queue"],
        api_url=mail["api_url"].rstrip("/"),
        missing_hint=(
            f"{state_dir / STATE_FILE} lacks {', '.join(state_lacks)}, which commands that send mail need:"
            " restart the local runner (python -m localdev) with a version that records its mail queue"
            if state_lacks
            else ""
        ),
    )


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
