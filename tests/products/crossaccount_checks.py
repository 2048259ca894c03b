"""Shared checks for the cross-account product tests: finding resources, reading policies and
pipeline stages, evaluating the intrinsic functions names and conditions are built from."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

MAX_PARAMETERS = {"SageMakerProjectName": "a" * 32, "SageMakerProjectId": "b" * 20}
# Keys that confine a "*" principal to the organization (or part of it) or to named accounts.
CONFINING_KEYS = {"aws:PrincipalOrgPaths", "aws:PrincipalOrgID", "aws:PrincipalAccount", "aws:SourceAccount"}
TAGGABLE = {
    "AWS::KMS::Key", "AWS::S3::Bucket", "AWS::CodeCommit::Repository", "AWS::CodeBuild::Project",
    "AWS::CodePipeline::Pipeline", "AWS::Events::Rule", "AWS::SageMaker::ModelPackageGroup", "AWS::IAM::Role",
}

try:  # the project's name budget module (generator/names.py), when present
    from generator import names as _names
except ImportError:  # pragma: no cover - only before generator/names.py exists
    _names = None


# --- Resources -------------------------------------------------------------------------------


def of_type(template: dict, kind: str) -> dict[str, dict]:
    found = {k: v for k, v in template["Resources"].items() if v["Type"] == kind}
    assert found, f"no {kind}"
    return found


def one(template: dict, kind: str) -> dict:
    found = of_type(template, kind)
    assert len(found) == 1, found
    return next(iter(found.values()))


def environment(project: dict) -> dict[str, Any]:
    return {v["Name"]: v["Value"] for v in project["Properties"]["Environment"]["EnvironmentVariables"]}


# --- Policies --------------------------------------------------------------------------------

POLICY_PROPERTIES = ("KeyPolicy", "PolicyDocument", "AssumeRolePolicyDocument", "ModelPackageGroupPolicy")


def statements(document: dict) -> dict[str, dict]:
    """Statements by Sid, looking through Fn::If (the 'present when' branch)."""
    return {s["Sid"]: s for s in unwrap(document["Statement"])}


def unwrap(items: list) -> Iterator[dict]:
    for item in items:
        yield item["Fn::If"][1] if "Fn::If" in item else item


def all_statements(template: dict) -> Iterator[tuple[str, str, dict]]:
    """(logical id, where, statement) for every statement of every policy in the template."""
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = [(p, props[p]) for p in POLICY_PROPERTIES if p in props]
        documents += [(f"Policies.{p['PolicyName']}", p["PolicyDocument"]) for p in props.get("Policies", [])]
        for where, document in documents:
            if isinstance(document, dict) and "Fn::If" in document:
                document = document["Fn::If"][1]
            for statement in unwrap(document["Statement"]):
                yield logical_id, where, statement
        if resource["Type"] == "AWS::Events::EventBusPolicy":
            yield logical_id, "Statement", props["Statement"]


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def principals(statement: dict) -> list[Any]:
    principal = statement.get("Principal")
    if principal is None:
        return []
    if principal == "*":
        return ["*"]
    return [p for values in principal.values() for p in as_list(values)]


def condition_keys(statement: dict) -> set[str]:
    return {key for block in statement.get("Condition", {}).values() for key in block}


def assert_no_open_principals(template: dict) -> None:
    """Every Allow to "*" is confined by an organization or account condition."""
    for logical_id, where, statement in all_statements(template):
        if statement["Effect"] != "Allow" or "*" not in principals(statement):
            continue
        assert condition_keys(statement) & CONFINING_KEYS, (logical_id, where, statement)


def org_paths_condition(*ous: str) -> dict:
    """The organization (a fixed value, which keeps S3 from counting a bucket policy as public)
    and the OUs' paths."""
    return {
        "StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}},
        "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [
            {"Fn::Sub": f"${{OrganizationId}}/*/${{{ou}}}/*"} for ou in ous
        ]},
    }


# --- Pipelines -------------------------------------------------------------------------------


def codecommit_choice(pipeline: dict) -> dict:
    """The pipeline as the default RepositoryProvider (CodeCommit) makes it: the Source action is an
    Fn::If on UsesCodeCommit (both choices: tests/products/test_source_providers.py)."""
    pipeline = copy.deepcopy(pipeline)
    for stage in pipeline["Properties"]["Stages"]:
        stage["Actions"] = [
            a["Fn::If"][1] if "Fn::If" in a and a["Fn::If"][0] == "UsesCodeCommit" else a for a in stage["Actions"]
        ]
    return pipeline


STAGE_MODE = "PromotesOnLifecycleStage"  # generator/blocks/lifecycle.py
_DROP = object()


def promotion_choice(value: Any, stage_mode: bool = False) -> Any:
    """`value` (a pipeline, a rule...) as PromotionMode makes it: every Fn::If on
    PromotesOnLifecycleStage replaced by its branch, or dropped (list item, key) where that is
    AWS::NoValue. Other Fn::Ifs stay."""

    def choose(item: Any) -> Any:
        if isinstance(item, dict):
            if set(item) == {"Fn::If"} and item["Fn::If"][0] == STAGE_MODE:
                branch = item["Fn::If"][1 if stage_mode else 2]
                return _DROP if branch == {"Ref": "AWS::NoValue"} else choose(branch)
            chosen = {k: choose(v) for k, v in item.items()}
            return {k: v for k, v in chosen.items() if v is not _DROP}
        if isinstance(item, list):
            return [v for v in (choose(i) for i in item) if v is not _DROP]
        return item

    return choose(copy.deepcopy(value))


def stage_summary(pipeline: dict) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """[(stage, [(category, owner, provider), ...]), ...]"""
    return [
        (s["Name"], [(a["ActionTypeId"]["Category"], a["ActionTypeId"]["Owner"], a["ActionTypeId"]["Provider"])
                     for a in s["Actions"]])
        for s in pipeline["Properties"]["Stages"]
    ]


def action(pipeline: dict, stage: str) -> dict:
    (found,) = [s for s in pipeline["Properties"]["Stages"] if s["Name"] == stage]
    assert len(found["Actions"]) == 1
    return found["Actions"][0]


def action_environment(configuration: dict) -> dict[str, Any]:
    """A CodeBuild action's EnvironmentVariables (an Fn::Sub of JSON) as {name: value}; a value
    that is a `${VarN}` of the Sub's map is replaced by its intrinsic function."""
    sub = configuration["EnvironmentVariables"]["Fn::Sub"]
    text, variables = (sub, {}) if isinstance(sub, str) else sub
    entries = json.loads(text)
    assert all(e["type"] == "PLAINTEXT" for e in entries)
    out = {}
    for entry in entries:
        match = re.fullmatch(r"\$\{(\w+)\}", entry["value"])
        out[entry["name"]] = variables[match.group(1)] if match and match.group(1) in variables else entry["value"]
    return out


# --- Evaluating names and conditions ---------------------------------------------------------


def resolve(value: Any, template: dict, parameters: dict[str, str] | None = None) -> str | None:
    """The string `value` becomes with the given parameters, the project name and id at their
    longest, other parameters at their longest and pseudo parameters at their longest real values."""
    parameters = {**MAX_PARAMETERS, **(parameters or {})}
    if _names is not None:
        return _names.resolve(value, template, parameters)
    return _Fallback(template, parameters).string(value)  # pragma: no cover


def longest_names(template: dict) -> dict[tuple[str, str], str]:
    """{(logical id, property): longest value} of every physical name the template sets."""
    if _names is not None:
        return {(n.logical_id, n.property): n.value for n in _names.physical_names(template, MAX_PARAMETERS)}
    found = {}  # pragma: no cover
    for logical_id, resource in template["Resources"].items():
        prop = _NAME_PROPERTIES.get(resource["Type"])
        if prop and prop in resource.get("Properties", {}):
            found[(logical_id, prop)] = resolve(resource["Properties"][prop], template)
    return found


def name_violations(template: dict) -> list[str]:
    return _names.name_violations(template, MAX_PARAMETERS) if _names is not None else []


_NAME_PROPERTIES = {  # used only without generator/names.py
    "AWS::S3::Bucket": "BucketName", "AWS::Events::Rule": "Name", "AWS::IAM::Role": "RoleName",
    "AWS::CodeBuild::Project": "Name", "AWS::CodePipeline::Pipeline": "Name",
    "AWS::CodeCommit::Repository": "RepositoryName", "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupName",
    "AWS::KMS::Alias": "AliasName",
}


def holds(condition: Any, template: dict, parameters: dict[str, str]) -> bool:
    """Evaluates a condition (Fn::Equals/Not/And/Or, {"Condition": name}) for the parameters."""
    if isinstance(condition, str):
        return holds(template["Conditions"][condition], template, parameters)
    (fn, args), = condition.items()
    if fn == "Condition":
        return holds(template["Conditions"][args], template, parameters)
    if fn == "Fn::Equals":
        left, right = (resolve(a, template, parameters) for a in args)
        return left == right
    if fn == "Fn::Not":
        return not holds(args[0], template, parameters)
    if fn == "Fn::And":
        return all(holds(a, template, parameters) for a in args)
    if fn == "Fn::Or":
        return any(holds(a, template, parameters) for a in args)
    raise AssertionError(f"unexpected condition function {fn}")


class _Fallback:  # pragma: no cover - used only without generator/names.py
    PSEUDO = {"AWS::AccountId": "123456789012", "AWS::Region": "us-isof-south-1", "AWS::Partition": "aws-us-gov"}

    def __init__(self, template: dict, parameters: dict[str, str]):
        self.template, self.parameters = template, parameters

    def ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.PSEUDO:
            return self.PSEUDO[name]
        spec = self.template["Parameters"][name]
        return spec.get("Default") or "x" * spec.get("MaxLength", 1)

    def string(self, value: Any) -> Any:
        if isinstance(value, (str, int)):
            return str(value)
        if isinstance(value, list):
            return [self.string(v) for v in value]
        (fn, args), = value.items()
        if fn == "Ref":
            return self.ref(args)
        if fn == "Fn::Sub":
            text, variables = (args, {}) if isinstance(args, str) else args
            return re.sub(r"\$\{([^}]+)\}", lambda m: self.string(variables[m.group(1)]) if m.group(1) in variables
                          else self.ref(m.group(1)), text)
        if fn == "Fn::Join":
            return args[0].join(self.string(args[1]))
        if fn == "Fn::Split":
            return self.string(args[1]).split(args[0])
        if fn == "Fn::Select":
            return self.string(args[1])[int(args[0])]
        if fn == "Fn::If":
            return max((self.string(b) for b in args[1:]), key=len)
        raise AssertionError(fn)
