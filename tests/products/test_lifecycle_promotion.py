"""PromotionMode in multi-account-deploy and cross-account-endpoint: Approval (the default) keeps
the approval-only pipeline; LifecycleStage starts it on promotions to Staging or Production,
skips the manual approval, deploys prod only while a version is at Production and records the
stage it deployed. Event patterns are matched against events as SageMaker sends them."""

from __future__ import annotations

import copy
import json
import re
import shlex

import boto3
import pytest
import yaml
from botocore import xform_name
from conftest import ROOT, load_template
from crossaccount_checks import action_environment, codecommit_choice, environment, one, promotion_choice

from tests.hub.access import pattern_matches
from tests.hub.resolve import resolve

SEED = ROOT / "seedcode" / "modeldeploy"
PRODUCTS = {
    # product: (the stage after the staging deployment, record action names, DEPLOYED_TO texts)
    "multi-account-deploy": ("TestStaging", ("RecordStagingStage", "RecordProdStage"),
                             ("the staging OU ${OrganizationalUnitStagingId}",
                              "the prod OU ${OrganizationalUnitProdId}")),
    "cross-account-endpoint": ("TestPreProd", ("RecordPreProdStage", "RecordProdStage"),
                               ("the preprod account ${PreProdAccount}", "the prod account ${ProdAccount}")),
}
LIFECYCLE_RESOURCES = {"ModelDeployRecordProject", "ModelStageTrigger", "ModelRejectionTrigger"}
PARAMETERS = {
    "multi-account-deploy": {"OrganizationId": "o-abcdefghij", "OrganizationalUnitStagingId": "ou-ab12-11111111",
                             "OrganizationalUnitProdId": "ou-ab12-22222222"},
    "cross-account-endpoint": {"PreProdAccount": "333333333333", "ProdAccount": "444444444444"},
}
PROJECT = {"SageMakerProjectName": "churn", "SageMakerProjectId": "p-abc123", "SeedCodeBucket": "seed",
           "SeedCodeModeldeployKey": "modeldeploy.zip", "SageMakerModelPackageGroupName": "churn-p-abc123"}


@pytest.fixture(scope="module", params=sorted(PRODUCTS))
def product(request):
    return request.param


@pytest.fixture(scope="module")
def template(built, product):
    return load_template(built, product)


def pipeline(template, stage_mode):
    return promotion_choice(codecommit_choice(one(template, "AWS::CodePipeline::Pipeline")), stage_mode=stage_mode)


def stages(pipeline):
    return {s["Name"]: s for s in pipeline["Properties"]["Stages"]}


def resolved(product, template, mode):
    return resolve(template, "111111111111", {**PROJECT, **PARAMETERS[product], "PromotionMode": mode})


# --- The parameter and what each mode makes ----------------------------------------------------


def test_approval_is_the_default_mode(template):
    param = template["Parameters"]["PromotionMode"]
    assert (param["AllowedValues"], param["Default"]) == (["Approval", "LifecycleStage"], "Approval")
    assert template["Metadata"]["SagemakerTemplateParameterRules"]["PromotionMode"] == {"Optional": True}


def test_each_mode_makes_its_own_trigger_and_only_stage_mode_records(product, template):
    approval, staged = (set(resolved(product, template, m)["Resources"]) for m in ("Approval", "LifecycleStage"))
    assert "ModelApprovalTrigger" in approval and not approval & LIFECYCLE_RESOURCES
    assert LIFECYCLE_RESOURCES <= staged and "ModelApprovalTrigger" not in staged
    assert approval - {"ModelApprovalTrigger"} == staged - LIFECYCLE_RESOURCES


def test_approval_mode_pipeline_has_nothing_of_stage_mode(product, template):
    """Resolved with the default mode, the pipeline is the approval-only one: no namespace, no
    entry conditions, one action a stage, the manual approval before prod."""
    resolved_pipeline = resolved(product, template, "Approval")["Resources"]["ModelDeployPipeline"]["Properties"]
    for stage in resolved_pipeline["Stages"]:
        assert "BeforeEntry" not in stage and len(stage["Actions"]) == 1, stage["Name"]
        (only,) = stage["Actions"]
        assert "Namespace" not in only
    build = resolved_pipeline["Stages"][1]["Actions"][0]
    assert build["Name"] == "BuildDeploymentParameters" and "EnvironmentVariables" not in build["Configuration"]
    names = [s["Name"] for s in resolved_pipeline["Stages"]]
    assert names.index("ApproveDeployment") == names.index("DeployProd") - 1


# --- Stage mode: the pipeline ------------------------------------------------------------------


def test_the_build_exports_its_choice_under_a_namespace(template):
    build = stages(pipeline(template, True))["Build"]["Actions"][0]
    assert build["Namespace"] == "BuildVariables"
    assert build["Configuration"]["EnvironmentVariables"] == (
        '[{"name":"PROMOTION_MODE","value":"LifecycleStage","type":"PLAINTEXT"}]')
    # What the entry conditions read is what the seed's buildspec exports.
    spec = yaml.safe_load((SEED / "buildspec.yml").read_text())
    assert {"PROMOTION_MODE", "DEPLOYS_PROD"} <= set(spec["env"]["exported-variables"])


def variable_check(stage):
    ((condition,),) = [stage["BeforeEntry"]["Conditions"]]
    ((rule,),) = [condition["Rules"]]
    assert condition["Result"] == "SKIP"
    assert rule["RuleTypeId"] == {"Category": "Rule", "Owner": "AWS", "Provider": "VariableCheck", "Version": "1"}
    return rule["Configuration"]


def test_the_manual_approval_is_skipped_and_prod_waits_for_a_production_version(template):
    staged = stages(pipeline(template, True))
    assert variable_check(staged["ApproveDeployment"]) == {
        "Variable": "#{BuildVariables.PROMOTION_MODE}", "Operator": "EQ", "Value": "Approval"}
    assert variable_check(staged["DeployProd"]) == {
        "Variable": "#{BuildVariables.DEPLOYS_PROD}", "Operator": "EQ", "Value": "true"}
    assert "BeforeEntry" not in staged["DeployStaging" if "DeployStaging" in staged else "DeployPreProd"]


def test_each_deployment_is_recorded_after_it_by_the_record_project(product, template):
    tested_stage, names, targets = PRODUCTS[product]
    staged = stages(pipeline(template, True))
    for stage, name, lifecycle_stage, deploy_stage, target in (
        (tested_stage, names[0], "Staging", "staging", targets[0]),
        ("DeployProd", names[1], "Production", "prod", targets[1]),
    ):
        first, record = staged[stage]["Actions"]
        assert (first["RunOrder"], record["RunOrder"], record["Name"]) == (1, 2, name)
        assert record["Configuration"]["ProjectName"] == {"Ref": "ModelDeployRecordProject"}
        assert record["InputArtifacts"] == [{"Name": "BuildArtifact"}]
        assert action_environment(record["Configuration"]) == {
            "STAGE": deploy_stage, "LIFECYCLE_STAGE": lifecycle_stage, "DEPLOYED_TO": target,
            "PIPELINE_EXECUTION_ID": "#{codepipeline.PipelineExecutionId}",
        }


def test_the_record_project_runs_record_stage_as_the_build_role(template):
    project = template["Resources"]["ModelDeployRecordProject"]
    assert project["Condition"] == "PromotesOnLifecycleStage"
    props = project["Properties"]
    assert props["Source"] == {"Type": "CODEPIPELINE", "BuildSpec": "buildspec-record-stage.yml"}
    assert props["ServiceRole"] == template["Resources"]["ModelDeployBuildProject"]["Properties"]["ServiceRole"]
    assert environment(project) == {
        "PIPELINE_NAME": {"Fn::Sub": "sagemaker-${SageMakerProjectName}-${SageMakerProjectId}-modeldeploy"}}
    # The record buildspec and script travel in the build artifact.
    artifacts = yaml.safe_load((SEED / "buildspec.yml").read_text())["artifacts"]["files"]
    assert {"record_stage.py", "buildspec-record-stage.yml"} <= set(artifacts)
    assert (SEED / "buildspec-record-stage.yml").exists() and (SEED / "record_stage.py").exists()


# --- Stage mode: the rules ---------------------------------------------------------------------


def event(group="churn-p-abc123", approval="Approved", stage="Staging", status="Approved"):
    """A model package state change as SageMaker sends it (ModelLifeCycle in the detail: see
    generator/blocks/lifecycle.py for what is inferred)."""
    detail = {"ModelPackageGroupName": group, "ModelPackageVersion": 3, "ModelApprovalStatus": approval,
              "ModelPackageArn": f"arn:aws:sagemaker:us-east-1:111111111111:model-package/{group}/3"}
    if stage:
        detail["ModelLifeCycle"] = {"Stage": stage, "StageStatus": status, "StageDescription": "why"}
    return {"source": "aws.sagemaker", "detail-type": "SageMaker Model Package State Change", "detail": detail}


def rule_pattern(product, template, logical_id, mode="LifecycleStage"):
    rules = resolved(product, template, mode)["Resources"]
    return rules[logical_id]["Properties"]["EventPattern"]


@pytest.mark.parametrize(("incoming", "starts"), [
    (event(), True),
    (event(stage="Production"), True),
    (event(status="Deployed"), False),  # the pipeline's own record
    (event(stage="Production", status="Deployed"), False),
    (event(approval="PendingManualApproval"), False),  # promoted before approval: waits for it
    (event(stage="Development", status="InProgress"), False),  # registered
    (event(stage=None), False),  # approval without a lifecycle stage
    (event(group="fraud-p-abc123"), False),
])
def test_promotions_of_approved_versions_start_the_pipeline(product, template, incoming, starts):
    assert pattern_matches(rule_pattern(product, template, "ModelStageTrigger"), incoming) is starts


def test_rejections_start_it_too_and_approvals_alone_do_not(product, template):
    rejection = rule_pattern(product, template, "ModelRejectionTrigger")
    assert pattern_matches(rejection, event(approval="Rejected", stage="Production", status="Deployed"))
    assert not pattern_matches(rejection, event())
    for logical_id in ("ModelStageTrigger", "ModelRejectionTrigger"):
        assert not pattern_matches(rule_pattern(product, template, logical_id), event(stage=None))


def test_approval_mode_rule_is_unchanged(product, template):
    pattern = rule_pattern(product, template, "ModelApprovalTrigger", mode="Approval")
    assert pattern["detail"] == {"ModelPackageGroupName": ["churn-p-abc123"],
                                 "ModelApprovalStatus": ["Approved", "Rejected"]}
    assert pattern_matches(pattern, event(stage=None)) and pattern_matches(pattern, event(approval="Rejected"))


def test_stage_rules_target_the_pipeline_with_the_events_role(template):
    for logical_id in ("ModelStageTrigger", "ModelRejectionTrigger"):
        rule = template["Resources"][logical_id]
        assert rule["Condition"] == "PromotesOnLifecycleStage"
        (target,) = rule["Properties"]["Targets"]
        approval_target = template["Resources"]["ModelApprovalTrigger"]["Properties"]["Targets"][0]
        assert target == approval_target


def test_the_pipeline_record_never_matches_whatever_the_other_fields(product, template):
    """Loop guard: whatever else an event carries, StageStatus Deployed does not start a run."""
    pattern = rule_pattern(product, template, "ModelStageTrigger")
    noisy = copy.deepcopy(event(stage="Production", status="Deployed"))
    noisy["detail"]["UpdatedModelPackageFields"] = ["ModelLifeCycle"]
    assert not pattern_matches(pattern, noisy)


# --- The README's promotion walkthrough, checked against the API model and the rules -------------

README_SECTION = "### Promoting a model by lifecycle stage"
CLI_GLOBALS = {"--query", "--output", "--region", "--profile"}


def readme_commands() -> list[tuple[str, dict]]:
    """(operation, request) of every `aws sagemaker` command of the section's sh blocks, with the
    shell variables it assigns (VERSION_ARN stands for a version of GROUP)."""
    section = (ROOT / "README.md").read_text().split(README_SECTION, 1)[1].split("\n### ", 1)[0]
    lines = [line for block in re.findall(r"```sh\n(.*?)```", section, re.S) for line in block.splitlines()]
    client = boto3.client("sagemaker", region_name="us-east-1")
    variables: dict[str, str] = {}
    found = []
    for line in lines:
        assignment = re.fullmatch(r"(\w+)=(\S+)", line)
        if assignment and not assignment.group(2).startswith("$("):
            variables[assignment.group(1)] = assignment.group(2)
            continue
        command = line.split("$(", 1)[1].rstrip(")") if "=$(" in line else line
        variables.setdefault("VERSION_ARN", f"arn:aws:sagemaker:us-east-1:111111111111:model-package/"
                                            f"{variables.get('GROUP', 'x')}/3")
        words = shlex.split(re.sub(r"\$(\w+)", lambda m: variables.get(m.group(1), m.group(0)), command))
        assert words[:2] == ["aws", "sagemaker"], line
        operation = client.meta.method_to_api_mapping[words[2].replace("-", "_")]
        shape = client.meta.service_model.operation_model(operation).input_shape
        flags = {f"--{xform_name(name, '-')}": (name, member) for name, member in shape.members.items()}
        request, rest = {}, words[3:]
        for flag, value in zip(rest[::2], rest[1::2], strict=True):
            if flag in CLI_GLOBALS:
                continue
            assert flag in flags, f"{line}: {flag} is not a parameter of {operation}"
            name, member = flags[flag]
            request[name] = json.loads(value) if member.type_name == "structure" else (
                int(value) if member.type_name == "integer" else value)
        found.append((operation, request))
    return found


def test_the_readme_commands_are_valid_requests():
    from tests.hub.service_model import request_violations

    client = boto3.client("sagemaker", region_name="us-east-1")
    commands = readme_commands()
    assert [op for op, _ in commands] == ["ListModelPackages", "DescribeModelPackage", "UpdateModelPackage",
                                          "UpdateModelPackage", "UpdateModelPackage"]
    for operation, request in commands:
        assert request_violations(client, operation, request) == [], (operation, request)
    # the approval also approves the model card model-build registered as PendingReview
    [approval] = [r for _, r in commands if r.get("ModelApprovalStatus") == "Approved"]
    assert approval["ModelCard"] == {"ModelCardStatus": "Approved"}


def test_the_readme_promotions_start_the_pipeline_and_only_the_allowed_roles_may_make_them(product, template):
    from tests.hub.test_lifecycle import APPROVER, DATA_SCIENTIST, grants, sets

    promotions = [r for op, r in readme_commands() if "ModelLifeCycle" in r]
    assert [p["ModelLifeCycle"]["Stage"] for p in promotions] == ["Staging", "Production"]
    group = promotions[0]["ModelPackageArn"].split("/")[-2]
    rules = resolve(template, "111111111111", {**PROJECT, **PARAMETERS[product], "PromotionMode": "LifecycleStage",
                                               "SageMakerModelPackageGroupName": group})["Resources"]
    pattern = rules["ModelStageTrigger"]["Properties"]["EventPattern"]
    for promotion in promotions:
        lifecycle = promotion["ModelLifeCycle"]
        assert pattern_matches(pattern, event(group, "Approved", lifecycle["Stage"], lifecycle["StageStatus"]))
    # What the walkthrough says: the data scientist promotes to Staging, only the approver to Production.
    to_staging, to_production = ((p["ModelLifeCycle"]["Stage"], p["ModelLifeCycle"]["StageStatus"])
                                 for p in promotions)
    assert grants().check(sets(DATA_SCIENTIST, *to_staging)) == []
    assert grants().check(sets(DATA_SCIENTIST, *to_production))
    assert grants().check(sets(APPROVER, *to_production)) == []
