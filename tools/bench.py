"""`make bench`: cold starts and warm CPU of the built functions, as ratios measured in one run.

    .venv/bin/python tools/bench.py [--build-dir .aws-sam/build] [--python .tools/smoke-venv/bin/python]
                                    [--runs 11] [--markdown docs/bench.md]

These machines are noisy, so every figure is a ratio to a reference measured in the same run:
- cold start of each handler: a fresh python3.11 with nothing but boto3 (the Lambda runtime),
  Lambda's sys.path (function code, then the built layer), imports the handler and serves its
  first request; ratio to the floor, a fresh process that imports boto3 and creates a DynamoDB
  client. Median of --runs runs each, interleaved so that drifts hit every row alike.
- warm refresh, login and me: CPU per request (time.process_time over many requests) and the
  DynamoDB requests each makes; refresh and me against one RS256 signature, login against one
  bare argon2 verify with the stored hash's parameters, each reference timed in the same process,
  in alternating blocks; the ratio is the median of the per-block ratios.
- make dev's kept state (tools/bench_state.py): restart time by state size, and a warm refresh's
  latency over HTTP with the journal and without;
- the built layer's size, and, as a reference line, what Powertools Tracer (aws-xray-sdk) would
  add to a cold start (no handler may import it: checked on every cold run).

AWS is stubbed in-process (tools/bench_stub.py, a botocore before-call hook with canned answers);
AWS_ENDPOINT_URL points at a closed loopback port, so a call the stub missed fails instead of
leaving the machine. The arm64 layer runs on x86_64 through the smoke test's "host twin" (same
files, the five native distributions swapped for this machine's wheels of the same versions).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "shared"))

import bench_state  # noqa: E402  (make dev's kept state: restart and per-write cost)
import cost_model  # noqa: E402  (capacity units per flow and what they cost: issue 17)
import smoke_built  # noqa: E402  (host twin, template reading, sizes: one implementation)

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase"
DOMAIN = "abc123.execute-api.us-east-1.amazonaws.com"  # the events' domainName
ORIGIN = "https://app.example.com"  # the refresh/logout events' Origin
# Which event of events/ each handler serves (the common, successful path).
EVENTS = {
    "login": "login.json",
    "register": "register.json",
    "refresh": "refresh.json",
    "me": "me.json",
    "keys": "jwks.json",
    "logout": "logout.json",
    "sessions": "sessions-list.json",
    "change_password": "change-password.json",
    "mail_request": "forgot-password.json",
    "mailer": "mailer-sqs.json",
    "reset_password": "reset-password.json",
    "email_confirmation": "email-confirmation.json",
    "authorizer": "authorizer-request.json",  # SessionAuthorizerFunction (AppApi's LiveSession)
    "whoami": "whoami.json",  # the example of your own function behind the JWT authorizer
}
WARM = ("refresh", "login", "me", "authorizer", "whoami")
# The authorizer judges requests of other APIs: its AUTH_API_ORIGIN is AuthApi's URL, here the events' domain.
FUNCTION_ENV = {"authorizer": {"AUTH_API_ORIGIN": f"https://{DOMAIN}"}}
# Modules that tell what a cold start paid for (reported per handler).
HEAVY = [
    "pydantic",
    "argon2",
    "bcrypt",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "jwt",
    "jwt.algorithms",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.utilities.parameters",
    "aws_xray_sdk",
]
# Powertools' package __init__ always imports its tracing module, but that one loads aws-xray-sdk
# lazily, when a Tracer is made: aws_xray_sdk in sys.modules is what says a Tracer was used.
FORBIDDEN = ("aws_xray_sdk",)

# Runs in the fresh process. T0 is taken before anything else; python's own start-up (the same
# for every row, and Lambda's runtime has its own) is not counted.
CHILD = r"""
import time
T0 = time.perf_counter()
import sys
mode, task, layer, stubdir, event_path, out_path = sys.argv[1:7]
sys.path[:0] = [task, layer]
sys.path.append(stubdir)

class Context:
    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 10000

if mode == "floor":
    import boto3
    boto3.client("dynamodb")
    seconds = time.perf_counter() - T0
    import json
    json.dump({"seconds": seconds}, open(out_path, "w"))
    sys.exit(0)

import importlib, json
with open(event_path) as f:  # json and importlib: every handler imports them anyway
    event_text = f.read()
module_name, func_name = sys.argv[7].rsplit(".", 1)
handler = getattr(importlib.import_module(module_name), func_name)
answer = handler(json.loads(event_text), Context())
seconds = time.perf_counter() - T0
import bench_stub
def status_of(answer):  # an SQS batch: 200 if none failed; an authorizer: 200 if it allowed
    if "isAuthorized" in answer:
        return 200 if answer["isAuthorized"] else 403
    return answer.get("statusCode", 500 if answer.get("batchItemFailures") else 200)
def peak_rss_kib():  # VmHWM: getrusage's ru_maxrss would keep the parent's peak across execve
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
result = {
    "seconds": seconds,
    "status": status_of(answer),
    "max_rss_kib": peak_rss_kib(),
    "first_calls": list(bench_stub.CALLS),
    "modules": len(sys.modules),
    "loaded": [m for m in json.loads(sys.argv[8]) if m in sys.modules],
}
if mode == "warm":
    import base64, gc
    fixtures = json.load(open(__import__("os").environ["BENCH_FIXTURES"]))
    bench_stub.CALLS.clear()
    answer = handler(json.loads(event_text), Context())
    result["warm_status"] = status_of(answer)
    result["calls"] = [c for c in bench_stub.CALLS]
    per_block, blocks = int(sys.argv[9]), int(sys.argv[10])
    if module_name == "login":
        from argon2 import PasswordHasher, extract_parameters
        stored = fixtures["password_hash"]
        bare = PasswordHasher.from_parameters(extract_parameters(stored))
        def reference():
            bare.verify(stored, fixtures["password"])
    else:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
        key = serialization.load_pem_private_key(fixtures["pem"].encode(), password=None)
        signing_input = fixtures["signing_input"].encode()
        def reference():
            key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    events = [json.loads(event_text) for _ in range(per_block)]
    ctx = Context()
    handler_cpu, reference_cpu = [], []
    gc.collect()
    for _ in range(blocks):  # alternate blocks: both sides see the same machine state
        t = time.process_time()
        for e in events:
            handler(e, ctx)
        handler_cpu.append(time.process_time() - t)
        t = time.process_time()
        for _ in range(per_block):
            reference()
        reference_cpu.append(time.process_time() - t)
    import statistics
    n = per_block * blocks
    result["cpu_per_request"] = sum(handler_cpu) / n
    result["reference_cpu"] = sum(reference_cpu) / n
    # The ratio of each block to its neighbour reference, then the median: a burst of noise
    # (another process, a GC pass) spoils one block, not the figure.
    result["ratio"] = statistics.median(h / r for h, r in zip(handler_cpu, reference_cpu))
    result["requests"] = n
json.dump(result, open(out_path, "w"))
"""


def _jsonable(value: Any) -> Any:
    """bytes -> {"$b64": ...} (undone by bench_stub), recursively."""
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def make_fixtures(env: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Canned AWS answers for a demo user with one live session, and the tokens the events carry."""
    # The project's own code builds the items and tokens, so they are exactly what it reads back.
    from authlayer import access_tokens, jwks, passwords
    from authlayer.config import Settings
    from authlayer.dal.sessions import _item as session_item
    from authlayer.dal.users import user_item
    from authlayer.keys import generate_private_key_pem, parse_key_set
    from authlayer.models import Session, User, iso
    from authlayer.refresh_tokens import new_session_id, new_token

    now = int(time.time())
    pem = generate_private_key_pem()
    keys = parse_key_set(pem)
    password_hash = passwords.hash_password(PASSWORD)
    user = User(
        id="0b7c6a52-3b0e-4d38-9a3e-0d7d3f3c1a11",
        username="demo",
        email="demo@example.com",
        password_hash=password_hash,
        created_at=iso(now - 86400),
        updated_at=iso(now - 86400),
    )
    token = new_token(new_session_id(), user.id)
    session = Session(
        id=token.session_id,
        user_id=user.id,
        token_hash=token.hash,
        nonce=b"",
        rotated_at=now - 60,
        created_at=(now - 3600) * 1000,
        last_used_at=now - 60,
        idle_expires_at=now + 86400,
        absolute_expires_at=now + 20 * 86400,
        user_agent="curl/8.5.0",
        ip="203.0.113.10",
    )
    settings = Settings(
        users_table=env["USERS_TABLE"],
        sessions_table=env["SESSIONS_TABLE"],
        token_audience=env.get("TOKEN_AUDIENCE") or "sam-refresh-auth",
        access_token_ttl=24 * 3600,  # outlives the bench
    )
    jwt = access_tokens.issue(settings, keys, f"https://{DOMAIN}", user.id, session.id)
    # The one-time codes of the reset and confirmation events, live for the demo user.
    from authlayer.dal import dynamo
    from authlayer.one_time_codes import code_hash

    code_items: dict[str, Any] = {}
    codes_of_user: dict[str, Any] = {}
    for event_file, field, purpose in (
        ("reset-password.json", "code", "reset"),
        ("email-confirmation.json", "confirmation", "confirm"),
    ):
        event = json.loads((ROOT / "events" / event_file).read_text())
        code = json.loads(event["body"])[field] if "body" in event else event["queryStringParameters"][field]
        hashed = code_hash(code)
        codes_of_user[f"{purpose}_code"] = hashed
        item = {"pk": f"CODE#{hashed}", "user_id": user.id, "purpose": purpose, "expires_at": now + 3600}
        code_items[f"GetItem:CODE#{hashed}"] = {"Item": dynamo.to_item(item)}
    user_record, session_record = user_item(user), session_item(session)
    email_guard = dynamo.to_item({"pk": f"EMAIL#{user.email}", "user_id": user.id})
    user_record.update(dynamo.to_item(codes_of_user))
    responses = {
        "GetParameter": {
            "Parameter": {"Name": env["SIGNING_KEY_PARAMETER"], "Type": "SecureString", "Value": pem, "Version": 1}
        },
        f"GetParameter:{jwks.parameter_name_for(env['SIGNING_KEY_PARAMETER'])}": {
            "Parameter": {
                "Name": jwks.parameter_name_for(env["SIGNING_KEY_PARAMETER"]),
                "Type": "String",
                "Value": jwks.document(keys),
                "Version": 1,
            }
        },
        "GetItem": {"Item": session_record},
        f"GetItem:USER#{user.id}": {"Item": user_record},
        **code_items,
        "GetQueueUrl": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/MailQueue"},
        "SendMessage": {"MessageId": "5fea7756-0ea4-451a-a703-a558b933e274"},
        "SendEmail": {"MessageId": "0100018c-bench"},
        "BatchGetItem": {
            # me reads the user (the first item); login reads the uniqueness guards (by key).
            "Responses": {env["SESSIONS_TABLE"]: [session_record], env["USERS_TABLE"]: [user_record, email_guard]},
            "UnprocessedKeys": {},
        },
        "Query:by-email": {"Items": [user_record], "Count": 1, "ScannedCount": 1},
        "Query:by-username": {"Items": [user_record], "Count": 1, "ScannedCount": 1},
        # KEYS_ONLY: the list reads the session items by key (the BatchGetItem above)
        "Query:by-user-keys": {
            "Items": [{k: session_record[k] for k in ("pk", "user_id", "created_at")}],
            "Count": 1,
            "ScannedCount": 1,
        },
        "UpdateItem": {"Attributes": user_record},  # login's attempt counter returns the user (ALL_NEW)
        "PutItem": {},
        "TransactWriteItems": {},
    }
    header_payload = jwt.rsplit(".", 1)[0]  # what the reference RS256 signature signs
    fixtures = {
        "responses": _jsonable(responses),
        "pem": pem,
        "password": PASSWORD,
        "password_hash": password_hash,
        "signing_input": header_payload,
    }
    return fixtures, {"REPLACE_WITH_REFRESH_TOKEN": str(token), "REPLACE_WITH_ACCESS_TOKEN": jwt}


def child_env(fn: smoke_built.BuiltFunction | None, extra: dict[str, str], fixtures_path: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        **(fn.environment if fn else {}),
        **extra,
        "ALLOWED_ORIGINS": ORIGIN,  # the refresh/logout events come from this origin
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
        # Safety net: a call the stub did not answer goes to a closed loopback port and fails.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "BOTOCORE_EXPERIMENTAL__PLUGINS": "bench=bench_stub",
        "BENCH_FIXTURES": str(fixtures_path),
        "AWS_LAMBDA_FUNCTION_NAME": fn.logical_id if fn else "floor",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "PYTHONDONTWRITEBYTECODE": "1",  # /opt and /var/task are read-only on Lambda
    }
    if fn:
        env["LAMBDA_TASK_ROOT"] = str(fn.code_dir)
    return env


def run_child(
    python: str,
    mode: str,
    fn: smoke_built.BuiltFunction | None,
    layer: Path,
    workdir: Path,
    env: dict[str, str],
    extra: list[str] | None = None,
) -> dict[str, Any]:
    out = workdir / "out.json"
    out.unlink(missing_ok=True)
    name = fn.handler.split(".")[0] if fn else "floor"
    argv = [
        python,
        "-I",
        "-c",
        CHILD,
        mode,
        str(fn.code_dir) if fn else str(workdir),
        str(layer),
        str(workdir / "stub"),
        str(workdir / f"{name}.event.json"),
        str(out),
        fn.handler if fn else "-",
        json.dumps(HEAVY),
        *(extra or []),
    ]
    completed = subprocess.run(  # noqa: S603 - our python, our paths
        argv,
        env=env,
        cwd=str(fn.code_dir) if fn else str(workdir),
        stdout=subprocess.DEVNULL,  # Powertools logs and EMF metrics: Lambda would ship them too
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0 or not out.is_file():
        raise SystemExit(f"bench: {name} ({mode}) failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def tracer_reference(venv_python: str, runs: int) -> tuple[float, float] | None:
    """Median seconds of (boto3 + DynamoDB client) and of importing Powertools Tracer's stack, in the
    project's venv (the layer does not ship aws-xray-sdk): what Tracer would cost a cold start."""
    probe = "import importlib.util,sys; sys.exit(0 if importlib.util.find_spec('aws_xray_sdk') else 1)"
    if subprocess.run([venv_python, "-c", probe], check=False).returncode != 0:  # noqa: S603
        return None
    code = {
        "floor": "import boto3; boto3.client('dynamodb', region_name='us-east-1')",
        "tracer": "import aws_lambda_powertools.tracing, aws_xray_sdk.core",
    }
    timed = "import time; t=time.perf_counter(); {0}; print(time.perf_counter()-t)"
    samples: dict[str, list[float]] = {"floor": [], "tracer": []}
    env = {"PATH": os.environ.get("PATH", ""), "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "PYTHONDONTWRITEBYTECODE": "1"}
    for _ in range(runs):
        for name, body in code.items():
            out = subprocess.run(  # noqa: S603
                [venv_python, "-I", "-c", timed.format(body)], env=env, capture_output=True, text=True, check=True
            )
            samples[name].append(float(out.stdout.strip()))
    return statistics.median(samples["floor"]), statistics.median(samples["tracer"])


def fmt_ratio(value: float, target: float | None) -> tuple[str, str, str]:
    if target is None:
        return f"{value:.2f}x", "", ""
    return f"{value:.2f}x", f"<= {target:g}x", "yes" if value <= target else "**NO**"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    parser.add_argument("--python", default=str(ROOT / ".tools" / "smoke-venv" / "bin" / "python"))
    parser.add_argument("--uv", default=shutil.which("uv") or str(ROOT / ".tools" / "uv" / "bin" / "uv"))
    parser.add_argument("--runs", type=int, default=11, help="cold starts per handler (median; at least 9)")
    parser.add_argument("--warm-blocks", type=int, default=25, help="alternating blocks per warm measure")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of every handler process, to measure a template setting before adding it",
    )
    parser.add_argument("--markdown", type=Path, help="also write the table here (docs/bench.md)")
    parser.add_argument(
        "--state-sizes", default="0,2500,5000,10000", help="users (and sessions) per make dev restart; '' skips"
    )
    args = parser.parse_args(argv)
    if args.runs < 9:
        parser.error("--runs must be at least 9")
    extra_env = dict(item.split("=", 1) for item in args.env)
    python = os.path.abspath(args.python)  # children run with cwd = the function's folder
    build_dir = args.build_dir.resolve()
    if not (build_dir / "template.yaml").is_file():
        raise SystemExit(f"{build_dir}/template.yaml not found: run `make build` first")
    template, functions = smoke_built.built_functions(build_dir)
    built_layer, arch = smoke_built.layer_dir(build_dir, template)
    by_name = {fn.handler.split(".")[0]: fn for fn in functions}
    missing = set(EVENTS) - set(by_name)
    if missing:
        raise SystemExit(f"bench: no built function for {sorted(missing)}")

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "stub").mkdir()
        shutil.copy(Path(__file__).with_name("bench_stub.py"), workdir / "stub" / "bench_stub.py")
        layer = built_layer if arch == smoke_built.HOST_ARCH else smoke_built.host_twin(built_layer, workdir, args.uv)
        env0 = functions[0].environment
        fixtures, placeholders = make_fixtures(env0)
        fixtures_path = workdir / "fixtures.json"
        fixtures_path.write_text(json.dumps(fixtures))
        for name, event_file in EVENTS.items():
            text = (ROOT / "events" / event_file).read_text()
            for placeholder, value in placeholders.items():
                text = text.replace(placeholder, value)
            (workdir / f"{name}.event.json").write_text(text)

        # --- cold starts, interleaved -------------------------------------------------------
        order: list[str] = ["floor", *EVENTS]
        cold: dict[str, list[float]] = {name: [] for name in order}
        info: dict[str, dict[str, Any]] = {}
        print(f"cold starts: {args.runs} runs x {len(order)} processes ({python})", file=sys.stderr)
        for _ in range(args.runs):
            for name in order:
                fn = by_name.get(name)
                env = child_env(fn, env0 if fn is None else {**extra_env, **FUNCTION_ENV.get(name, {})}, fixtures_path)
                result = run_child(python, "floor" if fn is None else "cold", fn, layer, workdir, env)
                cold[name].append(result["seconds"])
                if fn is None:
                    continue
                if not isinstance(result["status"], int) or result["status"] >= 400:  # 302: confirmation
                    raise SystemExit(f"bench: {name} answered {result['status']} (calls {result['first_calls']})")
                bad = [m for m in result["loaded"] if m.startswith(FORBIDDEN)]
                if bad:
                    raise SystemExit(f"bench: {name} imported {bad} (Powertools Tracer)")
                info[name] = result

        # --- warm CPU -----------------------------------------------------------------------
        warm: dict[str, dict[str, Any]] = {}
        for name in WARM:
            fn = by_name[name]
            # Many small alternating blocks, so that both sides see the same machine state.
            per_block, blocks = (2, args.warm_blocks) if name == "login" else (20, args.warm_blocks)
            print(f"warm {name}: {per_block * blocks} requests", file=sys.stderr)
            env = child_env(fn, {**extra_env, **FUNCTION_ENV.get(name, {})}, fixtures_path)
            warm[name] = run_child(python, "warm", fn, layer, workdir, env, [str(per_block), str(blocks)])
            if warm[name]["warm_status"] != 200:
                raise SystemExit(f"bench: warm {name} answered {warm[name]['warm_status']}")

    tracer = tracer_reference(str(ROOT / ".venv" / "bin" / "python"), 5)
    sizes = [int(size) for size in args.state_sizes.split(",") if size]
    print(f"make dev state: restarts with {sizes} users + sessions, refreshes kept vs ephemeral", file=sys.stderr)
    state_rows = bench_state.measure(sizes, runs=3, refreshes=300) if sizes else []
    print("capacity units per flow (tests/integration/test_request_counts.py) and the cost model", file=sys.stderr)
    warm_cpu_ms = {name: warm[name]["cpu_per_request"] * 1000 for name in ("refresh", "login", "me", "authorizer")}
    costs = cost_model.section(cost_model.measured_flows(str(ROOT / ".venv" / "bin" / "python")), warm_cpu_ms)
    layer_bytes = smoke_built.dir_size(built_layer)
    layer_zip = smoke_built.zipped_size(built_layer)

    # --- the table ----------------------------------------------------------------------------
    floor = statistics.median(cold["floor"])
    targets = {"refresh": 1.5}
    rows: list[tuple[str, str, str, str, str]] = []
    rows.append(("cold start floor: boto3 + DynamoDB client", f"{floor * 1000:.0f} ms", "1.00x", "", ""))
    for name in EVENTS:
        median = statistics.median(cold[name])
        # Each run's handler against the floor of the same round (seconds apart): the machine's
        # speed drifts a lot over a minute, and a per-round ratio cancels most of that drift.
        per_round = statistics.median(t / f for t, f in zip(cold[name], cold["floor"], strict=True))
        ratio, target, met = fmt_ratio(per_round, targets.get(name, 1.7))
        rows.append((f"cold start {name} (import + first request)", f"{median * 1000:.0f} ms", ratio, target, met))
    ref = warm["refresh"]
    ratio, target, met = fmt_ratio(ref["ratio"], 3)
    refresh_ms = f"{ref['cpu_per_request'] * 1000:.2f} ms"
    rows.append(("warm refresh CPU / one RS256 signature", refresh_ms, ratio, target, met))
    me = warm["me"]
    ratio, _, _ = fmt_ratio(me["ratio"], None)
    rows.append(("warm me CPU / one RS256 signature", f"{me['cpu_per_request'] * 1000:.2f} ms", ratio, "", ""))
    for name in ("authorizer", "whoami"):  # issue 16: the authorizer runs before every uncached request
        ratio, _, _ = fmt_ratio(warm[name]["ratio"], None)
        cpu_ms = f"{warm[name]['cpu_per_request'] * 1000:.2f} ms"
        rows.append((f"warm {name} CPU / one RS256 signature", cpu_ms, ratio, "", ""))
    for name in ("authorizer", "whoami"):  # what MemorySize must hold (the template: 512 / 128 MB)
        # At the first answer: the warm process also loads the reference signature's cryptography.
        peak = info[name]["max_rss_kib"] / 1024
        rows.append((f"peak memory {name} (RSS at its first answer)", f"{peak:.0f} MiB", "", "", ""))
    login = warm["login"]
    ratio, target, met = fmt_ratio(login["ratio"], 1.15)
    rows.append(("warm login CPU / one argon2 verify", f"{login['cpu_per_request'] * 1000:.1f} ms", ratio, target, met))
    signature_ms = (ref["reference_cpu"] + me["reference_cpu"]) / 2 * 1000
    rows.append(("  reference: one RS256 signature (2048-bit)", f"{signature_ms:.2f} ms", "", "", ""))
    rows.append(("  reference: one argon2id verify", f"{login['reference_cpu'] * 1000:.1f} ms", "", "", ""))
    for name in WARM:
        calls = warm[name]["calls"]
        target, met = ("<= 2", "yes" if len(calls) <= 2 else "**NO**") if name == "refresh" else ("", "")
        rows.append((f"DynamoDB requests per {name}", str(len(calls)), ", ".join(calls), target, met))
    if tracer:
        t_floor, t_tracer = tracer
        rows.append(
            (
                "reference: import Powertools Tracer + aws-xray-sdk (not used)",
                f"{t_tracer * 1000:.0f} ms",
                f"{t_tracer / t_floor:.2f}x floor",
                "never imported",
                "yes",
            )
        )
    rows += state_rows
    rows.append(
        ("built layer size (unzipped / zipped)", f"{layer_bytes / 2**20:.1f} / {layer_zip / 2**20:.1f} MiB", "", "", "")
    )

    header = ("measure", "value", "ratio / detail", "target", "met")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    imports = ["| handler | modules at first answer | heavy modules loaded |", "|---|---|---|"]
    for name in EVENTS:
        r = info[name]
        shown = [m for m in r["loaded"] if not any(m != o and m.startswith(o + ".") for o in r["loaded"])]
        imports.append(f"| {name} | {r['modules']} | {', '.join(shown) or '-'} |")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    context = (
        f"{stamp}, {platform.machine()} host, layer built for {arch}"
        f"{' (run through its x86_64 host twin)' if arch != smoke_built.HOST_ARCH else ''}; "
        f"cold starts: median of {args.runs} per-round ratios; warm: median of per-block ratios over "
        f"{ref['requests']} refresh / "
        f"{me['requests']} me / {login['requests']} login requests"
        + (f"; extra environment: {' '.join(args.env)}" if args.env else "")
    )
    table = "\n".join(lines)
    print(table)
    print()
    print("\n".join(imports))
    print(f"\n{context}")
    print(f"\n{costs}")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(
            "# Benchmarks (`make bench`)\n\n"
            "Measured with `make bench` (tools/bench.py): only ratios measured in one run mean something on\n"
            "these machines; absolute times are shown next to them for orientation only.\n\n"
            f"{table}\n\n{chr(10).join(imports)}\n\n{context}\n\n"
            "## DynamoDB capacity and cost (issue 17; method in docs/cost.md)\n\n"
            f"{costs}\n"
        )
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
