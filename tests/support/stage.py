"""What template.yaml gives each function, resolved against staged resources: the start of the AWS world staged on one
machine (issue 25).

Reads the SAM template with cfn-lint's own decoder (the YAML tags become CloudFormation's JSON form), merges
Globals.Function into each AWS::Serverless::Function, and resolves the intrinsic functions the template uses (Ref,
Fn::GetAtt, Fn::Sub, Fn::Select, Fn::Split, Fn::If with Fn::Equals and Fn::Not, AWS::NoValue, and Secrets Manager dynamic
references) against the values given on standard input:

    {"StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/framelift-staged/<guid>",
     "Region": "us-east-1", "AccountId": "123456789012",
     "Parameters": {"GoogleClientId": "...", ...},            # the rest take the template's defaults
     "Resources": {"VideosTable": "<table name>", "SigningSecret": "<secret id>", ...},   # Ref of a resource
     "Attributes": {"SearchDomain.DomainEndpoint": "...", ...},                           # Fn::GetAtt
     "Secrets": {"<secret id>": "<secret string>"}}

and prints, for each function, {"Binary", "MemorySize", "Timeout", "Environment", "Statements", "Routes",
"ObjectEvents", "Schedules", "QueueEvents", "Retries", "OnFailure"}: its binary, settings and environment; the
statements of every policy it is given; the HTTP API routes, S3 notifications, schedules and queues (event source
mappings) that invoke it; and how its asynchronous invocations are retried and where failed events go. `"Functions": {"<logical id>": {"Parameters": {...}}}` in the
values overrides parameters for one function (each staged function reaches its own recording endpoint). Anything it
cannot resolve is an error naming the function and the expression, never a guess.

With `create ENDPOINT` it makes the template's DynamoDB tables (key schema, attributes, indexes and billing mode as the
template declares them), its S3 buckets (with their CORS rules) and its SQS queues (with their attributes and redrive policies; a queue's
`Resources` value may be its URL, as its Ref is), named as `Resources` says, on that endpoint (moto), instead of
printing. `"QueueAttributes": {"<logical id>": {...}}` in the values sets a queue's attributes over the template's
(a test that cannot wait for a 90-minute visibility timeout).

Usage: python stage.py TEMPLATE [create ENDPOINT] < values.json
"""

import json
import re
import sys

import cfnlint.decode


class Unresolved(Exception):
    pass


# What `Ref AWS::NoValue` resolves to: the property, list item or variable that holds it is left out.
NO_VALUE = object()


def resolver(template, values, overrides=None):
    params = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
    params.update({k: str(v) for k, v in values.get("Parameters", {}).items()})
    params.update({k: str(v) for k, v in (overrides or {}).items()})
    # A list parameter's Ref is the list.
    for k, v in template.get("Parameters", {}).items():
        if v.get("Type") == "CommaDelimitedList":
            params[k] = [item.strip() for item in params[k].split(",")]
    stack_id = values["StackId"]
    pseudo = {
        "AWS::StackId": stack_id,
        "AWS::StackName": stack_id.split("/")[1],
        "AWS::Region": values.get("Region", "us-east-1"),
        "AWS::AccountId": values.get("AccountId", "123456789012"),
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    resources = values.get("Resources", {})
    attributes = values.get("Attributes", {})
    secrets = values.get("Secrets", {})
    conditions = template.get("Conditions", {})

    def ref(name):
        if name == "AWS::NoValue":
            return NO_VALUE
        for table in (pseudo, params, resources):
            if name in table:
                return table[name]
        raise Unresolved(f"Ref {name}")

    def condition(name):
        return evaluate(conditions[name])

    def evaluate(expr):
        if isinstance(expr, dict) and len(expr) == 1:
            (fn, arg), = expr.items()
            if fn == "Fn::Equals":
                return resolve(arg[0]) == resolve(arg[1])
            if fn == "Fn::Not":
                return not evaluate(arg[0])
            if fn == "Condition":
                return condition(arg)
        raise Unresolved(f"condition {expr}")

    def sub(text, local):
        def one(m):
            name = m.group(1)
            if name in local:
                return str(resolve(local[name]))
            if "." in name:
                if name not in attributes:
                    raise Unresolved(f"Fn::Sub ${{{name}}}")
                return attributes[name]
            return str(ref(name))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def resolve(expr):
        if isinstance(expr, str):
            return dynamic(expr)
        if isinstance(expr, (int, float, bool)):
            return expr
        if isinstance(expr, list):
            return [r for r in map(resolve, expr) if r is not NO_VALUE]
        if isinstance(expr, dict) and len(expr) == 1:
            (fn, arg), = expr.items()
            if fn == "Ref":
                return ref(arg)
            if fn == "Fn::GetAtt":
                name = ".".join(arg) if isinstance(arg, list) else arg
                if name not in attributes:
                    raise Unresolved(f"Fn::GetAtt {name}")
                return attributes[name]
            if fn == "Fn::Sub":
                text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return dynamic(sub(text, local))
            if fn == "Fn::Select":
                return resolve(arg[1])[int(resolve(arg[0]))]
            if fn == "Fn::Split":
                return resolve(arg[1]).split(arg[0])
            if fn == "Fn::If":
                return resolve(arg[1] if condition(arg[0]) else arg[2])
        if isinstance(expr, dict):
            return {k: r for k, r in ((k, resolve(v)) for k, v in expr.items()) if r is not NO_VALUE}
        raise Unresolved(str(expr))

    def dynamic(text):
        m = re.fullmatch(r"\{\{resolve:secretsmanager:(.+):SecretString\}\}", text)
        if m:
            if m.group(1) not in secrets:
                raise Unresolved(f"the secret {m.group(1)}")
            return secrets[m.group(1)]
        return text

    return resolve


def statements(template, resolve, policies):
    """The statements of a function's policies: managed policies it refers to, or inline documents."""
    out = []
    for policy in policies:
        if isinstance(policy, dict) and list(policy) == ["Ref"]:
            resource = template["Resources"][policy["Ref"]]
            if resource.get("Type") != "AWS::IAM::ManagedPolicy":
                raise Unresolved(f"policy {policy}")
            document = resource["Properties"]["PolicyDocument"]
            source = policy["Ref"]
        elif isinstance(policy, dict) and "Statement" in policy:
            document, source = policy, "inline"
        else:
            raise Unresolved(f"policy {policy} (SAM policy templates are not staged)")
        for i, statement in enumerate(resolve(document)["Statement"]):
            out.append(dict(statement, Source=f"{source}[{i}]"))
    return out


def invoke_config(props, resolve):
    config = props.get("EventInvokeConfig", {})
    on_failure = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if isinstance(on_failure, dict) and "Fn::GetAtt" in on_failure:
        on_failure = on_failure["Fn::GetAtt"][0] if isinstance(on_failure["Fn::GetAtt"], list) else on_failure["Fn::GetAtt"].split(".")[0]
    # Lambda's defaults for asynchronous invocations: two retries, events kept six hours.
    return int(resolve(config.get("MaximumRetryAttempts", 2))), on_failure


def logical(expr):
    """The logical id a Ref or Fn::GetAtt names."""
    if "Ref" in expr:
        return expr["Ref"]
    arg = expr["Fn::GetAtt"]
    return arg[0] if isinstance(arg, list) else arg.split(".")[0]


def queue_events(template, resolve):
    """The event source mappings of each function: {function: [{"Queue", "BatchSize", "ReportBatchItemFailures",
    "MaximumConcurrency"}]}."""
    out = {}
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Lambda::EventSourceMapping":
            continue
        p = resource["Properties"]
        function, queue = logical(p["FunctionName"]), logical(p["EventSourceArn"])
        if template["Resources"][queue].get("Type") != "AWS::SQS::Queue":
            raise Unresolved(f"event source {name}: not a queue")
        out.setdefault(function, []).append({
            "Queue": queue,
            "BatchSize": int(resolve(p.get("BatchSize", 10))),
            "ReportBatchItemFailures": "ReportBatchItemFailures" in p.get("FunctionResponseTypes", []),
            "MaximumConcurrency": int(resolve(p["ScalingConfig"]["MaximumConcurrency"])) if "ScalingConfig" in p else None,
        })
    return out


def functions(template, values):
    globals_ = template.get("Globals", {}).get("Function", {})
    try:
        mappings = queue_events(template, resolver(template, values))
    except Unresolved as e:
        raise SystemExit(f"stage.py: cannot resolve {e}")
    out = {}
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        resolve = resolver(template, values, values.get("Functions", {}).get(name, {}).get("Parameters"))
        props = resource.get("Properties", {})
        env = dict(globals_.get("Environment", {}).get("Variables", {}))
        env.update(props.get("Environment", {}).get("Variables", {}))
        try:
            routes, object_events, schedules = [], [], []
            for event_name, event in props.get("Events", {}).items():
                p = event.get("Properties", {})
                if event["Type"] == "HttpApi":
                    routes.append({"Method": p["Method"], "Path": p["Path"]})
                elif event["Type"] == "S3":
                    rules = p.get("Filter", {}).get("S3Key", {}).get("Rules", [])
                    events = p["Events"] if isinstance(p["Events"], list) else [p["Events"]]
                    object_events.append({"Bucket": p["Bucket"]["Ref"], "Events": events,
                                          "Filter": [{"Name": r["Name"], "Value": resolve(r["Value"])} for r in rules]})
                elif event["Type"] == "Schedule":
                    schedules.append({"Name": event_name, "Schedule": resolve(p["Schedule"])})
                else:
                    raise Unresolved(f"event {event_name} of type {event['Type']}")
            retries, on_failure = invoke_config(props, resolve)
            out[name] = {
                "Binary": resource["Metadata"]["BuildProperties"]["Binary"],
                "MemorySize": int(resolve(props.get("MemorySize", globals_.get("MemorySize", 128)))),
                "Timeout": int(resolve(props.get("Timeout", globals_.get("Timeout", 3)))),
                "Environment": {k: str(v) for k, v in resolve(env).items()},
                "Statements": statements(template, resolve, props.get("Policies", [])),
                "Routes": routes,
                "ObjectEvents": object_events,
                "Schedules": schedules,
                "QueueEvents": mappings.get(name, []),
                "Retries": retries,
                "OnFailure": on_failure,
            }
        except Unresolved as e:
            raise SystemExit(f"stage.py: {name}: cannot resolve {e}")
    return out


# The table properties CreateTable takes as CloudFormation spells them; the rest (point-in-time recovery, encryption
# settings) are separate calls that a staged table does without.
TABLE_PROPERTIES = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "BillingMode")
# CloudFormation's names for S3's CORS rule fields, where they differ from the API's.
CORS_NAMES = {"ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds", "Id": "ID"}
# The queue properties that are queue attributes under the same name.
QUEUE_ATTRIBUTES = ("MessageRetentionPeriod", "VisibilityTimeout", "DelaySeconds", "SqsManagedSseEnabled", "ReceiveMessageWaitTimeSeconds")


def create(template, values, endpoint):
    import boto3

    resolve = resolver(template, values)
    session = dict(endpoint_url=endpoint, region_name=values.get("Region", "us-east-1"),
                   aws_access_key_id="staging", aws_secret_access_key="staging")
    dynamodb, s3, sqs = (boto3.client(service, **session) for service in ("dynamodb", "s3", "sqs"))
    queues = []
    for name, resource in template["Resources"].items():
        if name not in values["Resources"] or resource.get("Condition"):
            continue
        props = resolve(resource.get("Properties", {}))
        kind, physical = resource.get("Type"), values["Resources"][name]
        if kind == "AWS::DynamoDB::Table":
            dynamodb.create_table(TableName=physical, **{k: v for k, v in props.items() if k in TABLE_PROPERTIES})
        elif kind == "AWS::S3::Bucket":
            if props.get("BucketName", physical) != physical:
                raise SystemExit(f"stage.py: {name} is named {props['BucketName']} by the template, not {physical}")
            s3.create_bucket(Bucket=physical)
            if "CorsConfiguration" in props:
                rules = [{CORS_NAMES.get(k, k): v for k, v in rule.items()} for rule in props["CorsConfiguration"]["CorsRules"]]
                s3.put_bucket_cors(Bucket=physical, CORSConfiguration={"CORSRules": rules})
        elif kind == "AWS::SQS::Queue":
            queues.append((name, physical, props))
    # Dead-letter queues first: a redrive policy names one that exists.
    for name, physical, props in sorted(queues, key=lambda q: "RedrivePolicy" in q[2]):
        attributes = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in props.items() if k in QUEUE_ATTRIBUTES}
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        attributes.update({k: str(v) for k, v in values.get("QueueAttributes", {}).get(name, {}).items()})
        sqs.create_queue(QueueName=physical.rsplit("/", 1)[-1], Attributes=attributes)


def main():
    template, matches = cfnlint.decode.decode(sys.argv[1])
    if matches:
        raise SystemExit(f"stage.py: {sys.argv[1]} does not parse: {matches}")
    values = json.load(sys.stdin)
    if sys.argv[2:3] == ["create"]:
        create(template, values, sys.argv[3])
        return
    print(json.dumps({"Functions": functions(template, values)}, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
