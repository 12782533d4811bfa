"""Settings of a local run: template defaults < local defaults < the shell's environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from localdev.template import REGION, Function

LOCAL_WEB_ORIGINS = (
    "http://localhost:5173",
    "http://127.0.0.1:5173",
    "http://localhost:8080",
    "http://127.0.0.1:8080",
)
# From the host only what a process needs to run; no AWS_PROFILE or real credentials can leak in.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")


def own_origins(port: int) -> list[str]:
    return [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]


def overrides(port: int, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Env-var-named settings that replace the template's defaults in a local run.

    Plain http needs COOKIE_SECURE=false (browsers drop Secure cookies there). The runner's own
    origins are always allowed, even with ALLOWED_ORIGINS set, because the web/ app it serves posts
    with an Origin header to its own origin. Mailed links lead to that app too: it reads a reset
    ?code= at its root and shows ?emailConfirmed=true. EMAIL_CONFIRMATION keeps the template's
    default (off), so registering locally logs in at once as it does deployed by default.
    """
    own = f"http://127.0.0.1:{port}"
    values = {
        "COOKIE_SECURE": "false",
        "ALLOWED_ORIGINS": ",".join(LOCAL_WEB_ORIGINS),
        "TOKEN_ISSUER": own,
        "RESET_PASSWORD_URL": f"{own}/",
        "EMAIL_CONFIRMATION_REDIRECT": f"{own}/?emailConfirmed=true",
    }
    values.update(environ)
    origins = [o.strip() for o in values["ALLOWED_ORIGINS"].split(",") if o.strip()]
    values["ALLOWED_ORIGINS"] = ",".join(dict.fromkeys([*origins, *own_origins(port)]))
    return values


def aws_environment(endpoint: str) -> dict[str, str]:
    """What points boto3 at the embedded moto server, and only there.

    AWS_ENDPOINT_URL catches any service besides DynamoDB and SSM; dummy credentials, no config
    files and no instance metadata mean no request can ever reach real AWS.
    """
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ENDPOINT_URL_SSM": endpoint,
        "AWS_ENDPOINT_URL_SQS": endpoint,
        "AWS_ENDPOINT_URL_SESV2": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def worker_environment(
    function: Function, endpoint: str, environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """A Lambda-like environment: the function's variables plus what the runtime sets."""
    env = {name: environ[name] for name in _INHERITED if name in environ}
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
            "LAMBDA_TASK_ROOT": str(function.code_uri),
            "_HANDLER": function.handler,
            # What sam local sets: Powertools then disables X-Ray tracing instead of sending segments.
            "AWS_SAM_LOCAL": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(function.environment)
    # After the template's variables: an empty AWS_ENDPOINT_URL_DYNAMODB declared there (so that
    # sam local's --env-vars can set it) must not unset the embedded moto server.
    env.update(aws_environment(endpoint))
    return env
