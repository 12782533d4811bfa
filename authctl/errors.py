"""What a command can fail with, and the exit code each failure means."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # not found, refused, invalid input
EXIT_UNAVAILABLE = 2  # DynamoDB, SSM or CloudFormation did not answer (credentials, region, network)
EXIT_USAGE = 64  # bad command line (sysexits EX_USAGE), so 2 keeps meaning "AWS unavailable"


class CliError(Exception):
    """A failure with a message for the operator; never carries a secret."""

    code = EXIT_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CliError):
    pass


class Unavailable(CliError):
    code = EXIT_UNAVAILABLE
