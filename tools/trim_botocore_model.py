"""Write the trimmed SSM service model the layer ships (shared/authlayer/dal/botocore_models/).

    .venv/bin/python tools/trim_botocore_model.py [--check]

botocore parses a service's whole model when a client is created: SSM's is 1.3 MB of JSON for
150 operations, about 60 ms of every cold start, and the layer calls one operation. botocore
looks for models in the directories of its `data_path` setting (AWS_DATA_PATH) before its own,
the mechanism `aws configure add-model` uses, so the layer's session points there (dal/dynamo.py).

The trimmed model is botocore's own, minus the other operations, the shapes only they use and the
documentation strings. --check exits 1 when the committed file differs from what the installed
botocore gives (tests/unit/test_botocore_models.py runs it after every botocore upgrade).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "shared" / "authlayer" / "dal" / "botocore_models"
# service -> the operations the layer calls (Powertools' SSMProvider.get -> GetParameter).
KEEP = {"ssm": ("GetParameter",)}


def _strip_docs(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_docs(v) for k, v in value.items() if k != "documentation"}
    if isinstance(value, list):
        return [_strip_docs(v) for v in value]
    return value


def trimmed(service: str, operations: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """(api version, model with only `operations` and the shapes they reach)."""
    import botocore.loaders

    loader = botocore.loaders.Loader()  # botocore's own data only, never a data path
    api_version = loader.determine_latest_version(service, "service-2")
    full = loader.load_service_model(service, "service-2", api_version)
    shapes: set[str] = set()

    def reach(name: str) -> None:
        if name in shapes:
            return
        shapes.add(name)
        shape = full["shapes"][name]
        refs = list(shape.get("members", {}).values()) + [shape.get(k) for k in ("member", "key", "value")]
        for ref in refs:
            if ref:
                reach(ref["shape"])

    kept_operations = {}
    for name in operations:
        operation = full["operations"][name]
        for part in ("input", "output"):
            if part in operation:
                reach(operation[part]["shape"])
        for error in operation.get("errors", []):
            reach(error["shape"])
        kept_operations[name] = operation
    model = {
        "version": full["version"],
        "metadata": full["metadata"],
        "operations": kept_operations,
        "shapes": {name: full["shapes"][name] for name in sorted(shapes)},
    }
    return api_version, _strip_docs(model)


def expected_files() -> dict[Path, str]:
    files = {}
    for service, operations in KEEP.items():
        api_version, model = trimmed(service, operations)
        path = MODELS_DIR / service / api_version / "service-2.json"
        files[path] = json.dumps(model, indent=1, sort_keys=True) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    files = expected_files()
    stale = [p for p, text in files.items() if not p.is_file() or p.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run .venv/bin/python tools/trim_botocore_model.py")
        return 1 if stale else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
