"""The project-roles template: the launch role can create, update and delete everything the Studio
templates (the products of every portfolio launching with it) make (their CloudFormation handler
permissions, per resource, on the names and tags these resources get) and little else; the pipeline
role reaches other accounts only through target-account-bootstrap's roles; the portfolio launches
with this launch role.

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
         "SageMakerModelPackageGroupName": HUB_GROUP, "KmsKeyArn": CATALOG_KEY},
    ],
    "cross-account-endpoint": [
        {"SeedCodeModeldeployKey": "k.zip", "SageMakerModelPackageGroupName": "churn-models",
         "PreProdAccount": "333333333333", "ProdAccount": OTHER},
        {"SeedCodeModeldeployKey": "k.zip", "SageMakerModelPackageGroupName": HUB_GROUP,
         "PreProdAccount": "333333333333", "ProdAccount": OTHER},
    ],
}

# Values for parameters a scenario leaves out that have no default.
REQUIRED = {"SageMakerModelPackageGroupName": "churn-models", "SeedCodeBucket": SEED_BUCKET}


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
}
# Handler permissions not granted for another reason, each with the check that it holds.
NOT_NEEDED: dict[str, dict[str, tuple[str, Any]]] = {
    "AWS::CodePipeline::Pipeline": {
        "codestar-connections:PassConnection": (
            "only for CodeStarSourceConnection source actions",
            lambda props: all(a["ActionTypeId"]["Provider"] != "CodeStarSourceConnection"
                              for s in props["Stages"] for a in s["Actions"]),
        ),
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
# The action that brings each resource into existence: evaluated with the request's tags only.
CREATES = {
    "AWS::KMS::Key": "kms:createkey", "AWS::S3::Bucket": "s3:createbucket",
    "AWS::SageMaker::ModelPackageGroup": "sagemaker:createmodelpackagegroup",
    "AWS::CodeCommit::Repository": "codecommit:createrepository", "AWS::CodeBuild::Project": "codebuild:createproject",
    "AWS::CodePipeline::Pipeline": "codepipeline:createpipeline", "AWS::Events::Rule": "events:putrule",
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


def handler_actions(kind: str) -> set[str]:
    """create, read, update and delete handler permissions (read: the other handlers end with it)."""
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
    if operator == "StringEquals":
        return str(actual) in expected
    if operator == "StringLike":
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


def policy_of(resolved: dict, role: str) -> list[dict]:
    (policy,) = resolved["Resources"][role]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


@pytest.fixture(scope="module")
def template(built):
    return load_template(built, "project-roles")


@pytest.fixture(scope="module")
def resolved(template):
    return resolve_roles(template, CatalogArtifactKeyArns=[CATALOG_KEY])


@pytest.fixture(scope="module")
def launch(resolved):
    return policy_of(resolved, "LaunchRole")


@pytest.fixture(scope="module")
def pipeline(resolved):
    return policy_of(resolved, "PipelineRole")


@pytest.fixture(scope="module")
def studio(built) -> dict[str, list[dict]]:
    """Each Studio template resolved for every scenario."""
    return {product: [resolve_studio(load_template(built, product), s) for s in scenarios(built, product)]
            for product in STUDIO}


def scenarios(built, product: str) -> list[dict[str, Any]]:
    """A product without scenarios of its own is launched once with its seed keys set (every other
    parameter at its default, or REQUIRED's value); it must then make every resource it has."""
    if product in SCENARIOS:
        return SCENARIOS[product]
    declared = load_template(built, product)["Parameters"]
    return [{k: "k.zip" for k in declared if k.startswith("SeedCode") and k.endswith("Key")}]


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
        return [(arn("codepipeline", props["Name"]), {})]
    if kind == "AWS::Events::Rule":
        return [(arn("events", f"rule/{props['Name']}"), {})]
    if kind == "AWS::Events::EventBusPolicy":
        return [(arn("events", f"event-bus/{props['EventBusName']}") if "Describe" in action else "*", {})]
    if kind == "AWS::SageMaker::ModelPackageGroup":
        return [(arn("sagemaker", f"model-package-group/{props['ModelPackageGroupName']}"), {})]
    raise AssertionError(f"no ARN model for {kind}")


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
                found.append((f"{logical_id} ({kind})", action, resource_arn, context))
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


@pytest.mark.parametrize("product", STUDIO)
def test_the_launch_role_can_do_every_handler_permission_of_every_resource(studio, launch, product):
    missing = [
        f"{what}: {action} on {resource}"
        for resolved_template in studio[product]
        for what, action, resource, context in requests(resolved_template)
        if not allowing(launch, action, resource, context)
    ]
    assert missing == []


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


def test_without_catalog_keys_nothing_is_decrypted(template):
    statements = policy_of(resolve_roles(template), "LaunchRole")
    assert "DecryptSeedCode" not in {s["Sid"] for s in statements}
    assert not any("kms:Decrypt" in as_list(s["Action"]) for s in statements)


def test_kms_keys_only_with_the_project_tag(launch):
    tagged = {"aws:RequestTag/sagemaker:project-id": "p-1"}
    key = arn("kms", "key/1234abcd-0000")
    assert allowing(launch, "kms:CreateKey", "*", tagged)
    assert not allowing(launch, "kms:CreateKey", "*")
    # CreateKey's lockout safety check (PutKeyPolicy with the request's tags) and tag-on-create.
    assert allowing(launch, "kms:PutKeyPolicy", key, tagged)
    assert allowing(launch, "kms:TagResource", key, tagged)
    # Existing keys: only those carrying the tag; aliases only sagemaker-*.
    on_tagged = {"aws:ResourceTag/sagemaker:project-id": "p-1"}
    for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:UntagResource", "kms:CreateAlias"):
        assert allowing(launch, action, key, on_tagged), action
        assert not allowing(launch, action, key), action
    assert allowing(launch, "kms:CreateAlias", arn("kms", "alias/sagemaker-x-modelbuild"))
    assert not allowing(launch, "kms:CreateAlias", arn("kms", "alias/prod-database"))
    # Never use a key.
    for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant"):
        assert not allowing(launch, action, key, on_tagged), action


def test_names_and_tags_confine_the_rest(launch):
    project_bucket = f"arn:aws:s3:::sagemaker-p-abc-{ACCOUNT}-{REGION}"
    assert allowing(launch, "s3:CreateBucket", project_bucket)
    for bucket in ("arn:aws:s3:::payroll-exports", f"arn:aws:s3:::sagemaker-{REGION}-{ACCOUNT}",
                   f"arn:aws:s3:::sagemaker-p-abc-{OTHER}-{REGION}"):
        assert not allowing(launch, "s3:PutBucketPolicy", bucket), bucket
    for action in ("s3:DeleteObject", "s3:PutObject", "s3:PutBucketAcl", "s3:PutReplicationConfiguration",
                   "s3:PutLifecycleConfiguration"):
        assert not allowing(launch, action, project_bucket) and not allowing(launch, action, project_bucket + "/x")
    assert not allowing(launch, "codecommit:DeleteRepository", arn("codecommit", "payments-service"))
    assert not allowing(launch, "codepipeline:DeletePipeline", arn("codepipeline", "release-prod"))
    assert not allowing(launch, "events:PutTargets", arn("events", "rule/guardduty-findings"))
    group = arn("sagemaker", "model-package-group/fraud")
    assert not allowing(launch, "sagemaker:DeleteModelPackageGroup", group)
    assert not allowing(launch, "sagemaker:PutModelPackageGroupPolicy", group)
    assert allowing(launch, "sagemaker:DeleteModelPackageGroup", group, {"aws:ResourceTag/sagemaker:project-id": "p"})
    assert not allowing(launch, "sagemaker:CreateModelPackageGroup", group)


def test_the_launch_role_passes_the_project_roles_to_their_services_only(launch):
    use_role = f"arn:aws:iam::{ACCOUNT}:role/{USE_ROLE}"
    pipeline_role = f"arn:aws:iam::{ACCOUNT}:role/{PIPELINE_ROLE}"
    for role in (use_role, pipeline_role, f"arn:aws:iam::{ACCOUNT}:role/service-role/"
                 "AmazonSageMakerServiceCatalogProductsCodeBuildRole"):
        for service in projectroles.LAUNCH_SERVICES:
            assert allowing(launch, "iam:PassRole", role, {"iam:PassedToService": service}) == ["PassProjectRoles"]
        for service in ("sagemaker.amazonaws.com", "lambda.amazonaws.com", "ec2.amazonaws.com",
                        "cloudformation.amazonaws.com"):
            assert not allowing(launch, "iam:PassRole", role, {"iam:PassedToService": service}), (role, service)
    for role in ("OrganizationAccountAccessRole", "sagemaker-mlops-deployer", f"{LAUNCH_ROLE}-admin"):
        assert not allowing(launch, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{role}",
                            {"iam:PassedToService": "codebuild.amazonaws.com"}), role
    assert not any(a.lower().startswith("iam:") and a.lower() not in ("iam:passrole", "iam:getrole")
                   for s in launch for a in as_list(s["Action"]))


def test_another_role_given_to_a_project_is_refused_at_launch(built, launch):
    """Overriding a role parameter with a role the launch role may not pass fails the launch."""
    resolved_template = resolve_studio(load_template(built, "multi-account-deploy"),
                                       SCENARIOS["multi-account-deploy"][0], CodeBuildRole="Admin")
    refused = [(a, r) for _, a, r, c in requests(resolved_template) if not allowing(launch, a, r, c)]
    assert ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/Admin") in refused


def test_handler_exclusions_are_real_properties_the_templates_leave_unset(built):
    for product in STUDIO:
        for logical_id, resource in load_template(built, product)["Resources"].items():
            kind = resource["Type"]
            props = resource.get("Properties", {})
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


# --- Both roles ------------------------------------------------------------------------------------


def test_trust(resolved):
    def trusted(role):
        (statement,) = resolved["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Action"] == "sts:AssumeRole" and set(statement["Principal"]) == {"Service"}
        return sorted(as_list(statement["Principal"]["Service"]))

    assert trusted("LaunchRole") == ["servicecatalog.amazonaws.com"]
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
    for role in ("LaunchRole", "PipelineRole"):
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
    for role in ("LaunchRole", "PipelineRole"):
        assert template["Resources"][role]["Properties"]["Tags"] == [
            {"Key": "smcat:product", "Value": "project-roles"}]
    params = template["Parameters"]
    assert params["LaunchRoleName"]["Default"] == LAUNCH_ROLE
    assert params["PipelineRoleName"]["Default"] == PIPELINE_ROLE
    assert PIPELINE_ROLE.startswith("sagemaker-")
    pattern = params["CatalogArtifactBucket"]["AllowedPattern"]
    assert re.fullmatch(pattern, "my-catalog-artifacts-*") and re.fullmatch(pattern, "catalog.example.com")
    for broad in ("*", "a*", "ab*", "My-Bucket"):
        assert not re.fullmatch(pattern, broad), broad


def test_the_inline_policies_fit_the_iam_quota(resolved):
    for role in ("LaunchRole", "PipelineRole"):
        text = json.dumps(policy_of(resolved, role), separators=(",", ":"))
        assert len(re.sub(r"\s", "", text)) < 10240 - 500, role  # role inline policies: 10,240 in all


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


def test_the_handler_schemas_are_read_from_cfn_lint():
    assert "kms:CreateKey" in handler_actions("AWS::KMS::Key")
    assert os.path.isdir(_SCHEMAS / "resources")
    assert needed_actions("AWS::CodeBuild::Project") == set(FALLBACK["AWS::CodeBuild::Project"])
    assert "s3:PutBucketReplication" not in needed_actions("AWS::S3::Bucket")
    assert "s3:PutEncryptionConfiguration" in needed_actions("AWS::S3::Bucket")
