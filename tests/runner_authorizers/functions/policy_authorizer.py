"""A Lambda REQUEST authorizer with IAM policy responses; the X-Api-Key header decides the policy."""

ANY_ITEM = "arn:aws:execute-api:*:*:*/$default/GET/app/policy/*"


def statement(effect, resource):
    return {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}


def handler(event, context):
    key, tenant = event["identitySource"]
    statements = {
        "allow": [statement("Allow", event["routeArn"])],
        "wildcard": [statement("Allow", [ANY_ITEM])],
        "elsewhere": [statement("Allow", event["routeArn"] + "-other")],
        "deny": [statement("Allow", ANY_ITEM), statement("Deny", event["routeArn"])],
    }.get(key, [])
    return {
        "principalId": f"{tenant}:{key}",
        "policyDocument": {"Version": "2012-10-17", "Statement": statements},
        "context": {"tenant": tenant, "key": key},
    }
