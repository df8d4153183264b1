"""What template.yaml gives each function, resolved against staged resources: the start of the AWS world staged on one
machine (issue 25).

Reads the SAM template with cfn-lint's own decoder (the YAML tags become CloudFormation's JSON form), merges
Globals.Function into each AWS::Serverless::Function, and resolves the intrinsic functions the template uses (Ref,
Fn::GetAtt, Fn::Sub, Fn::Select, Fn::Split, Fn::If with Fn::Equals and Fn::Not, and Secrets Manager dynamic
references) against the values given on standard input:

    {"StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/framelift-staged/<guid>",
     "Region": "us-east-1", "AccountId": "123456789012",
     "Parameters": {"GoogleClientId": "...", ...},            # the rest take the template's defaults
     "Resources": {"VideosTable": "<table name>", "SigningSecret": "<secret id>", ...},   # Ref of a resource
     "Attributes": {"SearchDomain.DomainEndpoint": "...", ...},                           # Fn::GetAtt
     "Secrets": {"<secret id>": "<secret string>"}}

and prints, for each function, {"Binary", "MemorySize", "Timeout", "Environment"}. Anything it cannot resolve is an
error naming the function and the expression, never a guess.

With `create ENDPOINT` it makes the template's DynamoDB tables (key schema, attributes, indexes and billing mode as the
template declares them, named as `Resources` says) on that endpoint (moto), instead of printing.

Usage: python stage.py TEMPLATE [create ENDPOINT] < values.json
"""

import json
import re
import sys

import cfnlint.decode


class Unresolved(Exception):
    pass


def resolver(template, values):
    params = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
    params.update({k: str(v) for k, v in values.get("Parameters", {}).items()})
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
            return [resolve(e) for e in expr]
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
            return {k: resolve(v) for k, v in expr.items()}
        raise Unresolved(str(expr))

    def dynamic(text):
        m = re.fullmatch(r"\{\{resolve:secretsmanager:(.+):SecretString\}\}", text)
        if m:
            if m.group(1) not in secrets:
                raise Unresolved(f"the secret {m.group(1)}")
            return secrets[m.group(1)]
        return text

    return resolve


def functions(template, values):
    resolve = resolver(template, values)
    globals_ = template.get("Globals", {}).get("Function", {})
    out = {}
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})
        env = dict(globals_.get("Environment", {}).get("Variables", {}))
        env.update(props.get("Environment", {}).get("Variables", {}))
        try:
            out[name] = {
                "Binary": resource["Metadata"]["BuildProperties"]["Binary"],
                "MemorySize": int(resolve(props.get("MemorySize", globals_.get("MemorySize", 128)))),
                "Timeout": int(resolve(props.get("Timeout", globals_.get("Timeout", 3)))),
                "Environment": {k: str(resolve(v)) for k, v in env.items()},
            }
        except Unresolved as e:
            raise SystemExit(f"stage.py: {name}: cannot resolve {e}")
    return out


# The table properties CreateTable takes as CloudFormation spells them; the rest (point-in-time recovery, encryption
# settings) are separate calls that a staged table does without.
TABLE_PROPERTIES = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "BillingMode")


def create(template, values, endpoint):
    import boto3

    resolve = resolver(template, values)
    dynamodb = boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name=values.get("Region", "us-east-1"),
        aws_access_key_id="staging", aws_secret_access_key="staging",
    )
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::DynamoDB::Table":
            continue
        props = resolve(resource.get("Properties", {}))
        table = values["Resources"][name]
        dynamodb.create_table(TableName=table, **{k: v for k, v in props.items() if k in TABLE_PROPERTIES})


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
