"""A user's route: answers with what API Gateway put in requestContext.authorizer (absent: null)."""

import json


def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"routeKey": event["routeKey"], "authorizer": event["requestContext"].get("authorizer")}),
    }
