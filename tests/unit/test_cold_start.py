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
