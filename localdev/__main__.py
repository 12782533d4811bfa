"""`python -m localdev`: the API of template.yaml on http://127.0.0.1:3000, no Docker needed.

State (tables, SSM parameters, queues) is kept in --state-dir/aws and loaded at the next
start; --ephemeral keeps it in memory only.
Environment: PORT (3000), LOCAL_BIND (127.0.0.1; 0.0.0.0 lets `sam local` containers reach the
embedded moto server), MOTO_PORT (free port), DEMO_PASSWORD (random), LOCAL_CONCURRENCY (4
workers per function), and any of the template's environment variable names
(e.g. ACCESS_TOKEN_TTL=20s) to override its defaults.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from localdev import backend, moto_state, settings
from localdev.authorizer_config import JwtAuthorizer, RouteAuthorizers
from localdev.authorizers import Authorization
from localdev.cors import Cors
from localdev.journal import install_journal
from localdev.outbox import install_outbox
from localdev.queues import QueuePoller, start_pollers, stop_pollers
from localdev.server import Gateway
from localdev.state import CLEAN_HINT, Loaded, StateError, StateStore
from localdev.template import (
    Function,
    Route,
    TemplateError,
    cors_configuration,
    functions,
    globals_environment,
    load_template,
    table_definitions,
)
from localdev.workers import FunctionPool, close_in_parallel

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localdev", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--host", default=os.environ.get("LOCAL_BIND", "127.0.0.1"))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "0")))
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--web", type=Path, default=ROOT / "web")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".local-state")
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("LOCAL_CONCURRENCY", "4")))
    parser.add_argument("--no-demo-user", action="store_true")
    parser.add_argument("--ephemeral", action="store_true", help="keep no state: start empty, forget at stop")
    return parser.parse_args(argv)


def write_sam_env(path: Path, funcs: list[Function], moto_port: int) -> None:
    """--env-vars file for `sam local start-api`: functions in Docker reach moto via the host."""
    endpoint = f"http://host.docker.internal:{moto_port}"
    variables = {f"AWS_ENDPOINT_URL_{service}": endpoint for service in ("DYNAMODB", "SSM", "SQS", "SESV2")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({f.name: variables for f in funcs}, indent=2) + "\n")


def write_authctl_state(path: Path, endpoint: str, env: dict[str, str], mail_queue: str, url: str) -> None:
    """What `authctl --local` needs to reach this runner's embedded AWS (and send-reset, its queue)."""
    state = {
        "region": backend.REGION,
        "dynamodb_endpoint": endpoint,
        "ssm_endpoint": endpoint,
        "users_table": env["USERS_TABLE"],
        "sessions_table": env["SESSIONS_TABLE"],
        "signing_key_parameter": env["SIGNING_KEY_PARAMETER"],
        "sqs_endpoint": endpoint,
        "mail_queue_url": mail_queue,
        "issuer": env.get("TOKEN_ISSUER") or url,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2) + "\n")


def kept_demo_password(path: Path) -> str | None:
    try:
        return str(json.loads(path.read_text())["password"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def keep_demo_password(path: Path, password: str) -> None:
    """The demo user's password, to print it again when the user is kept (it is printed anyway)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as out:
        json.dump({"username": backend.DEMO_USERNAME, "password": password}, out)


def state_line(store: StateStore | None, loaded: Loaded | None, env: dict[str, str]) -> str:
    if store is None:
        return "State lives until this process stops (--ephemeral; the outbox stays on disk)."
    if loaded is None:
        return f"State: new, kept in {store.directory} (loaded at the next start; {CLEAN_HINT})."
    users_table, sessions_table = env.get("USERS_TABLE", ""), env.get("SESSIONS_TABLE", "")
    users = sum(1 for item in moto_state.items(users_table) if item["pk"].get("S", "").startswith("USER#"))
    sessions = loaded.items.get(sessions_table, 0)
    return (
        f"State: loaded from {store.directory}: {users} users, {sessions} sessions "
        f"({sum(loaded.items.values())} items, {loaded.parameters} SSM parameters, {loaded.messages} queued "
        f"messages; {loaded.journal_lines} journal lines replayed; in {loaded.seconds:.2f} s). {CLEAN_HINT}."
    )


def banner(
    url: str,
    endpoint: str,
    provisioned: backend.Provisioned,
    parameter: str,
    password: str | None,
    funcs: list[Function],
    route_auth: RouteAuthorizers,
    sam_env: Path,
    outbox: Path,
    mail_from: str,
    state: str,
) -> str:
    routes = "\n".join(
        f"    {r.method:6} {url}{r.path}  -> {f.name}{auth_label(route_auth, r)}" for f in funcs for r in f.routes
    )
    consumers = {q.queue: f.name for f in funcs for q in f.queue_events}
    queues = ", ".join(f"{q} -> {consumers[q]}" if q in consumers else q for q in provisioned.queues)
    tables = provisioned.tables
    demo = (
        f"  demo user:    username demo / email {backend.DEMO_EMAIL} / password {password}"
        if password
        else "  demo user:    not created (see warning above)"
    )
    return f"""
Local API (API Gateway HTTP API v2 emulation) on {url}
{routes}
{demo}
  embedded AWS: moto at {endpoint} (DynamoDB, SSM, SQS, SES; region {backend.REGION}, any credentials)
    tables:      {", ".join(tables)}
    queues:      {queues or "none"}
    signing key: SSM SecureString {parameter}
    mail:        from {mail_from or "(MAIL_FROM unset)"}, kept in {outbox} (never sent)
    e.g.         AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x \\
                   aws dynamodb scan --region {backend.REGION} --table-name {tables[0] if tables else "..."}
  admin:        authctl --local users list   (reads {sam_env.parent / "authctl.json"})
  sam local:    env-vars file {sam_env} (see docs/local-dev.md)
{state} Ctrl-C stops everything.
"""


def auth_label(route_auth: RouteAuthorizers, route: Route) -> str:
    """`  [AccessToken: JWT]` after a guarded route in the banner: what the gateway checks."""
    decision = route_auth[route]
    if decision.authorizer is None:
        return ""
    kind = "JWT" if isinstance(decision.authorizer, JwtAuthorizer) else f"Lambda {decision.authorizer.function}"
    scopes = f", scopes {' '.join(decision.scopes)}" if decision.scopes else ""
    return f"  [{decision.authorizer.name}: {kind}{scopes}]"


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # One request line per API call from the gateway; werkzeug's own lines would also log every
    # boto3 call the functions make to moto, which shares the werkzeug logger.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("localdev").setLevel(logging.INFO)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # SIGTERM (tests, process managers) takes the same clean path as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started in the background (SIGINT ignored)

    template = load_template(args.template)
    definitions = table_definitions(template)
    store = None if args.ephemeral else StateStore(args.state_dir / "aws")
    if store is not None:
        try:
            store.acquire()  # before anything starts: one runner per state directory
        except StateError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    overrides = settings.overrides(args.port)
    funcs = functions(template, args.template.parent, overrides)
    common_env = globals_environment(template, overrides)
    try:
        # Every route's authorizer, decided before anything starts: what cannot be emulated stops
        # the runner here rather than serving a route open that AWS would protect.
        route_auth = RouteAuthorizers(
            template,
            [route for f in funcs for route in f.routes],
            common_env.get("TOKEN_ISSUER") or f"http://127.0.0.1:{args.port}",
            overrides,
        )
    except TemplateError as exc:
        if store is not None:
            store.release()
        print(f"error: {args.template}: {exc}", file=sys.stderr)
        return 1

    # Bind first: a busy port fails (werkzeug says so and exits) before anything else starts.
    server = make_server(args.host, args.port, None, threaded=True)  # type: ignore[arg-type]
    moto, endpoint = backend.start_moto(args.host, args.moto_port)
    pools: dict[str, FunctionPool] = {}
    pollers: list[QueuePoller] = []
    loaded: Loaded | None = None
    code = 0
    try:
        parameter = common_env.get("SIGNING_KEY_PARAMETER", "")
        mail_from = common_env.get("MAIL_FROM", "")
        # Before anything can send: every mail SES accepts lands in the outbox, none is lost.
        outbox = install_outbox(args.state_dir / "outbox").directory

        def load_state() -> None:
            nonlocal loaded
            if store is not None:
                loaded = store.load(definitions)
                assert store.journal is not None
                install_journal(store.journal)  # from here on, every answered write is on disk first

        provisioned = backend.provision(endpoint, template, parameter, mail_from, load_state)
        password = None
        demo_file = args.state_dir / "demo-user.json"
        if not args.no_demo_user:
            layers = funcs[0].layers if funcs else ()
            kept = kept_demo_password(demo_file) if loaded is not None else None
            password = backend.create_demo_user(endpoint, common_env, layers, os.environ.get("DEMO_PASSWORD"), kept)
            if store is not None and password and password != kept:
                keep_demo_password(demo_file, password)
        if store is not None:
            store.compact(definitions)  # the next start reads one snapshot, no journal
        sam_env = args.state_dir / "sam-env.json"
        write_sam_env(sam_env, funcs, int(endpoint.rsplit(":", 1)[1]))
        mail_queue = next((f.environment["MAIL_QUEUE_URL"] for f in funcs if f.environment.get("MAIL_QUEUE_URL")), "")
        write_authctl_state(
            args.state_dir / "authctl.json", endpoint, common_env, mail_queue, f"http://127.0.0.1:{args.port}"
        )

        pools = {f.name: FunctionPool(f, settings.worker_environment(f, endpoint), args.concurrency) for f in funcs}
        for pool in pools.values():  # warm one container each, in parallel, like provisioned concurrency
            threading.Thread(target=pool.warm, daemon=True).start()
        # Lambda's event source mappings: each SQS event of a function polls its queue in moto.
        pollers = start_pollers(funcs, pools, backend.client("sqs", endpoint))

        # The gateway fetches this stack's own JWKS from itself: werkzeug's threaded server answers
        # that request on another thread while the authorized one waits.
        authorization = Authorization(route_auth, pools)
        server.app = Gateway(
            funcs, pools, Cors(cors_configuration(template, overrides)), args.web, authorization=authorization
        )
        url = f"http://127.0.0.1:{args.port}"
        state = state_line(store, loaded, common_env)
        listing = (funcs, route_auth, sam_env, outbox, mail_from, state)
        print(banner(url, endpoint, provisioned, parameter, password, *listing), flush=True)
        server.serve_forever()  # returns on Ctrl-C/SIGTERM: werkzeug swallows the KeyboardInterrupt
    except KeyboardInterrupt:
        pass  # interrupted during start-up
    except StateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    finally:
        print("\nstopping...", file=sys.stderr, flush=True)
        server.server_close()
        # Pollers first: a batch they still start would only fail against closed pools.
        for poller in stop_pollers(pollers):
            print(f"warning: {poller.source.queue} poller still busy; its batch returns to the queue", file=sys.stderr)
        close_in_parallel([pool.close for pool in pools.values()])
        if store is not None:
            store.compact(definitions)  # a no-op unless the state was loaded: never empty over it
            store.release()
        moto.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
