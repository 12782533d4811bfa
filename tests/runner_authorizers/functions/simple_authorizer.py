"""A Lambda REQUEST authorizer with simple responses; the identity decides the answer:
"allow-<name>" is authorized, "deny" is not, "broken" answers nonsense, "raise" fails."""


def handler(event, context):
    token = event["identitySource"][0].removeprefix("Bearer ")
    if token == "raise":
        raise RuntimeError("authorizer failed")
    if token == "broken":
        return {"isAuthorized": "yes"}
    if not token.startswith("allow-"):
        return {"isAuthorized": False, "context": {"reason": "denied"}}
    return {
        "isAuthorized": True,
        # What the authorizer saw, so the test can check the 2.0 REQUEST event too.
        "context": {
            "user": token.removeprefix("allow-"),
            "number": 7,
            "flag": True,
            "type": event["type"],
            "routeArn": event["routeArn"],
            "routeKey": event["routeKey"],
            "identitySource": event["identitySource"],
            "hasBody": "body" in event,
        },
    }
