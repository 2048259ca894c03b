"""A template as CloudFormation would deploy it, for given parameter values, in a given account.

`resolve(template, account, parameters)` evaluates the conditions, drops the resources (and
list items) they leave out, and replaces every intrinsic function by its value. Resources get the
physical ids and attributes CloudFormation would give them; where AWS picks the value (a KMS key
id), a stable stand-in derived from the logical id (and `stack`, which tells apart two templates
launched in one account that both have a key `ArtifactKey`) is used, so two templates resolved
for the same accounts refer to each other's resources by the same strings. A resolved resource
carries that id as `PhysicalId`.
"""

from __future__ import annotations

import copy
import re
from typing import Any

REGION = "us-east-1"
PARTITION = "aws"


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()
_SUB = re.compile(r"\$\{([^}]*)\}")


def key_id(account: str, logical_id: str, stack: str = "") -> str:
    """The stand-in for the id AWS gives a key: the same in every template that resolves it."""
    return f"{account}-{stack}{'-' if stack else ''}{logical_id}".lower()


class Resolver:
    def __init__(self, template: dict[str, Any], account: str, parameters: dict[str, Any], stack: str = ""):
        self.template = template
        self.account = account
        self.stack = stack
        self.resources = template.get("Resources", {})
        self.parameters: dict[str, Any] = {}
        for name, spec in template.get("Parameters", {}).items():
            if name in parameters:
                value = parameters[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise KeyError(f"parameter {name} has no value and no default")
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = value.split(",") if value else [""]
            self.parameters[name] = value
        unknown = set(parameters) - set(self.parameters)
        if unknown:
            raise KeyError(f"not parameters of the template: {sorted(unknown)}")
        self.conditions: dict[str, bool] = {}
        for name in template.get("Conditions", {}):
            self.condition(name)

    # --- conditions --------------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.test(self.template["Conditions"][name]))
        return self.conditions[name]

    def test(self, value: Any) -> bool:
        ((fn, args),) = value.items()
        if fn == "Condition":
            return self.condition(args)
        if fn == "Fn::Equals":
            left, right = (self.value(a) for a in args)
            return _text(left) == _text(right)
        if fn == "Fn::Not":
            return not self.test(args[0])
        if fn == "Fn::And":
            return all(self.test(a) for a in args)
        if fn == "Fn::Or":
            return any(self.test(a) for a in args)
        raise ValueError(f"unsupported condition function {fn}")

    # --- values ------------------------------------------------------------------------------
    def value(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.value(v) for v in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((fn, args),) = value.items()
            handler = {
                "Ref": self.ref,
                "Fn::Sub": self.sub,
                "Fn::Join": lambda a: a[0].join(_text(v) for v in self.value(a[1])),
                "Fn::Split": lambda a: self.value(a[1]).split(a[0]),
                "Fn::Select": lambda a: self.value(a[1])[int(self.value(a[0]))],
                "Fn::If": lambda a: self.value(a[1] if self.condition(a[0]) else a[2]),
                "Fn::GetAtt": lambda a: self.attribute(*(a if isinstance(a, list) else a.split(".", 1))),
                "Fn::Equals": lambda a: self.test({"Fn::Equals": a}),
                "Fn::Not": lambda a: self.test({"Fn::Not": a}),
                "Fn::Or": lambda a: self.test({"Fn::Or": a}),
                "Fn::And": lambda a: self.test({"Fn::And": a}),
            }.get(fn)
            if handler is not None:
                return handler(args)
            if fn.startswith("Fn::"):
                raise ValueError(f"unsupported function {fn}")
        resolved = {k: self.value(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "SC-stack",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.physical_id(name)

    def sub(self, args: Any) -> str:
        text, variables = (args, {}) if isinstance(args, str) else args

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(self.value(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                return _text(self.attribute(*name.split(".", 1)))
            return _text(self.ref(name))

        return _SUB.sub(replace, text)

    # --- resources ---------------------------------------------------------------------------
    def props(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id].get("Properties", {})

    def name(self, logical_id: str, prop: str) -> str:
        return _text(self.value(self.props(logical_id)[prop]))

    def physical_id(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        by_name = {
            "AWS::S3::Bucket": "BucketName",
            "AWS::IAM::Role": "RoleName",
            "AWS::Events::EventBus": "Name",
            "AWS::Events::Rule": "Name",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::CodePipeline::Pipeline": "Name",
            "AWS::CodeBuild::Project": "Name",
            "AWS::CodeCommit::Repository": "RepositoryName",
        }
        if kind in by_name and by_name[kind] in self.props(logical_id):
            return self.name(logical_id, by_name[kind])
        if kind == "AWS::KMS::Key":
            return key_id(self.account, logical_id, self.stack)
        if kind == "AWS::SageMaker::ModelPackageGroup":  # Ref gives the ARN
            return self.arn("sagemaker", f"model-package-group/{self.name(logical_id, 'ModelPackageGroupName')}")
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{self.account}/{self.name(logical_id, 'QueueName')}"
        return f"{logical_id}-physical-id"

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:{PARTITION}:{service}:{REGION if region else ''}:{self.account}:{resource}"

    def attribute(self, logical_id: str, attribute: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_id(logical_id)
        if attribute in ("Arn", "ModelPackageGroupArn"):
            arns = {
                "AWS::S3::Bucket": lambda: f"arn:{PARTITION}:s3:::{name}",
                "AWS::KMS::Key": lambda: self.arn("kms", f"key/{name}"),
                "AWS::IAM::Role": lambda: f"arn:{PARTITION}:iam::{self.account}:role/{name}",
                "AWS::Events::EventBus": lambda: self.arn("events", f"event-bus/{name}"),
                "AWS::Events::Rule": lambda: self.arn("events", f"rule/{self._rule_path(logical_id)}"),
                "AWS::Lambda::Function": lambda: self.arn("lambda", f"function:{name}"),
                "AWS::SQS::Queue": lambda: self.arn("sqs", name.rsplit("/", 1)[1]),
                "AWS::Logs::LogGroup": lambda: self.arn("logs", f"log-group:{name}:*"),
                "AWS::SageMaker::ModelPackageGroup": lambda: name,
                "AWS::CodeCommit::Repository": lambda: self.arn("codecommit", name),
            }
            if kind in arns:
                return arns[kind]()
        return f"{logical_id}.{attribute}"

    def _rule_path(self, logical_id: str) -> str:
        bus = self.props(logical_id).get("EventBusName")
        name = self.physical_id(logical_id)
        return f"{_text(self.value(bus))}/{name}" if bus and _text(self.value(bus)) != "default" else name

    # --- the whole template ----------------------------------------------------------------
    def resolve(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Resources": {}, "Outputs": {}, "Conditions": dict(self.conditions)}
        for logical_id, resource in self.resources.items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            resolved = copy.deepcopy(resource)
            resolved["Properties"] = self.value(resource.get("Properties", {}))
            if resolved["Type"] == "AWS::KMS::Key":
                resolved["PhysicalId"] = self.physical_id(logical_id)
            out["Resources"][logical_id] = resolved
        for name, output in self.template.get("Outputs", {}).items():
            if "Condition" in output and not self.condition(output["Condition"]):
                continue
            out["Outputs"][name] = self.value(output["Value"])
        return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def resolve(template: dict[str, Any], account: str, parameters: dict[str, Any], stack: str = "") -> dict[str, Any]:
    return Resolver(template, account, parameters, stack).resolve()
