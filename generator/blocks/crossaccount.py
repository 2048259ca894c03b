"""Reaching other accounts: who may read this account's artifacts, roles to assume elsewhere,
CodePipeline actions that run in another account, and model registries in a hub account.

A resource here is opened to other accounts in one of two ways, and never with a bare `*`:

* by organization path: `Principal: {"AWS": "*"}` always with the conditions
  `StringEquals: {aws:PrincipalOrgID: o-xxx}` and
  `ForAnyValue:StringLike: {aws:PrincipalOrgPaths: ["o-xxx/*/ou-xxx/*", ...]}`, which match
  principals of accounts in those OUs or any OU nested in them (what a service-managed StackSet
  targeting the OU deploys to). The fixed organization id is what keeps S3 from counting the
  bucket policy as public: S3 ignores conditions with wildcards (the org paths, the role name
  patterns) when it decides, and a bucket that blocks public policies rejects a public one, so the
  stack would fail (S3 user guide, "The meaning of public");
* by account id: the account roots of exactly the accounts named.

Model package groups may be given as a name (this account) or as an ARN (a hub account's
registry). `group_name` and `group_owner` read either form without an `Fn::If`, so they are safe
in conditions and in branches CloudFormation evaluates eagerly.
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import (
    And,
    AWSHelperFn,
    Equals,
    GetAtt,
    If,
    Join,
    Not,
    Parameter,
    Ref,
    Select,
    Split,
    Sub,
    codepipeline,
    events,
)

from generator.blocks.policy import BUCKET_READ, KEY_READ, OBJECT_READ, Statement, account_root

ORGANIZATION_ID_PATTERN = r"^o-[a-z0-9]{10,32}$"
OU_ID_PATTERN = r"^ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$"
ACCOUNT_ID_PATTERN = r"^\d{12}$"
# A model package group name (this account) or a model package group ARN (any account).
GROUP_NAME_OR_ARN_PATTERN = (
    r"^([a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    r"|arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package-group/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})$"
)
MODEL_PACKAGE_EVENT = "SageMaker Model Package State Change"


# --- Parameters -------------------------------------------------------------------------------


def organization_id_parameter(name: str = "OrganizationId") -> Parameter:
    return Parameter(
        name, Type="String", AllowedPattern=ORGANIZATION_ID_PATTERN,
        Description="Id of the AWS Organization (o-...) the target OUs belong to.",
        ConstraintDescription="an organization id: o- and 10-32 lowercase letters or digits",
    )


def ou_parameter(name: str, description: str) -> Parameter:
    return Parameter(
        name, Type="String", AllowedPattern=OU_ID_PATTERN, Description=description,
        ConstraintDescription="an OU id: ou-, 4-32 lowercase letters or digits, -, 8-32 more",
    )


def account_parameter(name: str, description: str) -> Parameter:
    """A required 12-digit account id."""
    return Parameter(
        name, Type="String", AllowedPattern=ACCOUNT_ID_PATTERN, Description=description,
        ConstraintDescription="a 12-digit account id",
    )


def region_parameter(name: str, description: str) -> Parameter:
    """An optional region name ('' = this region)."""
    return Parameter(
        name, Type="String", Default="", Description=description, MaxLength=32,
        AllowedPattern=r"^([a-z]{2}(-[a-z]+)+-\d{1,2})?$", ConstraintDescription="blank or a region such as eu-west-1",
    )


def bucket_parameter(name: str, description: str) -> Parameter:
    """An optional S3 bucket name."""
    return Parameter(
        name, Type="String", Default="", Description=f"{description} Leave blank when not used.", MaxLength=63,
        AllowedPattern=r"^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$", ConstraintDescription="blank or an S3 bucket name",
    )


def group_parameter(name: str, description: str, optional: bool = False) -> Parameter:
    """A model package group: a name in this account, or the ARN of a group in a hub account."""
    pattern = GROUP_NAME_OR_ARN_PATTERN.replace("^(", "^(|", 1) if optional else GROUP_NAME_OR_ARN_PATTERN
    parameter = Parameter(
        name, Type="String", Description=description, MaxLength=256, AllowedPattern=pattern,
        ConstraintDescription="a model package group name, or arn:aws:sagemaker:<region>:<account>:"
        "model-package-group/<name>",
    )
    if optional:
        parameter.Default = ""
    return parameter


# --- Organization paths -------------------------------------------------------------------------


def ou_paths(organization: str, *ous: str) -> list[Sub]:
    """`o-xxx/*/ou-xxx/*` for each OU parameter: the OU, under whatever root or parent OUs, and
    every OU nested in it. `organization` and `ous` are parameter names."""
    return [Sub(f"${{{organization}}}/*/${{{ou}}}/*") for ou in ous]


def in_org_paths(organization: str, paths: list[Any]) -> dict[str, Any]:
    """The conditions that confine a `*` principal to accounts under `paths` of the organization
    held by parameter `organization` (a fixed value: S3 then does not count the policy as public)."""
    return {
        "StringEquals": {"aws:PrincipalOrgID": Ref(organization)},
        "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": paths},
    }


def for_org_paths(sid: str, actions: list[str], resources: Any, organization: str, paths: list[Any]) -> Statement:
    """A resource-policy statement for principals of accounts under `paths` of the organization
    held by parameter `organization` only."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": actions,
        "Resource": resources,
        "Condition": in_org_paths(organization, paths),
    }


# Who in a target account acts on a project's resources: the role the endpoints run as (reads the
# model data and decrypts it; target-account-bootstrap names it sagemaker-role-<suffix>), and,
# for service-managed StackSets, the execution role StackSets creates in every account of the OU
# (stacksets-exec-<hash>), which creates the SageMaker model from the model package.
EXECUTION_ROLES = "sagemaker-role-*"
STACK_SET_EXECUTION_ROLES = "stacksets-exec-*"


def role_pattern(name: str) -> Sub:
    """`arn:<partition>:iam::*:role/<name>` in any account; `name` may hold `${Parameter}`s and `*`."""
    return Sub(f"arn:${{AWS::Partition}}:iam::*:role/{name}")


def only_roles(statement: Statement, *names: str) -> Statement:
    """`statement` further confined to principals that are roles named `names` (patterns, or
    `${Parameter}` references): an `ArnLike aws:PrincipalArn` condition beside its others."""
    return {**statement, "Condition": {**statement["Condition"],
                                       "ArnLike": {"aws:PrincipalArn": [role_pattern(n) for n in names]}}}


def bucket_read_for_org_paths(
    bucket: Any, organization: str, paths: list[Any], sid: str = "ReadForOrgPaths"
) -> Statement:
    arn = GetAtt(bucket, "Arn")
    return for_org_paths(sid, OBJECT_READ + BUCKET_READ, [arn, Sub("${Bucket}/*", Bucket=arn)], organization, paths)


def key_read_for_org_paths(organization: str, paths: list[Any], sid: str = "DecryptForOrgPaths") -> Statement:
    return for_org_paths(sid, KEY_READ, "*", organization, paths)


# --- Accounts and roles elsewhere ---------------------------------------------------------------


def account_roots(*accounts: str) -> list[Sub]:
    """The root principals of the accounts held by the parameters `accounts`."""
    return [account_root(f"${{{a}}}") for a in accounts]


def role_in_account(account: str, role_name: str) -> Sub:
    """ARN of the role named by parameter `role_name` (a path is allowed) in the account held by
    parameter `account`."""
    return Sub(f"arn:${{AWS::Partition}}:iam::${{{account}}}:role/${{{role_name}}}")


# --- Model package groups by name or ARN --------------------------------------------------------


def is_arn(parameter: str) -> Not:
    """Condition: the parameter's value holds a ':' (an ARN; group names cannot)."""
    return Not(Equals(Select(0, Split(":", Ref(parameter))), Ref(parameter)))


def uses_hub_group(parameter: str) -> And:
    """Condition: the parameter holds the ARN of a group in another account (a hub registry)."""
    return And(is_arn(parameter), Not(Equals(group_owner(parameter), Ref("AWS::AccountId"))))


def group_name(parameter: str) -> Select:
    """The group name in a parameter holding a group name or ARN: the part after the ARN's only
    '/'. Doubling the value (`v/v`) makes index 1 exist for a plain name too."""
    return Select(1, Split("/", Join("/", [Ref(parameter), Ref(parameter)])))


def group_owner(parameter: str) -> Select:
    """The account owning the group: the ARN's account field, or this account for a plain name.
    (`v:acct:::acct` has this account at index 4 when `v` has no ':'.)"""
    account = Ref("AWS::AccountId")
    return Select(4, Split(":", Join(":", [Ref(parameter), account, "", "", account])))


def registry_events_from_owner(
    logical_id: str, statement_id: Any, parameter: str, condition: str
) -> events.EventBusPolicy:
    """Lets the account owning a hub registry's group put its model package state changes on this
    account's default bus (the hub forwards them with a rule targeting this bus). Nothing else."""
    return events.EventBusPolicy(
        logical_id,
        Condition=condition,
        EventBusName="default",
        StatementId=statement_id,
        Statement={
            "Effect": "Allow",
            "Principal": {"AWS": Sub("arn:${AWS::Partition}:iam::${Owner}:root", Owner=group_owner(parameter))},
            "Action": "events:PutEvents",
            "Resource": Sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"),
            "Condition": {
                "StringEquals": {"events:source": "aws.sagemaker", "events:detail-type": MODEL_PACKAGE_EVENT}
            },
        },
    )


# --- CodePipeline actions -----------------------------------------------------------------------


def cloudformation_deploy(
    name: str,
    stack_name: Any,
    template_path: str,
    template_configuration: str,
    role: Any,
    inputs: list[str],
    region: Any = None,
    run_order: int = 1,
) -> codepipeline.Actions:
    """Creates or updates a stack in the account of `role`: CodePipeline assumes `role` for the
    action (its `RoleArn`), and CloudFormation runs as the same role (the configuration's
    `RoleArn`, required for CREATE_UPDATE)."""
    action = codepipeline.Actions(
        Name=name,
        ActionTypeId=codepipeline.ActionTypeId(Category="Deploy", Owner="AWS", Provider="CloudFormation", Version="1"),
        Configuration={
            "ActionMode": "CREATE_UPDATE",
            "StackName": stack_name,
            "TemplatePath": template_path,
            "TemplateConfiguration": template_configuration,
            "RoleArn": role,
        },
        InputArtifacts=[codepipeline.InputArtifacts(Name=i) for i in inputs],
        RoleArn=role,
        RunOrder=run_order,
    )
    if region is not None:
        action.Region = region
    return action


def artifact_store_in_region(
    pipeline: codepipeline.Pipeline, condition: str, region: str, bucket: str, key: str
) -> codepipeline.Pipeline:
    """When `condition` holds, the pipeline keeps its artifacts in this region's store and in the
    given bucket and key of the region held by parameter `region` (CodePipeline needs a store in
    every region an action runs in, and then takes `ArtifactStores` instead of `ArtifactStore`)."""
    here = pipeline.ArtifactStore
    there = codepipeline.ArtifactStore(
        Type="S3", Location=Ref(bucket), EncryptionKey=codepipeline.EncryptionKey(Id=Ref(key), Type="KMS"),
    )
    pipeline.ArtifactStore = If(condition, Ref("AWS::NoValue"), here)
    pipeline.ArtifactStores = If(condition, [
        codepipeline.ArtifactStoreMap(Region=Ref("AWS::Region"), ArtifactStore=here),
        codepipeline.ArtifactStoreMap(Region=Ref(region), ArtifactStore=there),
    ], Ref("AWS::NoValue"))
    return pipeline


def manual_approval(name: str, message: str, run_order: int = 1) -> codepipeline.Actions:
    return codepipeline.Actions(
        Name=name,
        ActionTypeId=codepipeline.ActionTypeId(Category="Approval", Owner="AWS", Provider="Manual", Version="1"),
        Configuration={"CustomData": message},
        RunOrder=run_order,
    )


def action_environment(variables: dict[str, Any]) -> Sub:
    """A CodeBuild action's `EnvironmentVariables` configuration (a JSON string). Values are
    `Fn::Sub` templates (`"${Param}"`) or intrinsic functions."""
    values: dict[str, Any] = {}
    entries = []
    for index, (name, value) in enumerate(variables.items()):
        if isinstance(value, AWSHelperFn):
            values[f"Value{index}"] = value
            value = f"${{Value{index}}}"
        entries.append({"name": name, "value": value, "type": "PLAINTEXT"})
    text = json.dumps(entries, separators=(",", ":"))
    return Sub(text, **values) if values else Sub(text)
