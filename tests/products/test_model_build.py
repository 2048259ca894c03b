"""The model-build template: each resource and property the product promises."""

from __future__ import annotations

import ast
import json
import re

import pytest
from conftest import load_template
from crossaccount_checks import codecommit_choice

TAGGED = {
    "AWS::KMS::Key",
    "AWS::S3::Bucket",
    "AWS::CodeCommit::Repository",
    "AWS::CodeBuild::Project",
    "AWS::CodePipeline::Pipeline",
    "AWS::Events::Rule",
    "AWS::SageMaker::ModelPackageGroup",
}


@pytest.fixture(scope="module")
def template(built):
    return load_template(built, "model-build")


def of_type(template, kind):
    found = {k: v for k, v in template["Resources"].items() if v["Type"] == kind}
    assert found, f"no {kind}"
    return found


def one(template, kind):
    found = of_type(template, kind)
    assert len(found) == 1, found
    return next(iter(found.values()))


def statements(document):
    return {s["Sid"]: s for s in _unwrap(document["Statement"])}


def _unwrap(items):
    """Statements, looking through Fn::If (the 'present when' branch)."""
    for item in items:
        yield item["Fn::If"][1] if "Fn::If" in item else item


DEPLOYMENT_OUS = "DeploymentOrganizationalUnitIds"
OU_CONDITION = {
    "StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}},
    "ForAnyValue:StringLike": {
        "aws:PrincipalOrgPaths": {
            "Fn::Split": [",", {"Fn::Sub": ["*/${Ous}/*", {"Ous": {"Fn::Join": ["/*,*/", {"Ref": DEPLOYMENT_OUS}]}}]}]
        }
    },
}
EXECUTION_ROLES = {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/sagemaker-role-*"}
STACK_SET_ROLES = {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/stacksets-exec-*"}


def test_project_parameters_follow_the_api(template):
    name = template["Parameters"]["SageMakerProjectName"]
    project_id = template["Parameters"]["SageMakerProjectId"]
    assert (name["MinLength"], name["MaxLength"]) == (1, 32)
    # The API's pattern narrowed to lowercase (SageMaker lowercases names in ARNs).
    assert name["AllowedPattern"] == "^[a-z0-9](-*[a-z0-9]){0,31}$"
    assert re.fullmatch(name["AllowedPattern"], "churn-model") and not re.fullmatch(name["AllowedPattern"], "Churn")
    assert (project_id["MinLength"], project_id["MaxLength"]) == (1, 20)
    assert re.fullmatch(project_id["AllowedPattern"], "p-abcdef123456")


def test_optional_parameters_are_marked_for_studio_and_roles_default_to_sagemaker_roles(template):
    rules = template["Metadata"]["SagemakerTemplateParameterRules"]
    for name in ("DeploymentAccountIds", "OrganizationId", "DeploymentOrganizationalUnitIds", "HubAccountId",
                 "HubModelPackageGroupName", "CodeBuildRole"):
        assert rules[name] == {"Optional": True}
        assert "Default" in template["Parameters"][name]
    for role in ("SageMakerExecutionRole", "CodeBuildRole", "CodePipelineRole", "EventsRole"):
        assert template["Parameters"][role]["Default"] == "service-role/AmazonSageMakerServiceCatalogProductsUseRole"


def test_no_hard_coded_accounts_or_regions(template):
    text = json.dumps(template)
    assert not re.search(r"\b\d{12}\b", text)
    assert not re.search(
        r"\b(us|eu|ap|sa|ca|me|af|il|mx)-(east|west|north|south|central|northeast|southeast)-\d\b", text
    )


def test_key_is_rotated_and_scoped(template):
    key = one(template, "AWS::KMS::Key")["Properties"]
    assert key["EnableKeyRotation"] is True
    policy = statements(key["KeyPolicy"])
    assert policy["AccountAdministersKey"]["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    deploy = policy["DeploymentAccountsDecrypt"]
    assert deploy["Principal"] == {"AWS": {"Ref": "DeploymentAccountIds"}}
    assert deploy["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert policy["HubAccountDecrypts"]["Principal"] == {"AWS": {"Ref": "HubAccountId"}}
    conditions = [s["Fn::If"][0] for s in key["KeyPolicy"]["Statement"] if "Fn::If" in s]
    assert conditions == [
        "UsesCodeConnections", "HasDeploymentAccounts", "HasDeploymentOUs", "UsesHubRegistry", "SyncsToHub"]
    # Deployment OUs: their endpoints' execution roles decrypt the model data, nobody else there.
    ous = policy["DeploymentOUsDecrypt"]
    assert ous["Principal"] == {"AWS": "*"} and ous["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert ous["Condition"] == {**OU_CONDITION, "ArnLike": {"aws:PrincipalArn": [EXECUTION_ROLES]}}


def test_artifact_bucket_is_kms_encrypted_versioned_private_and_retained(template):
    bucket_id, bucket = next(iter(of_type(template, "AWS::S3::Bucket").items()))
    props = bucket["Properties"]
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["ArtifactKey", "Arn"]}}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    policy = one(template, "AWS::S3::BucketPolicy")["Properties"]
    assert policy["Bucket"] == {"Ref": bucket_id}
    tls = statements(policy["PolicyDocument"])["DenyInsecureTransport"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    read = statements(policy["PolicyDocument"])["DeploymentAccountsReadModels"]
    assert read["Principal"] == {"AWS": {"Ref": "DeploymentAccountIds"}}
    assert "s3:PutObject" not in read["Action"]
    ous = statements(policy["PolicyDocument"])["DeploymentOUsReadModels"]
    assert ous["Principal"] == {"AWS": "*"}
    assert ous["Action"] == ["s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketLocation", "s3:ListBucket"]
    assert ous["Condition"] == {**OU_CONDITION, "ArnLike": {"aws:PrincipalArn": [EXECUTION_ROLES]}}


def test_repository_is_seeded_from_the_modelbuild_zip_on_main(template):
    repo = one(template, "AWS::CodeCommit::Repository")["Properties"]
    assert repo["Code"] == {
        "BranchName": "main",
        "S3": {"Bucket": {"Ref": "SeedCodeBucket"}, "Key": {"Ref": "SeedCodeModelbuildKey"}},
    }


def test_codebuild_runs_the_sagemaker_pipeline_with_the_seed_contract(template):
    project = template["Resources"]["ModelBuildProject"]["Properties"]
    assert project["Source"] == {"Type": "CODEPIPELINE", "BuildSpec": "codebuild-buildspec.yml"}
    assert project["EncryptionKey"] == {"Fn::GetAtt": ["ArtifactKey", "Arn"]}
    env = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    assert set(env) == {
        "SAGEMAKER_PROJECT_NAME",
        "SAGEMAKER_PROJECT_ID",
        "SAGEMAKER_PROJECT_ARN",
        "SAGEMAKER_PIPELINE_NAME",
        "SAGEMAKER_PIPELINE_ROLE_ARN",
        "ARTIFACT_BUCKET",
        "ARTIFACT_KEY_ARN",
        "MODEL_PACKAGE_GROUP_NAME",
        "AWS_REGION",
    }
    # The project's own key, which the deployment accounts and the hub may use (never aws/s3).
    assert env["ARTIFACT_KEY_ARN"] == {"Fn::GetAtt": ["ArtifactKey", "Arn"]}
    hub, local = env["MODEL_PACKAGE_GROUP_NAME"]["Fn::If"][1:]
    assert env["MODEL_PACKAGE_GROUP_NAME"]["Fn::If"][0] == "UsesHubRegistry"
    assert hub == {
        "Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${HubAccountId}:"
        "model-package-group/${HubModelPackageGroupName}"
    }
    assert local == {"Fn::Sub": "${SageMakerProjectName}-${SageMakerProjectId}"}
    seed_buildspec = __import__("conftest").ROOT / "seedcode/modelbuild/codebuild-buildspec.yml"
    if seed_buildspec.exists():  # the seed repository consumes exactly these variables
        text = seed_buildspec.read_text()
        assert all(name in text for name in env if name != "AWS_REGION")


def test_pipeline_runs_source_then_build_with_kms_artifacts(template):
    pipeline = codecommit_choice(one(template, "AWS::CodePipeline::Pipeline"))["Properties"]
    assert pipeline["ArtifactStore"]["EncryptionKey"] == {"Id": {"Fn::GetAtt": ["ArtifactKey", "Arn"]}, "Type": "KMS"}
    stages = [
        (s["Name"], [(a["ActionTypeId"]["Category"], a["ActionTypeId"]["Provider"]) for a in s["Actions"]])
        for s in pipeline["Stages"]
    ]
    assert stages == [("Source", [("Source", "CodeCommit")]), ("Build", [("Build", "CodeBuild")])]
    source = pipeline["Stages"][0]["Actions"][0]["Configuration"]
    assert source["BranchName"] == "main" and source["PollForSourceChanges"] == "false"
    # Every pushed commit runs its build, in order (no approval stage to wait at).
    assert pipeline["ExecutionMode"] == "QUEUED"


def test_pushes_to_main_start_the_pipeline(template):
    rule = one(template, "AWS::Events::Rule")["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.codecommit"],
        "detail-type": ["CodeCommit Repository State Change"],
        "resources": [{"Fn::GetAtt": ["ModelBuildRepository", "Arn"]}],
        "detail": {
            "event": ["referenceCreated", "referenceUpdated"],
            "referenceType": ["branch"],
            "referenceName": ["main"],
        },
    }
    target = rule["Targets"][0]
    assert target["Arn"]["Fn::Sub"][1] == {"Pipeline": {"Ref": "ModelBuildPipeline"}}


def test_model_package_group_is_deployable_by_deployment_accounts_and_ous_only_when_named(template):
    group = one(template, "AWS::SageMaker::ModelPackageGroup")["Properties"]
    assert group["ModelPackageGroupName"] == {"Fn::Sub": "${SageMakerProjectName}-${SageMakerProjectId}"}
    condition, policy, absent = group["ModelPackageGroupPolicy"]["Fn::If"]
    assert condition == "HasGroupPolicy" and absent == {"Ref": "AWS::NoValue"}
    assert template["Conditions"]["HasDeployers"] == {
        "Fn::Or": [{"Condition": "HasDeploymentAccounts"}, {"Condition": "HasDeploymentOUs"}]
    }
    # A policy for deployers, or for a hub's sync role (HubName); none otherwise.
    assert template["Conditions"]["HasGroupPolicy"] == {
        "Fn::Or": [{"Condition": "HasDeployers"}, {"Condition": "SyncsToHub"}]
    }
    assert [s["Fn::If"][0] for s in policy["Statement"]] == [
        "HasDeploymentAccounts", "HasDeploymentOUs", "SyncsToHub", "SyncsToHub"]
    # Creating a model from another account's version needs CreateModel on the group's side too.
    deploy_actions = [
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
        "sagemaker:CreateModel",
    ]
    group_resources = [
        {"Fn::Sub": [f"arn:${{AWS::Partition}}:sagemaker:${{AWS::Region}}:${{AWS::AccountId}}:{kind}",
                     {"Name": {"Fn::Sub": "${SageMakerProjectName}-${SageMakerProjectId}"}}]}
        for kind in ("model-package-group/${Name}", "model-package/${Name}/*")
    ]
    assert statements(policy)["DeploymentAccountsDeploy"] == {
        "Sid": "DeploymentAccountsDeploy",
        "Effect": "Allow",
        "Principal": {"AWS": {"Ref": "DeploymentAccountIds"}},
        "Action": deploy_actions,
        "Resource": group_resources,
    }
    # The OUs' StackSet execution roles create the models; the endpoints' execution roles describe them.
    assert statements(policy)["DeploymentOUsDeploy"] == {
        "Sid": "DeploymentOUsDeploy",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": deploy_actions,
        "Resource": group_resources,
        "Condition": {**OU_CONDITION, "ArnLike": {"aws:PrincipalArn": [EXECUTION_ROLES, STACK_SET_ROLES]}},
    }


def test_deployment_ous_need_the_organization(template):
    params = template["Parameters"]
    assert params["OrganizationId"]["Default"] == "" and params["DeploymentOrganizationalUnitIds"]["Default"] == ""
    assert re.fullmatch(params["OrganizationId"]["AllowedPattern"], "o-a1b2c3d4e5")
    assert re.fullmatch(params["OrganizationId"]["AllowedPattern"], "")
    assert params["DeploymentOrganizationalUnitIds"]["Type"] == "CommaDelimitedList"
    rule = template["Rules"]["DeploymentOUsNeedOrganization"]
    assert rule["RuleCondition"] == {
        "Fn::Not": [{"Fn::EachMemberEquals": [{"Ref": "DeploymentOrganizationalUnitIds"}, ""]}]
    }
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]}


def broken_rules(template: dict, **parameters: str) -> list[str]:
    """The descriptions of the template's hub rules whose assertions fail for `parameters` (what
    CloudFormation would refuse the stack with)."""
    from tests.hub.resolve import Resolver

    values = {"SageMakerProjectName": "churn", "SageMakerProjectId": "p-1", "SeedCodeBucket": "b",
              "SeedCodeModelbuildKey": "k", **parameters}
    resolver = Resolver(template, "111111111111", values)
    failed = []
    for name, rule in template["Rules"].items():
        if not name.startswith("Hub"):
            continue
        if "RuleCondition" in rule and not resolver.test(rule["RuleCondition"]):
            continue
        failed += [a["AssertDescription"] for a in rule["Assertions"] if not resolver.test(a["Assert"])]
    return failed


@pytest.mark.parametrize(
    ("parameters", "refused"),
    [
        ({}, []),
        ({"HubAccountId": "222222222222", "HubModelPackageGroupName": "churn"}, []),  # push into the hub
        ({"HubAccountId": "222222222222", "HubName": "model-hub"}, []),  # the hub pulls
        ({"HubAccountId": "222222222222", "HubName": "model-hub", "HubModelPackageGroupName": "churn"}, []),
        ({"HubAccountId": "222222222222"}, ["HubAccountId needs HubModelPackageGroupName"]),
        ({"HubModelPackageGroupName": "churn"}, ["HubModelPackageGroupName needs HubAccountId."]),
        ({"HubName": "model-hub"}, ["HubName needs HubAccountId."]),
    ],
)
def test_hub_parameters_go_together(template, parameters, refused):
    broken = broken_rules(template, **parameters)
    assert len(broken) == len(refused) and all(b.startswith(r) for b, r in zip(broken, refused, strict=True)), broken


def test_hub_pull_grants_the_hub_sync_role_only_when_named(template):
    """HubName + HubAccountId: the group, bucket and key grant the hub's sync role (by the hub
    account and aws:PrincipalArn, valid before the role exists); without them nothing names the hub."""
    from tests.hub.resolve import resolve

    base = {"SageMakerProjectName": "churn", "SageMakerProjectId": "p-1", "SeedCodeBucket": "b",
            "SeedCodeModelbuildKey": "k"}
    sync_role = "arn:aws:iam::222222222222:role/sagemaker-model-hub-sync"
    pulled = resolve(template, "111111111111", {**base, "HubAccountId": "222222222222", "HubName": "model-hub"})
    granted = {
        logical_id: sorted(s["Sid"] for s in statements_of(resource) if "aws:PrincipalArn" in str(s.get("Condition")))
        for logical_id, resource in pulled["Resources"].items()
    }
    assert granted["ArtifactKey"] == ["HubSyncRoleDecrypts"]
    assert granted["ArtifactBucketPolicy"] == ["HubSyncRoleReadsModels"]
    assert granted["ModelPackageGroup"] == ["HubSyncRoleDescribesGroup", "HubSyncRoleReadsVersions"]
    for logical_id in ("ArtifactKey", "ArtifactBucketPolicy", "ModelPackageGroup"):
        for statement in statements_of(pulled["Resources"][logical_id]):
            if statement["Sid"].startswith("HubSync"):
                assert statement["Principal"] == {"AWS": "arn:aws:iam::222222222222:root"}
                assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": sync_role}}
    plain = resolve(template, "111111111111", base)
    assert "222222222222" not in json.dumps(plain) and "ModelPackageGroupPolicy" not in json.dumps(plain)


def statements_of(resource: dict) -> list[dict]:
    props = resource["Properties"]
    document = props.get("KeyPolicy") or props.get("PolicyDocument") or props.get("ModelPackageGroupPolicy") or {}
    return document.get("Statement", [])


def test_every_taggable_resource_carries_the_project_tags(template):
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] not in TAGGED:
            continue
        tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
        assert tags["sagemaker:project-name"] == {"Ref": "SageMakerProjectName"}, logical_id
        assert tags["sagemaker:project-id"] == {"Ref": "SageMakerProjectId"}, logical_id
    assert {r["Type"] for r in template["Resources"].values()} >= TAGGED


def test_hub_option_names_a_group_the_hub_product_can_have(template, built):
    """HubModelPackageGroupName takes exactly the names model-registry-hub's groups take (or blank)."""
    hub = load_template(built, "model-registry-hub")["Parameters"]["ModelPackageGroupName1"]
    ours = template["Parameters"]["HubModelPackageGroupName"]
    assert ours["MaxLength"] == hub["MaxLength"] == 63
    for name in ("churn", "a", "Churn-Model-2", "a--b", "x" * 63):
        assert re.fullmatch(ours["AllowedPattern"], name) and re.fullmatch(hub["AllowedPattern"], name), name
    for name in ("-churn", "churn-", "churn_model", "churn.model"):
        assert not re.fullmatch(ours["AllowedPattern"], name) and not re.fullmatch(hub["AllowedPattern"], name)
    assert re.fullmatch(ours["AllowedPattern"], "")
    assert "model-registry-hub" in template["Parameters"]["HubAccountId"]["Description"]


def test_the_key_outlives_the_stack_like_the_bucket_it_encrypts(template):
    key = template["Resources"]["ArtifactKey"]
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"


def seed_constants(*names: str) -> dict[str, str]:
    """Module-level string constants of the seed's pipeline.py (the seed needs SDK v3, not installed here)."""
    path = __import__("conftest").ROOT / "seedcode/modelbuild/pipelines/regression/pipeline.py"
    found = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            found.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return {name: found[name] for name in names}


def test_the_approval_guidance_states_what_the_seed_registers(built):
    """The page's approval section names the model card status and the first lifecycle stage exactly as the
    seed's pipeline registers them."""
    seed = seed_constants("MODEL_CARD_STATUS", "DEFAULT_LIFECYCLE_STAGE", "DEFAULT_LIFECYCLE_STAGE_STATUS")
    page = (built / "docs" / "model-build.md").read_text()
    approve = " ".join(page.split("How to approve a model", 1)[1].split("\n#", 1)[0].split())
    card_status, stage, stage_status = seed.values()
    assert f"model card (its intended use, training data and test metrics) with status `{card_status}`" in approve
    assert f"lifecycle stage `{stage}` (status `{stage_status}`;" in approve
