"""The project-roles template: the launch role can create, update and delete everything the Studio
templates (the products of every portfolio launching with it) make (their CloudFormation handler
permissions, per resource, on the names and tags these resources get) and little else; the pipeline
role reaches other accounts only through target-account-bootstrap's roles; the portfolio launches
with this launch role. Every Studio template is launched in both source modes (CodeCommit, and
CodeConnections: a GitHub/GitLab/Bitbucket repository through a connection). The S3 launch role
(projects from S3 templates) passes the same handler check; the S3 templates user policy is checked
by the requests it allows and refuses.

Requests are evaluated on the templates resolved for one account (tests/hub/resolve.py), with a
small IAM evaluator for identity policies (Allow statements, wildcards, the condition operators
these policies use)."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Any

import cfnlint
import pytest
from conftest import ROOT, load_template
from crossaccount_checks import as_list, longest_names, name_violations

from generator.blocks import projectroles
from generator.blocks.project import LAUNCH_ROLE, PIPELINE_ROLE, USE_ROLE
from tests.hub.resolve import key_id, resolve

ACCOUNT = "111122223333"
REGION = "us-east-1"
OTHER = "444455556666"
ORG = "o-abcdefghij"
# Who makes the requests these tests evaluate: a role of ACCOUNT, in ORG.
PRINCIPAL = {"aws:PrincipalAccount": ACCOUNT, "aws:PrincipalOrgID": ORG}
OWN = {"aws:ResourceAccount": ACCOUNT}
IN_ORG = {"aws:ResourceOrgID": ORG}
HUB_GROUP = f"arn:aws:sagemaker:{REGION}:{OTHER}:model-package-group/churn-models"
CATALOG_BUCKET = "my-catalog-artifacts-*"
SEED_BUCKET = "my-catalog-artifacts-us-east-1"
CATALOG_KEY = f"arn:aws:kms:{REGION}:{OTHER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PROJECT = {"SageMakerProjectName": "n" * 32, "SageMakerProjectId": "p-abcdefghijkl"}
# The S3 templates: where they are, and the Studio execution role the user policy is attached to.
TEMPLATES_BUCKET = "my-sagemaker-templates"
TEMPLATES_PREFIX = "sagemaker-templates/"
LOCATION = f"s3://{TEMPLATES_BUCKET}/{TEMPLATES_PREFIX}"
STUDIO_ROLE = "AmazonSageMaker-ExecutionRole-20250101T000000"
S3_LAUNCH_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/SageMakerProjectsS3LaunchRole"
SP_STACK = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/SP-churn-p-abcdefghijkl/0f1e2d3c-aaaa-bbbb"
# CodeConnections: the user's connection (either ARN form), tagged sagemaker=true as the README asks.
CONNECTION = f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
CODESTAR_CONNECTION = f"arn:aws:codestar-connections:{REGION}:{ACCOUNT}:connection/1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
CONNECTION_TAGS = {"aws:ResourceTag/sagemaker": "true"}
TO_CODEPIPELINE = "codepipeline.amazonaws.com"


def launched_with_the_launch_role() -> tuple[str, ...]:
    """The products of every portfolio whose launch constraint is this launch role, read from
    portfolios/ (a product added with `smcat new product --portfolio ...` is checked too)."""
    import yaml

    names: set[str] = set()
    for path in sorted((ROOT / "portfolios").glob("*.y*ml")):
        data = yaml.safe_load(path.read_text()) or {}
        if (data.get("launch_constraint") or {}).get("local_role_name") == LAUNCH_ROLE:
            names.update(data.get("products") or [])
    return tuple(sorted(names))


STUDIO = launched_with_the_launch_role()
SC_STACK = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/SC-{ACCOUNT}-pp-abcdefghijklm/0f1e2d3c-aaaa-bbbb"

# Parameter sets that, together, make every resource of each Studio template.
SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "model-build": [
        {"SeedCodeModelbuildKey": "smcat/seedcode/modelbuild.zip"},
        {"SeedCodeModelbuildKey": "k.zip", "HubAccountId": OTHER, "HubModelPackageGroupName": "churn-models",
         "DeploymentAccountIds": [OTHER]},
    ],
    "multi-account-deploy": [
        {"SeedCodeModeldeployKey": "k.zip", "OrganizationId": "o-abcdefghij",
         "OrganizationalUnitStagingId": "ou-ab12-staging1", "OrganizationalUnitProdId": "ou-ab12-produc01"},
        {"SeedCodeModeldeployKey": "k.zip", "OrganizationId": "o-abcdefghij",
         "OrganizationalUnitStagingId": "ou-ab12-staging1", "OrganizationalUnitProdId": "ou-ab12-produc01",
         "SageMakerModelPackageGroupName": HUB_GROUP, "KmsKeyArn": CATALOG_KEY, "PromotionMode": "LifecycleStage"},
    ],
    "cross-account-endpoint": [
        {"SeedCodeModeldeployKey": "k.zip", "SageMakerModelPackageGroupName": "churn-models",
         "PreProdAccount": "333333333333", "ProdAccount": OTHER},
        {"SeedCodeModeldeployKey": "k.zip", "SageMakerModelPackageGroupName": HUB_GROUP,
         "PreProdAccount": "333333333333", "ProdAccount": OTHER, "PromotionMode": "LifecycleStage"},
    ],
}

# Values for parameters a scenario leaves out that have no default.
REQUIRED = {"SageMakerModelPackageGroupName": "churn-models", "SeedCodeBucket": SEED_BUCKET}

# The source modes (generator/blocks/source.py): SCENARIOS run in each, with these parameters on top.
# model-build on a codeconnections ARN, the deploy products on the older codestar-connections form.
MODES = ["CodeCommit", "CodeConnections"]
CODECONNECTIONS: dict[str, dict[str, Any]] = {
    "model-build": {"RepositoryProvider": "CodeConnections", "CodeConnectionArn": CONNECTION,
                    "RepositoryFullName": "my-org/churn-modelbuild", "RepositoryBranch": "main"},
    "multi-account-deploy": {"RepositoryProvider": "CodeConnections", "CodeConnectionArn": CODESTAR_CONNECTION,
                             "RepositoryFullName": "my-org/platform/churn-deploy"},
    "cross-account-endpoint": {"RepositoryProvider": "CodeConnections", "CodeConnectionArn": CONNECTION,
                               "RepositoryFullName": "my-org/churn-endpoint", "RepositoryBranch": "release"},
}


def parameters_for(template: dict, scenario: dict[str, Any]) -> dict[str, Any]:
    """The scenario's values for the template's parameters, plus values for required ones."""
    declared = template["Parameters"]
    values = {k: v for k, v in {**PROJECT, **scenario}.items() if k in declared}
    values.update({k: v for k, v in REQUIRED.items() if k in declared and k not in values
                   and "Default" not in declared[k]})
    return values


def resolve_studio(template: dict, scenario: dict[str, Any], **overrides: Any) -> dict:
    return resolve(template, ACCOUNT, {**parameters_for(template, scenario), **overrides})


# --- What the handlers need ------------------------------------------------------------------------

# Handler permissions that are not IAM actions: the API is authorized by another action.
ALIASES = {
    "s3:deletebucketencryption": "s3:PutEncryptionConfiguration",
    "s3:deletebucketcors": "s3:PutBucketCORS",
    "s3:deletebucketlifecycle": "s3:PutLifecycleConfiguration",
    "s3:deletebucketreplication": "s3:PutReplicationConfiguration",
    "s3:deletebucketanalyticsconfiguration": "s3:PutAnalyticsConfiguration",
    "s3:deletebucketmetricsconfiguration": "s3:PutMetricsConfiguration",
}
# Handler permissions for properties no Studio template sets: not granted. The test checks the
# properties stay unset (setting one needs the launch role to grant its actions first).
UNUSED_PROPERTIES: dict[str, dict[str, list[str]]] = {
    "AWS::S3::Bucket": {
        "AccelerateConfiguration": ["s3:PutAccelerateConfiguration"],
        "AnalyticsConfigurations": ["s3:PutAnalyticsConfiguration", "s3:DeleteBucketAnalyticsConfiguration"],
        "CorsConfiguration": ["s3:PutBucketCORS", "s3:DeleteBucketCors"],
        "InventoryConfigurations": ["s3:PutInventoryConfiguration"],
        "LifecycleConfiguration": ["s3:PutLifecycleConfiguration", "s3:DeleteBucketLifecycle"],
        "LoggingConfiguration": ["s3:PutBucketLogging"],
        "MetricsConfigurations": ["s3:PutMetricsConfiguration", "s3:DeleteBucketMetricsConfiguration"],
        "NotificationConfiguration": ["s3:PutBucketNotification"],
        "ReplicationConfiguration": ["s3:PutBucketReplication", "s3:PutReplicationConfiguration",
                                     "s3:DeleteBucketReplication", "iam:PassRole"],
        "WebsiteConfiguration": ["s3:PutBucketWebsite", "s3:DeleteBucketWebsite"],
        "ObjectLockConfiguration": ["s3:PutBucketObjectLockConfiguration", "s3:PutObjectLockConfiguration"],
        "IntelligentTieringConfigurations": ["s3:PutIntelligentTieringConfiguration"],
        "MetadataTableConfiguration": [
            "s3:CreateBucketMetadataTableConfiguration", "s3:DeleteBucketMetadataTableConfiguration",
            "s3:UpdateBucketMetadataAnnotationTableConfiguration", "s3:UpdateBucketMetadataInventoryTableConfiguration",
            "s3:UpdateBucketMetadataJournalTableConfiguration", "s3tables:CreateNamespace", "s3tables:CreateTable",
            "s3tables:CreateTableBucket", "s3tables:GetTable", "s3tables:GetTableMetadataLocation",
            "s3tables:PutTableBucketPolicy", "s3tables:PutTableEncryption", "s3tables:PutTablePolicy",
            "s3tables:UpdateTableMetadataLocation",
        ],
        "AbacStatus": ["s3:PutBucketAbac"],
        "AccessControl": ["s3:PutBucketAcl", "s3:PutObjectAcl"],
    },
    "AWS::KMS::Key": {"Enabled": ["kms:EnableKey", "kms:DisableKey"]},
    "AWS::CodeCommit::Repository": {
        "KmsKeyId": ["codecommit:UpdateRepositoryEncryptionKey"],
        "Triggers": ["codecommit:PutRepositoryTriggers"],
    },
    # The seeding function (CodeConnections mode): inline code, no VPC, file system, key, layers.
    "AWS::Lambda::Function": {
        "VpcConfig": ["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
                      "ec2:DescribeNetworkInterfaces"],
        "FileSystemConfigs": ["elasticfilesystem:DescribeMountTargets", "s3files:ListMountTargets"],
        "KmsKeyArn": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
        "CodeSigningConfigArn": ["lambda:GetCodeSigningConfig", "lambda:PutFunctionCodeSigningConfig",
                                 "lambda:DeleteFunctionCodeSigningConfig"],
        "Layers": ["lambda:GetLayerVersion"],
        "CapacityProviderConfig": ["lambda:PassCapacityProvider"],
    },
    "AWS::Logs::LogGroup": {
        "DataProtectionPolicy": ["logs:PutDataProtectionPolicy", "logs:DeleteDataProtectionPolicy",
                                 "logs:CreateLogDelivery", "s3:REST.PUT.OBJECT", "firehose:TagDeliveryStream"],
        "ResourcePolicyDocument": ["logs:PutResourcePolicy", "logs:DeleteResourcePolicy"],
        "FieldIndexPolicies": ["logs:PutIndexPolicy", "logs:DeleteIndexPolicy"],
        "KmsKeyId": ["logs:AssociateKmsKey", "logs:DisassociateKmsKey"],
        "BearerTokenAuthenticationEnabled": ["logs:PutBearerTokenAuthentication"],
        "DeletionProtectionEnabled": ["logs:PutLogGroupDeletionProtection"],
    },
}
# Handler permissions not granted for another reason, each with the check that it holds.
NOT_NEEDED: dict[str, dict[str, tuple[str, Any]]] = {
    "AWS::Lambda::Function": {
        **{action: ("code from S3 only (the seeding function's code is inline)",
                    lambda props: "ZipFile" in props["Code"] and "S3Bucket" not in props["Code"])
           for action in ("s3:GetObject", "s3:GetObjectVersion")},
        # Listed by the schema, but no IAM action (absent from the Service Authorization Reference,
        # cfn-lint's copy; test_handler_permissions_that_are_no_iam_actions).
        "lambda:AssociateRuntimeAlias": ("not an IAM action", lambda props: True),
    },
    "AWS::S3::Bucket": {
        "s3:DeleteObject": (
            "object-level; no property these buckets set writes objects (the AWS-managed SageMaker launch "
            "policy, which creates encrypted, tagged, public-access-blocked buckets, never granted it)",
            lambda props: "MetadataTableConfiguration" not in props and "ObjectLockEnabled" not in props,
        ),
    },
}
# Types whose provider schema lists no handler permissions (the CodeBuild resource predates them).
FALLBACK = {
    "AWS::CodeBuild::Project": ["codebuild:CreateProject", "codebuild:UpdateProject", "codebuild:DeleteProject",
                                "codebuild:BatchGetProjects", "iam:PassRole"],
}
# Custom resources (the seeding's Custom::SeedCheckin): CloudFormation invokes the ServiceToken
# function with the stack's credentials.
CUSTOM = ["lambda:InvokeFunction"]
# The action that brings each resource into existence: evaluated with the request's tags only.
CREATES = {
    "AWS::KMS::Key": "kms:createkey", "AWS::S3::Bucket": "s3:createbucket",
    "AWS::SageMaker::ModelPackageGroup": "sagemaker:createmodelpackagegroup",
    "AWS::CodeCommit::Repository": "codecommit:createrepository", "AWS::CodeBuild::Project": "codebuild:createproject",
    "AWS::CodePipeline::Pipeline": "codepipeline:createpipeline", "AWS::Events::Rule": "events:putrule",
    "AWS::SageMaker::CodeRepository": "sagemaker:createcoderepository",
    "AWS::Lambda::Function": "lambda:createfunction", "AWS::Logs::LogGroup": "logs:createloggroup",
}
TAGGING = re.compile(r":(tagresource|addtags|putbuckettagging|untagresource|deletetags)$")
# Calls made as part of the creating call, before the resource has its tags: the tags in the
# CreateKey/CreateModelPackageGroup request authorize tag-on-create, and CreateKey's policy
# lockout safety check asks whether the caller could then put the key's policy.
AT_CREATION = {
    "AWS::KMS::Key": ["kms:TagResource", "kms:PutKeyPolicy"],
    "AWS::SageMaker::ModelPackageGroup": ["sagemaker:AddTags"],
}

_SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"
_PROVIDERS = json.loads((_SCHEMAS / "providers" / "us-east-1.json").read_text())


def provider_schema(kind: str) -> dict:
    return json.loads((_SCHEMAS / "resources" / f"{_PROVIDERS[kind]}.json").read_text())


def is_custom(kind: str) -> bool:
    return kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource"


def handler_actions(kind: str) -> set[str]:
    """create, read, update and delete handler permissions (read: the other handlers end with it)."""
    if is_custom(kind):
        return set(CUSTOM)
    handlers = provider_schema(kind).get("handlers", {})
    found = {p for h in ("create", "read", "update", "delete") for p in handlers.get(h, {}).get("permissions", [])}
    return found or set(FALLBACK[kind])


def needed_actions(kind: str) -> set[str]:
    skipped = {a.lower() for actions in UNUSED_PROPERTIES.get(kind, {}).values() for a in actions}
    skipped |= {a.lower() for a in NOT_NEEDED.get(kind, {})}
    return {ALIASES.get(a.lower(), a) for a in handler_actions(kind) if a.lower() not in skipped}


# --- A small IAM evaluator (identity policies: Allow only) ------------------------------------------


def _match(pattern: str, value: str, case: bool) -> bool:
    pattern = pattern.replace("[", "[[]")
    return fnmatch.fnmatchcase(value, pattern) if case else fnmatch.fnmatchcase(value.lower(), pattern.lower())


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, Any]) -> bool:
    actual = context.get(key.lower())
    # IAM policy variables (${aws:PrincipalAccount}) take the request's values.
    expected = [re.sub(r"\$\{([^}]+)\}", lambda m: str(context.get(m.group(1).lower())), str(e))
                for e in as_list(expected)]
    if operator == "Null":
        return (actual is None) == (expected == ["true"])
    if actual is None:
        return False
    if operator in ("StringEquals", "ArnEquals"):
        return str(actual) in expected
    if operator == "StringEqualsIgnoreCase":
        return str(actual).lower() in [e.lower() for e in expected]
    if operator in ("StringLike", "ArnLike"):
        return any(_match(e, str(actual), case=True) for e in expected)
    raise ValueError(f"condition operator {operator} is not modelled")


def allowing(statements: list[dict], action: str, resource: str, context: dict[str, Any] | None = None) -> list[str]:
    """The Sids of the statements that allow the request (made by a principal of ACCOUNT in ORG)."""
    context = {k.lower(): v for k, v in {**PRINCIPAL, **(context or {})}.items()}
    found = []
    for statement in statements:
        assert statement["Effect"] == "Allow" and not {"NotAction", "NotResource"} & set(statement)
        if not any(_match(a, action, case=False) for a in as_list(statement["Action"])):
            continue
        if not any(_match(r, resource, case=True) for r in as_list(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        if all(_condition_holds(op, k, v, context) for op, tests in conditions.items() for k, v in tests.items()):
            found.append(statement["Sid"])
    return found


# --- Fixtures ----------------------------------------------------------------------------------------


def resolve_roles(template: dict, **parameters: Any) -> dict:
    return resolve(template, ACCOUNT, {"CatalogArtifactBucket": CATALOG_BUCKET, **parameters})


def policy_of(resolved: dict, logical_id: str) -> list[dict]:
    """The statements of a role's one inline policy, or of a managed policy."""
    props = resolved["Resources"][logical_id]["Properties"]
    if "PolicyDocument" in props:
        return props["PolicyDocument"]["Statement"]
    (policy,) = props["Policies"]
    return policy["PolicyDocument"]["Statement"]


LAUNCH_ROLES = ["LaunchRole", "S3LaunchRole"]
POLICIES = ["LaunchRole", "S3LaunchRole", "PipelineRole", "S3TemplatesUserPolicy"]
S3_TEMPLATES = {"TemplatesLocation": LOCATION, "TemplateUserRoleNames": [STUDIO_ROLE]}


@pytest.fixture(scope="module")
def template(built):
    return load_template(built, "project-roles")


@pytest.fixture(scope="module")
def resolved(template):
    return resolve_roles(template, CatalogArtifactKeyArns=[CATALOG_KEY], **S3_TEMPLATES)


@pytest.fixture(scope="module")
def launch(resolved):
    return policy_of(resolved, "LaunchRole")


@pytest.fixture(scope="module")
def s3_launch(resolved):
    return policy_of(resolved, "S3LaunchRole")


@pytest.fixture(scope="module", params=LAUNCH_ROLES)
def each_launch(request, resolved):
    """Each launch role: what confines one confines the other."""
    return policy_of(resolved, request.param)


@pytest.fixture(scope="module")
def user(resolved):
    return policy_of(resolved, "S3TemplatesUserPolicy")


@pytest.fixture(scope="module")
def pipeline(resolved):
    return policy_of(resolved, "PipelineRole")


def has_modes(template: dict) -> bool:
    """Whether the template offers the CodeConnections mode (its RepositoryProvider parameter)."""
    return "CodeConnections" in template["Parameters"].get("RepositoryProvider", {}).get("AllowedValues", [])


def skip_without_modes(template: dict, product: str, mode: str) -> None:
    if mode == "CodeConnections" and not has_modes(template):
        pytest.skip(f"{product} has no RepositoryProvider parameter offering CodeConnections (issue 12, point 1)")


@pytest.fixture(scope="module")
def studio_modes(built) -> dict[tuple[str, str], list[dict]]:
    """Each Studio template resolved for every scenario, in each source mode it offers."""
    found = {}
    for product in STUDIO:
        template = load_template(built, product)
        for mode in MODES if has_modes(template) else MODES[:1]:
            found[product, mode] = [resolve_studio(template, s) for s in scenarios(built, product, mode)]
    return found


@pytest.fixture(scope="module")
def studio(studio_modes) -> dict[str, list[dict]]:
    """Each Studio template resolved for every scenario, in every mode."""
    return {product: [r for (p, _), found in studio_modes.items() if p == product for r in found]
            for product in STUDIO}


@pytest.fixture(scope="module")
def studio_from_s3(built) -> dict[str, list[dict]]:
    """The same, launched from the S3 templates: the seed-code zips under the templates location
    (where the S3 publisher puts them) instead of in the catalog's artifact bucket."""
    found = {}
    for product in STUDIO:
        template = load_template(built, product)
        declared = template["Parameters"]
        found[product] = []
        for scenario in scenarios(built, product):
            seeds = {k: f"{TEMPLATES_PREFIX}seedcode/{k}-0123456789ab.zip" for k in scenario
                     if k.startswith("SeedCode") and k.endswith("Key")}
            overrides = {"SeedCodeBucket": TEMPLATES_BUCKET} if "SeedCodeBucket" in declared else {}
            found[product].append(resolve_studio(template, {**scenario, **seeds}, **overrides))
    return found


def scenarios(built, product: str, mode: str = "CodeCommit") -> list[dict[str, Any]]:
    """A product without scenarios of its own is launched once with its seed keys set (every other
    parameter at its default, or REQUIRED's value); it must then make every resource it has. In the
    CodeConnections mode, the same with the repository given through a connection."""
    declared = load_template(built, product)["Parameters"]
    if product in SCENARIOS:
        found = SCENARIOS[product]
    else:
        found = [{k: "k.zip" for k in declared if k.startswith("SeedCode") and k.endswith("Key")}]
    if mode == "CodeCommit":
        return found
    on_top = CODECONNECTIONS.get(product, {"RepositoryProvider": "CodeConnections", "CodeConnectionArn": CONNECTION,
                                           "RepositoryFullName": "my-org/my-repo"})
    return [{**scenario, **{k: v for k, v in on_top.items() if k in declared}} for scenario in found]


# --- The requests CloudFormation makes for one resource ----------------------------------------------


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def passed_roles(kind: str, props: dict) -> list[tuple[str, str]]:
    if kind == "AWS::CodePipeline::Pipeline":
        return [(props["RoleArn"], "codepipeline.amazonaws.com")]
    if kind == "AWS::CodeBuild::Project":
        return [(props["ServiceRole"], "codebuild.amazonaws.com")]
    if kind == "AWS::Events::Rule":
        return [(t["RoleArn"], "events.amazonaws.com") for t in props["Targets"] if "RoleArn" in t]
    if kind == "AWS::Lambda::Function":
        return [(props["Role"], "lambda.amazonaws.com")]
    return []


def resources_of(kind: str, action: str, logical_id: str, props: dict, key_tags: dict) -> list[tuple[str, dict]]:
    """(resource ARN, extra context) for each resource `action` is authorized on. `key_tags`: the
    tags of the template's keys by key id (an alias operation is authorized on its key too)."""
    service = action.split(":")[0]
    if service == "iam":
        return [(role, {"iam:PassedToService": to}) for role, to in passed_roles(kind, props)]
    if kind == "AWS::S3::Bucket" or kind == "AWS::S3::BucketPolicy":
        return [(f"arn:aws:s3:::{props['BucketName' if kind == 'AWS::S3::Bucket' else 'Bucket']}", {})]
    if kind == "AWS::KMS::Key":
        return [("*" if action.lower() == "kms:createkey" else arn("kms", f"key/{key_id(ACCOUNT, logical_id)}"), {})]
    if kind == "AWS::KMS::Alias":
        if action.lower() == "kms:listaliases":
            return [("*", {})]
        on_key = {f"aws:ResourceTag/{k}": v for k, v in key_tags.get(props["TargetKeyId"], {}).items()}
        return [(arn("kms", props["AliasName"]), {}), (arn("kms", f"key/{props['TargetKeyId']}"), on_key)]
    if kind == "AWS::CodeCommit::Repository":
        if service == "s3":
            return [(f"arn:aws:s3:::{props['Code']['S3']['Bucket']}/{props['Code']['S3']['Key']}", {})]
        if action.lower() == "codecommit:listrepositories":
            return [("*", {})]
        return [(arn("codecommit", props["RepositoryName"]), {})]
    if kind == "AWS::CodeBuild::Project":
        return [(arn("codebuild", f"project/{props['Name']}"), {})]
    if kind == "AWS::CodePipeline::Pipeline":
        if service == "codestar-connections":
            # PassConnection of each CodeStarSourceConnection action's connection, to CodePipeline;
            # the request carries the connection's tags (the README asks for sagemaker=true).
            return [(c, {f"{c.split(':')[2]}:PassedToService": TO_CODEPIPELINE, **CONNECTION_TAGS})
                    for c in pipeline_connections(props)]
        return [(arn("codepipeline", props["Name"]), {})]
    if kind == "AWS::SageMaker::CodeRepository":
        return [(arn("sagemaker", f"code-repository/{props['CodeRepositoryName']}"), {})]
    if kind == "AWS::Lambda::Function":
        return [(arn("lambda", f"function:{props['FunctionName']}"), {})]
    if kind == "AWS::Logs::LogGroup":
        if action.lower() in ("logs:describeloggroups", "logs:describeindexpolicies", "logs:describeresourcepolicies"):
            return [("*", {})]
        return [(arn("logs", f"log-group:{props['LogGroupName']}"), {})]
    if is_custom(kind):
        return [(props["ServiceToken"], {})]
    if kind == "AWS::Events::Rule":
        return [(arn("events", f"rule/{props['Name']}"), {})]
    if kind == "AWS::Events::EventBusPolicy":
        return [(arn("events", f"event-bus/{props['EventBusName']}") if "Describe" in action else "*", {})]
    if kind == "AWS::SageMaker::ModelPackageGroup":
        return [(arn("sagemaker", f"model-package-group/{props['ModelPackageGroupName']}"), {})]
    raise AssertionError(f"no ARN model for {kind}")


def pipeline_connections(props: dict) -> list[str]:
    return [a["Configuration"]["ConnectionArn"] for stage in props["Stages"] for a in stage["Actions"]
            if a["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"]


def authorized_as(action: str, resource: str) -> str:
    """The handler schemas name codestar-connections:PassConnection; a connection of the newer
    codeconnections form is authorized by the action of its own prefix (Developer Tools console
    user guide: the service prefix must match that of the resource)."""
    if action.lower().startswith("codestar-connections:") and resource.startswith("arn:aws:codeconnections:"):
        return "codeconnections:" + action.split(":", 1)[1]
    return action


def service_of(action: str) -> str:
    return action.split(":", 1)[0].lower()


def tag_context(kind: str, action: str, props: dict) -> dict[str, str]:
    """Creating calls carry the tags in the request; later calls find them on the resource;
    tagging calls have both."""
    tags = {t["Key"]: t["Value"] for t in props.get("Tags", [])} if isinstance(props.get("Tags"), list) else {}
    context = {}
    if action.lower() == CREATES.get(kind) or TAGGING.search(action.lower()):
        context.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
    if action.lower() != CREATES.get(kind):
        context.update({f"aws:ResourceTag/{k}": v for k, v in tags.items()})
    return context


def requests(resolved_template: dict) -> list[tuple[str, str, str, dict]]:
    """(what, action, resource ARN, context) for every handler permission of every resource."""
    found = []
    key_tags = {
        key_id(ACCOUNT, logical_id): {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
        for logical_id, resource in resolved_template["Resources"].items() if resource["Type"] == "AWS::KMS::Key"
    }
    for logical_id, resource in resolved_template["Resources"].items():
        kind, props = resource["Type"], resource["Properties"]
        for action in sorted(needed_actions(kind)):
            for resource_arn, extra in resources_of(kind, action, logical_id, props, key_tags):
                context = {**tag_context(kind, action, props), **extra}
                if service_of(action) == "codestar-connections":
                    context = extra  # the connection's own tags, not the pipeline's
                found.append((f"{logical_id} ({kind})", authorized_as(action, resource_arn), resource_arn, context))
        tags = {f"aws:RequestTag/{t['Key']}": t["Value"] for t in props.get("Tags", [])}
        for action in AT_CREATION.get(kind, []):
            for resource_arn, _ in resources_of(kind, action, logical_id, props, key_tags):
                found.append((f"{logical_id} ({kind}) at creation", action, resource_arn, tags))
    return found


# --- The launch role ---------------------------------------------------------------------------------


def test_every_resource_of_the_studio_templates_is_covered_by_a_scenario(built, studio):
    for product in STUDIO:
        template = load_template(built, product)
        made = {logical_id for r in studio[product] for logical_id in r["Resources"]}
        assert made == set(template["Resources"]), product


def _missing(statements: list[dict], resolved_templates: list[dict]) -> list[str]:
    return [
        f"{what}: {action} on {resource}"
        for resolved_template in resolved_templates
        for what, action, resource, context in requests(resolved_template)
        if not allowing(statements, action, resource, context)
    ]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("role", LAUNCH_ROLES)
@pytest.mark.parametrize("product", STUDIO)
def test_each_launch_role_can_do_every_handler_permission_of_every_resource(built, studio_modes, resolved, role,
                                                                           product, mode):
    """Service Catalog's launch role and the S3 templates' launch role, on the same templates, with
    the repository in CodeCommit and through a connection."""
    skip_without_modes(load_template(built, product), product, mode)
    launched = studio_modes[product, mode]
    assert _missing(policy_of(resolved, role), launched) == []
    if mode == "CodeConnections":
        # The mode really is on: no CodeCommit repository, and the pipeline's source is the connection.
        kinds = {r["Type"] for found in launched for r in found["Resources"].values()}
        assert "AWS::CodeCommit::Repository" not in kinds, product
        passes = [(a, r) for found in launched for _, a, r, _ in requests(found) if a.endswith(":PassConnection")]
        assert passes and {r for _, r in passes} == {CODECONNECTIONS[product]["CodeConnectionArn"]}, passes


@pytest.mark.parametrize("product", STUDIO)
def test_the_s3_launch_role_reads_the_seed_code_under_the_templates_location(built, studio_from_s3, s3_launch,
                                                                            launch, product):
    """Launched from S3, the repositories' seed zips are in the templates bucket: the S3 launch role
    reads them there; the Service Catalog launch role has no reason to."""
    assert _missing(s3_launch, studio_from_s3[product]) == []
    refused = _missing(launch, studio_from_s3[product])
    seeded = "SeedCodeBucket" in load_template(built, product)["Parameters"]  # a product may have no seed code
    assert any(f"s3:GetObject on arn:aws:s3:::{TEMPLATES_BUCKET}/" in m for m in refused) == seeded


def test_the_two_launch_roles_differ_only_in_their_stacks_and_template_reads(launch, s3_launch):
    """Built from the same statement builders: what the templates' resources need cannot drift apart."""
    service_catalog = {s["Sid"]: s for s in launch}
    s3 = {s["Sid"]: s for s in s3_launch}
    assert set(service_catalog) - set(s3) == {"ServiceCatalogStacks", "ReadProvisioningTemplates"}
    assert set(s3) - set(service_catalog) == {"SageMakerProjectStacks", "ReadTemplateSeedCode"}
    assert all(service_catalog[sid] == s3[sid] for sid in set(s3) & set(service_catalog))
    stacks = {**service_catalog["ServiceCatalogStacks"], "Sid": "SageMakerProjectStacks"}
    assert s3["SageMakerProjectStacks"] == {**stacks, "Resource": stacks["Resource"].replace("/SC-*", "/SP-*")}


def test_the_s3_launch_role_runs_sp_stacks_and_reads_seed_code_only(s3_launch):
    for action in ("cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DeleteStack",
                   "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents"):
        assert allowing(s3_launch, action, SP_STACK) == ["SageMakerProjectStacks"], action
        assert not allowing(s3_launch, action, SC_STACK), action
    assert not allowing(s3_launch, "cloudformation:CreateStack", arn("cloudformation", "stack/prod-network/1"))
    # Not Service Catalog's provisioning templates.
    provisioning = {"s3:ExistingObjectTag/servicecatalog:provisioning": "true"}
    assert not allowing(s3_launch, "s3:GetObject", "arn:aws:s3:::sc-abc-us-east-1/template.json", provisioning)
    # The seed code: in the catalog's artifact bucket, or under the templates location.
    assert allowing(s3_launch, "s3:GetObject", f"arn:aws:s3:::{SEED_BUCKET}/smcat/seedcode/modelbuild.zip")
    seed = f"arn:aws:s3:::{TEMPLATES_BUCKET}/{TEMPLATES_PREFIX}seedcode/modelbuild-0123456789ab.zip"
    assert allowing(s3_launch, "s3:GetObject", seed) == ["ReadTemplateSeedCode"]
    assert not allowing(s3_launch, "s3:GetObject", f"arn:aws:s3:::{TEMPLATES_BUCKET}/other/modelbuild.zip")
    assert not allowing(s3_launch, "s3:PutObject", seed)
    assert not allowing(s3_launch, "s3:GetObject", "arn:aws:s3:::payroll-exports/2024.csv")


def test_without_a_templates_location_the_s3_launch_role_reads_the_catalog_bucket_only(template):
    statements = policy_of(resolve_roles(template), "S3LaunchRole")
    assert "ReadTemplateSeedCode" not in {s["Sid"] for s in statements}
    assert allowing(statements, "s3:GetObject", f"arn:aws:s3:::{SEED_BUCKET}/k.zip") == ["ReadSeedCode"]


def test_the_launch_role_runs_the_service_catalog_stack_and_reads_templates_and_seed_code(launch):
    for action in ("cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DeleteStack",
                   "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents"):
        assert allowing(launch, action, SC_STACK) == ["ServiceCatalogStacks"]
    assert not allowing(launch, "cloudformation:CreateStack", arn("cloudformation", "stack/prod-network/1"))
    assert allowing(launch, "cloudformation:ValidateTemplate", "*")
    provisioning = {"s3:ExistingObjectTag/servicecatalog:provisioning": "true"}
    assert allowing(launch, "s3:GetObject", "arn:aws:s3:::sc-abc-us-east-1/template.json", provisioning)
    assert not allowing(launch, "s3:GetObject", "arn:aws:s3:::sc-abc-us-east-1/template.json")
    assert allowing(launch, "s3:GetObject", f"arn:aws:s3:::{SEED_BUCKET}/smcat/seedcode/modelbuild.zip")
    assert not allowing(launch, "s3:GetObject", "arn:aws:s3:::payroll-exports/2024.csv")
    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    assert allowing(launch, "kms:Decrypt", CATALOG_KEY, via_s3) == ["DecryptSeedCode"]
    assert not allowing(launch, "kms:Decrypt", CATALOG_KEY)  # only through S3


@pytest.mark.parametrize("role", LAUNCH_ROLES)
def test_without_catalog_keys_nothing_is_decrypted(template, role):
    statements = policy_of(resolve_roles(template), role)
    assert "DecryptSeedCode" not in {s["Sid"] for s in statements}
    assert not any("kms:Decrypt" in as_list(s["Action"]) for s in statements)


def test_kms_keys_only_with_the_project_tag(each_launch):
    tagged = {"aws:RequestTag/sagemaker:project-id": "p-1"}
    key = arn("kms", "key/1234abcd-0000")
    assert allowing(each_launch, "kms:CreateKey", "*", tagged)
    assert not allowing(each_launch, "kms:CreateKey", "*")
    # CreateKey's lockout safety check (PutKeyPolicy with the request's tags) and tag-on-create.
    assert allowing(each_launch, "kms:PutKeyPolicy", key, tagged)
    assert allowing(each_launch, "kms:TagResource", key, tagged)
    # Existing keys: only those carrying the tag; aliases only sagemaker-*.
    on_tagged = {"aws:ResourceTag/sagemaker:project-id": "p-1"}
    for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:UntagResource", "kms:CreateAlias"):
        assert allowing(each_launch, action, key, on_tagged), action
        assert not allowing(each_launch, action, key), action
    assert allowing(each_launch, "kms:CreateAlias", arn("kms", "alias/sagemaker-x-modelbuild"))
    assert not allowing(each_launch, "kms:CreateAlias", arn("kms", "alias/prod-database"))
    # Never use a key.
    for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant"):
        assert not allowing(each_launch, action, key, on_tagged), action


def test_names_and_tags_confine_the_rest(each_launch):
    project_bucket = f"arn:aws:s3:::sagemaker-p-abc-{ACCOUNT}-{REGION}"
    assert allowing(each_launch, "s3:CreateBucket", project_bucket)
    for bucket in ("arn:aws:s3:::payroll-exports", f"arn:aws:s3:::sagemaker-{REGION}-{ACCOUNT}",
                   f"arn:aws:s3:::sagemaker-p-abc-{OTHER}-{REGION}"):
        assert not allowing(each_launch, "s3:PutBucketPolicy", bucket), bucket
    for action in ("s3:DeleteObject", "s3:PutObject", "s3:PutBucketAcl", "s3:PutReplicationConfiguration",
                   "s3:PutLifecycleConfiguration"):
        assert not allowing(each_launch, action, project_bucket)
        assert not allowing(each_launch, action, project_bucket + "/x")
    assert not allowing(each_launch, "codecommit:DeleteRepository", arn("codecommit", "payments-service"))
    assert not allowing(each_launch, "codepipeline:DeletePipeline", arn("codepipeline", "release-prod"))
    assert not allowing(each_launch, "events:PutTargets", arn("events", "rule/guardduty-findings"))
    group = arn("sagemaker", "model-package-group/fraud")
    assert not allowing(each_launch, "sagemaker:DeleteModelPackageGroup", group)
    assert not allowing(each_launch, "sagemaker:PutModelPackageGroupPolicy", group)
    tagged = {"aws:ResourceTag/sagemaker:project-id": "p"}
    assert allowing(each_launch, "sagemaker:DeleteModelPackageGroup", group, tagged)
    assert not allowing(each_launch, "sagemaker:CreateModelPackageGroup", group)


def test_the_launch_role_passes_the_project_roles_to_their_services_only(each_launch):
    use_role = f"arn:aws:iam::{ACCOUNT}:role/{USE_ROLE}"
    pipeline_role = f"arn:aws:iam::{ACCOUNT}:role/{PIPELINE_ROLE}"
    for role in (use_role, pipeline_role, f"arn:aws:iam::{ACCOUNT}:role/service-role/"
                 "AmazonSageMakerServiceCatalogProductsCodeBuildRole"):
        for service in projectroles.LAUNCH_SERVICES:
            assert allowing(each_launch, "iam:PassRole", role, {"iam:PassedToService": service}) == ["PassProjectRoles"]
        for service in ("sagemaker.amazonaws.com", "ec2.amazonaws.com", "cloudformation.amazonaws.com"):
            assert not allowing(each_launch, "iam:PassRole", role, {"iam:PassedToService": service}), (role, service)
        # Lambda (the CodeConnections seeding function): only the roles that trust Lambda.
        to_lambda = allowing(each_launch, "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"})
        assert to_lambda == (["PassProjectRolesToLambda"] if role == use_role else []), role
    lambda_role = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMakerServiceCatalogProductsLambdaRole"
    assert allowing(each_launch, "iam:PassRole", lambda_role, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allowing(each_launch, "iam:PassRole", lambda_role.replace(ACCOUNT, OTHER),
                        {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allowing(each_launch, "iam:PassRole", lambda_role)
    for role in ("OrganizationAccountAccessRole", "sagemaker-mlops-deployer", f"{LAUNCH_ROLE}-admin"):
        assert not allowing(each_launch, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{role}",
                            {"iam:PassedToService": "codebuild.amazonaws.com"}), role
    assert not any(a.lower().startswith("iam:") and a.lower() not in ("iam:passrole", "iam:getrole")
                   for s in each_launch for a in as_list(s["Action"]))


# --- CodeConnections: passed by the launch roles, used by the pipeline role --------------------------

PASSING = {"codeconnections": "PassCodeConnectionsToCodePipeline",
           "codestar-connections": "PassCodeStarConnectionsToCodePipeline"}


def prefix_of(connection: str) -> str:
    return connection.split(":")[2]


@pytest.mark.parametrize("connection", [CONNECTION, CODESTAR_CONNECTION])
def test_the_launch_roles_pass_the_accounts_tagged_connections_to_codepipeline_only(each_launch, connection):
    prefix = prefix_of(connection)
    action, key = f"{prefix}:PassConnection", f"{prefix}:PassedToService"
    to_codepipeline = {key: TO_CODEPIPELINE, **CONNECTION_TAGS}
    assert allowing(each_launch, action, connection, to_codepipeline) == [PASSING[prefix]]
    assert allowing(each_launch, action, connection, {key: TO_CODEPIPELINE, "aws:ResourceTag/sagemaker": "TRUE"})
    # Another account's connection, another region's of this account (allowed), a host, not a connection.
    assert not allowing(each_launch, action, connection.replace(ACCOUNT, OTHER), to_codepipeline)
    assert allowing(each_launch, action, connection.replace(REGION, "eu-west-1"), to_codepipeline)
    assert not allowing(each_launch, action, connection.replace(":connection/", ":host/"), to_codepipeline)
    # Passed to another service, to none named, or named under the other prefix's key only.
    for service in ("codebuild.amazonaws.com", "proton.amazonaws.com", "codeguru-reviewer", "lambda.amazonaws.com"):
        assert not allowing(each_launch, action, connection, {key: service, **CONNECTION_TAGS}), service
    assert not allowing(each_launch, action, connection, CONNECTION_TAGS)
    other = next(p for p in PASSING if p != prefix)
    assert not allowing(each_launch, action, connection, {f"{other}:PassedToService": TO_CODEPIPELINE,
                                                          **CONNECTION_TAGS})
    # A connection without the sagemaker=true tag (the AWS-managed project roles would not use it).
    assert not allowing(each_launch, action, connection, {key: TO_CODEPIPELINE})
    assert not allowing(each_launch, action, connection, {key: TO_CODEPIPELINE, "aws:ResourceTag/sagemaker": "no"})
    # The launch roles never use, read or change a connection themselves.
    for verb in ("UseConnection", "GetConnectionToken", "GetConnection", "CreateConnection", "DeleteConnection",
                 "UpdateConnectionInstallation", "TagResource", "PassRepository"):
        assert not allowing(each_launch, f"{prefix}:{verb}", connection, to_codepipeline), verb


@pytest.mark.parametrize("connection", [CONNECTION, CODESTAR_CONNECTION])
def test_the_pipeline_role_uses_the_accounts_tagged_connections_only(pipeline, connection):
    prefix = prefix_of(connection)
    # The source action (UseConnection) and a CodeBuild source through the connection (the token).
    for verb in ("UseConnection", "GetConnectionToken", "GetConnection"):
        action = f"{prefix}:{verb}"
        assert allowing(pipeline, action, connection, CONNECTION_TAGS) == ["UseConnections"], action
        assert not allowing(pipeline, action, connection.replace(ACCOUNT, OTHER), CONNECTION_TAGS), action
        assert not allowing(pipeline, action, connection), action  # untagged
        assert not allowing(pipeline, action, connection, {"aws:ResourceTag/sagemaker": "false"}), action
        assert not allowing(pipeline, action, connection.replace(":connection/", ":repository-link/"),
                            CONNECTION_TAGS), action
    # It creates no pipelines: it passes no connection, and manages none.
    for verb in ("PassConnection", "CreateConnection", "DeleteConnection", "UpdateConnectionInstallation",
                 "TagResource", "PassRepository"):
        assert not allowing(pipeline, f"{prefix}:{verb}", connection,
                            {f"{prefix}:PassedToService": TO_CODEPIPELINE, **CONNECTION_TAGS}), verb


@pytest.mark.parametrize("role", LAUNCH_ROLES)
def test_another_role_given_to_a_project_is_refused_at_launch(built, resolved, role):
    """Overriding a role parameter with a role the launch role may not pass fails the launch."""
    statements = policy_of(resolved, role)
    resolved_template = resolve_studio(load_template(built, "multi-account-deploy"),
                                       SCENARIOS["multi-account-deploy"][0], CodeBuildRole="Admin")
    refused = [(a, r) for _, a, r, c in requests(resolved_template) if not allowing(statements, a, r, c)]
    assert ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/Admin") in refused


def test_handler_exclusions_are_real_properties_the_templates_leave_unset(built):
    for product in STUDIO:
        for logical_id, resource in load_template(built, product)["Resources"].items():
            kind = resource["Type"]
            props = resource.get("Properties", {})
            if is_custom(kind):
                continue
            schema_properties = set(provider_schema(kind).get("properties", {}))
            for prop in UNUSED_PROPERTIES.get(kind, {}):
                assert prop in schema_properties, (kind, prop)
                assert prop not in props, f"{product} {logical_id} sets {prop}: grant its actions first"
            for action, (reason, holds) in NOT_NEEDED.get(kind, {}).items():
                assert holds(props), f"{product} {logical_id}: {action} is now needed ({reason})"
    for kind, by_property in UNUSED_PROPERTIES.items():
        listed = {a.lower() for a in handler_actions(kind)}
        for actions in by_property.values():
            assert {a.lower() for a in actions} <= listed, kind  # stale entries would hide nothing


# --- The pipeline role -------------------------------------------------------------------------------

PIPELINE_NEEDS = [
    # CodePipeline: source, builds, artifacts; EventBridge: start.
    ("codecommit:GetBranch", arn("codecommit", "sagemaker-n-p-1-modeldeploy"), {}),
    ("codecommit:UploadArchive", arn("codecommit", "sagemaker-n-p-1-modeldeploy"), {}),
    ("codebuild:StartBuild", arn("codebuild", "project/sagemaker-n-p-1-modeldeploy-stackset"), {}),
    ("codebuild:BatchGetBuilds", arn("codebuild", "project/sagemaker-n-p-1-modeldeploy-test"), {}),
    ("codepipeline:StartPipelineExecution", arn("codepipeline", "sagemaker-n-p-1-modeldeploy"), {}),
    ("s3:PutObject", f"arn:aws:s3:::sagemaker-p-1-{ACCOUNT}-{REGION}/n-p-1/modeldeploy/template.yml", OWN),
    ("s3:GetObject", f"arn:aws:s3:::sagemaker-p-1-{ACCOUNT}-{REGION}/sagemaker-n-p-1-model/Source/x.zip", OWN),
    ("logs:PutLogEvents",
     arn("logs", "log-group:/aws/codebuild/sagemaker-n-p-1-modeldeploy-build:log-stream:abc"), {}),
    # model-build's run-pipeline.
    ("sagemaker:CreatePipeline", arn("sagemaker", "pipeline/sagemaker-n-p-1"), {}),
    ("sagemaker:StartPipelineExecution", arn("sagemaker", "pipeline/sagemaker-n-p-1"), {}),
    ("sagemaker:DescribePipelineExecution", arn("sagemaker", "pipeline/sagemaker-n-p-1/execution/abc"), {}),
    ("sagemaker:ListTags", arn("sagemaker", "project/n"), {}),
    ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{USE_ROLE}", {"iam:PassedToService": "sagemaker.amazonaws.com"}),
    # The deploy builds read the registry, here or in a hub.
    ("sagemaker:ListModelPackages", f"arn:aws:sagemaker:{REGION}:{OTHER}:model-package-group/churn-models", {}),
    ("sagemaker:DescribeModelPackage", f"arn:aws:sagemaker:{REGION}:{OTHER}:model-package/churn-models/3", {}),
    # deploy_stackset.py with CallAs DELEGATED_ADMIN (the project tag always set on the StackSet).
    ("cloudformation:CreateStackSet", "*", {"aws:RequestTag/sagemaker:project-id": "p-1"}),
    ("cloudformation:UpdateStackSet", f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stackset/"
     "sagemaker-n-p-1-deploy-staging:1a2b", {}),
    ("cloudformation:CreateStackInstances", f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stackset-target/"
     "sagemaker-n-p-1-deploy-staging:1a2b/ou-ab12-staging1", {}),
    ("cloudformation:CreateStackInstances", f"arn:aws:cloudformation:{REGION}::type/resource/AWS-SageMaker-Endpoint",
     {}),
    ("cloudformation:DescribeStackSetOperation", f"arn:aws:cloudformation:{REGION}:{OTHER}:stackset/"
     "sagemaker-n-p-1-deploy-prod:9f8e", {}),
    ("organizations:ListDelegatedAdministrators", "*", {}),
    # CodeConnections: the source action, and a CodeBuild source through the connection.
    ("codeconnections:UseConnection", CONNECTION, CONNECTION_TAGS),
    ("codestar-connections:UseConnection", CODESTAR_CONNECTION, CONNECTION_TAGS),
    ("codeconnections:GetConnectionToken", CONNECTION, CONNECTION_TAGS),
    # Cross-account deploy and tests.
    ("sts:AssumeRole", f"arn:aws:iam::{OTHER}:role/sagemaker-mlops-deployer", IN_ORG),
    ("sts:AssumeRole", f"arn:aws:iam::{OTHER}:role/sagemaker-mlops-tester", IN_ORG),
]


@pytest.mark.parametrize("action,resource,context", PIPELINE_NEEDS, ids=[f"{a} {r[-40:]}" for a, r, _ in
                                                                          PIPELINE_NEEDS])
def test_the_pipeline_role_can_run_the_projects_pipelines(pipeline, action, resource, context):
    assert allowing(pipeline, action, resource, context)


def test_the_pipeline_role_assumes_only_target_account_bootstrap_roles(pipeline):
    assuming = [s for s in pipeline if any(_match(a, "sts:AssumeRole", case=False) for a in as_list(s["Action"]))]
    assert [s["Sid"] for s in assuming] == ["AssumeTargetAccountRoles"]
    (statement,) = assuming
    assert as_list(statement["Action"]) == ["sts:AssumeRole"]
    assert sorted(statement["Resource"]) == ["arn:aws:iam::*:role/sagemaker-*-deployer",
                                             "arn:aws:iam::*:role/sagemaker-*-tester"]
    # Not the endpoints' execution role (it trusts SageMaker only), nor anything else.
    for role in ("OrganizationAccountAccessRole", "AWSControlTowerExecution", "Admin", "sagemaker-admin",
                 "sagemaker-role-mlops"):
        assert not allowing(pipeline, "sts:AssumeRole", f"arn:aws:iam::{OTHER}:role/{role}", IN_ORG), role


def test_the_pipeline_role_assumes_roles_of_its_own_organization_only(pipeline):
    """A deployer or tester role of an account outside the organization (anyone may name a role
    sagemaker-x-deployer and trust this account) is refused: aws:ResourceOrgID."""
    for role in ("sagemaker-mlops-deployer", "sagemaker-mlops-tester"):
        target = f"arn:aws:iam::{OTHER}:role/{role}"
        assert allowing(pipeline, "sts:AssumeRole", target, IN_ORG) == ["AssumeTargetAccountRoles"]
        assert not allowing(pipeline, "sts:AssumeRole", target, {"aws:ResourceOrgID": "o-zzzzzzzzzz"}), role
        assert not allowing(pipeline, "sts:AssumeRole", target), role  # an account in no organization


def test_the_pipeline_role_uses_project_buckets_of_its_own_account_only(pipeline):
    """Bucket names are global: another account's sagemaker-* bucket is refused (aws:ResourceAccount)."""
    theirs = f"arn:aws:s3:::sagemaker-p-1-{OTHER}-{REGION}"
    for action, resource in (("s3:PutObject", f"{theirs}/x.zip"), ("s3:GetObject", f"{theirs}/x.zip"),
                             ("s3:ListBucket", theirs)):
        assert allowing(pipeline, action, resource.replace(OTHER, ACCOUNT), OWN), action
        assert not allowing(pipeline, action, resource, {"aws:ResourceAccount": OTHER}), action


def test_the_pipeline_role_deploys_only_endpoint_stack_sets(pipeline):
    stack_set = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stackset/"
    assert not allowing(pipeline, "cloudformation:CreateStackSet", "*")  # untagged
    assert not allowing(pipeline, "cloudformation:UpdateStackSet", stack_set + "org-baseline:1")
    assert not allowing(pipeline, "cloudformation:DeleteStackSet", stack_set + "sagemaker-n-p-1-deploy-prod:1")
    for kind in ("AWS-IAM-Role", "AWS-Lambda-Function", "AWS-CloudFormation-Stack", "AWS-EC2-Instance"):
        type_arn = f"arn:aws:cloudformation:{REGION}::type/resource/{kind}"
        assert not allowing(pipeline, "cloudformation:CreateStackInstances", type_arn), kind
    assert not allowing(pipeline, "cloudformation:CreateStack", arn("cloudformation", "stack/x/1"))
    assert not allowing(pipeline, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{PIPELINE_ROLE}",
                        {"iam:PassedToService": "sagemaker.amazonaws.com"})


def test_the_endpoint_template_holds_only_resource_types_the_stack_sets_may_deploy():
    text = (ROOT / "seedcode" / "modeldeploy" / "endpoint-config-template.yml").read_text()
    kinds = set(re.findall(r"^ {4}Type:\s*(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)\s*$", text, re.M))
    assert kinds and all(
        any(fnmatch.fnmatchcase(k.replace("::", "-"), p) for p in projectroles.STACK_SET_RESOURCE_TYPES) for k in kinds
    ), kinds


# --- The S3 templates user policy (Studio execution roles) -----------------------------------------

TEMPLATE = f"arn:aws:s3:::{TEMPLATES_BUCKET}/{TEMPLATES_PREFIX}model-build.yaml"
TEMPLATES = f"arn:aws:s3:::{TEMPLATES_BUCKET}"
TO_CLOUDFORMATION = {"iam:PassedToService": "cloudformation.amazonaws.com"}
WITH_THE_LAUNCH_ROLE = {"cloudformation:RoleArn": S3_LAUNCH_ROLE_ARN}


def test_studio_users_pass_the_s3_launch_role_to_cloudformation_only(user):
    assert allowing(user, "iam:PassRole", S3_LAUNCH_ROLE_ARN, TO_CLOUDFORMATION) == ["PassS3LaunchRole"]
    for service in ("sagemaker.amazonaws.com", "codebuild.amazonaws.com", "lambda.amazonaws.com"):
        assert not allowing(user, "iam:PassRole", S3_LAUNCH_ROLE_ARN, {"iam:PassedToService": service}), service
    assert not allowing(user, "iam:PassRole", S3_LAUNCH_ROLE_ARN)
    # Not the Service Catalog launch role, the pipeline role, nor any other role.
    for role in (LAUNCH_ROLE, PIPELINE_ROLE, USE_ROLE, "Admin", "SageMakerProjectsS3LaunchRole-admin"):
        assert not allowing(user, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{role}", TO_CLOUDFORMATION), role
    assert not allowing(user, "iam:PassRole", S3_LAUNCH_ROLE_ARN.replace(ACCOUNT, OTHER), TO_CLOUDFORMATION)


@pytest.mark.parametrize("action", ["cloudformation:CreateStack", "cloudformation:UpdateStack",
                                    "cloudformation:DeleteStack"])
def test_studio_users_run_sp_stacks_only_with_the_s3_launch_role(user, action):
    assert allowing(user, action, SP_STACK, WITH_THE_LAUNCH_ROLE) == ["ProjectStacksWithTheLaunchRole"]
    # Without a service role the stack would run with the user's own credentials; with another
    # role, with that role's.
    assert not allowing(user, action, SP_STACK)
    for role in (f"arn:aws:iam::{ACCOUNT}:role/{LAUNCH_ROLE}", f"arn:aws:iam::{ACCOUNT}:role/Admin",
                 S3_LAUNCH_ROLE_ARN.replace(ACCOUNT, OTHER)):
        assert not allowing(user, action, SP_STACK, {"cloudformation:RoleArn": role}), role
    # Only SP- stacks: not Service Catalog's, not the account's others.
    for stack in (SC_STACK, arn("cloudformation", "stack/prod-network/1"), arn("cloudformation", "stack/XSP-a/1"),
                  SP_STACK.replace(ACCOUNT, OTHER)):
        assert not allowing(user, action, stack, WITH_THE_LAUNCH_ROLE), stack


def test_studio_users_follow_their_stacks_and_tag_them_only_as_they_create_or_update_them(user):
    for action in ("cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents"):
        assert allowing(user, action, SP_STACK) == ["ReadProjectStacks"], action
        assert not allowing(user, action, SC_STACK), action
    for create_action in ("CreateStack", "UpdateStack"):
        assert allowing(user, "cloudformation:TagResource", SP_STACK, {"cloudformation:CreateAction": create_action})
    assert not allowing(user, "cloudformation:TagResource", SP_STACK)  # TagResource on its own
    assert not allowing(user, "cloudformation:UntagResource", SP_STACK)
    assert not allowing(user, "cloudformation:TagResource", SC_STACK, {"cloudformation:CreateAction": "CreateStack"})
    # Nothing else on the stacks: no change sets, stack policies or rollbacks around the role condition.
    for action in ("cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:SetStackPolicy",
                   "cloudformation:ContinueUpdateRollback", "cloudformation:RollbackStack",
                   "cloudformation:UpdateTerminationProtection", "cloudformation:CreateStackSet"):
        assert not allowing(user, action, SP_STACK, WITH_THE_LAUNCH_ROLE), action
    assert allowing(user, "cloudformation:GetTemplateSummary", "*") == ["ReadTemplateSummaries"]


def test_studio_users_manage_projects_in_their_account(user):
    project = arn("sagemaker", "project/churn")
    for action in ("sagemaker:CreateProject", "sagemaker:UpdateProject", "sagemaker:DescribeProject",
                   "sagemaker:DeleteProject", "sagemaker:AddTags"):
        assert allowing(user, action, project) == ["SageMakerProjects"], action
        assert not allowing(user, action, project.replace(ACCOUNT, OTHER)), action
    for action, resource in (("sagemaker:CreatePipeline", arn("sagemaker", "pipeline/sagemaker-churn")),
                             ("sagemaker:AddTags", arn("sagemaker", "domain/d-abc")),
                             ("sagemaker:CreateModelPackageGroup", arn("sagemaker", "model-package-group/x"))):
        assert not allowing(user, action, resource), action


def test_studio_users_read_the_templates_with_their_tags_and_nothing_else(user):
    for action in ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"):
        assert allowing(user, action, TEMPLATE) == ["ReadTemplates"], action
        for elsewhere in (f"{TEMPLATES}/other/model-build.yaml", f"{TEMPLATES}/model-build.yaml",
                          f"arn:aws:s3:::{SEED_BUCKET}/{TEMPLATES_PREFIX}model-build.yaml"):
            assert not allowing(user, action, elsewhere), (action, elsewhere)
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:PutObjectTagging", "s3:DeleteObjectTagging"):
        assert not allowing(user, action, TEMPLATE), action
    assert not any(allowing(user, a, TEMPLATES) for a in ("s3:PutBucketPolicy", "s3:PutBucketCORS"))


def test_studio_users_list_the_templates_prefix_only(user):
    for prefix in (TEMPLATES_PREFIX, f"{TEMPLATES_PREFIX}model"):
        assert allowing(user, "s3:ListBucket", TEMPLATES, {"s3:prefix": prefix}) == ["ListTemplates"], prefix
    assert not allowing(user, "s3:ListBucket", TEMPLATES)  # the whole bucket
    assert not allowing(user, "s3:ListBucket", TEMPLATES, {"s3:prefix": "other/"})
    assert not allowing(user, "s3:ListBucket", f"arn:aws:s3:::{SEED_BUCKET}", {"s3:prefix": TEMPLATES_PREFIX})


@pytest.mark.parametrize(("location", "listed", "not_listed"), [
    ("s3://templates-bucket/", ["", "a/", "x.yaml"], []),
    ("s3://templates-bucket/a/", ["a/", "a/x"], ["", "b/", "ab/"]),
    ("s3://templates-bucket/a/b/c/", ["a/b/c/", "a/b/c/x"], ["a/", "a/b/", "a/b/cd/"]),
    ("s3://t.b-1/a/b/c/d/", ["a/b/c/d/"], ["a/b/c/", "a/b/c/e/"]),
])
def test_every_location_depth_gives_its_own_objects_and_prefix(template, location, listed, not_listed):
    statements = policy_of(resolve_roles(template, TemplatesLocation=location), "S3TemplatesUserPolicy")
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    assert allowing(statements, "s3:GetObject", f"arn:aws:s3:::{bucket}/{prefix}x.yaml")
    for value in listed:
        assert allowing(statements, "s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": value}), value
    for value in not_listed:
        assert not allowing(statements, "s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": value}), value
    if prefix:
        assert not allowing(statements, "s3:GetObject", f"arn:aws:s3:::{bucket}/x.yaml")


@pytest.mark.parametrize(("value", "valid"), [
    ("", True),
    ("s3://my-sagemaker-templates/", True),
    ("s3://my-sagemaker-templates/sagemaker-templates/", True),
    ("s3://my.templates-1/a/b/c/d/", True),
    ("s3://my-sagemaker-templates/team_(a)!/v1.2'/", True),
    ("s3://my-sagemaker-templates", False),  # the trailing / the domain tag value has
    ("s3://my-sagemaker-templates/sagemaker-templates", False),
    ("s3://my-sagemaker-templates/a/b/c/d/e/", False),  # deeper than the policy can rebuild
    ("s3://My_Bucket/templates/", False),
    ("s3://ab/templates/", False),
    ("s3://my-sagemaker-templates/*/", False),  # a wildcard would widen the policy
    ("s3://my-sagemaker-templates//", False),
    ("https://my-sagemaker-templates.s3.amazonaws.com/templates/", False),
    ("s3://my-sagemaker-templates/a:b/", False),
])
def test_the_templates_location_parameter(template, value, valid):
    assert bool(re.fullmatch(template["Parameters"]["TemplatesLocation"]["AllowedPattern"], value)) is valid


def test_the_user_policy_is_attached_to_the_given_roles_or_only_created(template, resolved):
    assert resolved["Resources"]["S3TemplatesUserPolicy"]["Properties"]["Roles"] == [STUDIO_ROLE]
    assert resolved["Outputs"]["S3LaunchRoleArn"] == S3_LAUNCH_ROLE_ARN
    alone = resolve_roles(template, TemplatesLocation=LOCATION)
    assert "Roles" not in alone["Resources"]["S3TemplatesUserPolicy"]["Properties"]
    two = resolve_roles(template, TemplatesLocation=LOCATION, TemplateUserRoleNames=["a", "b"])
    assert two["Resources"]["S3TemplatesUserPolicy"]["Properties"]["Roles"] == ["a", "b"]


def test_what_the_s3_parameters_create(template):
    def made(**parameters: Any) -> tuple[set[str], set[str]]:
        out = resolve_roles(template, **parameters)
        return set(out["Resources"]), set(out["Outputs"])

    base = {"LaunchRole", "PipelineRole", "ModelLifecyclePolicy"}
    outputs = {"LaunchRoleName", "LaunchRoleArn", "PipelineRoleName", "PipelineRoleArn", "ModelLifecyclePolicyArn"}
    # By default the S3 launch role, and no user policy (it needs the templates location).
    assert made() == (base | {"S3LaunchRole"}, outputs | {"S3LaunchRoleArn"})
    assert made(TemplatesLocation=LOCATION) == (base | {"S3LaunchRole", "S3TemplatesUserPolicy"},
                                                 outputs | {"S3LaunchRoleArn", "S3TemplatesUserPolicyArn"})
    assert made(CreateS3LaunchRole="false") == (base, outputs)


def broken_rules(template: dict, **parameters: Any) -> list[str]:
    """The AssertDescriptions CloudFormation would refuse the stack with (the rule functions these
    rules use: Fn::Not, Fn::Equals, Fn::EachMemberEquals, Ref)."""
    values = {**{k: p.get("Default") for k, p in template["Parameters"].items()}, **parameters}
    values["TemplateUserRoleNames"] = values["TemplateUserRoleNames"] or [""]  # a blank list

    def holds(value: Any) -> Any:
        ((fn, args),) = value.items()
        if fn == "Ref":
            return values[args]
        if fn == "Fn::Not":
            return not holds(args[0])
        if fn == "Fn::Equals":
            left, right = ((holds(a) if isinstance(a, dict) else a) for a in args)
            return left == right
        if fn == "Fn::EachMemberEquals":
            return all(member == args[1] for member in holds(args[0]))
        raise AssertionError(f"rule function {fn} is not modelled")

    failed = []
    for rule in template["Rules"].values():
        if "RuleCondition" in rule and not holds(rule["RuleCondition"]):
            continue
        failed += [a["AssertDescription"] for a in rule["Assertions"] if not holds(a["Assert"])]
    return failed


@pytest.mark.parametrize(("parameters", "refused"), [
    ({}, []),
    ({"TemplatesLocation": LOCATION}, []),
    ({"TemplatesLocation": LOCATION, "TemplateUserRoleNames": [STUDIO_ROLE]}, []),
    ({"CreateS3LaunchRole": "false"}, []),
    ({"TemplateUserRoleNames": [STUDIO_ROLE]}, ["TemplateUserRoleNames needs TemplatesLocation"]),
    ({"TemplatesLocation": LOCATION, "CreateS3LaunchRole": "false"}, ["TemplatesLocation needs CreateS3LaunchRole"]),
    ({"S3LaunchRoleName": LAUNCH_ROLE}, ["S3LaunchRoleName must differ from LaunchRoleName"]),
    ({"S3LaunchRoleName": LAUNCH_ROLE, "CreateS3LaunchRole": "false"}, []),
])
def test_the_s3_parameters_go_together(template, parameters, refused):
    broken = broken_rules(template, **parameters)
    assert len(broken) == len(refused) and all(b.startswith(r) for b, r in zip(broken, refused, strict=True)), broken


# --- Both roles ------------------------------------------------------------------------------------


def test_trust(resolved):
    def trusted(role):
        (statement,) = resolved["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Action"] == "sts:AssumeRole" and set(statement["Principal"]) == {"Service"}
        return sorted(as_list(statement["Principal"]["Service"]))

    assert trusted("LaunchRole") == ["servicecatalog.amazonaws.com"]
    # CloudFormation only (its service role, passed as the project's RoleARN): not the Studio
    # execution roles, which would then hold the launch role's permissions themselves. No
    # aws:SourceAccount: CloudFormation documents none for stack service roles, and iam:PassRole
    # cannot pass the role to another account's stacks.
    assert trusted("S3LaunchRole") == ["cloudformation.amazonaws.com"]
    assert "Condition" not in resolved["Resources"]["S3LaunchRole"]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"][0]
    # Not sagemaker.amazonaws.com: Studio users may pass any role to SageMaker, and this one reaches
    # the target accounts. Not cloudformation.amazonaws.com: the deployer runs the stacks.
    assert trusted("PipelineRole") == ["codebuild.amazonaws.com", "codepipeline.amazonaws.com",
                                       "events.amazonaws.com"]


def _no_resource_actions() -> dict[str, str]:
    path = ROOT / "generator" / "rules" / "iam_resource_star.py"
    spec = importlib.util.spec_from_file_location("_smcat_test_iam_resource_star", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.NO_RESOURCE_ACTIONS


def _iam_actions() -> dict[str, dict]:
    """cfn-lint's copy of the Service Authorization Reference: action -> its resource types."""
    data = json.loads((Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json").read_text())
    return {f"{svc}:{a}".lower(): spec for svc, s in data.items() for a, spec in s.get("Actions", {}).items()}


# The only non-read actions on Resource "*", and why "*" is the only choice (each has no
# resource type: generator/rules/iam_resource_star.py NO_RESOURCE_ACTIONS, cfn-lint's IAM data).
STAR_WRITES = {
    "kms:createkey": "the key does not exist yet; only with the project tag in the request",
    "cloudformation:createstackset": "the StackSet does not exist yet; only with the project tag in the request",
    "events:putpermission": "edits the account's default bus policy (AWS::Events::EventBusPolicy)",
    "events:removepermission": "the same, on delete",
    "cloudformation:validatetemplate": "validates the template it is given",
}
ONLY_WITH_TAGS = {"kms:createkey", "cloudformation:createstackset"}


def test_no_broad_statements(resolved):
    iam_actions = _iam_actions()
    no_resource = _no_resource_actions()
    read = re.compile(r":(describe|list|get|batchget)", re.I)
    on_star = set()
    for role in POLICIES:
        for statement in policy_of(resolved, role):
            actions = as_list(statement["Action"])
            for action in actions:
                assert "*" not in action, (role, statement["Sid"], action)  # no wildcard actions at all
                assert action.lower() in iam_actions, f"{action} is not an IAM action"
            if "*" not in as_list(statement["Resource"]):
                continue
            for action in (a.lower() for a in actions if not read.search(a)):
                on_star.add(action)
                assert action in no_resource and not iam_actions[action].get("Resources"), action
                if action in ONLY_WITH_TAGS:
                    assert statement["Condition"] == {"Null": {"aws:RequestTag/sagemaker:project-id": "false"}}
    assert on_star == set(STAR_WRITES)


def test_names_fit_and_roles_are_tagged(template):
    assert name_violations(template) == []
    assert all(len(v) <= 64 for v in longest_names(template).values())
    for role in ("LaunchRole", "PipelineRole", "S3LaunchRole"):
        assert template["Resources"][role]["Properties"]["Tags"] == [
            {"Key": "smcat:product", "Value": "project-roles"}]
    params = template["Parameters"]
    assert params["LaunchRoleName"]["Default"] == LAUNCH_ROLE
    # The S3 launch role: the portfolio's s3_templates.launch_role default, and not the Service
    # Catalog launch role (a stack keeps its service role for life; the two trust different services).
    assert params["S3LaunchRoleName"]["Default"] == "SageMakerProjectsS3LaunchRole" != LAUNCH_ROLE
    assert params["CreateS3LaunchRole"]["Default"] == "true"
    assert template["Resources"]["S3TemplatesUserPolicy"]["Properties"]["ManagedPolicyName"] == (
        "sagemaker-projects-s3-templates-user")
    assert params["PipelineRoleName"]["Default"] == PIPELINE_ROLE
    assert PIPELINE_ROLE.startswith("sagemaker-")
    pattern = params["CatalogArtifactBucket"]["AllowedPattern"]
    assert re.fullmatch(pattern, "my-catalog-artifacts-*") and re.fullmatch(pattern, "catalog.example.com")
    for broad in ("*", "a*", "ab*", "My-Bucket"):
        assert not re.fullmatch(pattern, broad), broad


def test_the_policies_fit_the_iam_quotas(template):
    # The longest parameter values (the deepest templates location), resolved.
    longest = resolve_roles(template, CatalogArtifactKeyArns=[CATALOG_KEY] * 4,
                            TemplatesLocation="s3://" + "b" * 63 + "/" + "p/" * 4, TemplateUserRoleNames=["r" * 64])
    for role in ("LaunchRole", "PipelineRole", "S3LaunchRole"):
        text = json.dumps(policy_of(longest, role), separators=(",", ":"))
        assert len(re.sub(r"\s", "", text)) < 10240 - 500, role  # role inline policies: 10,240 in all
    text = json.dumps({"Version": "2012-10-17", "Statement": policy_of(longest, "S3TemplatesUserPolicy")})
    assert len(re.sub(r"\s", "", text)) < 6144  # managed policy size


# --- The portfolio and the projects' defaults ---------------------------------------------------------


def test_the_studio_portfolio_launches_with_this_launch_role(built, template):
    manifest = json.loads((built / "manifest.json").read_text())
    studio = manifest["portfolios"]["sagemaker-projects"]
    assert studio["launch_constraint"] == {"LocalRoleName": template["Parameters"]["LaunchRoleName"]["Default"]}
    launched = {name for portfolio in manifest["portfolios"].values()
                if portfolio["launch_constraint"] == studio["launch_constraint"] for name in portfolio["products"]}
    assert set(STUDIO) == launched and set(studio["products"]) <= launched and set(SCENARIOS) <= launched
    admin = manifest["portfolios"]["ml-admin"]
    assert "project-roles" in admin["products"] and "project-roles" not in studio["products"]
    assert manifest["products"]["project-roles"]["studio_project"] is False


def test_the_deploy_projects_default_to_the_pipeline_role_where_the_use_role_cannot(built, template):
    pipeline_role = template["Parameters"]["PipelineRoleName"]["Default"]
    expected = {
        # StackSets, organizations:ListDelegatedAdministrators, sts:AssumeRole in the tests.
        "multi-account-deploy": {"CodeBuildRole": pipeline_role, "CodePipelineRole": USE_ROLE, "EventsRole": USE_ROLE},
        # sts:AssumeRole of the deployer (CodePipeline) and of the execution role (tests).
        "cross-account-endpoint": {"CodeBuildRole": pipeline_role, "CodePipelineRole": pipeline_role,
                                   "EventsRole": USE_ROLE},
        "model-build": {"CodeBuildRole": USE_ROLE, "CodePipelineRole": USE_ROLE, "EventsRole": USE_ROLE},
    }
    for product, roles in expected.items():
        parameters = load_template(built, product)["Parameters"]
        assert {name: parameters[name]["Default"] for name in roles} == roles, product
        rules = load_template(built, product)["Metadata"]["SagemakerTemplateParameterRules"]
        assert all(rules[name] == {"Optional": True} for name in roles), product  # still overridable


def test_taskcat_has_a_value_for_the_artifact_bucket(built):
    config = (built / ".taskcat.yml").read_text()
    assert "CatalogArtifactBucket: $[taskcat_autobucket]" in config


def test_handler_permissions_that_are_no_iam_actions():
    """What the exclusions call "not an IAM action" is in no service's actions of cfn-lint's copy of
    the Service Authorization Reference (so no policy could grant it), yet still a handler permission."""
    iam_actions = _iam_actions()
    for kind, reasons in NOT_NEEDED.items():
        for action, (reason, _) in reasons.items():
            if reason == "not an IAM action":
                assert action.lower() not in iam_actions and action in handler_actions(kind), action
    assert "s3:rest.put.object" not in iam_actions


def test_the_handler_schemas_are_read_from_cfn_lint():
    assert "kms:CreateKey" in handler_actions("AWS::KMS::Key")
    assert os.path.isdir(_SCHEMAS / "resources")
    assert needed_actions("AWS::CodeBuild::Project") == set(FALLBACK["AWS::CodeBuild::Project"])
    assert "s3:PutBucketReplication" not in needed_actions("AWS::S3::Bucket")
    assert "s3:PutEncryptionConfiguration" in needed_actions("AWS::S3::Bucket")
