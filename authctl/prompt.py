"""Asking the operator: new passwords (never on the command line) and confirmations."""

from __future__ import annotations

import getpass
import sys

from authctl.errors import CliError
from authlayer.models import MAX_PASSWORD

MIN_PASSWORD = 8  # the same floor as registration (ASVS 5.0 6.2.1)


def new_password(from_stdin: bool) -> str:
    """From one line of stdin (scripts), else typed twice without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise CliError("--password-stdin: stdin is empty")
        password = line.removesuffix("\n").removesuffix("\r")  # kept exactly as typed otherwise
    else:
        try:
            password = getpass.getpass("New password: ")
            if password != getpass.getpass("Repeat it: "):
                raise CliError("the passwords do not match")
        except (EOFError, KeyboardInterrupt):
            raise CliError("no password given (use --password-stdin in scripts)") from None
    if len(password) < MIN_PASSWORD:
        raise CliError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise CliError(f"the password must have at most {MAX_PASSWORD} characters")
    if "\x00" in password:
        raise CliError("the password must not contain NUL characters")
    return password


def confirm(question: str, expected: str, assume_yes: bool) -> None:
    """Proceed if --yes, or if the operator types ``expected``; without a terminal, --yes is required."""
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise CliError("no terminal to confirm on: pass --yes")
    try:
        answer = input(f"{question} Type {expected!r} to confirm: ")
    except (EOFError, KeyboardInterrupt):
        answer = ""
    if answer.strip() != expected:
        raise CliError("not confirmed; nothing changed")
