"""Cold-start behaviour that has no observable effect but time (make bench measures the time)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_decorating_a_handler_freezes_what_its_import_built():
    # Given a fresh interpreter / When a handler is decorated (the end of a handler module's import)
    # Then every object made so far is out of the cyclic GC's reach: the first request's collections
    # do not rescan the imported modules (make bench: ~30 ms of a cold start)
    code = (
        "import gc; from authlayer.http import api_handler; before = gc.get_freeze_count(); "
        "api_handler(lambda request: None); "
        "assert before == 0 and gc.get_freeze_count() > 10000, (before, gc.get_freeze_count())"
    )
    env = {"PYTHONPATH": str(ROOT / "shared"), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


def test_in_lambda_the_gc_is_off_while_the_handler_imports_and_back_on_once_it_is_decorated():
    code = (
        "import gc, authlayer; off_while_importing = not gc.isenabled(); "
        "from authlayer.http import api_handler; api_handler(lambda request: None); "
        "assert off_while_importing and gc.isenabled(), (off_while_importing, gc.isenabled())"
    )
    env = {"PYTHONPATH": str(ROOT / "shared"), "PATH": "/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_NAME": "LoginFunction"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


def test_outside_lambda_importing_the_layer_leaves_the_gc_alone():
    code = "import gc, authlayer.http; assert gc.isenabled()"
    env = {"PYTHONPATH": str(ROOT / "shared"), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


def test_r2_9_the_jwks_function_serves_the_public_set_without_loading_cryptography_or_pyjwt():
    # Given a fresh interpreter whose SSM answers the public JWK Set parameter (canned, no network)
    # When the keys function serves /.well-known/jwks.json
    # Then neither cryptography nor pyjwt was imported: the set is served as the JSON it is stored as
    code = (
        "import json, sys, importlib.util\n"
        "from authlayer.dal import parameters\n"
        "doc = {'keys': [{'kty': 'RSA', 'kid': 'k1', 'n': 'sXch', 'e': 'AQAB', 'alg': 'RS256', 'use': 'sig'}]}\n"
        "parameters.get_public_parameter = lambda name, force_fetch=False: json.dumps(doc)\n"
        "spec = importlib.util.spec_from_file_location('keys_handler', sys.argv[1])\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "class Context:\n"
        "    function_name, memory_limit_in_mb, aws_request_id = 'keys', 512, 'r'\n"
        "    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:keys'\n"
        "result = module.handler(json.load(open(sys.argv[2])), Context())\n"
        "assert result['statusCode'] == 200 and json.loads(result['body']) == doc, result\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'cryptography', 'jwt'})\n"
        "assert not loaded, loaded\n"
    )
    env = {
        "PYTHONPATH": str(ROOT / "shared"),
        "PATH": "/usr/bin:/bin",
        "USERS_TABLE": "UsersTable",
        "SESSIONS_TABLE": "SessionsTable",
        "SIGNING_KEY_PARAMETER": "/sam-refresh-auth/signing-key",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "sam-refresh-auth",
    }
    handler, event = ROOT / "functions/keys/keys.py", ROOT / "events/jwks.json"
    subprocess.run([sys.executable, "-c", code, str(handler), str(event)], env=env, check=True, timeout=60)
