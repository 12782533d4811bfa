"""Template checks. The tests marked `sam_tools` need aws-sam-cli and cfn-lint from `make tools`
(their own environment under .tools/, not the project's venv); without it they are skipped,
unless REQUIRE_SAM_TOOLS=1 (set it in CI) turns the absence into a failure."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAMENV = ROOT / "tools" / "samenv"
TOOL_BIN = ROOT / ".tools" / "uv-tools" / "aws-sam-cli" / "bin"
TOOL_PYTHON = TOOL_BIN / "python"
CFN_LINT = TOOL_BIN / "cfn-lint"

# name -> (text in template.yaml, replacement). Each one is put into its own copy of the template.
MUTATIONS = {
    "bad_ref_in_globals_environment": ("USERS_TABLE: !Ref UsersTable", "USERS_TABLE: !Ref UsersTabel"),
    "bad_ref_in_layers": ("Layers: [!Ref AuthLayer]", "Layers: [!Ref AuthLayr]"),
    "bad_ref_in_event_api_id": (
        "Properties: {ApiId: !Ref AuthApi, Path: /api/users/me",
        "Properties: {ApiId: !Ref AuthApii, Path: /api/users/me",
    ),
    "runtime_python2.7": ("    Runtime: python3.11\n", "    Runtime: python2.7\n"),
    "runtime_python3.99": ("    Runtime: python3.11\n", "    Runtime: python3.99\n"),
    "bad_event_type": ("        Me:\n          Type: HttpApi\n", "        Me:\n          Type: HttpAPI\n"),
}


LINT_RUNS = {"real", "bad_ref_in_layers", "runtime_python2.7", "bad_event_type"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sam_tools: needs aws-sam-cli and cfn-lint from `make tools`")


def tools_installed() -> bool:
    return TOOL_PYTHON.is_file() and CFN_LINT.is_file() and (ROOT / ".tools" / "bin" / "sam").is_file()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if tools_installed() or os.environ.get("REQUIRE_SAM_TOOLS") == "1":
        return
    skip = pytest.mark.skip(reason="aws-sam-cli/cfn-lint not installed: run `make tools`")
    for item in items:
        if "sam_tools" in item.keywords:
            item.add_marker(skip)


def mutate(text: str, name: str) -> str:
    old, new = MUTATIONS[name]
    assert text.count(old) == 1, (
        f"mutation {name}: {old!r} must occur once in template.yaml; update MUTATIONS"
    )
    return text.replace(old, new)


@dataclass
class CheckResults:
    """Exit code and output of each check for each template (key "real" or a mutation name)."""

    lint: dict[str, tuple[int, str]]
    validate: dict[str, tuple[int, str]]
    transform_cfn_lint: dict[str, tuple[int, str]]


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SAMENV), *command], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def _batch(mode: str, templates: dict[str, Path], cwd: Path) -> dict[str, tuple[int, str]]:
    done = _run(
        [str(TOOL_PYTHON), str(ROOT / "tools" / "sam_batch.py"), mode, *map(str, templates.values())], cwd
    )
    by_path = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            by_path[row["template"]] = (row["exit_code"], row["output"])
    assert len(by_path) == len(templates), f"sam_batch {mode} failed:\n{done.stdout}\n{done.stderr}"
    return {name: by_path[str(path)] for name, path in templates.items()}


def _transform_and_lint(templates: dict[str, Path], cwd: Path) -> dict[str, tuple[int, str]]:
    out_dir = cwd / "transformed"
    done = _run(
        [
            str(TOOL_PYTHON),
            str(ROOT / "tools" / "sam_transform.py"),
            "--out-dir",
            str(out_dir),
            *map(str, templates.values()),
        ],
        cwd,
    )
    results: dict[str, tuple[int, str]] = {}
    outputs = {}
    for name, path in templates.items():
        output = out_dir / f"{path.stem}.json"
        if output.is_file():
            outputs[name] = output
        else:
            errors = [line for line in done.stderr.splitlines() if str(path) in line or line.startswith("  ")]
            results[name] = (1, "SAM transform failed:\n" + "\n".join(errors))
    if outputs:
        linted = _run(
            [
                str(CFN_LINT),
                "--format",
                "parseable",
                "--regions",
                "us-east-1",
                "--",
                *map(str, outputs.values()),
            ],
            cwd,
        )
        for name, output in outputs.items():
            lines = [line for line in linted.stdout.splitlines() if line.startswith(str(output))]
            results[name] = (1 if lines else 0, "\n".join(lines))
        assert linted.returncode == 0 or any(code for code, _ in results.values()), linted.stderr
    return results


@pytest.fixture(scope="session")
def check_results(tmp_path_factory: pytest.TempPathFactory) -> CheckResults:
    """Every check on the real template and on each mutated copy, the three checks in parallel."""
    work = tmp_path_factory.mktemp("template-checks")
    text = TEMPLATE.read_text(encoding="utf-8")
    templates = {"real": work / "real.yaml"}
    templates["real"].write_text(text, encoding="utf-8")
    for name in MUTATIONS:
        templates[name] = work / f"{name}.yaml"
        templates[name].write_text(mutate(text, name), encoding="utf-8")
    # sam validate --lint is the slow one (~4 s a template): it runs on the real template, the
    # defects it catches and one it misses (LINT_RUNS); the others were measured once (see
    # test_sam_checks.py).
    lint_templates = {name: path for name, path in templates.items() if name in LINT_RUNS}
    with ThreadPoolExecutor(max_workers=3) as pool:
        lint = pool.submit(_batch, "lint", lint_templates, work)
        validate = pool.submit(_batch, "validate", templates, work)
        transformed = pool.submit(_transform_and_lint, templates, work)
        return CheckResults(lint.result(), validate.result(), transformed.result())
