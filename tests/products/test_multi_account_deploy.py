"""The multi-account-deploy template: OU-scoped sharing, the StackSet deployment from CodeBuild
(CallAs), the pipeline's stages, its triggers, and names that fit at the longest project name/id."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT, load_template
from crossaccount_checks import (
    TAGGABLE,
    action,
    action_environment,
    all_statements,
    assert_no_open_principals,
    codecommit_choice,
    environment,
    holds,
    longest_names,
    name_violations,
    of_type,
    one,
    org_paths_condition,
    promotion_choice,
    resolve,
    stage_summary,
    statements,
)

SEED = ROOT / "seedcode" / "modeldeploy"
OUS = ("OrganizationalUnitStagingId", "OrganizationalUnitProdId")
HUB_GROUP = "arn:aws:sagemaker:eu-west-1:111122223333:model-package-group/churn-models"


@pytest.fixture(scope="module")
def template(built):
    return load_template(built, "multi-account-deploy")


@pytest.fixture(scope="module")
def pipeline(template):
    """The pipeline in the default PromotionMode (Approval) and RepositoryProvider (CodeCommit)."""
    return promotion_choice(codecommit_choice(one(template, "AWS::CodePipeline::Pipeline")))


@pytest.fixture(scope="module")
def projects(template):
    return {k: v for k, v in of_type(template, "AWS::CodeBuild::Project").items()}


# --- Parameters ------------------------------------------------------------------------------


def test_parameters_studio_fills_in_and_the_ones_the_user_gives(template):
    params = template["Parameters"]
    assert {"SageMakerProjectName", "SageMakerProjectId", "OrganizationId", *OUS,
            "SageMakerExecutionRoleStagingName", "SageMakerExecutionRoleProdName",
            "SageMakerModelPackageGroupName", "KmsKeyArn", "StackSetCallAs"} <= set(params)
    assert (params["SageMakerProjectName"]["MaxLength"], params["SageMakerProjectId"]["MaxLength"]) == (32, 20)
    for ou in OUS:
        assert params[ou]["AllowedPattern"] == "^ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$"
        assert "Default" not in params[ou]
    pattern = params["OrganizationalUnitStagingId"]["AllowedPattern"]
    assert re.fullmatch(pattern, "ou-ab12-cdefgh34")
    assert not re.fullmatch(pattern, "r-ab12") and not re.fullmatch(pattern, "ou-AB12-cdefgh34")
    assert re.fullmatch(params["OrganizationId"]["AllowedPattern"], "o-a1b2c3d4e5")
    assert params["StackSetCallAs"]["AllowedValues"] == ["DELEGATED_ADMIN", "SELF"]
    assert params["StackSetCallAs"]["Default"] == "DELEGATED_ADMIN"


def test_the_test_role_is_target_account_bootstraps_tester(template):
    param = template["Parameters"]["TestRoleName"]
    assert param["Default"] == "sagemaker-mlops-tester"  # sagemaker-<RoleSuffix>-tester, default suffix
    assert template["Metadata"]["SagemakerTemplateParameterRules"]["TestRoleName"] == {"Optional": True}


def test_model_package_group_is_required_and_takes_a_name_or_a_hub_arn(template):
    """A group made here would stay empty (model-build registers into its own group or a hub's):
    the user names a model-build project's group or a hub group, whose policy grants the OUs."""
    param = template["Parameters"]["SageMakerModelPackageGroupName"]
    assert "Default" not in param
    for good in ("churn-models", HUB_GROUP):
        assert re.fullmatch(param["AllowedPattern"], good), good
    for bad in ("", f"{HUB_GROUP}/3", "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn-models/3", "a_b"):
        assert not re.fullmatch(param["AllowedPattern"], bad), bad
    assert "DeploymentOrganizationalUnitIds" in param["Description"]  # model-build's OU grants
    assert "WorkloadOrganizationalUnitIds" in param["Description"]  # the hub's
    optional = template["Metadata"]["SagemakerTemplateParameterRules"]
    assert "SageMakerModelPackageGroupName" not in optional
    for name in ("KmsKeyArn", "StackSetCallAs", "SageMakerExecutionRoleStagingName", "SageMakerExecutionRoleProdName"):
        assert optional[name] == {"Optional": True}
        assert "Default" in template["Parameters"][name]
    assert not of_type_or_none(template, "AWS::SageMaker::ModelPackageGroup")
    assert "CreatesGroup" not in template["Conditions"]


# --- Encryption and sharing with the OUs -----------------------------------------------------


EXECUTION_ROLES = [{"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${SageMakerExecutionRoleStagingName}"},
                   {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${SageMakerExecutionRoleProdName}"}]


def of_type_or_none(template, kind):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_key_is_created_unless_given_and_the_ous_may_only_decrypt(template):
    key = template["Resources"]["ArtifactKey"]
    assert key["Condition"] == template["Resources"]["ArtifactKeyAlias"]["Condition"] == "CreatesKey"
    assert template["Conditions"]["CreatesKey"] == {"Fn::Equals": [{"Ref": "KmsKeyArn"}, ""]}
    assert key["Properties"]["EnableKeyRotation"] is True
    policy = statements(key["Properties"]["KeyPolicy"])
    ous = policy["TargetOUsDecrypt"]
    assert ous["Principal"] == {"AWS": "*"}
    # Only the endpoints' execution roles of the OUs' accounts (they read the model data).
    assert ous["Condition"] == {**org_paths_condition(*OUS), "ArnLike": {"aws:PrincipalArn": EXECUTION_ROLES}}
    assert ous["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    roles = policy["ProjectRolesUseKey"]["Principal"]["AWS"]
    assert [r["Fn::Sub"].rsplit("/", 1)[-1] for r in roles] == ["${CodeBuildRole}", "${CodePipelineRole}",
                                                                  "${EventsRole}"]


def test_everything_encrypts_with_the_created_or_given_key(template, pipeline, projects):
    chosen = {"Fn::If": ["CreatesKey", {"Fn::GetAtt": ["ArtifactKey", "Arn"]}, {"Ref": "KmsKeyArn"}]}
    bucket = one(template, "AWS::S3::Bucket")["Properties"]
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": chosen}
    assert pipeline["Properties"]["ArtifactStore"]["EncryptionKey"] == {"Id": chosen, "Type": "KMS"}
    assert all(p["Properties"]["EncryptionKey"] == chosen for p in projects.values())


def test_bucket_is_readable_by_the_two_ous_only(template):
    policy = one(template, "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]
    found = statements(policy)
    assert set(found) == {"DenyInsecureTransport", "TargetOUsReadArtifacts"}
    read = found["TargetOUsReadArtifacts"]
    assert read["Principal"] == {"AWS": "*"}
    assert read["Condition"] == {**org_paths_condition(*OUS), "ArnLike": {"aws:PrincipalArn": EXECUTION_ROLES}}
    assert read["Action"] == ["s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketLocation", "s3:ListBucket"]


def test_org_path_patterns_cover_the_ou_and_its_children_only():
    """What `o-x/*/ou-x/*` matches under IAM's StringLike (`*` spans any characters, `/` too)."""
    pattern = re.compile("o-abcdefghij/.*/ou-ab12-stagingx/.*")
    assert pattern.fullmatch("o-abcdefghij/r-ab12/ou-ab12-stagingx/")
    assert pattern.fullmatch("o-abcdefghij/r-ab12/ou-ab12-parentxx/ou-ab12-stagingx/ou-ab12-childxxx/")
    assert not pattern.fullmatch("o-abcdefghij/r-ab12/ou-ab12-prodxxxx/")
    assert not pattern.fullmatch("o-otherorgxx/r-ab12/ou-ab12-stagingx/")


def test_no_grant_to_any_principal_is_unconditioned(template):
    assert_no_open_principals(template)
    assert any(s.get("Principal") == {"AWS": "*"} for _, _, s in all_statements(template))


# --- Hub registries ---------------------------------------------------------------------------


@pytest.mark.parametrize(("group", "name", "hub"), [
    ("churn-models", "churn-models", False),
    (HUB_GROUP, "churn-models", True),
    ("arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/own", "own", False),  # this account's ARN
])
def test_a_hub_groups_account_may_send_its_model_events_here(template, group, name, hub):
    params = {"SageMakerModelPackageGroupName": group}
    assert holds("UsesHubGroup", template, params) is hub
    policy = template["Resources"]["HubRegistryEvents"]
    assert policy["Condition"] == "UsesHubGroup"
    statement = policy["Properties"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {"StringEquals": {
        "events:source": "aws.sagemaker", "events:detail-type": "SageMaker Model Package State Change"}}
    if hub:
        assert resolve(statement["Principal"]["AWS"], template, params).endswith(":iam::111122223333:root")
    rule = template["Resources"]["ModelApprovalTrigger"]["Properties"]["EventPattern"]
    # The pattern matches the event's detail.ModelPackageGroupName: the name, never the ARN.
    assert resolve(rule["detail"]["ModelPackageGroupName"][0], template, params) == name


# --- Source, build, deploy, test -------------------------------------------------------------


def test_repository_is_seeded_from_the_modeldeploy_zip(template):
    repo = one(template, "AWS::CodeCommit::Repository")["Properties"]
    assert repo["Code"] == {"BranchName": "main",
                            "S3": {"Bucket": {"Ref": "SeedCodeBucket"}, "Key": {"Ref": "SeedCodeModeldeployKey"}}}


def test_build_project_passes_what_build_py_reads(projects):
    build = projects["ModelDeployBuildProject"]
    assert build["Properties"]["Source"] == {"Type": "CODEPIPELINE", "BuildSpec": "buildspec.yml"}
    env = environment(build)
    assert env["MODEL_PACKAGE_GROUP_NAME"] == {"Ref": "SageMakerModelPackageGroupName"}  # name or ARN
    assert env["MODEL_EXECUTION_ROLE_NAME_STAGING"] == {"Ref": "SageMakerExecutionRoleStagingName"}
    assert env["MODEL_EXECUTION_ROLE_NAME_PROD"] == {"Ref": "SageMakerExecutionRoleProdName"}
    assert env["SAGEMAKER_PROJECT_NAME"] == {"Ref": "SageMakerProjectName"}
    assert env["SAGEMAKER_PROJECT_ID"] == {"Ref": "SageMakerProjectId"}
    assert env["EXPORT_TEMPLATE_NAME"] == "template-export.yml"
    if (SEED / "buildspec.yml").exists():  # the build artifact carries what the later steps run
        artifacts = (SEED / "buildspec.yml").read_text().split("artifacts:")[1]
        # Patterns for the stage exports: a stage build.py skips (PromotionMode LifecycleStage) has none.
        for name in ("$EXPORT_TEMPLATE_NAME", '"*-config-export.json"', '"*-params-export.json"',
                     "deploy_stackset.py", "buildspec-deploy-stackset.yml", "requirements.txt", "test/"):
            assert name in artifacts, name
    if (SEED / "build.py").exists():
        text = (SEED / "build.py").read_text()
        for name in ("MODEL_PACKAGE_GROUP_NAME", "SAGEMAKER_PROJECT_NAME", "SAGEMAKER_PROJECT_ID",
                     "MODEL_EXECUTION_ROLE_NAME", "-params-export.json", "-config-export.json"):
            assert name in text, name


def test_stackset_project_deploys_service_managed_with_call_as(projects):
    deploy = projects["ModelDeployStackSetProject"]
    assert deploy["Properties"]["Source"]["BuildSpec"] == "buildspec-deploy-stackset.yml"
    assert deploy["Properties"]["TimeoutInMinutes"] * 60 > 5400  # deploy_stackset.py's own timeout
    assert environment(deploy) == {"CALL_AS": {"Ref": "StackSetCallAs"}, "EXPORT_TEMPLATE_NAME": "template-export.yml"}
    script, buildspec = SEED / "deploy_stackset.py", SEED / "buildspec-deploy-stackset.yml"
    if script.exists() and buildspec.exists():  # what the seed does with it
        code, steps = script.read_text(), buildspec.read_text()
        assert '"PermissionModel": "SERVICE_MANAGED"' in code
        assert "AutoDeployment" in code
        for name in ("STACK_SET_NAME", "ORGANIZATIONAL_UNIT_IDS", "CALL_AS", "EXPORT_TEMPLATE_NAME"):
            assert name in code, name
        assert '"${STAGE}-config-export.json"' in steps
        # No --deployment-region and no --capability: this region only, and the endpoint
        # template creates no IAM resources.
        assert "--deployment-region" not in steps and "--capability" not in steps


def test_pipeline_stages_and_action_types(pipeline):
    assert stage_summary(pipeline) == [
        ("Source", [("Source", "AWS", "CodeCommit")]),
        ("Build", [("Build", "AWS", "CodeBuild")]),
        ("DeployStaging", [("Build", "AWS", "CodeBuild")]),
        ("TestStaging", [("Build", "AWS", "CodeBuild")]),
        ("ApproveDeployment", [("Approval", "AWS", "Manual")]),
        ("DeployProd", [("Build", "AWS", "CodeBuild")]),
    ]
    # CodePipeline's StackSet actions cannot run from a delegated administrator: never used.
    providers = {a["ActionTypeId"]["Provider"] for s in pipeline["Properties"]["Stages"] for a in s["Actions"]}
    assert not providers & {"CloudFormationStackSet", "CloudFormationStackInstances"}
    source = action(pipeline, "Source")
    assert source["Configuration"]["BranchName"] == "main"
    assert source["Configuration"]["PollForSourceChanges"] == "false"
    build = action(pipeline, "Build")
    assert build["Configuration"] == {"ProjectName": {"Ref": "ModelDeployBuildProject"}}
    assert build["OutputArtifacts"] == [{"Name": "BuildArtifact"}]


def test_a_newer_execution_supersedes_one_waiting_for_approval(pipeline):
    """QUEUED would keep every later approval event waiting behind a pending manual approval."""
    assert pipeline["Properties"]["PipelineType"] == "V2"
    assert pipeline["Properties"]["ExecutionMode"] == "SUPERSEDED"


def test_the_pipeline_block_takes_queued_or_superseded_only():
    from generator.blocks import cicd

    with pytest.raises(ValueError, match="PARALLEL"):
        cicd.pipeline("P", "p", "role", None, None, [], None, execution_mode="PARALLEL")


@pytest.mark.parametrize(("stage", "name", "ou"), [
    ("DeployStaging", "staging", "OrganizationalUnitStagingId"),
    ("DeployProd", "prod", "OrganizationalUnitProdId"),
])
def test_each_deploy_stage_targets_its_ou_in_this_region(pipeline, stage, name, ou):
    deploy = action(pipeline, stage)
    assert deploy["Configuration"]["ProjectName"] == {"Ref": "ModelDeployStackSetProject"}
    assert deploy["InputArtifacts"] == [{"Name": "BuildArtifact"}]
    env = action_environment(deploy["Configuration"])
    assert env == {
        "STAGE": name,
        "STACK_SET_NAME": {"Fn::Sub": f"sagemaker-${{SageMakerProjectName}}-${{SageMakerProjectId}}-deploy-{name}"},
        "ORGANIZATIONAL_UNIT_IDS": {"Ref": ou},
    }
    assert "RoleArn" not in deploy and "Region" not in deploy


def test_staging_is_tested_then_approved_by_hand(pipeline, projects):
    test = action(pipeline, "TestStaging")
    assert test["Configuration"] == {"ProjectName": {"Ref": "ModelDeployTestProject"}}
    assert test["InputArtifacts"] == [{"Name": "BuildArtifact"}]
    assert projects["ModelDeployTestProject"]["Properties"]["Source"]["BuildSpec"] == "test/buildspec.yml"
    env = environment(projects["ModelDeployTestProject"])
    assert env == {
        "STAGE": "staging",
        "STACK_SET_NAME": {"Fn::Sub": "sagemaker-${SageMakerProjectName}-${SageMakerProjectId}-deploy-staging"},
        "CALL_AS": {"Ref": "StackSetCallAs"},
        # The tester role of each staging account, never the endpoints' execution role.
        "TEST_ROLE_NAME": {"Ref": "TestRoleName"},
    }
    if (SEED / "test" / "test.py").exists():
        assert all(name in (SEED / "test" / "test.py").read_text() for name in env if name != "STAGE")
    approval = action(pipeline, "ApproveDeployment")
    assert approval["ActionTypeId"] == {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}
    assert "InputArtifacts" not in approval


# --- Triggers --------------------------------------------------------------------------------


def test_approvals_and_rejections_of_the_group_start_the_pipeline(template):
    rule = template["Resources"]["ModelApprovalTrigger"]["Properties"]
    group = rule["EventPattern"]["detail"]["ModelPackageGroupName"]
    assert rule["EventPattern"]["source"] == ["aws.sagemaker"]
    assert rule["EventPattern"]["detail-type"] == ["SageMaker Model Package State Change"]
    assert rule["EventPattern"]["detail"]["ModelApprovalStatus"] == ["Approved", "Rejected"]
    assert json.dumps(group[0]).count("SageMakerModelPackageGroupName") == 2  # the name, read from a name or ARN
    assert rule["Targets"][0]["Arn"]["Fn::Sub"][1] == {"Pipeline": {"Ref": "ModelDeployPipeline"}}
    assert rule["State"] == "ENABLED"


def test_pushes_to_main_start_the_pipeline(template):
    pattern = template["Resources"]["ModelDeployTrigger"]["Properties"]["EventPattern"]
    assert pattern["resources"] == [{"Fn::GetAtt": ["ModelDeployRepository", "Arn"]}]
    assert pattern["detail"]["referenceName"] == ["main"]


# --- Tags and names --------------------------------------------------------------------------


def test_every_taggable_resource_carries_the_project_tags(template):
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] not in TAGGABLE:
            continue
        tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
        assert tags["sagemaker:project-name"] == {"Ref": "SageMakerProjectName"}, logical_id
        assert tags["sagemaker:project-id"] == {"Ref": "SageMakerProjectId"}, logical_id


def test_physical_names_fit_at_the_longest_name_and_id(template):
    assert name_violations(template) == []
    names = longest_names(template)
    limits = {"AWS::S3::Bucket": 63, "AWS::Events::Rule": 64, "AWS::CodePipeline::Pipeline": 100,
              "AWS::CodeCommit::Repository": 100, "AWS::SageMaker::ModelPackageGroup": 63,
              "AWS::CodeBuild::Project": 150}
    for (logical_id, _prop), value in names.items():
        kind = template["Resources"][logical_id]["Type"]
        if kind in limits:
            assert value is not None and len(value) <= limits[kind], (logical_id, value)
        if kind == "AWS::Logs::LogGroup":  # the seeding function's (CodeConnections): Lambda names it
            assert value.startswith("/aws/lambda/sagemaker-"), (logical_id, value)
        elif kind != "AWS::SageMaker::ModelPackageGroup" and kind != "AWS::KMS::Alias":
            assert value.startswith("sagemaker-"), (logical_id, value)  # the launch role's policy
    assert ("ArtifactBucket", "BucketName") in names


def test_names_made_at_run_time_fit_too(template, pipeline, projects):
    stack_sets = [action_environment(action(pipeline, s)["Configuration"])["STACK_SET_NAME"]
                  for s in ("DeployStaging", "DeployProd")]
    for value in stack_sets:
        name = resolve(value, template)
        assert len(name) <= 128 and re.fullmatch(r"[a-zA-Z][-a-zA-Z0-9]*", name), name
    # The seed template names endpoints <project name>-<project id>-<stage>.
    endpoint = resolve({"Fn::Sub": "${SageMakerProjectName}-${SageMakerProjectId}-staging"}, template)
    assert len(endpoint) <= 63, endpoint


def test_no_hard_coded_accounts_or_regions(template):
    text = json.dumps({k: template[k] for k in ("Conditions", "Resources", "Outputs")})
    assert not re.search(r"\b\d{12}\b", text)
    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af|il|mx)-(east|west|north|south|central)-\d\b", text)
