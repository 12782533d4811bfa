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
