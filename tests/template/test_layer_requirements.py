"""shared/requirements.txt (what `sam build` installs into the layer) is checked in, so a plain
`sam build` works from a clone; it must be exactly what uv.lock gives (`make requirements`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ["export", "--no-dev", "--no-hashes", "--no-emit-project", "--frozen", "--prune", "boto3", "--quiet"]


def _uv() -> str:
    bootstrapped = ROOT / ".tools" / "uv" / "bin" / "uv"
    found = str(bootstrapped) if bootstrapped.is_file() else shutil.which("uv")
    if not found:
        pytest.skip("uv not found (make bootstraps it in .tools/uv)")
    return found


def _body(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("#    uv export") and line.strip()]


def test_layer_requirements_match_uv_lock() -> None:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_OFFLINE": "1"}
    exported = subprocess.run(
        [_uv(), *EXPORT], cwd=ROOT, capture_output=True, text=True, check=True, env=env
    ).stdout
    checked_in = (ROOT / "shared" / "requirements.txt").read_text()
    assert _body(checked_in) == _body(exported), "shared/requirements.txt is stale: run `make requirements`"


def test_layer_leaves_boto3_to_the_lambda_runtime() -> None:
    names = {line.split("==")[0] for line in _body((ROOT / "shared" / "requirements.txt").read_text())}
    assert not names & {"boto3", "botocore", "s3transfer"}
    assert {"pyjwt", "cryptography", "pydantic", "argon2-cffi", "bcrypt", "aws-lambda-powertools"} <= names
