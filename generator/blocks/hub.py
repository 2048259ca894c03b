"""The hub-and-spoke model registry (seeds 000 and 004): names and policy statements that the hub
(`model-registry-hub`), its spokes (`registry-spoke`) and the projects that use it must agree on.

Every name is derived from one parameter, `HubName`, and the account it lives in, so a spoke or a
project that knows the hub's account and `HubName` knows every ARN it needs:

| what | name |
| --- | --- |
| artifact bucket (hub and each spoke) | `sagemaker-<hub name>-<account>-<region>` |
| central event bus (hub) | `sagemaker-<hub name>` |
| sync role and function (hub, pull) | `sagemaker-<hub name>-sync` |
| push role (hub) | `sagemaker-<hub name>-push` |
| event forwarding roles | `sagemaker-<hub name>-forward` (hub), `sagemaker-<hub name>-to-hub` (spoke) |

Hub bucket layout: `push/<account>/...` is written by data science accounts (directly, each in its
own prefix, or through the push role), `pull/<account>/...` by the sync function only (it copies
the artifacts of approved spoke versions there; see generator/lambdas/model_sync.py).

The push role is one role for all data science accounts, so its session says which account it
acts for: the caller must pass the session tag `smcat-account` = its own account id (the trust
policy compares it with `aws:PrincipalAccount`), and the role writes `push/<that tag>/` only:

    aws sts assume-role --role-arn arn:aws:iam::<hub>:role/sagemaker-<hub name>-push \
        --role-session-name push --tags Key=smcat-account,Value=<own account id>

Model package groups are parameters `ModelPackageGroupName1` ... `ModelPackageGroupName5`:
CloudFormation cannot make one resource per item of a list parameter, and a name taken from a
list cannot be bounded by the name-length lint rules.
"""

from __future__ import annotations

from typing import Any

from troposphere import Equals, If, Join, Not, Or, Parameter, Ref, Split, Sub

from generator.blocks.lifecycle import DEPLOYED, PRODUCTION, STAGE_KEY, STATUS_KEY
from generator.blocks.policy import Statement
from generator.blocks.registry import GROUP_DEPLOY

HUB_NAME = "HubName"
HUB_NAME_DEFAULT = "model-hub"
HUB_NAME_MAX = 24  # sagemaker-<24>-<12>-<15 (longest region)> is the 63 characters S3 allows
HUB_NAME_PATTERN = r"^[a-z0-9](-*[a-z0-9]){0,23}$"
ORGANIZATION_ID = "OrganizationId"
ORGANIZATION_ID_PATTERN = r"^o-[a-z0-9]{10,32}$"
OU_ID_PATTERN = r"^ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$"
GROUP_NAME_PATTERN = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"

GROUP_SLOTS = 5
PUSH_PREFIX = "push"
ACCOUNT_TAG = "smcat-account"  # session tag the push role's callers set to their own account id
PULL_PREFIX = "pull"  # generator.lambdas.model_sync.PREFIX
MODEL_PACKAGE_EVENT = "SageMaker Model Package State Change"

# ListModelPackages names a group, not a version: the Service Authorization Reference gives it the
# (optional) model-package resource type, and AWS's cross-account examples grant it on the group
# ARN and on its versions. Group policies here grant it on both, so either evaluation matches.
LIST = "sagemaker:ListModelPackages"
# Seed 000's model package group policy for data science accounts: the group, then its versions.
DATA_SCIENCE_GROUP = ["sagemaker:DescribeModelPackageGroup", LIST]
DATA_SCIENCE_VERSIONS = ["sagemaker:DescribeModelPackage", LIST, "sagemaker:CreateModel"]
# Registering is allowed only as PendingManualApproval: approving in the hub is the hub owner's job.
# No UpdateModelPackage: a version does not record which account registered it, so the grant
# would reach every account's versions, and an update may set any approval status (an Approved
# version back to Pending) or replace the inference specification of an approved version.
DATA_SCIENCE_REGISTER = ["sagemaker:CreateModelPackage"]
PENDING = "PendingManualApproval"
# What an account that deploys the hub's versions needs: the same list as every group policy.
DEPLOY = GROUP_DEPLOY
# What the hub's sync role reads in a spoke's registry (seed 004, pull pattern).
SYNC_GROUP = ["sagemaker:DescribeModelPackageGroup", LIST]
SYNC_VERSIONS = ["sagemaker:DescribeModelPackage", LIST]


# --- Parameters -----------------------------------------------------------------------------------


def hub_name_parameter() -> Parameter:
    return Parameter(
        HUB_NAME,
        Type="String",
        Default=HUB_NAME_DEFAULT,
        MinLength=1,
        MaxLength=HUB_NAME_MAX,
        AllowedPattern=HUB_NAME_PATTERN,
        Description="Name of the hub model registry: every hub and spoke resource name is derived from it "
        "(sagemaker-<hub name>...). The same value in the hub and all its spokes.",
        ConstraintDescription="1-24 lowercase letters, digits and inner hyphens",
    )


def organization_parameter() -> Parameter:
    return Parameter(
        ORGANIZATION_ID,
        Type="String",
        AllowedPattern=ORGANIZATION_ID_PATTERN,
        Description="Id of the AWS Organization (o-...): only its accounts get any access.",
        ConstraintDescription="an organization id: o- and 10-32 lowercase letters or digits",
    )


def ou_list_parameter(name: str, description: str) -> Parameter:
    """An optional comma-separated list of OU ids."""
    return Parameter(
        name,
        Type="CommaDelimitedList",
        Default="",
        AllowedPattern=OU_ID_PATTERN.replace("^", "^(", 1).replace("$", ")?$"),
        Description=f"{description} Comma-separated OU ids (ou-...); blank for none.",
        ConstraintDescription="OU ids: ou-, 4-32 lowercase letters or digits, -, 8-32 more",
    )


def group_parameters(required: bool) -> list[Parameter]:
    """`ModelPackageGroupName1` ... `ModelPackageGroupName5`; the first one is required if `required`."""
    parameters = []
    for slot in range(1, GROUP_SLOTS + 1):
        optional = slot > 1 or not required
        extra = {"Default": ""} if optional else {}
        parameters.append(
            Parameter(
                group_parameter_name(slot),
                Type="String",
                MinLength=0 if optional else 1,
                MaxLength=63,
                AllowedPattern=f"^({GROUP_NAME_PATTERN})?$" if optional else f"^{GROUP_NAME_PATTERN}$",
                Description=f"Model package group {slot}" + (" (blank: none)." if optional else "."),
                ConstraintDescription="1-63 letters, digits and inner hyphens",
                **extra,
            )
        )
    return parameters


def group_parameter_name(slot: int) -> str:
    return f"ModelPackageGroupName{slot}"


def group_condition_name(slot: int) -> str:
    return f"HasModelPackageGroup{slot}"


def add_group_conditions(template: Any, required: bool) -> list[str | None]:
    """Adds `HasModelPackageGroup<n>` for each optional slot (and `HasModelPackageGroups`, any of
    them); returns each slot's condition (None: always present)."""
    conditions: list[str | None] = []
    for slot in range(1, GROUP_SLOTS + 1):
        if slot == 1 and required:
            conditions.append(None)
            continue
        name = group_condition_name(slot)
        template.add_condition(name, Not(Equals(Ref(group_parameter_name(slot)), "")))
        conditions.append(name)
    if not required:
        template.add_condition("HasModelPackageGroups", Or(*[{"Condition": c} for c in conditions]))
    return conditions


def per_group(conditions: list[str | None], make: Any) -> list[Any]:
    """`make(name Ref)` for each slot, wrapped in Fn::If for the optional ones (a list element)."""
    found = []
    for slot, condition in enumerate(conditions, start=1):
        value = make(Ref(group_parameter_name(slot)))
        found.append(value if condition is None else If(condition, value, Ref("AWS::NoValue")))
    return found


def has_items(parameter: str) -> Not:
    """Condition: a CommaDelimitedList parameter is not blank."""
    return Not(Equals(Join("", Ref(parameter)), ""))


# --- Names --------------------------------------------------------------------------------------


def bucket_name(account: str = "${AWS::AccountId}") -> Sub:
    """The hub's bucket (in the hub account), or a spoke's (in a spoke account)."""
    return Sub(f"sagemaker-${{{HUB_NAME}}}-{account}-${{AWS::Region}}")


def bus_name() -> Sub:
    return Sub(f"sagemaker-${{{HUB_NAME}}}")


def hub_resource_name(suffix: str) -> Sub:
    return Sub(f"sagemaker-${{{HUB_NAME}}}-{suffix}")


def sync_role_name() -> Sub:
    return hub_resource_name("sync")


def push_role_name() -> Sub:
    return hub_resource_name("push")


def role_arn(account: str, suffix: str) -> Sub:
    """ARN of the hub-named role `sagemaker-<hub name>-<suffix>` in `account` (a Sub expression)."""
    return Sub(f"arn:${{AWS::Partition}}:iam::{account}:role/sagemaker-${{{HUB_NAME}}}-{suffix}")


def bus_arn(account: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:{account}:event-bus/sagemaker-${{{HUB_NAME}}}")


def default_bus_arn(account: Any) -> Sub:
    return Sub("arn:${AWS::Partition}:events:${AWS::Region}:${Account}:event-bus/default", Account=account)


def object_arn(bucket: Any, path: str) -> Sub:
    """`arn:...:s3:::<bucket>/<path>`; IAM policy variables in `path` are written `${!aws:...}`."""
    return Sub(f"arn:${{AWS::Partition}}:s3:::${{Bucket}}/{path}", Bucket=bucket)


# --- Conditions on cross-account grants ---------------------------------------------------------


def in_organization() -> dict[str, Any]:
    return {"aws:PrincipalOrgID": Ref(ORGANIZATION_ID)}


def ou_paths(parameter: str) -> Split:
    """`*/<ou>/*` for each OU id of a CommaDelimitedList parameter: principals of accounts in the OU
    or any OU nested in it. (The organization is pinned by aws:PrincipalOrgID beside it.)"""
    return Split(",", Sub("*/${Ous}/*", Ous=Join("/*,*/", Ref(parameter))))


def for_accounts(
    sid: str, accounts: Any, actions: list[str], resources: Any, condition: dict[str, Any] | None = None
) -> Statement:
    """Allows `actions` to the accounts (ids or ARNs) when their principals are in the organization."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": accounts},
        "Action": actions,
        "Resource": resources,
        "Condition": {"StringEquals": in_organization(), **(condition or {})},
    }


def for_ous(sid: str, parameter: str, actions: list[str], resources: Any) -> Statement:
    """Allows `actions` to principals of accounts in the OUs listed by `parameter`, in the organization."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": actions,
        "Resource": resources,
        "Condition": {
            "StringEquals": in_organization(),
            "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ou_paths(parameter)},
        },
    }


def for_hub_role(sid: str, hub_account: str, suffix: str, actions: list[str], resources: Any) -> Statement:
    """Allows `actions` to one hub role, named as the account's root plus an `aws:PrincipalArn`
    condition: the policy is valid before the role exists, and stays right if it is recreated."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": Sub(f"arn:${{AWS::Partition}}:iam::{hub_account}:root")},
        "Action": actions,
        "Resource": resources,
        "Condition": {"ArnEquals": {"aws:PrincipalArn": role_arn(hub_account, suffix)}},
    }


def register_pending_versions(group_resources: Any) -> Statement:
    """Identity-policy statement: create model package versions in the hub groups, pending approval only."""
    return {
        "Sid": "RegisterPendingVersions",
        "Effect": "Allow",
        "Action": "sagemaker:CreateModelPackage",
        "Resource": group_resources,
        "Condition": pending_unpromoted(),
    }


def pending_only(operator: str = "StringEquals") -> dict[str, Any]:
    """Condition: the request registers (or updates) a version as PendingManualApproval only."""
    return {operator: {"sagemaker:ModelApprovalStatus": PENDING}}


def not_promoted() -> dict[str, Any]:
    """Condition: the request sets no lifecycle stage Production and no stage status Deployed, so a
    version registered into the hub is not deployed to prod by the hub's own approval."""
    # A negated operator on a key the request lacks is true (IAM user guide,
    # reference_policies_elements_condition_operators): a registration without a stage is allowed.
    return {"StringNotEquals": {STAGE_KEY: PRODUCTION, STATUS_KEY: DEPLOYED}}


def pending_unpromoted() -> dict[str, Any]:
    """Condition for registering into the hub: pending approval (if given), not promoted (`not_promoted`)."""
    return {**pending_only("StringEqualsIfExists"), **not_promoted()}
