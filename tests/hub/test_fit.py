"""The pieces fit: every cross-account permission one product needs, another grants.

Each product's template is resolved for ONE set of accounts: data science 111111111111 (where the
spoke and the Studio projects run; it is also the deployment account), hub 222222222222, staging
333333333333 and prod 444444444444 (in OUs ou-ab12-11111111 and ou-ab12-22222222 of
o-abcdefghij). Each `NEEDS` entry derives what one side asks for (from its resolved template:
a registration target, a forwarding target, a role ARN it was given) and the evaluator in
`access.py` checks it against the other side's resolved policies: resource policies, and the
principal's own identity policy when its template is one of ours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from .access import Grants, Need, Principal, need, pattern_matches, role
from .conftest import DATA_SCIENCE, HUB, ORGANIZATION, PROD, REGION, STAGING
from .resolve import resolve

OU_STAGING, OU_PROD, ROOT = "ou-ab12-11111111", "ou-ab12-22222222", "r-ab12"
GROUP, OTHER_GROUP = "churn", "fraud"
HUB_NAME = "model-hub"
USE_ROLE = "service-role/AmazonSageMakerServiceCatalogProductsUseRole"
HUB_GROUP_ARN = f"arn:aws:sagemaker:{REGION}:{HUB}:model-package-group/{GROUP}"
PROJECT = {"SageMakerProjectName": "churn", "SageMakerProjectId": "p-abcdef123456", "SeedCodeBucket": "seed-bucket"}
OU_PROJECT = {**PROJECT, "SageMakerProjectName": "fraud", "SageMakerProjectId": "p-0u0u0u0u0u0u"}
SYNC_PROJECT = {**PROJECT, "SageMakerProjectName": "credit", "SageMakerProjectId": "p-5y5y5y5y5y5y"}
# The context of the PutEvents a rule makes when it forwards a SageMaker model package event.
EVENT_CONTEXT = {"events:source": "aws.sagemaker", "events:detail-type": "SageMaker Model Package State Change"}


def org_paths(ou: str) -> tuple[str, ...]:
    return (f"{ORGANIZATION}/{ROOT}/{ou}/",)


def in_org(arn: str, ou: str | None = None) -> Principal:
    return Principal(arn, ORGANIZATION, org_paths(ou) if ou else ())


def products() -> dict[str, Any]:
    from products import (
        cross_account_endpoint,
        model_build,
        model_registry_hub,
        multi_account_deploy,
        registry_spoke,
        target_account_bootstrap,
    )

    return {
        m.PRODUCT.name: m.PRODUCT.template().to_dict()
        for m in (
            model_registry_hub,
            registry_spoke,
            model_build,
            cross_account_endpoint,
            multi_account_deploy,
            target_account_bootstrap,
        )
    }


@cache
def project_roles() -> dict:
    """project-roles in the data science account, resolved (its roles' identity policies)."""
    from products import project_roles as module

    return resolve(module.PRODUCT.template().to_dict(), DATA_SCIENCE, {"CatalogArtifactBucket": "catalog-artifacts"})


@dataclass
class World:
    """The resolved templates, by the account they are launched in."""

    hub: dict
    spoke: dict
    build: dict
    endpoint: dict
    multi: dict
    staging: dict  # target-account-bootstrap in the staging account
    prod: dict
    build_ous: dict  # a second model-build project, deployable by the staging and prod OUs
    build_sync: dict  # a third model-build project, whose approved versions the hub pulls (HubName)

    def grants(self) -> Grants:
        grants = Grants()
        for resolved, account in (
            (self.hub, HUB),
            (self.spoke, DATA_SCIENCE),
            (self.build, DATA_SCIENCE),
            (self.endpoint, DATA_SCIENCE),
            (self.multi, DATA_SCIENCE),
            (self.staging, STAGING),
            (self.prod, PROD),
            (self.build_ous, DATA_SCIENCE),
            (self.build_sync, DATA_SCIENCE),
        ):
            grants.add_template(resolved, account)
        # project-roles' pipeline role (PROJECTS_PIPELINE); roles AWS creates: managed_policies.py.
        grants.add_template(project_roles(), DATA_SCIENCE)
        return grants

    def resource(self, resolved: dict, kind: str, logical_id: str | None = None) -> dict:
        found = {k: v for k, v in resolved["Resources"].items() if v["Type"] == kind}
        if logical_id:
            return found[logical_id]["Properties"]
        assert len(found) == 1, sorted(found)
        return next(iter(found.values()))["Properties"]


def build_world() -> World:
    templates = products()
    hub = resolve(
        templates["model-registry-hub"],
        HUB,
        {
            "HubName": HUB_NAME,
            "OrganizationId": ORGANIZATION,
            "ModelPackageGroupName1": GROUP,
            "ModelPackageGroupName2": OTHER_GROUP,
            "DataScienceAccountIds": [DATA_SCIENCE],
            "DeploymentAccountIds": [DATA_SCIENCE],
            "WorkloadAccountIds": [STAGING, PROD],
            "WorkloadOrganizationalUnitIds": [OU_STAGING, OU_PROD],
        },
    )
    build = resolve(
        templates["model-build"],
        DATA_SCIENCE,
        {
            **PROJECT,
            "SeedCodeModelbuildKey": "modelbuild.zip",
            "HubAccountId": HUB,
            "HubModelPackageGroupName": GROUP,
            "DeploymentAccountIds": [STAGING, PROD],
        },
        stack="build",
    )
    # The bootstrap's defaults: no bucket pattern, no key list (the registry account's buckets
    # and keys are readable by default).
    bootstrap = {"DataScienceAccountId": DATA_SCIENCE, "ProjectNamePrefix": "churn", "ModelRegistryAccountId": HUB}
    deploy = {**PROJECT, "SeedCodeModeldeployKey": "modeldeploy.zip", "SageMakerModelPackageGroupName": HUB_GROUP_ARN}
    return World(
        hub=hub,
        spoke=resolve(
            templates["registry-spoke"],
            DATA_SCIENCE,
            {"HubAccountId": HUB, "HubName": HUB_NAME, "ModelPackageGroupName1": GROUP},
            stack="spoke",
        ),
        build=build,
        endpoint=resolve(
            templates["cross-account-endpoint"],
            DATA_SCIENCE,
            {**deploy, "PreProdAccount": STAGING, "ProdAccount": PROD},
            stack="endpoint",
        ),
        multi=resolve(
            templates["multi-account-deploy"],
            DATA_SCIENCE,
            {
                **deploy,
                "OrganizationId": ORGANIZATION,
                "OrganizationalUnitStagingId": OU_STAGING,
                "OrganizationalUnitProdId": OU_PROD,
            },
            stack="multi",
        ),
        staging=resolve(templates["target-account-bootstrap"], STAGING, bootstrap),
        prod=resolve(templates["target-account-bootstrap"], PROD, bootstrap),
        build_ous=resolve(
            templates["model-build"],
            DATA_SCIENCE,
            {
                **OU_PROJECT,
                "SeedCodeModelbuildKey": "modelbuild.zip",
                "OrganizationId": ORGANIZATION,
                "DeploymentOrganizationalUnitIds": [OU_STAGING, OU_PROD],
            },
            stack="build-ous",
        ),
        build_sync=resolve(
            templates["model-build"],
            DATA_SCIENCE,
            {**SYNC_PROJECT, "SeedCodeModelbuildKey": "modelbuild.zip", "HubAccountId": HUB, "HubName": HUB_NAME},
            stack="build-sync",
        ),
    )


@pytest.fixture(scope="module")
def world() -> World:
    return build_world()


# --- Who asks ------------------------------------------------------------------------------------

DS_PIPELINE = in_org(f"arn:aws:iam::{DATA_SCIENCE}:role/{USE_ROLE}")
SYNC = in_org(f"arn:aws:iam::{HUB}:role/sagemaker-{HUB_NAME}-sync")
PUSH_ROLE = f"arn:aws:iam::{HUB}:role/sagemaker-{HUB_NAME}-push"
# A push role session, tagged (as its trust policy demands) with the data science account's id.
PUSH = Principal(PUSH_ROLE, ORGANIZATION, (), (("smcat-account", DATA_SCIENCE),))
HUB_FORWARDER = in_org(f"arn:aws:iam::{HUB}:role/sagemaker-{HUB_NAME}-forward")
SPOKE_FORWARDER = in_org(f"arn:aws:iam::{DATA_SCIENCE}:role/sagemaker-{HUB_NAME}-to-hub")
STAGING_ENDPOINT = role(STAGING, "sagemaker-role-mlops", ORGANIZATION, org_paths(OU_STAGING))
PROD_ENDPOINT = role(PROD, "sagemaker-role-mlops", ORGANIZATION, org_paths(OU_PROD))
# An account added to the staging OU later, named nowhere: the OU grants reach it.
NEW_STAGING = in_org("arn:aws:iam::555555555555:role/sagemaker-role-mlops", OU_STAGING)
# What a service-managed StackSet runs as there (it creates the model), and any other role there.
NEW_STAGING_STACK_SETS = in_org("arn:aws:iam::555555555555:role/stacksets-exec-0123456789abcdef", OU_STAGING)
NEW_STAGING_OTHER = in_org("arn:aws:iam::555555555555:role/Admin", OU_STAGING)
# The deploy projects' CodeBuild/CodePipeline role (project-roles), which target accounts trust.
PROJECTS_PIPELINE = in_org(f"arn:aws:iam::{DATA_SCIENCE}:role/sagemaker-projects-pipeline-role")
STAGING_TESTER = role(STAGING, "sagemaker-mlops-tester", ORGANIZATION, org_paths(OU_STAGING))
STAGING_ENDPOINT_ARN = f"arn:aws:sagemaker:{REGION}:{STAGING}:endpoint/churn-p-abcdef123456-staging"
STAGING_DEPLOYER = role(STAGING, "sagemaker-mlops-deployer", ORGANIZATION, org_paths(OU_STAGING))

SPOKE_VERSION = f"arn:aws:sagemaker:{REGION}:{DATA_SCIENCE}:model-package/{GROUP}/3"
HUB_VERSION = f"arn:aws:sagemaker:{REGION}:{HUB}:model-package/{GROUP}/1"
HUB_BUCKET = f"sagemaker-{HUB_NAME}-{HUB}-{REGION}"
PULLED = f"arn:aws:s3:::{HUB_BUCKET}/pull/{DATA_SCIENCE}/sagemaker-{HUB_NAME}-{DATA_SCIENCE}-{REGION}/m/model.tar.gz"
VIA_S3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
PENDING = {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}
APPROVED = {"sagemaker:ModelApprovalStatus": "Approved"}
IN_ORG = {"aws:ResourceOrgID": ORGANIZATION}
GRANT_FOR_SAGEMAKER = {"kms:GrantIsForAWSResource": "true", "kms:ViaService": f"sagemaker.{REGION}.amazonaws.com"}
OWN_ACCOUNT_TAG = {"aws:RequestTag/smcat-account": DATA_SCIENCE}
# A request S3 makes to the hub key for a principal (SSE-KMS): through S3, and the key's aliases.
HUB_KEY_VIA_S3 = {**VIA_S3, "kms:ResourceAliases": [f"alias/sagemaker-{HUB_NAME}"]}
# A SageMaker job's execution role in the data science account, made by none of our templates.
JOB = in_org(f"arn:aws:iam::{DATA_SCIENCE}:role/service-role/AmazonSageMaker-ExecutionRole-1")
DS_CALLER = DATA_SCIENCE


def registration_target(w: World) -> str:
    """Where model-build registers: its CodeBuild project's MODEL_PACKAGE_GROUP_NAME."""
    env = w.resource(w.build, "AWS::CodeBuild::Project")["Environment"]["EnvironmentVariables"]
    return next(v["Value"] for v in env if v["Name"] == "MODEL_PACKAGE_GROUP_NAME")


def versions_of(group_arn: str, version: int = 1) -> str:
    return group_arn.replace(":model-package-group/", ":model-package/") + f"/{version}"


def spoke_output(w: World, name: str) -> str:
    return w.spoke["Outputs"][name]


def build_version(resolved: dict) -> str:
    """Version 1 of a model-build project's own group."""
    group = resolved["Outputs"]["ModelPackageGroupName"]
    return f"arn:aws:sagemaker:{REGION}:{DATA_SCIENCE}:model-package/{group}/1"


def capture_object(w: World, endpoint: str = "churn-p-abcdef123456-staging") -> str:
    bucket = w.staging["Outputs"]["DataCaptureBucketName"]
    return f"arn:aws:s3:::{bucket}/{endpoint}/AllTraffic/2026/01/01/00/capture.jsonl"


def capture_key(w: World) -> str:
    key = w.staging["Resources"]["DataCaptureKey"]["PhysicalId"]
    return f"arn:aws:kms:{REGION}:{STAGING}:key/{key}"


def multi_object(w: World) -> str:
    return f"arn:aws:s3:::{w.multi['Outputs']['ArtifactBucketName']}/churn/model.tar.gz"


def ous_object(w: World) -> str:
    return f"arn:aws:s3:::{w.build_ous['Outputs']['ArtifactBucketName']}/fraud/train/model.tar.gz"


def sync_group(w: World) -> str:
    group = w.build_sync["Outputs"]["ModelPackageGroupName"]
    return f"arn:aws:sagemaker:{REGION}:{DATA_SCIENCE}:model-package-group/{group}"


def sync_object(w: World) -> str:
    return f"arn:aws:s3:::{w.build_sync['Outputs']['ArtifactBucketName']}/credit/train/model.tar.gz"


# What a package registers besides model.tar.gz: the training code (SAGEMAKER_SUBMIT_DIRECTORY),
# evaluation metrics, drift baselines and the sample payload, all in the spoke bucket.
SYNCED_KEYS = (
    "m/model.tar.gz",
    "churn/code/sourcedir.tar.gz",
    "churn/evaluation/evaluation.json",
    "churn/baselines/statistics.json",
    "churn/payload/payload.tar.gz",
)


def pulled(key: str) -> str:
    """Where model_sync copies s3://<spoke bucket>/<key>."""
    from generator.lambdas.model_sync import PREFIX

    spoke_bucket = f"sagemaker-{HUB_NAME}-{DATA_SCIENCE}-{REGION}"
    return f"arn:aws:s3:::{HUB_BUCKET}/{PREFIX}/{DATA_SCIENCE}/{spoke_bucket}/{key}"


def hub_key(w: World) -> str:
    return w.hub["Outputs"]["HubKeyArn"]


def build_object(w: World) -> str:
    return f"arn:aws:s3:::{w.build['Outputs']['ArtifactBucketName']}/churn/train/model.tar.gz"


def spoke_object(w: World) -> str:
    return f"arn:aws:s3:::{spoke_output(w, 'SpokeBucketName')}/m/model.tar.gz"


NEEDS: dict[str, Callable[[World], list[Need]]] = {
    # model-build with HubAccountId: seed 000's registration straight into the hub's group.
    "model-build registers into the hub group, pending approval": lambda w: [
        need(DS_PIPELINE, "sagemaker:DescribeModelPackageGroup", registration_target(w), "register"),
        need(DS_PIPELINE, "sagemaker:CreateModelPackage", versions_of(registration_target(w)), "register", **PENDING),
        need(DS_PIPELINE, "sagemaker:CreateModelPackage", versions_of(registration_target(w)), "default status"),
        need(DS_PIPELINE, "sagemaker:ListModelPackages", versions_of(registration_target(w)), "register"),
        need(DS_PIPELINE, "sagemaker:ListModelPackages", registration_target(w), "list by group"),
        need(DS_PIPELINE, "sagemaker:DescribeModelPackage", versions_of(registration_target(w)), "register"),
    ],
    "the hub reads model-build's artifacts": lambda w: [
        need(SYNC, "s3:GetObject", build_object(w), "pull", **IN_ORG),
        need(SYNC, "kms:Decrypt", w.build["Outputs"]["ArtifactKeyArn"], "pull", **VIA_S3),
    ],
    "target accounts read model-build's artifacts": lambda w: [
        need(p, a, r, "endpoint", **ctx)
        for p in (STAGING_ENDPOINT, PROD_ENDPOINT)
        for a, r, ctx in (
            ("s3:GetObject", build_object(w), {}),
            ("kms:Decrypt", w.build["Outputs"]["ArtifactKeyArn"], VIA_S3),
        )
    ],
    # Seed 004, push: the data science account assumes the hub's push role.
    "data science assumes the hub's push role": lambda w: [
        need(DS_PIPELINE, action, spoke_output(w, "HubPushRoleArn"), "push", **OWN_ACCOUNT_TAG)
        for action in ("sts:AssumeRole", "sts:TagSession")
    ],
    # The caller's side: registry-spoke's PushCallerPolicy, attached to the projects' UseRole.
    "the data science roles' push policy allows assuming the push role and using the hub key": lambda w: [
        *[need(DS_PIPELINE, a, spoke_output(w, "HubPushRoleArn"), "push", **OWN_ACCOUNT_TAG)
          for a in ("sts:AssumeRole", "sts:TagSession")],
        *[need(DS_PIPELINE, a, hub_key(w), "push/ objects", **HUB_KEY_VIA_S3)
          for a in ("kms:GenerateDataKey", "kms:Decrypt")],
    ],
    "the push role writes artifacts and registers pending versions": lambda w: [
        need(PUSH, "s3:PutObject", f"arn:aws:s3:::{HUB_BUCKET}/push/{DATA_SCIENCE}/model.tar.gz", "push"),
        need(PUSH, "kms:GenerateDataKey", hub_key(w), "push"),
        need(PUSH, "sagemaker:CreateModelPackage", HUB_VERSION, "push", **PENDING),
        need(PUSH, "sagemaker:DescribeModelPackageGroup", HUB_GROUP_ARN, "push"),
    ],
    # Seed 000: data science accounts write the hub bucket (their own prefix) directly.
    "data science writes its own prefix of the hub bucket": lambda w: [
        need(DS_PIPELINE, "s3:PutObject", f"arn:aws:s3:::{HUB_BUCKET}/push/{DATA_SCIENCE}/model.tar.gz", "write"),
        need(DS_PIPELINE, "kms:GenerateDataKey", hub_key(w), "write", **HUB_KEY_VIA_S3),
        need(DS_PIPELINE, "s3:GetObject", f"arn:aws:s3:::{HUB_BUCKET}/pull/{DATA_SCIENCE}/x/model.tar.gz", "read"),
    ],
    # Seed 004, pull: spoke -> hub bus -> sync function -> spoke registry and bucket.
    "the spoke forwards to the hub's bus": lambda w: [
        need(SPOKE_FORWARDER, "events:PutEvents", forward_target(w), "forward", **EVENT_CONTEXT),
    ],
    "the sync role reads the spoke's registry, bucket and key": lambda w: [
        need(
            principal_from(spoke_output(w, "HubSyncRoleArn")), "sagemaker:DescribeModelPackage", SPOKE_VERSION, "sync"
        ),
        need(principal_from(spoke_output(w, "HubSyncRoleArn")), "sagemaker:ListModelPackages", SPOKE_VERSION, "sync"),
        need(
            principal_from(spoke_output(w, "HubSyncRoleArn")),
            "sagemaker:ListModelPackages",
            f"arn:aws:sagemaker:{REGION}:{DATA_SCIENCE}:model-package-group/{GROUP}",
            "list by group",
        ),
        need(
            principal_from(spoke_output(w, "HubSyncRoleArn")),
            "sagemaker:DescribeModelPackageGroup",
            f"arn:aws:sagemaker:{REGION}:{DATA_SCIENCE}:model-package-group/{GROUP}",
            "sync",
        ),
        need(SYNC, "s3:GetObject", spoke_object(w), "sync", **IN_ORG),
        # A URI naming no object is copied as a prefix (ListObjectsV2).
        need(SYNC, "s3:ListBucket", f"arn:aws:s3:::{spoke_output(w, 'SpokeBucketName')}", "sync prefix", **IN_ORG),
        need(SYNC, "kms:Decrypt", spoke_output(w, "SpokeKeyArn"), "sync", **VIA_S3),
    ],
    "SageMaker jobs of the data science account write and read the spoke bucket": lambda w: [
        need(JOB, action, spoke_output(w, "SpokeKeyArn"), "model.tar.gz", **VIA_S3, **{"kms:CallerAccount": DS_CALLER})
        for action in ("kms:GenerateDataKey", "kms:Decrypt")
    ],
    # Pull from a model-build project (HubName given): its group, bucket and key grant the sync role,
    # so nobody replaces a CloudFormation-managed group policy by hand.
    "the sync role reads a model-build project's registry, bucket and key": lambda w: [
        need(SYNC, "sagemaker:DescribeModelPackage", build_version(w.build_sync), "sync"),
        need(SYNC, "sagemaker:ListModelPackages", build_version(w.build_sync), "sync"),
        need(SYNC, "sagemaker:DescribeModelPackageGroup", sync_group(w), "sync"),
        need(SYNC, "sagemaker:ListModelPackages", sync_group(w), "list by group"),
        need(SYNC, "s3:GetObject", sync_object(w), "sync", **IN_ORG),
        need(SYNC, "kms:Decrypt", w.build_sync["Outputs"]["ArtifactKeyArn"], "sync", **VIA_S3),
    ],
    "the sync role writes the hub": lambda w: [
        need(SYNC, "s3:PutObject", PULLED, "sync"),
        need(SYNC, "kms:GenerateDataKey", hub_key(w), "sync"),
        need(SYNC, "sagemaker:CreateModelPackage", HUB_VERSION, "sync", **PENDING),
        need(SYNC, "sagemaker:ListModelPackages", HUB_VERSION, "idempotency"),
        need(SYNC, "sagemaker:ListModelPackages", HUB_GROUP_ARN, "idempotency, by group"),
        need(SYNC, "sagemaker:DescribeModelPackage", HUB_VERSION, "idempotency"),
    ],
    # Hub -> deployment: approvals forwarded to the deploy projects' default bus.
    "the hub forwards approvals to the deployment account": lambda w: [
        need(HUB_FORWARDER, "events:PutEvents", bus, "deploy", **EVENT_CONTEXT) for bus in hub_forward_targets(w)
    ],
    "the deploy projects find the newest approved hub version": lambda w: [
        need(DS_PIPELINE, "sagemaker:ListModelPackages", HUB_VERSION, "deploy build"),
        need(DS_PIPELINE, "sagemaker:DescribeModelPackage", HUB_VERSION, "deploy build"),
        need(DS_PIPELINE, "sagemaker:DescribeModelPackageGroup", HUB_GROUP_ARN, "deploy build"),
    ],
    # Seed 002: a target account creates a model from a version of another account's group: the
    # caller (the deployer, or a StackSet's execution role) needs CreateModel on both sides.
    "named target accounts create models from model-build's versions": lambda w: [
        need(STAGING_DEPLOYER, action, build_version(w.build), "deploy")
        for action in ("sagemaker:CreateModel", "sagemaker:DescribeModelPackage")
    ],
    "the OUs' StackSets and endpoints deploy model-build's versions": lambda w: [
        need(NEW_STAGING_STACK_SETS, "sagemaker:CreateModel", build_version(w.build_ous), "stack set"),
        need(NEW_STAGING_STACK_SETS, "sagemaker:DescribeModelPackage", build_version(w.build_ous), "stack set"),
        need(NEW_STAGING, "sagemaker:DescribeModelPackage", build_version(w.build_ous), "endpoint"),
        need(NEW_STAGING, "s3:GetObject", ous_object(w), "endpoint"),
        need(NEW_STAGING, "kms:Decrypt", w.build_ous["Outputs"]["ArtifactKeyArn"], "endpoint", **VIA_S3),
        need(PROD_ENDPOINT, "s3:GetObject", ous_object(w), "endpoint"),
    ],
    # SageMaker's auto scaling prerequisites, for the endpoint stack's ScalableTarget.
    "the deployer registers the endpoint with auto scaling": lambda w: [
        need(STAGING_DEPLOYER, a, STAGING_ENDPOINT_ARN, "scale")
        for a in ("sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities")
    ] + [
        need(STAGING_DEPLOYER, "application-autoscaling:RegisterScalableTarget",
             f"arn:aws:application-autoscaling:{REGION}:{STAGING}:scalable-target/056abcdef", "scale"),
        need(STAGING_DEPLOYER, "iam:CreateServiceLinkedRole",
             f"arn:aws:iam::{STAGING}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
             "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint", "scale",
             **{"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}),
    ],
    # A project's key is named in no target account parameter: its own policy decides.
    "the OUs' execution roles read the deploy project's artifacts, its key listed nowhere": lambda w: [
        need(p, a, r, "endpoint", **ctx)
        for p in (STAGING_ENDPOINT, PROD_ENDPOINT)
        for a, r, ctx in (
            ("s3:GetObject", multi_object(w), {}),
            ("kms:Decrypt", w.multi["Outputs"]["ArtifactKeyArn"], VIA_S3),
        )
    ],
    "the pipeline tests the endpoints with the tester role": lambda w: [
        # The roles' account is in the organization: the request carries aws:ResourceOrgID.
        need(PROJECTS_PIPELINE, "sts:AssumeRole", STAGING_TESTER.arn, "test", **IN_ORG),
        need(PROJECTS_PIPELINE, "sts:AssumeRole", f"arn:aws:iam::{STAGING}:role/sagemaker-mlops-deployer", "deploy",
             **IN_ORG),
        need(STAGING_TESTER, "sagemaker:DescribeEndpoint", STAGING_ENDPOINT_ARN, "test"),
        need(STAGING_TESTER, "sagemaker:InvokeEndpoint", STAGING_ENDPOINT_ARN, "test"),
    ],
    # The endpoint stack's default data capture destination, made by target-account-bootstrap.
    "staging endpoints capture data into the account's data capture bucket": lambda w: [
        need(STAGING_ENDPOINT, "s3:PutObject", capture_object(w), "capture"),
        need(STAGING_ENDPOINT, "kms:GenerateDataKey", capture_key(w), "capture",
             **VIA_S3, **{"kms:CallerAccount": STAGING}),
    ],
    # A stage config's KmsKeyArn (the project's shared key) encrypts the endpoint volume: the
    # deployer's CreateEndpointConfig has SageMaker create a grant for the instances.
    "the deployer uses the project's key for the endpoint volume": lambda w: [
        need(STAGING_DEPLOYER, "kms:DescribeKey", w.endpoint["Outputs"]["ArtifactKeyArn"], "volume key"),
        need(STAGING_DEPLOYER, "kms:CreateGrant", w.endpoint["Outputs"]["ArtifactKeyArn"], "volume key",
             **GRANT_FOR_SAGEMAKER),
    ],
    # A tag-only change of the endpoint stack updates its model and endpoint config in place.
    "the deployer changes the tags of the project's models and endpoint configs": lambda w: [
        need(STAGING_DEPLOYER, action, f"arn:aws:sagemaker:{REGION}:{STAGING}:{kind}/{kind}-abc123", "tags",
             **{"aws:ResourceTag/sagemaker:project-name": "churn-p-abcdef123456"})
        for action in ("sagemaker:AddTags", "sagemaker:DeleteTags")
        for kind in ("model", "endpoint-config")
    ],
    # model_sync copies every S3 URI of a package (model, code, metrics, baselines, payload) to
    # pull/<account>/<source bucket>/<key> of the hub bucket: the endpoints read them all there.
    "workload accounts read every URI of a synced package in the hub": lambda w: [
        need(p, "s3:GetObject", pulled(key), "synced package")
        for p in (STAGING_ENDPOINT, PROD_ENDPOINT, NEW_STAGING)
        for key in SYNCED_KEYS
    ] + [need(p, "kms:Decrypt", hub_key(w), "synced package", **VIA_S3) for p in (STAGING_ENDPOINT, PROD_ENDPOINT)],
    "the deployer creates models from hub versions": lambda w: [
        need(STAGING_DEPLOYER, "sagemaker:CreateModel", HUB_VERSION, "deploy"),
    ],
    "target accounts deploy hub versions and read pulled artifacts": lambda w: [
        need(p, a, r, "endpoint", **ctx)
        for p in (STAGING_ENDPOINT, PROD_ENDPOINT, NEW_STAGING)
        for a, r, ctx in (
            ("sagemaker:DescribeModelPackage", HUB_VERSION, {}),
            ("s3:GetObject", PULLED, {}),
            ("kms:Decrypt", hub_key(w), VIA_S3),
        )
    ]
    # Versions pushed into the hub keep their model data under push/<account>/, and SageMaker lists
    # an S3Prefix model: the bootstrap's default bucket patterns must cover the hub's bucket itself.
    + [
        need(p, a, r, "pushed model", **ctx)
        for p in (STAGING_ENDPOINT, PROD_ENDPOINT)
        for a, r, ctx in (
            ("s3:GetObject", f"arn:aws:s3:::{HUB_BUCKET}/push/{DATA_SCIENCE}/model.tar.gz", {}),
            ("s3:ListBucket", f"arn:aws:s3:::{HUB_BUCKET}", {}),
        )
    ]
    # Who creates the model: the deployer (cross-account-endpoint) or a StackSet's execution role.
    + [need(p, "sagemaker:CreateModel", HUB_VERSION, "deploy") for p in (STAGING_DEPLOYER, NEW_STAGING_STACK_SETS)],
}

# What must stay refused, whatever else changes.
REFUSED: dict[str, Callable[[World], list[Need]]] = {
    "a data science account approves its own version in the hub": lambda w: [
        need(DS_PIPELINE, "sagemaker:UpdateModelPackage", HUB_VERSION, "approve", **APPROVED),
        # Versions do not record their account: any update would reach other accounts' versions.
        need(DS_PIPELINE, "sagemaker:UpdateModelPackage", HUB_VERSION, "back to pending", **PENDING),
        need(DS_PIPELINE, "sagemaker:UpdateModelPackage", HUB_VERSION, "replace the inference spec"),
        need(DS_PIPELINE, "sagemaker:CreateModelPackage", HUB_VERSION, "approve", **APPROVED),
        need(PUSH, "sagemaker:CreateModelPackage", HUB_VERSION, "approve", **APPROVED),
    ],
    "a data science account writes another account's prefix or the pulled models": lambda w: [
        need(DS_PIPELINE, "s3:PutObject", f"arn:aws:s3:::{HUB_BUCKET}/push/{STAGING}/model.tar.gz", "write"),
        need(DS_PIPELINE, "s3:PutObject", PULLED, "write"),
        # Through the push role: its session writes the prefix of the account in its tag only.
        need(PUSH, "s3:PutObject", f"arn:aws:s3:::{HUB_BUCKET}/push/{STAGING}/model.tar.gz", "other prefix"),
        need(PUSH, "s3:PutObject", f"arn:aws:s3:::{HUB_BUCKET}/push/model.tar.gz", "no prefix"),
        need(PUSH, "s3:PutObject", PULLED, "pulled models"),
        need(
            Principal(PUSH_ROLE, ORGANIZATION),
            "s3:PutObject",
            f"arn:aws:s3:::{HUB_BUCKET}/push/{DATA_SCIENCE}/model.tar.gz",
            "untagged session",
        ),
    ],
    "a data science account assumes the push role for another account, or untagged": lambda w: [
        need(DS_PIPELINE, "sts:AssumeRole", PUSH_ROLE, "other account", **{"aws:RequestTag/smcat-account": STAGING}),
        need(DS_PIPELINE, "sts:TagSession", PUSH_ROLE, "other account", **{"aws:RequestTag/smcat-account": STAGING}),
        need(DS_PIPELINE, "sts:AssumeRole", PUSH_ROLE, "untagged"),
        need(
            in_org(f"arn:aws:iam::{STAGING}:role/x"), "sts:AssumeRole", PUSH_ROLE, "not a data science account",
            **{"aws:RequestTag/smcat-account": STAGING},
        ),
    ],
    "an account outside the organization": lambda w: [
        need(Principal(f"arn:aws:iam::{DATA_SCIENCE}:role/x", "o-zzzzzzzzzz"), "s3:GetObject", PULLED, "outsider"),
        need(
            Principal("arn:aws:iam::999999999999:role/x", "o-zzzzzzzzzz"),
            "events:PutEvents",
            w.hub["Outputs"]["HubEventBusArn"],
            "outsider",
            **EVENT_CONTEXT,
        ),
        need(
            Principal("arn:aws:iam::999999999999:role/x", ORGANIZATION, org_paths("ou-ab12-99999999")),
            "s3:GetObject",
            PULLED,
            "other OU",
        ),
    ],
    "other roles of the OUs' accounts use model-build's versions and artifacts": lambda w: [
        need(NEW_STAGING_OTHER, "sagemaker:CreateModel", build_version(w.build_ous), "not a deploying role"),
        need(NEW_STAGING_OTHER, "s3:GetObject", ous_object(w), "not an execution role"),
        need(NEW_STAGING_OTHER, "kms:Decrypt", w.build_ous["Outputs"]["ArtifactKeyArn"], "not an execution role",
             **VIA_S3),
        # The StackSet role creates models; reading model data is the execution role's job.
        need(NEW_STAGING_STACK_SETS, "s3:GetObject", ous_object(w), "not an execution role"),
        # An account outside the two OUs.
        need(in_org("arn:aws:iam::999999999999:role/sagemaker-role-mlops", "ou-ab12-99999999"),
             "sagemaker:CreateModel", build_version(w.build_ous), "other OU"),
    ],
    "other roles of the OUs' accounts read the deploy project's artifacts": lambda w: [
        need(NEW_STAGING_OTHER, "s3:GetObject", multi_object(w), "not an execution role"),
        need(NEW_STAGING_STACK_SETS, "s3:GetObject", multi_object(w), "not an execution role"),
    ],
    "target account roles use the data science account's keys outside S3": lambda w: [
        need(STAGING_ENDPOINT, "kms:Decrypt", w.multi["Outputs"]["ArtifactKeyArn"], "direct"),
        need(STAGING_ENDPOINT, "kms:Decrypt", w.multi["Outputs"]["ArtifactKeyArn"], "via another service",
             **{"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}),
    ],
    "the pipeline holds the endpoints' execution role, or the tester more than tests": lambda w: [
        need(PROJECTS_PIPELINE, "sts:AssumeRole", f"arn:aws:iam::{account}:role/sagemaker-role-mlops", "test", **IN_ORG)
        for account in (STAGING, PROD)
    ] + [
        need(STAGING_TESTER, "sagemaker:UpdateEndpoint", STAGING_ENDPOINT_ARN, "tester"),
        need(STAGING_TESTER, "s3:GetObject", build_object(w), "tester"),
    ],
    "captured data written by others than the project's endpoints": lambda w: [
        need(STAGING_TESTER, "s3:PutObject", capture_object(w), "tester"),
        need(STAGING_ENDPOINT, "s3:PutObject", capture_object(w, "fraud-p-1-staging"), "another project's prefix"),
        need(in_org(f"arn:aws:iam::{PROD}:role/sagemaker-role-mlops", OU_PROD), "kms:GenerateDataKey", capture_key(w),
             "another account", **VIA_S3, **{"kms:CallerAccount": PROD}),
    ],
    "the deployer grants a key to a principal of its choice, or tags other models": lambda w: [
        need(STAGING_DEPLOYER, "kms:CreateGrant", w.endpoint["Outputs"]["ArtifactKeyArn"], "not for SageMaker"),
        need(STAGING_DEPLOYER, "sagemaker:AddTags", f"arn:aws:sagemaker:{REGION}:{STAGING}:model/other",
             "other project", **{"aws:ResourceTag/sagemaker:project-name": "fraud-p-1"}),
    ],
    "alarms other than the projects' are read": lambda w: [
        need(p, "cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:{REGION}:{STAGING}:alarm:billing-alarm", "other")
        for p in (STAGING_ENDPOINT, STAGING_DEPLOYER)
    ],
    "other hub roles, or the sync role of a project that named no hub, read a model-build project": lambda w: [
        need(PUSH, "sagemaker:DescribeModelPackage", build_version(w.build_sync), "not the sync role"),
        need(PUSH, "s3:GetObject", sync_object(w), "not the sync role"),
        need(SYNC, "sagemaker:DescribeModelPackage", build_version(w.build_ous), "no HubName"),
        need(SYNC, "s3:GetObject", ous_object(w), "no HubName", **IN_ORG),
    ],
    "the sync role reads buckets it does not sync from": lambda w: [
        # A bucket with the spoke's name, but owned by another account of the organization.
        need(SYNC, "s3:GetObject", spoke_object(w), "squatted name", **IN_ORG, **{"aws:ResourceAccount": STAGING}),
        # Unrelated buckets of the data science account (its SageMaker SDK default bucket, any other).
        *[need(SYNC, "s3:GetObject", f"arn:aws:s3:::{b}/model.tar.gz", "unrelated", **IN_ORG,
               **{"aws:ResourceAccount": DATA_SCIENCE})
          for b in (f"sagemaker-{REGION}-{DATA_SCIENCE}", f"ml-data-{DATA_SCIENCE}")],
        # Keys of other accounts, even through S3.
        need(SYNC, "kms:Decrypt", capture_key(w), "a target account's key", **VIA_S3),
    ],
    "other hub roles read the spoke": lambda w: [
        need(PUSH, "sagemaker:DescribeModelPackage", SPOKE_VERSION, "not the sync role"),
        need(PUSH, "s3:GetObject", spoke_object(w), "not the sync role"),
    ],
    "the spoke key for another account, even through S3": lambda w: [
        need(
            in_org(f"arn:aws:iam::{STAGING}:role/x"),
            "kms:Decrypt",
            spoke_output(w, "SpokeKeyArn"),
            "another account through S3",
            **VIA_S3,
            **{"kms:CallerAccount": STAGING},
        ),
    ],
    "events other than SageMaker's on the hub bus": lambda w: [
        need(
            SPOKE_FORWARDER,
            "events:PutEvents",
            forward_target(w),
            "custom",
            **{**EVENT_CONTEXT, "events:source": "my.app"},
        ),
    ],
}


def principal_from(arn: str) -> Principal:
    return in_org(arn)


def forward_target(w: World) -> str:
    (target,) = w.resource(w.spoke, "AWS::Events::Rule", "ForwardGroupsToHub")["Targets"]
    return target["Arn"]


def hub_forward_targets(w: World) -> list[str]:
    return [t["Arn"] for t in w.resource(w.hub, "AWS::Events::Rule", "ForwardToDeploymentAccounts")["Targets"]]


# --- The checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NEEDS)
def test_every_need_is_granted_by_the_other_side(world, name):
    grants = world.grants()
    problems = [problem for n in NEEDS[name](world) for problem in grants.check(n)]
    assert problems == []


@pytest.mark.parametrize("name", REFUSED)
def test_what_must_stay_refused_is_refused(world, name):
    grants = world.grants()
    for n in REFUSED[name](world):
        assert grants.check(n), f"allowed: {n.describe()}"


@pytest.mark.parametrize(
    ("need_name", "sid", "where", "missing"),
    [
        (
            "model-build registers into the hub group, pending approval",
            "DataScienceRegisterPendingVersions",
            "ModelPackageGroup1",
            "sagemaker:CreateModelPackage",
        ),
        (
            "the sync role reads the spoke's registry, bucket and key",
            "HubSyncRoleReadsModels",
            "SpokeBucket",
            "s3:GetObject",
        ),
        ("the sync role reads the spoke's registry, bucket and key", "HubSyncRoleDecrypts", "SpokeKey", "kms:Decrypt"),
        ("the spoke forwards to the hub's bus", "", "HubEventBusPolicy", "events:PutEvents"),
        ("data science assumes the hub's push role", "DataScienceAccountsInOrganization", "PushRole", "sts:AssumeRole"),
        *[
            ("the data science roles' push policy allows assuming the push role and using the hub key", sid,
             "PushCallerPolicy", missing)
            for sid, missing in (
                ("AssumeHubPushRole", "sts:AssumeRole"),
                ("TagPushSessionWithOwnAccount", "sts:TagSession"),
                ("UseHubKeyThroughS3", "kms:GenerateDataKey"),
            )
        ],
        *[
            ("the sync role reads the spoke's registry, bucket and key", sid, "SyncRole", missing)
            for sid, missing in (
                ("ReadDataScienceArtifacts", "s3:GetObject"),
                ("ListDataScienceArtifactBuckets", "s3:ListBucket"),
                ("DecryptDataScienceArtifactsThroughS3", "kms:Decrypt"),
            )
        ],
        (
            "workload accounts read every URI of a synced package in the hub",
            "WorkloadOUsRead",
            "HubBucket",
            "s3:GetObject",
        ),
        (
            "target accounts deploy hub versions and read pulled artifacts",
            "WorkloadOUsRead",
            "HubBucket",
            "s3:GetObject",
        ),
        (
            "target accounts deploy hub versions and read pulled artifacts",
            "WorkloadOUsDecrypt",
            "HubKey",
            "kms:Decrypt",
        ),
        ("the sync role writes the hub", "RegisterPendingVersions", "SyncRole", "sagemaker:CreateModelPackage"),
        (
            "named target accounts create models from model-build's versions",
            "DeploymentAccountsDeploy",
            "ModelPackageGroup",
            "sagemaker:CreateModel",
        ),
        (
            "named target accounts create models from model-build's versions",
            "CreateModelsFromRegistryPackages",
            "DeployerRole",
            "sagemaker:CreateModel",
        ),
        ("the deployer creates models from hub versions", "CreateModelsFromRegistryPackages", "DeployerRole", ""),
        (
            "the sync role reads a model-build project's registry, bucket and key",
            "HubSyncRoleReadsVersions",
            "ModelPackageGroup",
            "sagemaker:DescribeModelPackage",
        ),
        (
            "the sync role reads a model-build project's registry, bucket and key",
            "HubSyncRoleReadsModels",
            "ArtifactBucket",
            "s3:GetObject",
        ),
        (
            "the sync role reads a model-build project's registry, bucket and key",
            "HubSyncRoleDecrypts",
            "ArtifactKey",
            "kms:Decrypt",
        ),
        (
            "the deployer uses the project's key for the endpoint volume",
            "GrantVolumeKeysToSageMaker",
            "DeployerRole",
            "kms:CreateGrant",
        ),
        (
            "the deployer uses the project's key for the endpoint volume",
            "TargetAccountsGrantToSageMaker",
            "ArtifactKey",
            "kms:CreateGrant",
        ),
        (
            "the deployer changes the tags of the project's models and endpoint configs",
            "UseAndDeleteTaggedModelsAndConfigs",
            "DeployerRole",
            "sagemaker:AddTags",
        ),
        (
            "the OUs' execution roles read the deploy project's artifacts, its key listed nowhere",
            "DecryptArtifactsThroughS3",
            "SageMakerExecutionRole",
            "kms:Decrypt",
        ),
        (
            "the OUs' execution roles read the deploy project's artifacts, its key listed nowhere",
            "TargetOUsDecrypt",
            "ArtifactKey",
            "kms:Decrypt",
        ),
        ("the pipeline tests the endpoints with the tester role", "", "TesterRole", "sts:AssumeRole"),
        (
            "staging endpoints capture data into the account's data capture bucket",
            "ThisAccountUsesKeyThroughS3",
            "DataCaptureKey",
            "kms:GenerateDataKey",
        ),
        (
            "staging endpoints capture data into the account's data capture bucket",
            "DataCapture",
            "SageMakerExecutionRole",
            "s3:PutObject",
        ),
        (
            "the deployer registers the endpoint with auto scaling",
            "ProjectEndpoints",
            "DeployerRole",
            "sagemaker:UpdateEndpointWeightsAndCapacities",
        ),
        (
            "the OUs' StackSets and endpoints deploy model-build's versions",
            "DeploymentOUsDeploy",
            "ModelPackageGroup",
            "sagemaker:CreateModel",
        ),
        (
            "the OUs' StackSets and endpoints deploy model-build's versions",
            "DeploymentOUsReadModels",
            "ArtifactBucket",
            "s3:GetObject",
        ),
        (
            "the OUs' StackSets and endpoints deploy model-build's versions",
            "DeploymentOUsDecrypt",
            "ArtifactKey",
            "kms:Decrypt",
        ),
    ],
)
def test_removing_one_grant_is_reported(world, need_name, sid, where, missing):
    grants = world.grants()
    assert grants.remove(sid, where) >= 1, f"no statement {sid!r} in {where}"
    problems = [problem for n in NEEDS[need_name](world) for problem in grants.check(n)]
    assert problems, f"removing {sid} from {where} went unnoticed"
    assert any(missing in p for p in problems), problems


def test_the_projects_and_the_spoke_name_the_hub_the_hub_has(world):
    hub = world.hub["Outputs"]
    assert registration_target(world) == hub["ModelPackageGroup1Arn"] == HUB_GROUP_ARN
    assert forward_target(world) == hub["HubEventBusArn"] == spoke_output(world, "HubEventBusArn")
    assert spoke_output(world, "HubSyncRoleArn") == hub["SyncRoleArn"] == SYNC.arn
    assert spoke_output(world, "HubPushRoleArn") == hub["PushRoleArn"] == PUSH.arn
    assert hub["HubBucketName"] == HUB_BUCKET
    function = world.resource(world.hub, "AWS::Lambda::Function")
    assert function["Environment"]["Variables"] == {"HUB_BUCKET": HUB_BUCKET, "HUB_GROUPS": f"{GROUP},{OTHER_GROUP},,,"}
    # Every group the spoke forwards has a hub group of the same name (the sync function's rule).
    spoke_groups = {p["ModelPackageGroupName"] for p in _all(world.spoke, "AWS::SageMaker::ModelPackageGroup")}
    hub_groups = {p["ModelPackageGroupName"] for p in _all(world.hub, "AWS::SageMaker::ModelPackageGroup")}
    assert spoke_groups <= hub_groups


def test_an_approval_travels_from_the_spoke_to_the_hub_and_from_the_hub_to_the_deploy_projects(world):
    spoke_event = _event(DATA_SCIENCE, SPOKE_VERSION, "Approved")
    spoke_rule = world.resource(world.spoke, "AWS::Events::Rule", "ForwardGroupsToHub")
    assert pattern_matches(spoke_rule["EventPattern"], spoke_event)
    assert not pattern_matches(spoke_rule["EventPattern"], _event(DATA_SCIENCE, SPOKE_VERSION, "Rejected"))
    sync_rule = world.resource(world.hub, "AWS::Events::Rule", "SyncApprovedModels")
    assert pattern_matches(sync_rule["EventPattern"], spoke_event)  # forwarded unchanged
    assert sync_rule["EventBusName"] == world.hub["Outputs"]["HubEventBusArn"].rsplit("/", 1)[1]

    hub_event = _event(HUB, HUB_VERSION, "Approved")
    forward = world.resource(world.hub, "AWS::Events::Rule", "ForwardToDeploymentAccounts")
    assert pattern_matches(forward["EventPattern"], hub_event)
    assert hub_forward_targets(world) == [f"arn:aws:events:{REGION}:{DATA_SCIENCE}:event-bus/default"]
    for project in (world.endpoint, world.multi):
        trigger = world.resource(project, "AWS::Events::Rule", "ModelApprovalTrigger")
        assert pattern_matches(trigger["EventPattern"], hub_event)


def test_the_evaluator_knows_allow_from_deny():
    """The evaluator itself: the TLS-only Deny wins over an Allow, account roots stand for their
    principals, org paths and policy variables are honoured."""
    bucket = {
        "Resources": {
            "B": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": "b",
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Sid": "Tls",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": "arn:aws:s3:::b/*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            },
                            {
                                "Sid": "Own",
                                "Effect": "Allow",
                                "Principal": {"AWS": "111111111111"},
                                "Action": "s3:Put*",
                                "Resource": "arn:aws:s3:::b/${aws:PrincipalAccount}/*",
                            },
                            {
                                "Sid": "Ou",
                                "Effect": "Allow",
                                "Principal": {"AWS": "*"},
                                "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:::b/*",
                                "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["*/ou-1/*"]}},
                            },
                        ]
                    },
                },
            }
        }
    }
    grants = Grants().add_template(bucket, "222222222222")
    mine = Principal("arn:aws:iam::111111111111:role/r")
    assert grants.check(need(mine, "s3:PutObject", "arn:aws:s3:::b/111111111111/k", "own")) == []
    assert grants.check(need(mine, "s3:PutObject", "arn:aws:s3:::b/333333333333/k", "other"))
    assert grants.check(
        need(mine, "s3:PutObject", "arn:aws:s3:::b/111111111111/k", "http", **{"aws:SecureTransport": "false"})
    )
    in_ou = Principal("arn:aws:iam::555555555555:role/r", "o-x", ("o-x/r-1/ou-1/",))
    assert grants.check(need(in_ou, "s3:GetObject", "arn:aws:s3:::b/k", "ou")) == []
    assert grants.check(need(in_ou, "s3:PutObject", "arn:aws:s3:::b/k", "ou"))


def _all(resolved: dict, kind: str) -> list[dict]:
    return [r["Properties"] for r in resolved["Resources"].values() if r["Type"] == kind]


def _event(account: str, version_arn: str, status: str) -> dict:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "account": account,
        "region": REGION,
        "resources": [version_arn],
        "detail": {
            "ModelPackageGroupName": version_arn.split("/")[1],
            "ModelPackageArn": version_arn,
            "ModelApprovalStatus": status,
        },
    }


@pytest.mark.parametrize(
    ("make", "sids"),
    [
        (
            lambda w: need(DS_PIPELINE, "sagemaker:CreateModelPackage", HUB_VERSION, "register", **PENDING),
            {"DataScienceRegisterPendingVersions"},
        ),
        (
            lambda w: need(DS_PIPELINE, "sagemaker:DescribeModelPackageGroup", HUB_GROUP_ARN, "deploy"),
            {"DataScienceDescribeGroup", "DeploymentAccountsDeploy"},
        ),
        (
            lambda w: need(NEW_STAGING, "kms:Decrypt", hub_key(w), "endpoint", **VIA_S3),
            {"WorkloadOUsDecrypt"},
        ),
        (
            lambda w: need(STAGING_DEPLOYER, "sagemaker:CreateModel", HUB_VERSION, "deploy"),
            {"WorkloadAccountsDeploy", "WorkloadOUsDeploy"},
        ),
        (
            lambda w: need(SYNC, "sagemaker:DescribeModelPackage", SPOKE_VERSION, "sync"),
            {"HubSyncRoleReadsVersions"},
        ),
        (
            lambda w: need(DS_PIPELINE, "sts:AssumeRole", PUSH.arn, "push", **OWN_ACCOUNT_TAG),
            {"DataScienceAccountsInOrganization"},
        ),
    ],
)
def test_which_statement_grants_what(world, make, sids):
    assert set(world.grants().allowing(make(world))) == sids
