"""The cross-account-endpoint template: two named accounts, CloudFormation actions assuming the
deployer role there, a manual approval between them, hub-registry events, names that fit."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT, load_template
from crossaccount_checks import (
    TAGGABLE,
    action,
    all_statements,
    assert_no_open_principals,
    codecommit_choice,
    environment,
    holds,
    longest_names,
    name_violations,
    one,
    principals,
    promotion_choice,
    resolve,
    stage_summary,
    statements,
)

SEED = ROOT / "seedcode" / "modeldeploy"
ROOTS = [{"Fn::Sub": "arn:${AWS::Partition}:iam::${PreProdAccount}:root"},
         {"Fn::Sub": "arn:${AWS::Partition}:iam::${ProdAccount}:root"}]
HUB_GROUP = "arn:aws:sagemaker:eu-west-1:111122223333:model-package-group/churn-models"


@pytest.fixture(scope="module")
def template(built):
    return load_template(built, "cross-account-endpoint")


@pytest.fixture(scope="module")
def pipeline(template):
    """The pipeline in the default PromotionMode (Approval) and RepositoryProvider (CodeCommit)."""
    return promotion_choice(codecommit_choice(one(template, "AWS::CodePipeline::Pipeline")))


def test_parameters(template):
    params = template["Parameters"]
    for account in ("PreProdAccount", "ProdAccount"):
        assert params[account]["AllowedPattern"] == r"^\d{12}$" and "Default" not in params[account]
    group = params["SageMakerModelPackageGroupName"]
    assert "Default" not in group
    assert re.fullmatch(group["AllowedPattern"], "churn-models") and re.fullmatch(group["AllowedPattern"], HUB_GROUP)
    assert not re.fullmatch(group["AllowedPattern"], "") and not re.fullmatch(group["AllowedPattern"], HUB_GROUP + "/1")
    region = params["DeploymentRegion"]
    assert region["Default"] == ""
    assert all(re.fullmatch(region["AllowedPattern"], r) for r in ("", "eu-west-1", "us-gov-west-1", "ap-southeast-2"))
    assert not re.fullmatch(region["AllowedPattern"], "europe")
    assert params["DeployerRoleName"]["Default"] == "sagemaker-mlops-deployer"
    assert params["ModelExecutionRoleName"]["Default"] == "sagemaker-role-mlops"
    optional = template["Metadata"]["SagemakerTemplateParameterRules"]
    assert {"DeploymentRegion", "DeployerRoleName", "ModelExecutionRoleName"} <= set(optional)
    assert not {"PreProdAccount", "ProdAccount", "SageMakerModelPackageGroupName"} & set(optional)


def test_rules_keep_the_accounts_apart_and_another_region_complete(template):
    rules = template["Rules"]
    assert rules["TargetsAreTwoOtherAccounts"]["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "PreProdAccount"}, {"Ref": "ProdAccount"}]}]}
    other = rules["OtherRegionNeedsArtifactStore"]
    assert other["RuleCondition"] == template["Conditions"]["DeploysToOtherRegion"]
    asserted = json.dumps(other["Assertions"][0]["Assert"])
    assert "DeploymentRegionArtifactBucket" in asserted and "DeploymentRegionArtifactKeyArn" in asserted


def test_key_and_bucket_grant_exactly_the_two_accounts(template):
    key = one(template, "AWS::KMS::Key")["Properties"]
    assert key["EnableKeyRotation"] is True
    decrypt = statements(key["KeyPolicy"])["TargetAccountsDecrypt"]
    assert decrypt["Principal"] == {"AWS": ROOTS}
    assert decrypt["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    bucket_policy = statements(one(template, "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"])
    assert set(bucket_policy) == {"DenyInsecureTransport", "TargetAccountsReadArtifacts"}
    read = bucket_policy["TargetAccountsReadArtifacts"]
    assert read["Principal"] == {"AWS": ROOTS}
    assert not [a for a in read["Action"] if not a.startswith(("s3:Get", "s3:List"))]
    # Only this account's roots, the project roles and the two targets (and a hub group's owner,
    # read from its ARN) are granted anything; "*" appears only in the TLS-only Deny.
    for logical_id, where, statement in all_statements(template):
        if statement["Effect"] == "Deny":
            assert statement["Sid"] == "DenyInsecureTransport"
            continue
        for principal in principals(statement):
            text = json.dumps(principal)
            assert any(p in text for p in ("${AWS::AccountId}", "${PreProdAccount}", "${ProdAccount}",
                                           "Fn::Select")), (logical_id, where, principal)
    assert_no_open_principals(template)


def test_pipeline_stages_and_action_types(pipeline):
    assert stage_summary(pipeline) == [
        ("Source", [("Source", "AWS", "CodeCommit")]),
        ("Build", [("Build", "AWS", "CodeBuild")]),
        ("DeployPreProd", [("Deploy", "AWS", "CloudFormation")]),
        ("TestPreProd", [("Build", "AWS", "CodeBuild")]),
        ("ApproveDeployment", [("Approval", "AWS", "Manual")]),
        ("DeployProd", [("Deploy", "AWS", "CloudFormation")]),
    ]
    assert action(pipeline, "Build")["OutputArtifacts"] == [{"Name": "BuildArtifact"}]


def test_a_newer_execution_supersedes_one_waiting_for_approval(pipeline):
    """QUEUED would keep every later approval event waiting behind a pending manual approval."""
    assert pipeline["Properties"]["PipelineType"] == "V2"
    assert pipeline["Properties"]["ExecutionMode"] == "SUPERSEDED"


@pytest.mark.parametrize(("stage", "account", "config", "suffix"), [
    ("DeployPreProd", "PreProdAccount", "staging", "preprod"),
    ("DeployProd", "ProdAccount", "prod", "prod"),
])
def test_cloudformation_actions_assume_the_deployer_in_the_target_account(pipeline, stage, account, config, suffix):
    deploy = action(pipeline, stage)
    role = {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{{account}}}:role/${{DeployerRoleName}}"}
    assert deploy["RoleArn"] == role
    assert deploy["Configuration"] == {
        "ActionMode": "CREATE_UPDATE",
        "StackName": {"Fn::Sub": f"sagemaker-${{SageMakerProjectName}}-${{SageMakerProjectId}}-deploy-{suffix}"},
        "TemplatePath": "BuildArtifact::template-export.yml",
        "TemplateConfiguration": f"BuildArtifact::{config}-config-export.json",
        "RoleArn": role,
    }
    assert deploy["InputArtifacts"] == [{"Name": "BuildArtifact"}]
    assert deploy["Region"] == {"Fn::If": ["DeploysToOtherRegion", {"Ref": "DeploymentRegion"},
                                           {"Ref": "AWS::NoValue"}]}


def test_preprod_is_tested_from_the_preprod_account(template, pipeline):
    test = action(pipeline, "TestPreProd")
    assert test["Configuration"] == {"ProjectName": {"Ref": "ModelDeployTestProject"}}
    assert test["InputArtifacts"] == [{"Name": "BuildArtifact"}]
    project = template["Resources"]["ModelDeployTestProject"]
    assert project["Properties"]["Source"]["BuildSpec"] == "test/buildspec.yml"
    # The tester role of the preprod account, never the endpoint's execution role.
    assert environment(project) == {"STAGE": "staging", "TARGET_ACCOUNT_IDS": {"Ref": "PreProdAccount"},
                                    "TEST_ROLE_NAME": {"Ref": "TestRoleName"}}
    assert template["Parameters"]["TestRoleName"]["Default"] == "sagemaker-mlops-tester"
    assert template["Metadata"]["SagemakerTemplateParameterRules"]["TestRoleName"] == {"Optional": True}
    if (SEED / "test" / "test.py").exists():
        assert all(name in (SEED / "test" / "test.py").read_text() for name in ("TARGET_ACCOUNT_IDS", "TEST_ROLE_NAME"))


def test_manual_approval_sits_between_preprod_and_prod(pipeline):
    names = [s["Name"] for s in pipeline["Properties"]["Stages"]]
    assert names.index("DeployPreProd") < names.index("ApproveDeployment") < names.index("DeployProd")
    approval = action(pipeline, "ApproveDeployment")
    assert approval["ActionTypeId"] == {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}


@pytest.mark.parametrize(("region", "other"), [("", False), ("ap-southeast-1", False), ("eu-west-1", True)])
def test_another_region_gets_its_own_artifact_store(template, pipeline, region, other):
    # AWS::Region resolves to the longest real region name; "ap-southeast-1" stands for "another".
    here = resolve({"Ref": "AWS::Region"}, template)
    params = {"DeploymentRegion": here if region == "ap-southeast-1" else region}
    assert holds("DeploysToOtherRegion", template, params) is other
    props = pipeline["Properties"]
    condition, absent, store = props["ArtifactStore"]["Fn::If"]
    assert condition == "DeploysToOtherRegion" and absent == {"Ref": "AWS::NoValue"}
    assert store["EncryptionKey"] == {"Id": {"Fn::GetAtt": ["ArtifactKey", "Arn"]}, "Type": "KMS"}
    condition, stores, absent = props["ArtifactStores"]["Fn::If"]
    assert condition == "DeploysToOtherRegion" and absent == {"Ref": "AWS::NoValue"}
    assert [s["Region"] for s in stores] == [{"Ref": "AWS::Region"}, {"Ref": "DeploymentRegion"}]
    assert stores[0]["ArtifactStore"] == store
    assert stores[1]["ArtifactStore"] == {"Type": "S3", "Location": {"Ref": "DeploymentRegionArtifactBucket"},
                                          "EncryptionKey": {"Id": {"Ref": "DeploymentRegionArtifactKeyArn"},
                                                            "Type": "KMS"}}


def test_build_project_passes_what_build_py_reads(template):
    build = template["Resources"]["ModelDeployBuildProject"]
    assert build["Properties"]["Source"] == {"Type": "CODEPIPELINE", "BuildSpec": "buildspec.yml"}
    env = environment(build)
    assert env["MODEL_PACKAGE_GROUP_NAME"] == {"Ref": "SageMakerModelPackageGroupName"}  # name or ARN
    assert env["MODEL_EXECUTION_ROLE_NAME"] == {"Ref": "ModelExecutionRoleName"}
    assert env["EXPORT_TEMPLATE_NAME"] == "template-export.yml"  # the deploy actions' TemplatePath
    if (SEED / "build.py").exists():
        text = (SEED / "build.py").read_text()
        assert all(n in text for n in ("MODEL_PACKAGE_GROUP_NAME", "MODEL_EXECUTION_ROLE_NAME", "-config-export.json"))
    repo = one(template, "AWS::CodeCommit::Repository")["Properties"]
    assert repo["Code"]["S3"] == {"Bucket": {"Ref": "SeedCodeBucket"}, "Key": {"Ref": "SeedCodeModeldeployKey"}}


@pytest.mark.parametrize(("group", "name", "hub"), [
    ("churn-models", "churn-models", False),
    (HUB_GROUP, "churn-models", True),
])
def test_model_events_match_the_group_name_also_when_a_hub_forwards_them(template, group, name, hub):
    params = {"SageMakerModelPackageGroupName": group}
    pattern = template["Resources"]["ModelApprovalTrigger"]["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.sagemaker"]
    assert pattern["detail-type"] == ["SageMaker Model Package State Change"]
    assert pattern["detail"]["ModelApprovalStatus"] == ["Approved", "Rejected"]
    assert "account" not in pattern  # a forwarded event carries the hub's account
    (expression,) = pattern["detail"]["ModelPackageGroupName"]
    assert resolve(expression, template, params) == name
    assert holds("UsesHubGroup", template, params) is hub
    bus = template["Resources"]["HubRegistryEvents"]
    assert bus["Condition"] == "UsesHubGroup"
    assert bus["Properties"]["EventBusName"] == "default"
    if hub:
        owner = resolve(bus["Properties"]["Statement"]["Principal"]["AWS"], template, params)
        assert owner.endswith(":iam::111122223333:root")


def test_pushes_to_main_start_the_pipeline(template):
    pattern = template["Resources"]["ModelDeployTrigger"]["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.codecommit"] and pattern["detail"]["referenceName"] == ["main"]


def test_every_taggable_resource_carries_the_project_tags(template):
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] in TAGGABLE:
            tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
            assert tags["sagemaker:project-name"] == {"Ref": "SageMakerProjectName"}, logical_id
            assert tags["sagemaker:project-id"] == {"Ref": "SageMakerProjectId"}, logical_id


def test_names_fit_at_the_longest_name_and_id(template, pipeline):
    assert name_violations(template) == []
    names = longest_names(template)
    assert len(names[("ArtifactBucket", "BucketName")]) <= 63
    assert all(len(v) <= 64 for (i, p), v in names.items() if template["Resources"][i]["Type"] == "AWS::Events::Rule")
    # The seeding function's log group (CodeConnections) is /aws/lambda/<its name>.
    assert all(v.startswith(("sagemaker-", "alias/sagemaker-", "/aws/lambda/sagemaker-")) for v in names.values())
    for stage in ("DeployPreProd", "DeployProd"):
        stack = resolve(action(pipeline, stage)["Configuration"]["StackName"], template)
        assert len(stack) <= 128 and re.fullmatch(r"[a-zA-Z][-a-zA-Z0-9]*", stack)
    # The endpoint the seed template names <project>-<id>-<stage> fits SageMaker's 63.
    assert len(resolve({"Fn::Sub": "${SageMakerProjectName}-${SageMakerProjectId}-staging"}, template)) <= 63


def test_no_hard_coded_accounts_or_regions(template):
    text = json.dumps({k: template[k] for k in ("Conditions", "Resources", "Outputs")})
    assert not re.search(r"\b\d{12}\b", text)
    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af|il|mx)-(east|west|north|south|central)-\d\b", text)
