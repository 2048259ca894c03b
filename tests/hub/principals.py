"""Does every principal a policy names exist when the policy is created? (issue 9)

IAM (role trust policies), KMS (key policies), S3 (bucket policies), SageMaker (model package group
policies) and EventBridge (event bus policies) check the principals of a resource policy when it is
set: a policy naming the ARN of a role or user that does not exist (yet) is rejected ("Invalid
principal in policy"; IAM also turns every role ARN into the role's unique id when it saves the
policy, so there is nothing to name before the role exists). Sources: IAM User Guide, "IAM role
trust policy examples" (https://docs.aws.amazon.com/IAM/latest/UserGuide/
id_roles_create_policy-examples.html: "When you save the policy, AWS transforms the ARN to a unique
principal ID"); AWS re:Post Knowledge Center, "Why do I
get the error 'Invalid principal in policy' when I try to update my Amazon S3 bucket policy?"
(https://repost.aws/knowledge-center/s3-invalid-principal-in-policy-error: "If the Principal is an
IAM user or role, then confirm that the user or role wasn't deleted") and "How do I resolve the IAM
trust policy error 'Failed to update trust policy. Invalid principal in policy'?"
(https://repost.aws/knowledge-center/iam-trust-policy-error).

What does NOT need the role to exist: `*` (confined by conditions such as `aws:PrincipalArn`), an
account id or account root ARN (`arn:aws:iam::<account>:root`: the account must exist, not any
role in it), a service principal; condition values (`aws:PrincipalArn` patterns) are never checked.

`check_order(stacks)` walks a setup order: for each stack, each role or user ARN its policies name
must be created by an earlier stack, or by the same stack in a resource the policy's resource
depends on (`Ref`, `Fn::GetAtt`, `Fn::Sub` references or `DependsOn`, transitively, read from the
unresolved template: CloudFormation creates independent resources in parallel), or be one of the
roles AWS creates in an account where SageMaker projects are enabled (`AWS_CREATED_ROLES`).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from .resolve import PARTITION, resolve

# Created by SageMaker in an account when projects are enabled for a Studio domain (SageMaker
# developer guide, "SageMaker Studio Permissions Required to Use Projects",
# https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-projects-studio-updates.html: enabling
# "Amazon SageMaker project templates and JumpStart" for the domain creates the
# AmazonSageMakerServiceCatalogProductsLaunchRole and AmazonSageMakerServiceCatalogProductsUseRole,
# and in newer accounts the split roles of "AWS Managed Policies for SageMaker projects and
# JumpStart", https://docs.aws.amazon.com/sagemaker/latest/dg/security-iam-awsmanpol-sc.html).
AWS_CREATED_ROLES = (
    "service-role/AmazonSageMakerServiceCatalogProductsLaunchRole",
    "service-role/AmazonSageMakerServiceCatalogProductsUseRole",
    "service-role/AmazonSageMakerServiceCatalogProductsCodeBuildRole",
    "service-role/AmazonSageMakerServiceCatalogProductsCodePipelineRole",
    "service-role/AmazonSageMakerServiceCatalogProductsEventsRole",
    "service-role/AmazonSageMakerServiceCatalogProductsExecutionRole",
    "service-role/AmazonSageMakerServiceCatalogProductsCloudformationRole",
    "service-role/AmazonSageMakerServiceCatalogProductsLambdaRole",
    "service-role/AmazonSageMakerServiceCatalogProductsApiGatewayRole",
    "service-role/AmazonSageMakerServiceCatalogProductsFirehoseRole",
    "service-role/AmazonSageMakerServiceCatalogProductsGlueRole",
)

# Resource type -> where its policy statements are (on the resolved resource's Properties).
POLICY_LOCATIONS: dict[str, tuple[str, ...]] = {
    "AWS::IAM::Role": ("AssumeRolePolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::SageMaker::ModelPackageGroup": ("ModelPackageGroupPolicy",),
    "AWS::Events::EventBusPolicy": ("Statement",),
    "AWS::Events::EventBus": ("Policy",),
}

_IDENTITY = re.compile(r"^arn:[^:]+:iam::(\d{12}):(role|user)/(.+)$")


# The pseudo product of a setup step that enables SageMaker projects in an account (no template:
# AWS creates AWS_CREATED_ROLES there).
ENABLE_PROJECTS = "sagemaker-projects"


@dataclass
class Stack:
    """One stack of a setup order: a product's template launched in an account."""

    product: str
    account: str
    template: dict[str, Any] | None  # unresolved (troposphere's to_dict()); None: ENABLE_PROJECTS
    parameters: dict[str, Any] = field(default_factory=dict)
    stack: str = ""  # passed to resolve() (tells apart two key stand-ins in one account)

    def describe(self) -> str:
        return f"{self.product} in {self.account}"


@dataclass(frozen=True)
class Named:
    """A principal ARN a policy names."""

    logical_id: str  # the resource whose policy it is
    arn: str
    sid: str


def needs_to_exist(value: Any) -> bool:
    """A role or user ARN (not `*`, an account, a root, or a service)."""
    return isinstance(value, str) and bool(_IDENTITY.match(value))


def named_principals(resolved: dict[str, Any]) -> list[Named]:
    found = []
    for logical_id, resource in resolved["Resources"].items():
        for prop in POLICY_LOCATIONS.get(resource["Type"], ()):
            policy = resource["Properties"].get(prop)
            if policy is None:
                continue
            statements = policy.get("Statement", policy) if prop != "Statement" else policy
            statements = statements if isinstance(statements, list) else [statements]
            for statement in statements:
                principal = statement.get("Principal")
                values = principal.get("AWS", []) if isinstance(principal, dict) else []
                for value in values if isinstance(values, list) else [values]:
                    if needs_to_exist(value):
                        found.append(Named(logical_id, value, statement.get("Sid", "")))
    return found


def created_identities(resolved: dict[str, Any], account: str) -> dict[str, str]:
    """ARN -> logical id of every role and user the resolved template creates."""
    created = {}
    for logical_id, resource in resolved["Resources"].items():
        props = resource["Properties"]
        kind = {"AWS::IAM::Role": ("role", "RoleName"), "AWS::IAM::User": ("user", "UserName")}.get(resource["Type"])
        if kind is None or kind[1] not in props:
            continue
        path = props.get("Path", "/").strip("/")
        name = f"{path}/{props[kind[1]]}" if path else props[kind[1]]
        created[f"arn:{PARTITION}:iam::{account}:{kind[0]}/{name}"] = logical_id
    return created


def _references(value: Any) -> set[str]:
    """Logical ids (or parameters) a template value refers to."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else str(item).split(".", 1)[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found |= {name.split(".", 1)[0] for name in re.findall(r"\$\{([^!][^}]*)\}", text)}
                if not isinstance(item, str):
                    found |= _references(item[1])
            else:
                found |= _references(item)
    return found


def dependencies(template: dict[str, Any], logical_id: str) -> set[str]:
    """Every resource `logical_id` depends on, directly or through others."""
    resources = template.get("Resources", {})
    seen: set[str] = set()
    todo = [logical_id]
    while todo:
        resource = resources[todo.pop()]
        depends = resource.get("DependsOn", [])
        direct = (set(depends if isinstance(depends, list) else [depends])
                  | _references(resource.get("Properties", {}))) & set(resources)
        for dep in direct - seen:
            seen.add(dep)
            todo.append(dep)
    return seen


def aws_created(arn: str) -> bool:
    match = _IDENTITY.match(arn)
    return bool(match) and match.group(2) == "role" and any(
        fnmatch.fnmatchcase(match.group(3), pattern) for pattern in AWS_CREATED_ROLES
    )


def aws_created_roles(account: str) -> set[str]:
    return {f"arn:{PARTITION}:iam::{account}:role/{name}" for name in AWS_CREATED_ROLES}


def check_order(stacks: list[Stack]) -> list[str]:
    """Why the stacks, created in this order, would fail on a principal that does not exist yet."""
    existing: set[str] = set()
    problems = []
    for stack in stacks:
        if stack.template is None:  # ENABLE_PROJECTS
            existing |= aws_created_roles(stack.account)
            continue
        resolved = resolve(stack.template, stack.account, stack.parameters, stack=stack.stack)
        created = created_identities(resolved, stack.account)
        for named in named_principals(resolved):
            if named.arn in existing:
                continue
            maker = created.get(named.arn)
            if maker is not None and maker in dependencies(stack.template, named.logical_id):
                continue
            if maker == named.logical_id:
                why = "the role's own trust policy names it, before it exists"
            elif maker is not None:
                why = f"created by {maker} in the same stack, but {named.logical_id} does not depend on it"
            elif aws_created(named.arn):
                why = "an AWS-created role, in an account where SageMaker projects are not enabled yet"
            else:
                why = "created by no earlier stack"
            problems.append(
                f"{stack.describe()}: {named.logical_id} (Sid {named.sid or '-'}) names {named.arn}: {why}"
            )
        existing |= set(created)
    return problems
