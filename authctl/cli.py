"""authctl: operator commands for sam-refresh-auth (users, sessions, signing keys, Strapi import).

Exit codes: 0 done, 1 failed (not found, refused, invalid input), 2 AWS unavailable, 64 usage.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

from authctl.errors import EXIT_USAGE, CliError, NotFound, Unavailable
from authctl.output import Output, to_json

# Options accepted before or after the command (`authctl --json users list` and
# `authctl users list --json`); their defaults are applied after parsing.
COMMON_DEFAULTS: dict[str, Any] = {
    "stack": None,
    "local": False,
    "state_dir": None,
    "region": None,
    "users_table": None,
    "sessions_table": None,
    "key_parameter": None,
    "endpoint_url": None,
    "mail_queue": None,
    "api_url": None,
    "json": False,
    "verbose": False,
}


# A kid is an RFC 7638 thumbprint: 43 base64url characters, so one in 64 begins with "-".
_KID = re.compile(r"-[A-Za-z0-9_-]{42}")


class _Parser(argparse.ArgumentParser):
    def _parse_optional(self, arg_string: str) -> Any:
        # `keys activate -X5q...`: a thumbprint that begins with "-" is a value, not an unknown
        # option (argparse would make it a usage error; no option of ours has that shape).
        if _KID.fullmatch(arg_string) and arg_string not in self._option_string_actions:
            return None
        return super()._parse_optional(arg_string)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _common() -> argparse.ArgumentParser:
    common = _Parser(add_help=False, argument_default=argparse.SUPPRESS)
    where = common.add_argument_group("target (one of --stack, --local, or the names)")
    where.add_argument("--stack", metavar="NAME", help="a deployed stack: names from its Outputs")
    where.add_argument("--local", action="store_true", help="the local runner (python -m localdev)")
    where.add_argument("--state-dir", metavar="DIR", help="the local runner's --state-dir (.local-state)")
    where.add_argument("--region", help="AWS region (default: the standard AWS configuration)")
    where.add_argument("--users-table", metavar="NAME")
    where.add_argument("--sessions-table", metavar="NAME")
    where.add_argument("--key-parameter", metavar="NAME", help="SSM parameter of the signing keys")
    where.add_argument("--endpoint-url", metavar="URL", help="DynamoDB/SSM/SQS endpoint (moto, LocalStack)")
    where.add_argument("--mail-queue", metavar="URL", help="SQS queue of mail requests (its URL, or its name)")
    where.add_argument("--api-url", metavar="URL", help="the API's origin, as forgot-password puts it in mail requests")
    shown = common.add_argument_group("output")
    shown.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    shown.add_argument("-v", "--verbose", action="store_true", help="the layer's logs on stderr")
    return common


def build_parser() -> argparse.ArgumentParser:
    from authctl.commands import keys, sessions, strapi, users

    common = _common()
    parser = _Parser(prog="authctl", description=__doc__.splitlines()[0], parents=[common])
    groups = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def command(group: Any, name: str, run: Any, needs: str, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(name, parents=[common], help=help_text, description=help_text)
        sub.set_defaults(run=run, needs=needs)
        return sub

    user_group = groups.add_parser(
        "users", help="create, list, show, block, unblock, confirm, delete users; send a reset mail"
    )
    user_cmds = user_group.add_subparsers(metavar="ACTION", required=True)
    create = command(user_cmds, "create", users.create, "tables", "create a user (password prompted)")
    create.add_argument("username")
    create.add_argument("email")
    create.add_argument("--unconfirmed", action="store_true", help="cannot log in until confirmed")
    create.add_argument("--blocked", action="store_true")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    command(user_cmds, "list", users.list_users, "tables", "list all users")
    for name, run, text in (
        ("show", users.show, "show a user"),
        ("block", users.block, "block a user: their sessions end at once"),
        ("unblock", users.unblock, "unblock a user"),
        ("confirm", users.confirm, "mark a user's email confirmed: an unconfirmed user can log in"),
    ):
        command(user_cmds, name, run, "tables", text).add_argument("user", help="username, email or id")
    command(
        user_cmds,
        "send-reset",
        users.send_reset,
        "mail",
        "mail a password reset link, as forgot-password does",
    ).add_argument("user", help="username, email or id")
    delete = command(user_cmds, "delete", users.delete, "tables", "delete a user: their sessions end at once")
    delete.add_argument("user", help="username, email or id")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    set_password = command(
        user_cmds, "set-password", users.set_password, "tables", "set a new password: sessions end at once"
    )
    set_password.add_argument("user", help="username, email or id")
    set_password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    session_group = groups.add_parser("sessions", help="list and revoke a user's sessions")
    session_cmds = session_group.add_subparsers(metavar="ACTION", required=True)
    command(session_cmds, "list", sessions.list_sessions, "tables", "a user's active sessions").add_argument(
        "user", help="username, email or id"
    )
    command(session_cmds, "revoke", sessions.revoke, "tables", "end one session").add_argument("session")
    command(session_cmds, "revoke-all", sessions.revoke_all, "tables", "end all of a user's sessions").add_argument(
        "user", help="username, email or id"
    )

    key_group = groups.add_parser("keys", help="generate, rotate (publish, activate, retire) and list the signing keys")
    key_cmds = key_group.add_subparsers(metavar="ACTION", required=True)
    generate = command(key_cmds, "generate", keys.generate, "key", "create the signing key parameter")
    generate.add_argument("--force", action="store_true", help="replace existing keys (their tokens stop verifying)")
    generate.add_argument("--kms-key-id", metavar="KEY", help="customer managed KMS key of the SecureString")
    command(key_cmds, "rotate", keys.rotate, "key", "publish a new key; it signs after `keys activate` (says when)")
    activate = command(key_cmds, "activate", keys.activate, "key", "the published key signs (10 minutes after rotate)")
    activate.add_argument("kid", nargs="?", help="the key to activate (default: the one published key)")
    activate.add_argument("--force", action="store_true", help="do not wait (tokens it signs may be refused meanwhile)")
    retire = command(key_cmds, "retire", keys.retire, "key", "drop a published key once the tokens it signed expired")
    retire.add_argument("kid", nargs="?", help="the key to retire (default: every key but the signing one)")
    prune = command(key_cmds, "prune", keys.retire, "key", "drop all keys but the signing one (retire them all)")
    for sub in (retire, prune):
        sub.add_argument("--force", action="store_true", help="do not wait (tokens they signed stop verifying)")
        sub.add_argument("--access-token-ttl", metavar="TTL", help="AccessTokenTtl of the stack (default 15m)")
    prune.set_defaults(kid=None)
    command(key_cmds, "list", keys.list_keys, "key", "kid, role and size of each key; whether the JWKS is in sync")
    command(key_cmds, "sync-jwks", keys.sync_jwks, "key", "write the public JWK Set parameter from the keys")

    strapi_cmd = command(groups, "import-strapi", strapi.import_strapi, "tables", "import users from a Strapi export")
    strapi_cmd.description = strapi.HELP
    strapi_cmd.formatter_class = argparse.RawDescriptionHelpFormatter
    strapi_cmd.add_argument("file", help='JSON: a list of users or {"data": [...]}')
    return parser


@contextlib.contextmanager
def _layer_errors() -> Iterator[None]:
    """The layer's exceptions as the operator's messages and exit codes (one place)."""
    from authlayer import errors
    from authlayer.config import ConfigError
    from authlayer.keys import KeyConfigError

    try:
        yield
    except errors.ServiceUnavailableError:
        raise Unavailable(
            "AWS unavailable: DynamoDB did not answer (credentials, region, endpoint, table names?"
            " --verbose shows the error code)"
        ) from None
    except errors.NotFoundError as error:
        raise NotFound(error.message) from None
    except errors.AuthError as error:
        raise CliError(error.message) from None
    except (ConfigError, KeyConfigError) as error:
        raise CliError(str(error)) from None


@contextlib.contextmanager
def _layer_logs(verbose: bool) -> Iterator[None]:
    """The layer logs JSON to stdout for CloudWatch; here stdout is the command's answer."""
    from authlayer.observability import logger

    handler: Any = logger.registered_handler
    level, stream = logger.log_level, handler.stream
    logger.setLevel("INFO" if verbose else "CRITICAL")
    handler.setStream(sys.stderr)
    try:
        yield
    finally:
        logger.setLevel(level)
        handler.setStream(stream)


def _print(output: Output, as_json: bool) -> None:
    if as_json:
        print(to_json(output.data))
    else:
        print(output.text)
        for note in output.notes:
            print(f"note: {note}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    from authctl import target

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, or a usage error (EXIT_USAGE)
        return int(done.code or 0)
    for name, default in COMMON_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    try:
        with _layer_logs(args.verbose), _layer_errors(), target.configured(vars(args)) as where:
            where.require(args.needs)
            args.target = where  # for commands that need more than the layer's environment
            output = args.run(args)
    except CliError as error:
        print(f"authctl: {error.message}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("authctl: interrupted", file=sys.stderr)
        return 130
    _print(output, args.json)
    return output.code


if __name__ == "__main__":
    sys.exit(main())
