"""sam-refresh-auth token layer: settings, tokens, passwords, DynamoDB access and HTTP glue.

Handlers (functions/*) stay thin: parse -> call logic -> respond. Only ``authlayer.dal`` touches boto3.
"""
