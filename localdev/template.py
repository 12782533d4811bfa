"""Read template.yaml the way `sam local` does: functions, HttpApi routes, environment, tables.

Tests import `load_template`, `create_tables` and `create_queues` from here, so the tables and
queues of template.yaml are never written out a second time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localdev import cfn_yaml

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "local",
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/local/local",
}
FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
TABLE_TYPE = "AWS::DynamoDB::Table"
HTTP_API_TYPE = "AWS::Serverless::HttpApi"
QUEUE_TYPE = "AWS::SQS::Queue"
IMPLICIT_HTTP_API = "ServerlessHttpApi"  # SAM's logical id of the HttpApi of events without ApiId
_SUB_VAR = re.compile(r"\$\{([^!][^}]*)\}")


# !Ref AWS::NoValue: CloudFormation removes the property or list element it stands for (a
# conditional GSI of SessionsTable's two-step upgrade, docs/deploy.md); the resolver drops it too.
NO_VALUE = object()


class TemplateError(ValueError):
    """The template uses something the local runner cannot emulate."""


def load_template(path: str | Path) -> dict[str, Any]:
    """Parse a SAM/CloudFormation template into plain dicts, short-form tags in their long form.

    Not cfn-lint's decoder: it gives the same dicts but importing it pulls in sympy and networkx,
    4 of the runner's 5.6 s of start-up (and of every test session) on these machines.
    """
    return cfn_yaml.load(path)


def resources_of_type(template: Mapping[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template.get("Resources", {}).items() if res.get("Type") == type_}


class Resolver:
    """Evaluates intrinsic functions with `sam local`'s conventions.

    !Ref to a resource gives its logical id (so embedded tables are named after logical ids and
    match what sam local hands the functions); !GetAtt gives a plausible local ARN.
    """

    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, str] | None = None):
        self.template = template
        self.parameters = {
            name: _stringify(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
        }
        self.parameters.update(parameters or {})

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [r for r in (self(v) for v in value) if r is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = self._FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, arg)
        return {k: r for k, r in ((k, self(v)) for k, v in value.items()) if r is not NO_VALUE}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.template.get("Resources", {}):
            return name
        raise TemplateError(f"!Ref to unknown name {name!r}")

    def get_att(self, name: str, attribute: str) -> str:
        resource = self.template.get("Resources", {}).get(name)
        if resource is None:
            raise TemplateError(f"!GetAtt of unknown resource {name!r}")
        if resource.get("Type") == TABLE_TYPE and attribute == "Arn":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
        if resource.get("Type") == QUEUE_TYPE and attribute == "Arn":
            return queue_arn(name)
        if resource.get("Type") == QUEUE_TYPE and attribute == "QueueName":
            return name
        if resource.get("Type") == FUNCTION_TYPE and attribute == "Arn":
            return function_arn(name)
        return f"arn:aws:local:{REGION}:{ACCOUNT_ID}:{name}/{attribute}"

    def includes(self, resource: Mapping[str, Any]) -> bool:
        """False for a resource whose Condition is false: CloudFormation leaves it out."""
        return "Condition" not in resource or self.condition(resource["Condition"])

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"unknown condition {name!r}")
        return bool(self(conditions[name]))

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return _stringify(variables[name])
            if "." in name and name.split(".", 1)[0] in self.template.get("Resources", {}):
                return self.get_att(*name.split(".", 1))
            return _stringify(self.ref(name))

        # ${!Literal} is CloudFormation's escape for a literal ${Literal}.
        return _SUB_VAR.sub(replace, text).replace("${!", "${")

    def _get_att_arg(self, arg: Any) -> str:
        name, attribute = arg.split(".", 1) if isinstance(arg, str) else self(arg)
        return self.get_att(name, attribute)

    def _if(self, arg: list[Any]) -> Any:
        name, when_true, when_false = arg
        return self(when_true if self.condition(name) else when_false)

    _FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
        "Ref": lambda self, a: self.ref(a),
        "Fn::GetAtt": _get_att_arg,
        "Fn::Sub": _sub,
        "Fn::Split": lambda self, a: _stringify(self(a[1])).split(a[0]),
        "Fn::Join": lambda self, a: a[0].join(_stringify(v) for v in self(a[1])),
        "Fn::Select": lambda self, a: self(a[1])[int(self(a[0]))],
        "Fn::If": _if,
        "Fn::Not": lambda self, a: not self(a[0]),
        "Fn::Equals": lambda self, a: _stringify(self(a[0])) == _stringify(self(a[1])),
        "Fn::And": lambda self, a: all(self(v) for v in a),
        "Fn::Or": lambda self, a: any(self(v) for v in a),
        "Condition": lambda self, a: self.condition(a),
        "Fn::FindInMap": lambda self, a: self.template["Mappings"][self(a[0])][self(a[1])][self(a[2])],
    }


def _stringify(value: Any) -> str:
    """Lambda environment values and template parameters are strings; YAML may give bools or ints."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- settings: template defaults overridden by environment variables of the same env name ---


def _environment_specs(template: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    for res in resources_of_type(template, FUNCTION_TYPE).values():
        yield res.get("Properties", {}).get("Environment", {}).get("Variables", {})


def parameter_env_names(template: Mapping[str, Any]) -> dict[str, str]:
    """Parameter name -> the env var it feeds (ALLOWED_ORIGINS: !Ref AllowedOrigins)."""
    parameters = template.get("Parameters", {})
    names: dict[str, str] = {}
    for variables in _environment_specs(template):
        for env_name, raw in variables.items():
            if isinstance(raw, dict) and raw.get("Ref") in parameters:
                names.setdefault(raw["Ref"], env_name)
    return names


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """Each parameter's Default, or the override given under the env var name it feeds; a parameter
    that feeds none (ExampleRoutes) is overridden under its own name (`ExampleRoutes=false make dev`)."""
    values = {
        name: _stringify(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
    }
    env_names = parameter_env_names(template)
    for parameter in values:
        name = env_names.get(parameter, parameter)
        if name in overrides:
            values[parameter] = overrides[name]
    return values


# --- functions and routes ---


def function_arn(name: str) -> str:
    """What !GetAtt <function>.Arn resolves to: the ARN the workers give as invoked_function_arn."""
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


@dataclass(frozen=True)
class Route:
    method: str  # upper case; ANY matches every method
    path: str  # API Gateway syntax: /api/sessions/{id}, /{proxy+}
    api: str = IMPLICIT_HTTP_API  # logical id of its HttpApi (the event's ApiId)
    # The event's Auth, resolved (Authorizer, AuthorizationScopes); None: the API's default applies.
    auth: Mapping[str, Any] | None = field(default=None, hash=False, compare=False)

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class QueueEvent:
    """A function's SQS event source (SAM `Type: SQS`): what Lambda's event source mapping polls."""

    queue: str  # the queue's logical id, which is also its name in the embedded moto
    batch_size: int = 10
    batching_window: float = 0.0  # MaximumBatchingWindowInSeconds
    report_batch_item_failures: bool = False  # FunctionResponseTypes: [ReportBatchItemFailures]


@dataclass(frozen=True)
class Function:
    name: str
    handler: str
    code_uri: Path
    layers: tuple[Path, ...]
    runtime: str
    memory_size: int
    timeout: int
    environment: dict[str, str] = field(hash=False)
    routes: tuple[Route, ...] = ()
    queue_events: tuple[QueueEvent, ...] = ()


def _merged_property(globals_: Mapping[str, Any], props: Mapping[str, Any], key: str, default: Any) -> Any:
    return props.get(key, globals_.get(key, default))


def _layer_paths(template: Mapping[str, Any], base_dir: Path, layers: list[Any]) -> tuple[Path, ...]:
    paths = []
    for layer in layers:
        name = layer.get("Ref") if isinstance(layer, dict) else None
        resource = template.get("Resources", {}).get(name or "")
        if not resource or resource.get("Type") != LAYER_TYPE:
            raise TemplateError(f"layer {layer!r} is not a local AWS::Serverless::LayerVersion")
        content = base_dir / resource["Properties"]["ContentUri"]
        # With a BuildMethod SAM copies ContentUri into python/; without one the folder must already
        # hold python/, which is what Lambda puts on sys.path (/opt/python).
        if "BuildMethod" not in resource.get("Metadata", {}) and (content / "python").is_dir():
            content = content / "python"
        paths.append(content.resolve())
    return tuple(paths)


def function_environment(
    template: Mapping[str, Any],
    function_props: Mapping[str, Any],
    resolve: Resolver,
    overrides: Mapping[str, str],
) -> dict[str, str]:
    """Globals.Function.Environment.Variables merged with the function's own, resolved.

    Literal values can be overridden by an env var of the same name; !Ref to a parameter is
    overridden through the parameter (see parameter_values); !Ref to a table stays its logical id.
    """
    globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    raw = {**globals_env, **function_props.get("Environment", {}).get("Variables", {})}
    env = {}
    for name, value in raw.items():
        if not isinstance(value, dict) and name in overrides:
            env[name] = overrides[name]
        else:
            env[name] = _stringify(resolve(value))
    return env


def _queue_event(template: Mapping[str, Any], where: str, props: Mapping[str, Any]) -> QueueEvent | None:
    """An SQS event's resolved Properties; None when it is disabled (Enabled: false)."""
    if _stringify(props.get("Enabled", True)).lower() == "false":
        return None
    if "FilterCriteria" in props:
        # Lambda deletes the messages a filter drops: ignoring it here would deliver them instead.
        raise TemplateError(f"{where}: FilterCriteria is not emulated by the local runner")
    queues = {queue_arn(name): name for name in resources_of_type(template, QUEUE_TYPE)}
    queue = queues.get(props.get("Queue"))  # type: ignore[arg-type]
    if queue is None:
        raise TemplateError(f"{where}: Queue must be !GetAtt <an AWS::SQS::Queue of this template>.Arn")
    return QueueEvent(
        queue=queue,
        batch_size=int(props.get("BatchSize", 10)),
        batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
        report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
    )


def functions(
    template: Mapping[str, Any], base_dir: str | Path, overrides: Mapping[str, str] | None = None
) -> list[Function]:
    """Every AWS::Serverless::Function with its HttpApi routes, SQS event sources and environment."""
    overrides = overrides or {}
    base_dir = Path(base_dir)
    resolve = Resolver(template, parameter_values(template, overrides))
    globals_ = template.get("Globals", {}).get("Function", {})
    result = []
    for name, res in resources_of_type(template, FUNCTION_TYPE).items():
        if not resolve.includes(res):
            continue
        props = res.get("Properties", {})
        routes = []
        queue_events = []
        for event_name, event in props.get("Events", {}).items():
            if event.get("Type") == "SQS":
                queue_event = _queue_event(template, f"{name}.{event_name}", resolve(event.get("Properties", {})))
                if queue_event is not None:
                    queue_events.append(queue_event)
                continue
            if event.get("Type") != "HttpApi":
                continue  # REST (Api) events, schedules, streams: not served by this runner
            event_props = resolve(event.get("Properties", {}))
            method = str(event_props.get("Method", "ANY")).upper()
            routes.append(
                Route(
                    "ANY" if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" else method,
                    event_props.get("Path", "$default"),
                    # !Ref AppApi resolves to the logical id; no ApiId means SAM's implicit API.
                    api=event_props.get("ApiId", IMPLICIT_HTTP_API),
                    auth=event_props.get("Auth"),
                )
            )
        result.append(
            Function(
                name=name,
                handler=_merged_property(globals_, props, "Handler", ""),
                code_uri=(base_dir / _merged_property(globals_, props, "CodeUri", ".")).resolve(),
                layers=_layer_paths(template, base_dir, _merged_property(globals_, props, "Layers", [])),
                runtime=_merged_property(globals_, props, "Runtime", ""),
                memory_size=int(_merged_property(globals_, props, "MemorySize", 128)),
                timeout=int(_merged_property(globals_, props, "Timeout", 3)),
                environment=function_environment(template, props, resolve, overrides),
                routes=tuple(routes),
                queue_events=tuple(queue_events),
            )
        )
    return result


def globals_environment(
    template: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Globals.Function.Environment resolved: what every function sees (used for the demo user)."""
    overrides = overrides or {}
    resolve = Resolver(template, parameter_values(template, overrides))
    return function_environment(template, {}, resolve, overrides)


def cors_configuration(
    template: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The HttpApi's CorsConfiguration, resolved (AllowOrigins: !Split [",", !Ref AllowedOrigins])."""
    resolve = Resolver(template, parameter_values(template, overrides or {}))
    configs = [
        res.get("Properties", {}).get("CorsConfiguration")
        for res in resources_of_type(template, HTTP_API_TYPE).values()
    ]
    configs.append(template.get("Globals", {}).get("HttpApi", {}).get("CorsConfiguration"))
    config = next((c for c in configs if c), None)
    if config is None:
        return {}
    if config is True:  # SAM shorthand: CorsConfiguration: true allows any origin
        return {"AllowOrigins": ["*"], "AllowMethods": ["*"], "AllowHeaders": ["*"]}
    return resolve(config)


# --- tables ---


def table_definitions(
    template: Mapping[str, Any], parameters: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """create_table arguments of each AWS::DynamoDB::Table, named after its logical id (template
    defaults, or ``parameters`` where given: LegacySessionsIndex=true is an upgrading stack's)."""
    resolve = Resolver(template, parameters)
    definitions = {}
    for name, res in resources_of_type(template, TABLE_TYPE).items():
        props = resolve(res.get("Properties", {}))
        args: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        for key in (
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "ProvisionedThroughput",
            "StreamSpecification",
        ):
            if key in props:
                args[key] = props[key]
        definitions[name] = args
    return definitions


def create_tables(dynamodb_client: Any, template: Mapping[str, Any]) -> list[str]:
    """Create the template's tables (with their TTL) through a boto3 DynamoDB client (moto or local)."""
    created = []
    for name, args in table_definitions(template).items():
        dynamodb_client.create_table(**args)
        ttl = Resolver(template)(template["Resources"][name]["Properties"].get("TimeToLiveSpecification"))
        if ttl and ttl.get("Enabled"):
            dynamodb_client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        created.append(name)
    return created


# --- queues ---

# CloudFormation properties of AWS::SQS::Queue that are SQS queue attributes of the same name.
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
)


def queue_arn(name: str) -> str:
    """The ARN !GetAtt <queue>.Arn resolves to: moto's ARN of the queue named after the logical id."""
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"


@dataclass(frozen=True)
class Queue:
    name: str  # the logical id (what !Ref gives under sam local and this runner)
    attributes: dict[str, str] = field(hash=False)  # create_queue Attributes, RedrivePolicy aside
    dead_letter_queue: str | None = None  # logical id of the RedrivePolicy's deadLetterTargetArn
    max_receive_count: int = 0


def queue_definitions(template: Mapping[str, Any]) -> list[Queue]:
    """Each AWS::SQS::Queue, a dead-letter queue before the queues that redrive to it.

    The order matters: SQS refuses a RedrivePolicy whose target does not exist yet.
    """
    resolve = Resolver(template)
    resources = resources_of_type(template, QUEUE_TYPE)
    by_arn = {queue_arn(name): name for name in resources}
    ordered: dict[str, Queue] = {}

    def add(name: str, pending: tuple[str, ...]) -> None:
        if name in ordered:
            return
        if name in pending:
            raise TemplateError(f"queue {name!r}: its RedrivePolicy leads back to itself")
        props = resolve(resources[name].get("Properties", {}))
        if props.get("FifoQueue") in (True, "true"):
            raise TemplateError(f"queue {name!r}: FIFO queues are not emulated (a logical id cannot end in .fifo)")
        attributes = {key: _stringify(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
        redrive = props.get("RedrivePolicy")
        if isinstance(redrive, str):  # CloudFormation takes the JSON text as well as the object
            redrive = json.loads(redrive)
        target = None
        if redrive:
            target = by_arn.get(redrive.get("deadLetterTargetArn"))
            if target is None:
                raise TemplateError(f"queue {name!r}: deadLetterTargetArn is not a queue of this template")
            add(target, (*pending, name))
        ordered[name] = Queue(
            name=name,
            attributes=attributes,
            dead_letter_queue=target,
            max_receive_count=int(redrive["maxReceiveCount"]) if redrive else 0,
        )

    for name in resources:
        add(name, ())
    return list(ordered.values())


def create_queues(sqs_client: Any, template: Mapping[str, Any]) -> list[str]:
    """Create the template's queues through a boto3 SQS client (moto), dead-letter queues first."""
    arns: dict[str, str] = {}
    created = []
    for queue in queue_definitions(template):
        attributes = dict(queue.attributes)
        if queue.dead_letter_queue:
            # The ARN moto gave the target, not a computed one: right under any MOTO_ACCOUNT_ID.
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arns[queue.dead_letter_queue], "maxReceiveCount": queue.max_receive_count}
            )
        url = sqs_client.create_queue(QueueName=queue.name, Attributes=attributes)["QueueUrl"]
        arns[queue.name] = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        created.append(queue.name)
    return created
