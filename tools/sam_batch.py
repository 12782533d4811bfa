"""Run one `sam validate` variant on several templates in a single process (for the template tests).

    tools/samenv .tools/uv-tools/aws-sam-cli/bin/python tools/sam_batch.py {lint|validate} T1 [T2 ...]

It invokes sam-cli's own click command (`sam validate --lint -t T` or
`sam validate --region us-east-1 -t T`) in-process, once per template: the same code path as
the CLI, without paying sam-cli's ~5 s import and start-up again for every template. Prints one
JSON object per template: {"template", "exit_code", "output"}. Runs in the SAM tool environment.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    from click.testing import CliRunner
    from samcli.cli.main import cli

    mode, templates = argv[0], argv[1:]
    extra = ["--lint"] if mode == "lint" else ["--region", "us-east-1"]
    runner = CliRunner()
    for template in templates:
        result = runner.invoke(cli, ["validate", *extra, "--template", template])
        output = result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            output += f"\n{type(result.exception).__name__}: {result.exception}"
        print(json.dumps({"template": template, "exit_code": result.exit_code, "output": output}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
