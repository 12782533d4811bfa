"""sam-refresh-auth token layer: settings, tokens, passwords, DynamoDB access and HTTP glue.

Handlers (functions/*) stay thin: parse -> call logic -> respond. Only ``authlayer.dal`` touches boto3.
"""

import gc as _gc
import os as _os

# In a Lambda container the cyclic GC only slows the handler's import down (about 24 ms of a cold
# start: the heap only grows while modules load, there is nothing to collect). It is switched off
# here, before the handler's first import, and back on, after the import-time heap is frozen, when
# the handler is decorated (authlayer.http). Other processes (tests, authctl) keep it on.
if "AWS_LAMBDA_FUNCTION_NAME" in _os.environ:
    _gc.disable()
