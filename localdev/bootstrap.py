"""Runtime of one local "Lambda container": run as a script by workers.py, never imported.

argv: handler ("login.handler") and the sys.path entries (CodeUri, then each layer).
Protocol: one JSON line per invocation on stdin ({"event", "context"}), one JSON line back
({"result"} or {"error"}). The handler's own prints and logs go to stderr, as Lambda sends them
to CloudWatch, so they can never corrupt the protocol stream.
"""

import importlib
import json
import os
import sys
import time
import traceback


class LambdaContext:
    def __init__(self, data):
        self.aws_request_id = data["aws_request_id"]
        self.function_name = data["function_name"]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = data["memory_limit_in_mb"]
        self.invoked_function_arn = data["invoked_function_arn"]
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self.identity = None
        self.client_context = None
        self._deadline_ms = data["deadline_ms"]

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _error(exc):
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def main():
    handler_name, *paths = sys.argv[1:]
    # Keep the protocol on private copies of fds 0/1, then point fd 1 at stderr so print() and
    # logging to stdout cannot interleave with responses.
    requests = os.fdopen(os.dup(0), "rb")
    responses = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)

    # Like /var/task then /opt/python: the function's code, then its layers; not this folder.
    sys.path[0:1] = paths
    os.chdir(paths[0])

    def send(message):
        responses.write(json.dumps(message).encode() + b"\n")
        responses.flush()

    module_name, _, function_name = handler_name.replace("/", ".").rpartition(".")
    try:  # the init phase: import errors surface as Runtime.ImportModuleError in Lambda
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:
        traceback.print_exc()
        send({"init_error": _error(exc)})
        return 1
    send({"ready": True})

    for line in requests:
        message = json.loads(line)
        try:
            result = handler(message["event"], LambdaContext(message["context"]))
            payload = json.dumps({"result": result})  # the runtime serialises the return value
        except Exception as exc:
            traceback.print_exc()
            payload = json.dumps({"error": _error(exc)})
        responses.write(payload.encode() + b"\n")
        responses.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
