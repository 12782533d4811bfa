"""Smoke test of `sam build`'s output: every built function imports and answers without a 5xx.

    python tools/smoke_built.py [--build-dir .aws-sam/build] [--python .tools/smoke-venv/bin/python]

Run with the project's venv (it needs moto and cryptography); `make build` runs it.

What it checks, in order:
1. The built layer is for the template's architecture: every native extension (.so) is an ELF
   for that machine (aarch64 for arm64).
2. Every .py of the layer and of each function has a CPython 3.11 .pyc with unchecked-hash
   validation: Lambda's /opt and /var/task are read-only and `sam deploy` zips files dated
   1980-01-01, so timestamp-checked .pyc would be stale there and every cold start would
   recompile everything it imports.
3. For each function, a fresh python3.11 process, with nothing but boto3 (and its own deps)
   installed, as in the Lambda python3.11 runtime, puts the built function code and the built
   layer on sys.path in Lambda's order (/var/task, /opt/python), imports the handler, and
   invokes it with every event from events/ whose routeKey is one of the function's routes
   (a minimal event when none is there). AWS is an embedded moto server on 127.0.0.1 holding
   the template's tables and a fresh signing key; nothing leaves loopback. The answer's
   statusCode must not be 5xx, and no layer module may be compiled from source at import (the
   .pyc from step 2 must be the ones used).

Native code and this machine: an arm64 layer's extension modules cannot be loaded on x86_64.
So, when the host is not the layer's architecture, the import test runs against a "host twin"
of the built layer: a copy in which only the distributions that contain native code are
replaced by the same versions' wheels for this machine (pip --platform, --no-deps). All
pure-Python files, including the layer's own package and its .pyc, are the built ones, byte
for byte. Step 1 is what vouches for the arm64 binaries themselves.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# cfn_yaml needs only PyYAML, so the SAM tool environment can import it from localdev/ too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "localdev"))

import cfn_yaml  # noqa: E402

ELF_MACHINES = {183: "arm64", 62: "x86_64"}  # e_machine: EM_AARCH64, EM_X86_64
HOST_ARCH = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}.get(
    platform.machine().lower(), platform.machine()
)
# What sam build accepts for python3.11 (Amazon Linux 2): manylinux2014 at most.
HOST_UV_PLATFORMS = {"x86_64": "x86_64-manylinux_2_17", "arm64": "aarch64-manylinux_2_17"}
CPYTHON_311_MAGIC = (3495).to_bytes(2, "little") + b"\r\n"
UNCHECKED_HASH_FLAGS = 0b01  # hash-based, check_source=0 (PEP 552)

# Runs in the fresh process: Lambda's sys.path order, import + init, then one invocation per event.
CHILD = r"""
import importlib, importlib.machinery, json, sys, time
task, layer, handler_spec, events_path, out_path = sys.argv[1:6]
sys.path[:0] = [task, layer]
compiled = []
_orig = importlib.machinery.SourceFileLoader.source_to_code
def _counting(self, data, path, *args, **kwargs):
    compiled.append(str(path))
    return _orig(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = _counting

class Context:
    function_name = "smoke"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:smoke"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/smoke"
    log_stream_name = "smoke"
    def get_remaining_time_in_millis(self):
        return 10000

result = {"compiled": compiled, "invocations": []}
started = time.perf_counter()
try:
    module_name, func_name = handler_spec.rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), func_name)
except BaseException as exc:
    result["import_error"] = f"{type(exc).__name__}: {exc}"
    json.dump(result, open(out_path, "w"))
    raise
result["init_seconds"] = time.perf_counter() - started
for name, event in json.load(open(events_path)):
    t = time.perf_counter()
    try:
        answer = handler(event, Context())
        status = answer.get("statusCode") if isinstance(answer, dict) else None
        if isinstance(answer, dict) and "batchItemFailures" in answer:  # an SQS batch: 200 if none failed
            status = 500 if answer["batchItemFailures"] else 200
        result["invocations"].append({"event": name, "status": status, "seconds": time.perf_counter() - t})
    except BaseException as exc:
        result["invocations"].append({"event": name, "error": f"{type(exc).__name__}: {exc}"})
result["compiled"] = [p for p in compiled if p.startswith(layer) or p.startswith(task)]
json.dump(result, open(out_path, "w"))
"""


@dataclass
class BuiltFunction:
    logical_id: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    routes: list[str] = field(default_factory=list)
    queue_events: bool = False  # an SQS event source: invoked with the events/ that hold SQS Records


def _resolve(value: Any, template: dict[str, Any]) -> Any:
    """`sam local` semantics: !Ref parameter -> its default, !Ref resource -> its logical id."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        name = value["Ref"]
        parameter = template.get("Parameters", {}).get(name)
        if parameter is not None:
            return str(parameter.get("Default", ""))
        return name
    if isinstance(value, (dict, list)):  # !If, !Sub (SessionAuthorizerFunction's AUTH_API_ORIGIN)
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        resolver = importlib.import_module("localdev.template").Resolver(template)  # the project venv's
        return resolver(value)
    return value


def built_functions(build_dir: Path) -> tuple[dict[str, Any], list[BuiltFunction]]:
    template = cfn_yaml.load(build_dir / "template.yaml")
    global_props = template.get("Globals", {}).get("Function", {})
    global_env = global_props.get("Environment", {}).get("Variables", {})
    result = []
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        env_vars = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        environment = {key: str(_resolve(value, template)) for key, value in env_vars.items()}
        routes = []
        queue_events = any(e.get("Type") == "SQS" for e in props.get("Events", {}).values())
        for event in props.get("Events", {}).values():
            if event.get("Type") == "HttpApi":
                event_props = event.get("Properties", {})
                routes.append(f"{str(event_props.get('Method', 'ANY')).upper()} {event_props.get('Path')}")
        code_dir = (build_dir / props.get("CodeUri", global_props.get("CodeUri", ""))).resolve()
        handler = props.get("Handler", global_props.get("Handler"))
        result.append(BuiltFunction(logical_id, code_dir, handler, environment, routes, queue_events))
    return template, result


def layer_dir(build_dir: Path, template: dict[str, Any]) -> tuple[Path, str]:
    layers = [
        (name, res)
        for name, res in template["Resources"].items()
        if res.get("Type") == "AWS::Serverless::LayerVersion"
    ]
    if len(layers) != 1:
        raise SystemExit(f"expected one layer in the built template, found {len(layers)}")
    name, res = layers[0]
    arch = res.get("Metadata", {}).get("BuildArchitecture", "x86_64")
    return (build_dir / res["Properties"]["ContentUri"]).resolve() / "python", arch


def elf_machine(path: Path) -> str:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return "not-elf"
    machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    return ELF_MACHINES.get(machine, f"e_machine={header[18:20].hex()}")


def check_native(layer: Path, arch: str) -> list[str]:
    problems = []
    shared_objects = sorted(layer.rglob("*.so")) + sorted(layer.rglob("*.so.*"))
    for so in shared_objects:
        machine = elf_machine(so)
        if machine != arch:
            problems.append(f"{so.relative_to(layer)} is {machine}, not {arch}")
    print(
        f"  native modules: {len(shared_objects)}, all {arch}" if not problems else "  native modules: WRONG"
    )
    return problems


def check_pyc(tree: Path) -> tuple[int, list[str]]:
    problems = []
    sources = [p for p in tree.rglob("*.py") if "__pycache__" not in p.parts]
    for source in sources:
        pyc = Path(importlib.util.cache_from_source(str(source)))
        if not pyc.is_file():
            problems.append(f"no .pyc for {source.relative_to(tree)}")
            continue
        header = pyc.read_bytes()[:8]
        if header[:4] != CPYTHON_311_MAGIC:
            problems.append(f"{pyc.relative_to(tree)} is not CPython 3.11 bytecode")
        elif int.from_bytes(header[4:8], "little") != UNCHECKED_HASH_FLAGS:
            problems.append(f"{pyc.relative_to(tree)} is not unchecked-hash")
    return len(sources), problems


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def zipped_size(path: Path) -> int:
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(path.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(path.parent))
        return handle.tell()


def native_distributions(layer: Path) -> dict[str, tuple[str, list[Path]]]:
    """Distributions (name -> (version, files)) that ship an extension module."""
    found = {}
    for record in layer.glob("*.dist-info/RECORD"):
        files = [layer / line.split(",", 1)[0] for line in record.read_text().splitlines() if line]
        if any(f.suffix == ".so" or ".so." in f.name for f in files):
            meta = {}
            for line in (record.parent / "METADATA").read_text(errors="replace").splitlines():
                key, _, value = line.partition(": ")
                if key in {"Name", "Version"} and key not in meta:
                    meta[key] = value.strip()
                if not line:
                    break
            found[meta["Name"]] = (meta["Version"], files)
    return found


def host_twin(layer: Path, workdir: Path, uv: str) -> Path:
    """A copy of the built layer whose native distributions are this machine's wheels of the same versions."""
    twin = workdir / "opt" / "python"
    shutil.copytree(layer, twin, symlinks=True)
    natives = native_distributions(twin)
    # Remove each native distribution whole (its top-level packages, modules and .dist-info,
    # with the .pyc compiled for the arm64 build), then install the same version for this host.
    for _, files in natives.values():
        for top in {f.relative_to(twin).parts[0] for f in files} - {"bin", ".."}:
            target = twin / top
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    pins = [f"{name}=={version}" for name, (version, _) in sorted(natives.items())]
    command = [
        uv,
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--python",
        sys.executable,
        "--python-platform",
        HOST_UV_PLATFORMS[HOST_ARCH],
        "--python-version",
        "3.11",
        "--target",
        str(twin),
        *pins,
    ]
    subprocess.run(command, check=True)  # noqa: S603 - fixed argv, our own pins
    # The replacements get the same kind of .pyc as the built layer.
    subprocess.run(  # noqa: S603 - fixed argv
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(twin),
        ],
        check=True,
    )
    print(f"  host twin for {HOST_ARCH}: replaced {', '.join(pins)}")
    return twin


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_aws(template: dict[str, Any], functions: list[BuiltFunction]) -> tuple[Any, str]:
    import boto3
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from moto.server import ThreadedMotoServer

    from authlayer import jwks
    from authlayer.keys import parse_key_set

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    session = boto3.session.Session(
        aws_access_key_id="smoke", aws_secret_access_key="smoke", region_name="us-east-1"
    )
    dynamodb = session.client("dynamodb", endpoint_url=url)
    for name, res in template["Resources"].items():
        if res.get("Type") != "AWS::DynamoDB::Table":
            continue
        props = res["Properties"]
        kwargs: dict[str, Any] = {
            "TableName": name,  # sam local: !Ref Table is the logical id
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = _resolve(props["GlobalSecondaryIndexes"], template)  # !If, NoValue
        dynamodb.create_table(**kwargs)
    sqs = session.client("sqs", endpoint_url=url)
    for name, res in template["Resources"].items():
        if res.get("Type") == "AWS::SQS::Queue":
            sqs.create_queue(QueueName=name)  # sam local: !Ref Queue is the logical id
    ses = session.client("sesv2", endpoint_url=url)
    for sender in {f.environment.get("MAIL_FROM") for f in functions} - {None, ""}:
        ses.create_email_identity(EmailIdentity=sender)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    ssm = session.client("ssm", endpoint_url=url)
    public = jwks.document(parse_key_set(pem))
    for name in {f.environment.get("SIGNING_KEY_PARAMETER") for f in functions} - {None, ""}:
        ssm.put_parameter(Name=name, Value=pem, Type="SecureString")
        # The public JWK Set apart, as `authctl keys` writes it: the keys function reads only this.
        ssm.put_parameter(Name=jwks.parameter_name_for(str(name)), Value=public, Type="String")
    return server, url


def load_events(events_dir: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(events_dir.glob("*.json")):
        event = json.loads(path.read_text())
        if isinstance(event, dict) and ("routeKey" in event or "Records" in event):
            yield path.name, event


def minimal_event(route: str) -> dict[str, Any]:
    method, path = route.split(" ", 1)
    return {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "smoke.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "smoke",
            "domainName": "smoke.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "smoke",
            },
            "requestId": "smoke",
            "routeKey": route,
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
        "body": "{}" if method in {"POST", "PUT", "PATCH", "DELETE"} else None,
    }


def run_function(
    fn: BuiltFunction, layer: Path, python: str, aws_url: str, events: list[tuple[str, Any]], workdir: Path
) -> dict[str, Any]:
    events_path = workdir / f"{fn.logical_id}.events.json"
    out_path = workdir / f"{fn.logical_id}.result.json"
    events_path.write_text(json.dumps(events))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        **fn.environment,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "smoke",
        "AWS_SECRET_ACCESS_KEY": "smoke",
        "AWS_SESSION_TOKEN": "smoke",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": aws_url,  # every service, not only the two below, stays on loopback
        "AWS_ENDPOINT_URL_DYNAMODB": aws_url,
        "AWS_ENDPOINT_URL_SSM": aws_url,
        "AWS_ENDPOINT_URL_SQS": aws_url,
        "AWS_ENDPOINT_URL_SESV2": aws_url,
        "AWS_LAMBDA_FUNCTION_NAME": fn.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "LAMBDA_TASK_ROOT": str(fn.code_dir),
        "PYTHONDONTWRITEBYTECODE": "1",  # /opt and /var/task are read-only on Lambda
    }
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - the smoke python, the build's own paths
        [
            python,
            "-I",
            "-c",
            CHILD,
            str(fn.code_dir),
            str(layer),
            fn.handler,
            str(events_path),
            str(out_path),
        ],
        env=env,
        cwd=fn.code_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    result: dict[str, Any] = json.loads(out_path.read_text()) if out_path.is_file() else {}
    result["process_seconds"] = time.perf_counter() - started
    if completed.returncode != 0 or "import_error" in result:
        result.setdefault("import_error", f"exit {completed.returncode}")
        result["stderr"] = completed.stderr[-3000:]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    parser.add_argument(
        "--python",
        default=str(ROOT / ".tools" / "smoke-venv" / "bin" / "python"),
        help="a python3.11 with only boto3 installed",
    )
    parser.add_argument("--events", type=Path, default=ROOT / "events")
    parser.add_argument(
        "--uv",
        default=shutil.which("uv") or str(ROOT / ".tools" / "uv" / "bin" / "uv"),
        help="uv, to fetch this machine's wheels for the host twin of the layer",
    )
    args = parser.parse_args(argv)

    build_dir = args.build_dir.resolve()
    if not (build_dir / "template.yaml").is_file():
        raise SystemExit(f"{build_dir}/template.yaml not found: run `make build` (sam build) first")
    template, functions = built_functions(build_dir)
    layer, arch = layer_dir(build_dir, template)
    problems: list[str] = []

    print(
        f"layer {layer.relative_to(build_dir)} ({arch}): {dir_size(layer) / 2**20:.1f} MiB unzipped, "
        f"{zipped_size(layer) / 2**20:.1f} MiB zipped"
    )
    problems += check_native(layer, arch)
    count, pyc_problems = check_pyc(layer)
    print(f"  .pyc: {count} sources, {len(pyc_problems)} without a valid unchecked-hash cpython-311 .pyc")
    problems += pyc_problems[:20]
    for fn in functions:
        count, pyc_problems = check_pyc(fn.code_dir)
        problems += pyc_problems[:20]

    events = list(load_events(args.events))
    with tempfile.TemporaryDirectory(prefix="smoke-built-") as tmp:
        workdir = Path(tmp)
        import_layer = layer if arch == HOST_ARCH else host_twin(layer, workdir, args.uv)
        server, url = start_aws(template, functions)
        try:
            print(f"invoking {len(functions)} functions (fresh {args.python}, AWS = moto at {url})")
            for fn in functions:
                matching = [(name, e) for name, e in events if e.get("routeKey") in fn.routes]
                if fn.queue_events:
                    matching += [(name, e) for name, e in events if "Records" in e]
                covered = {e.get("routeKey") for _, e in matching}
                matching += [
                    (f"minimal {route}", minimal_event(route)) for route in fn.routes if route not in covered
                ]
                result = run_function(fn, import_layer, args.python, url, matching, workdir)
                if "import_error" in result:
                    error, stderr = result["import_error"], result.get("stderr", "")
                    problems.append(f"{fn.logical_id}: import failed: {error}\n{stderr}")
                    print(f"  {fn.logical_id:24} IMPORT FAILED")
                    continue
                if result["compiled"]:
                    problems.append(
                        f"{fn.logical_id}: compiled from source at import: {result['compiled'][:5]}"
                    )
                answers = []
                for inv in result["invocations"]:
                    status = inv.get("status")
                    answers.append(f"{inv['event']}={status if status is not None else inv.get('error')}")
                    if not isinstance(status, int) or status >= 500:
                        problems.append(
                            f"{fn.logical_id}: {inv['event']} answered {status or inv.get('error')}"
                        )
                print(f"  {fn.logical_id:24} init {result['init_seconds']:.2f}s  " + ", ".join(answers))
        finally:
            server.stop()

    if problems:
        print("\nSMOKE TEST FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
