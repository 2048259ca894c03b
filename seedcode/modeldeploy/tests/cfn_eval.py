"""Evaluate a CloudFormation template's conditions and properties for given parameters.

Only the intrinsic functions the endpoint template uses are implemented
(Ref, Fn::Sub, Fn::If, Fn::Equals, Fn::And, Fn::Or, Fn::Not, Fn::Select,
Fn::Split, Condition; Fn::GetAtt is kept symbolic). That is enough to check
what CloudFormation would send to SageMaker for a given stage config, e.g.
that KmsKeyId disappears for NVMe instance types. An unknown function raises,
so a template change cannot silently escape the tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

NO_VALUE = object()

PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::StackName": "test-stack",
}


class Evaluator:
    """Resolves intrinsics against parameter values (template defaults filled in)."""

    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, str]):
        self.template = template
        self.values: dict[str, str] = {}
        for name, spec in template.get("Parameters", {}).items():
            if name in parameters:
                self.values[name] = str(parameters[name])
            elif "Default" in spec:
                self.values[name] = str(spec["Default"])
            else:
                raise KeyError(f"parameter {name} has no value and no default")
        unknown = set(parameters) - set(self.values)
        if unknown:
            raise KeyError(f"not template parameters: {sorted(unknown)}")
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.values:
            return self.values[name]
        if name in self.template.get("Resources", {}):
            return f"<ref:{name}>"
        raise KeyError(f"Ref to unknown {name}")

    def sub(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            expr = match.group(1)
            if "." in expr and not expr.startswith("AWS::"):
                return f"<getatt:{expr}>"
            return str(self.ref(expr))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def resolve(self, node: Any) -> Any:
        """Resolve ``node``; ``NO_VALUE`` marks a property to drop."""
        if isinstance(node, list):
            return [v for v in (self.resolve(i) for i in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                return str(left) == str(right)
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                delimiter, text = arg
                return str(self.resolve(text)).split(delimiter)
            if key == "Fn::GetAtt":
                target = arg if isinstance(arg, str) else ".".join(arg)
                return f"<getatt:{target}>"
            if key.startswith("Fn::"):
                raise NotImplementedError(f"{key} is not supported by the test evaluator")
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in node.items()) if v is not NO_VALUE}

    def resources(self) -> dict[str, dict[str, Any]]:
        """Resources that exist for these parameters, with resolved properties."""
        result = {}
        for name, resource in self.template["Resources"].items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            result[name] = {"Type": resource["Type"], "Properties": self.resolve(resource.get("Properties", {}))}
        return result
