"""Helpers shared by the rule files in this directory.

cfn-lint (``--append-rules DIR``) imports every ``[A-Za-z1-9]*.py`` file of DIR by path, as a
top-level module outside any package, so a rule file cannot ``import`` a sibling normally and
names starting with ``_`` are skipped. Each rule file therefore loads this file by path
(``_load_common`` at its top), and this file loads ``_names.py`` the same way (``sibling``). The
modules are cached in ``sys.modules`` under a key derived from the directory, so every rule shares
one copy, and two copies of the directory (say, two repositories) do not collide. Only the
standard library and cfn-lint are used: the directory works when copied anywhere.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_KEY = "_smcat_rules_" + hashlib.sha1(str(_HERE).encode()).hexdigest()[:12]

PROJECT_NAME = "SageMakerProjectName"
PROJECT_ID = "SageMakerProjectId"
DOCS = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-projects-templates-custom.html"


def sibling(name: str):
    """Module ``name`` (e.g. ``_names``) from this directory, loaded once by path."""
    key = f"{_KEY}_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, _HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


names = sibling("_names")
to_sub_text = names.to_sub_text


# --------------------------------------------------------------------------------------------
# Intrinsic-function helpers
# --------------------------------------------------------------------------------------------


def is_no_value(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get("Ref") == "AWS::NoValue" and len(value) == 1


def branches(value: Any) -> list[Any]:
    """The concrete values ``value`` can take: Fn::If expanded (recursively), AWS::NoValue dropped."""
    if isinstance(value, Mapping) and len(value) == 1 and "Fn::If" in value:
        args = value["Fn::If"]
        if isinstance(args, list) and len(args) == 3:
            return branches(args[1]) + branches(args[2])
    return [] if is_no_value(value) else [value]


def items(value: Any) -> list[Any]:
    """A list-valued field (Action, Resource, principals ...) as a flat list, Fn::If expanded."""
    found = []
    for option in branches(value):
        if isinstance(option, list):
            for element in option:
                found += branches(element)
        else:
            found.append(option)
    return found


def text(value: Any) -> str:
    """A value as text: strings as they are, intrinsic functions as an Fn::Sub template."""
    return value if isinstance(value, str) else to_sub_text(value)


def texts(value: Any) -> list[str]:
    return [text(v) for v in items(value)]


def resources(cfn) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(logical id, type, properties) of every resource with properties."""
    for logical_id, resource in cfn.get_resources().items():
        props = resource.get("Properties")
        rtype = resource.get("Type")
        if isinstance(rtype, str) and isinstance(props, Mapping):
            yield str(logical_id), rtype, props


def parameters(cfn) -> Mapping[str, Any]:
    params = cfn.template.get("Parameters")
    return params if isinstance(params, Mapping) else {}


# --------------------------------------------------------------------------------------------
# Policy documents
# --------------------------------------------------------------------------------------------


@dataclass
class Policy:
    """One policy document in a template. ``kind`` is identity, trust, resource or key."""

    logical_id: str
    resource_type: str
    kind: str
    document: Any
    path: list

    @property
    def where(self) -> str:
        return f"{self.logical_id} ({self.resource_type})"


@dataclass
class Statement:
    policy: Policy
    body: Mapping[str, Any]
    path: list

    @property
    def where(self) -> str:
        sid = self.body.get("Sid")
        index = self.path[-1]
        label = f"statement {sid!r}" if isinstance(sid, str) else (
            f"Statement[{index}]" if isinstance(index, int) else "Statement"
        )
        return f"{self.policy.where} {label}"

    def effects(self) -> list[str]:
        return [e for e in texts(self.body.get("Effect")) if isinstance(e, str)]

    @property
    def allows(self) -> bool:
        return "Allow" in self.effects()

    @property
    def denies(self) -> bool:
        return self.effects() == ["Deny"]

    def actions(self) -> list[str]:
        return texts(self.body.get("Action"))

    def resources(self) -> list[str]:
        return texts(self.body.get("Resource"))

    def principals(self) -> list[tuple[str, str]]:
        """(kind, value) pairs: kind is AWS, Service, Federated, CanonicalUser, or * for "*"."""
        return _principals(self.body.get("Principal"))

    def not_principals(self) -> list[tuple[str, str]]:
        return _principals(self.body.get("NotPrincipal"))

    def conditions(self) -> list[tuple[str, str, list[str]]]:
        """(operator, key in lower case, values) for every condition of the statement."""
        found = []
        for block in branches(self.body.get("Condition")):
            if not isinstance(block, Mapping):
                continue
            for operator, tests in block.items():
                for test in branches(tests):
                    if isinstance(test, Mapping):
                        for key, values in test.items():
                            found.append((str(operator), str(key).lower(), texts(values)))
        return found


def _principals(value: Any) -> list[tuple[str, str]]:
    found = []
    for option in branches(value):
        if isinstance(option, str):
            found.append(("*" if option == "*" else "AWS", option))
        elif isinstance(option, Mapping) and not any(k.startswith("Fn::") or k == "Ref" for k in option):
            for kind, values in option.items():
                found += [(str(kind), v) for v in texts(values)]
        else:
            found.append(("AWS", text(option)))
    return found


# (resource type) -> [(path below Properties, kind)]; "*" in a path stands for every list index.
POLICY_PROPERTIES: dict[str, list[tuple[tuple, str]]] = {
    "AWS::IAM::Role": [
        (("AssumeRolePolicyDocument",), "trust"), (("Policies", "*", "PolicyDocument"), "identity"),
    ],
    "AWS::IAM::User": [(("Policies", "*", "PolicyDocument"), "identity")],
    "AWS::IAM::Group": [(("Policies", "*", "PolicyDocument"), "identity")],
    "AWS::IAM::Policy": [(("PolicyDocument",), "identity")],
    "AWS::IAM::ManagedPolicy": [(("PolicyDocument",), "identity")],
    "AWS::IAM::RolePolicy": [(("PolicyDocument",), "identity")],
    "AWS::IAM::UserPolicy": [(("PolicyDocument",), "identity")],
    "AWS::IAM::GroupPolicy": [(("PolicyDocument",), "identity")],
    "AWS::S3::BucketPolicy": [(("PolicyDocument",), "resource")],
    "AWS::S3::AccessPoint": [(("Policy",), "resource")],
    "AWS::KMS::Key": [(("KeyPolicy",), "key")],
    "AWS::SageMaker::ModelPackageGroup": [(("ModelPackageGroupPolicy",), "resource")],
    "AWS::Events::EventBus": [(("Policy",), "resource")],
    "AWS::SNS::TopicPolicy": [(("PolicyDocument",), "resource")],
    "AWS::SQS::QueuePolicy": [(("PolicyDocument",), "resource")],
    "AWS::ECR::Repository": [(("RepositoryPolicyText",), "resource")],
    "AWS::SecretsManager::ResourcePolicy": [(("ResourcePolicy",), "resource")],
    "AWS::CodeArtifact::Repository": [(("PermissionsPolicyDocument",), "resource")],
    "AWS::CodeArtifact::Domain": [(("PermissionsPolicyDocument",), "resource")],
    "AWS::Logs::ResourcePolicy": [(("PolicyDocument",), "resource")],
}


def _walk(value: Any, path: tuple, base: list) -> Iterator[tuple[Any, list]]:
    if not path:
        yield value, base
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(value, list):
            for index, element in enumerate(value):
                for option in branches(element):
                    yield from _walk(option, rest, [*base, index])
    elif isinstance(value, Mapping) and head in value:
        for option in branches(value[head]):
            yield from _walk(option, rest, [*base, head])


def _document(value: Any) -> Any:
    """A policy document as a dict: JSON strings (also inside Fn::Sub) are parsed."""
    if isinstance(value, Mapping) and len(value) == 1 and "Fn::Sub" in value:
        args = value["Fn::Sub"]
        value = args[0] if isinstance(args, list) and args else args
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def _event_bus_policy(props: Mapping[str, Any]) -> Any:
    """AWS::Events::EventBusPolicy as a document: ``Statement``, or the legacy
    Principal/Action/Condition properties turned into one statement."""
    if "Statement" in props:
        return {"Statement": props["Statement"]}
    if "Principal" not in props:
        return None
    statement: dict[str, Any] = {
        "Effect": "Allow", "Principal": {"AWS": props["Principal"]}, "Action": props.get("Action"),
    }
    condition = props.get("Condition")
    if isinstance(condition, Mapping) and {"Type", "Key", "Value"} <= set(condition):
        statement["Condition"] = {"StringEquals": {condition["Key"]: condition["Value"]}}
    return {"Statement": [statement]}


def policies(cfn) -> Iterator[Policy]:
    """Every policy document in the template."""
    for logical_id, rtype, props in resources(cfn):
        base = ["Resources", logical_id, "Properties"]
        if rtype == "AWS::Events::EventBusPolicy":
            document = _event_bus_policy(props)
            if document is not None:
                yield Policy(logical_id, rtype, "resource", document, base)
            continue
        for prop_path, kind in POLICY_PROPERTIES.get(rtype, []):
            for value, path in _walk(props, prop_path, base):
                document = _document(value)
                if document is not None:
                    yield Policy(logical_id, rtype, kind, document, path)


def statements(policy: Policy) -> Iterator[Statement]:
    body = policy.document.get("Statement")
    path = [*policy.path, "Statement"]
    if isinstance(body, list):
        for index, element in enumerate(body):
            for option in branches(element):
                if isinstance(option, Mapping):
                    yield Statement(policy, option, [*path, index])
    else:
        for option in branches(body):
            if isinstance(option, Mapping):
                yield Statement(policy, option, path)


def all_statements(
    cfn, kinds: tuple[str, ...] = ("identity", "trust", "resource", "key")
) -> Iterator[Statement]:
    for policy in policies(cfn):
        if policy.kind in kinds:
            yield from statements(policy)


# --------------------------------------------------------------------------------------------
# Principals and actions
# --------------------------------------------------------------------------------------------

_ROOT = re.compile(
    r"^(arn:(\$\{AWS::Partition\}|aws(-[a-z-]+)?):iam::\$\{AWS::AccountId\}:root|\$\{AWS::AccountId\})$"
)


def is_own_account_root(principal: str) -> bool:
    """Whether a principal (as text) is the root of the account the stack is deployed in."""
    return bool(_ROOT.match(principal))


def is_wildcard_action(action: str) -> bool:
    """``*`` or ``service:*`` (any case)."""
    return action == "*" or bool(re.fullmatch(r"[A-Za-z0-9-]+:\*", action))


# --------------------------------------------------------------------------------------------
# Physical names (shared by E9110 and W9111, computed once per template)
# --------------------------------------------------------------------------------------------

_NAMES_CACHE: dict[int, tuple[Any, list]] = {}


def physical_names(cfn) -> list:
    template = cfn.template
    cached = _NAMES_CACHE.get(id(template))
    if cached is None or cached[0] is not template:
        _NAMES_CACHE.clear()
        cached = (template, names.physical_names(template))
        _NAMES_CACHE[id(template)] = cached
    return cached[1]
