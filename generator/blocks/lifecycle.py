"""Promotion by model lifecycle stage: a deploy project deploys to staging when a version's stage
becomes `Staging` (and it is Approved) and to prod when it becomes `Production`, and records the
stage it deployed; who may set `Production` is decided by IAM condition keys.

What this relies on (AWS):

* `ModelLifeCycle` = {Stage, StageStatus (both required, free strings of the EntityName pattern),
  StageDescription (0-1024 characters)} on CreateModelPackage, UpdateModelPackage,
  DescribeModelPackage and in ListModelPackages' summaries (botocore sagemaker 2017-07-24 service
  model; API reference API_ModelLifeCycle). ListModelPackages cannot filter by stage (its input has no
  such member): the build filters the summaries itself.
* Stage changes arrive as `SageMaker Model Package State Change` events (developer guide,
  model-registry-staging-construct-event-bridge). INFERENCE: that the event's detail carries
  `ModelLifeCycle` {Stage, StageStatus} beside `ModelApprovalStatus`, as DescribeModelPackage does
  (the guide's model package event example mirrors DescribeModelPackage's output; the guide shows
  no lifecycle payload). Only the start of a run depends on it: the build reads the registry again.
* IAM condition keys `sagemaker:ModelLifeCycle:stage` and `sagemaker:ModelLifeCycle:stageStatus`
  on `sagemaker:CreateModelPackage` and `sagemaker:UpdateModelPackage` (developer guide,
  model-registry-staging-construct-set-up, "Policy for a data scientist role").
* A negated condition operator (ArnNotEquals) on a key the request lacks is true (IAM user guide,
  reference_policies_elements_condition_operators); aws:PrincipalArn is in every request.
* A stage's entry condition with result SKIP skips the stage when its rules fail; only
  LambdaInvoke and VariableCheck rules may skip (CodePipeline user guide, stage-conditions;
  rule-reference-VariableCheck: Variable, Operator EQ|CONTAINS|MATCHES|NE, Value). A CodeBuild
  action's variables are the buildspec's `exported-variables`, under the action's Namespace.

This catalog's contract (stage names are strings AWS leaves to us):

* model-build registers a version at `Development`;
* a person promotes it: `Staging` or `Production` with StageStatus `Approved` (the deploy
  rule matches exactly that, so the pipeline's own record never starts it again);
* the deploy pipeline records `Deployed` with a description of where and which execution.
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import Condition, Equals, If, Not, Parameter, Ref, Sub, Tags, codebuild, codepipeline

from generator.blocks import cicd
from generator.blocks.crossaccount import action_environment
from generator.blocks.policy import Statement
from generator.blocks.project import project_name

PARAMETER = "PromotionMode"
APPROVAL = "Approval"
LIFECYCLE_STAGE = "LifecycleStage"
USES_STAGES = "PromotesOnLifecycleStage"
USES_APPROVAL = "PromotesOnApproval"

DEVELOPMENT, STAGING, PRODUCTION = "Development", "Staging", "Production"
PROMOTED = "Approved"  # StageStatus a person sets: promoted, to be deployed
DEPLOYED = "Deployed"  # StageStatus the pipeline records after deploying
STAGE_KEY = "sagemaker:ModelLifeCycle:stage"
STATUS_KEY = "sagemaker:ModelLifeCycle:stageStatus"
STAGE_WRITES = ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"]

BUILD_NAMESPACE = "BuildVariables"  # variables of seedcode/modeldeploy/buildspec.yml
RECORD_BUILDSPEC = "buildspec-record-stage.yml"
EXECUTION_ID = "#{codepipeline.PipelineExecutionId}"


# --- Parameter and conditions ---------------------------------------------------------------------


def promotion_mode_parameter() -> Parameter:
    return Parameter(
        PARAMETER, Type="String", AllowedValues=[APPROVAL, LIFECYCLE_STAGE], Default=APPROVAL,
        Description="Approval: every approved version goes to staging, then to prod after a manual approval. "
        "LifecycleStage: a version goes to staging when its model lifecycle stage becomes Staging (and it is "
        "approved), to prod when it becomes Production; the pipeline records the stage it deployed.",
    )


def add_conditions(template: Any) -> None:
    template.add_condition(USES_STAGES, Equals(Ref(PARAMETER), LIFECYCLE_STAGE))
    template.add_condition(USES_APPROVAL, Not(Condition(USES_STAGES)))


def when_staged(value: Any, otherwise: Any = None) -> If:
    """`value` when the project promotes by stage, else `otherwise` (nothing by default)."""
    return If(USES_STAGES, value, Ref("AWS::NoValue") if otherwise is None else otherwise)


# --- Events ---------------------------------------------------------------------------------------


def promotion_pattern(group_names: Any) -> dict[str, Any]:
    """An approved version of the group promoted to Staging or Production (not yet deployed)."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {
            "ModelPackageGroupName": group_names,
            "ModelApprovalStatus": ["Approved"],
            "ModelLifeCycle": {"Stage": [STAGING, PRODUCTION], "StageStatus": [PROMOTED]},
        },
    }


def promotion_rules(pipeline: Any, group_names: Any, role: Any, tags: Tags) -> list[Any]:
    """In stage mode: promotions start the pipeline, and so do rejections (the build then falls
    back to the newest version still approved at each stage)."""
    promoted = cicd.start_pipeline_rule(
        "ModelStageTrigger", Sub("sagemaker-${SageMakerProjectId}-model-stage"),
        "Starts the model-deploy pipeline when an approved model version is promoted to Staging or Production.",
        promotion_pattern(group_names), pipeline, role, tags,
    )
    rejected = cicd.start_pipeline_rule(
        "ModelRejectionTrigger", Sub("sagemaker-${SageMakerProjectId}-model-rejection"),
        "Starts the model-deploy pipeline when a model version is rejected.",
        cicd.model_package_state_pattern(group_names, ["Rejected"]), pipeline, role, tags,
    )
    for rule in (promoted, rejected):
        rule.Condition = USES_STAGES
    return [promoted, rejected]


# --- Pipeline -------------------------------------------------------------------------------------


def build_variables(action: codepipeline.Actions) -> codepipeline.Actions:
    """The build action, in stage mode, runs build.py by stage and exports its choice."""
    action.Namespace = when_staged(BUILD_NAMESPACE)
    # A plain JSON string: no ${} to substitute (cfn-lint W1020 for an Fn::Sub without variables).
    action.Configuration["EnvironmentVariables"] = when_staged(json.dumps(
        [{"name": "PROMOTION_MODE", "value": LIFECYCLE_STAGE, "type": "PLAINTEXT"}], separators=(",", ":")))
    return action


def skip_unless(variable: str, value: str, rule: str) -> codepipeline.BeforeEntryConditions:
    """Entry condition: the stage runs only when the build's `variable` equals `value`."""
    return codepipeline.BeforeEntryConditions(Conditions=[codepipeline.Condition(
        Result="SKIP",
        Rules=[codepipeline.RuleDeclaration(
            Name=rule,
            RuleTypeId=codepipeline.RuleTypeId(Category="Rule", Owner="AWS", Provider="VariableCheck", Version="1"),
            Configuration={"Variable": f"#{{{BUILD_NAMESPACE}.{variable}}}", "Operator": "EQ", "Value": value},
        )],
    )])


def skip_manual_approval(stage: codepipeline.Stages) -> codepipeline.Stages:
    """In stage mode the Production stage, which only allowed roles may set, is the approval."""
    stage.BeforeEntry = when_staged(skip_unless("PROMOTION_MODE", APPROVAL, "ApprovalModeOnly"))
    return stage


def deploy_prod_when_promoted(stage: codepipeline.Stages) -> codepipeline.Stages:
    """In stage mode prod deploys only while a version is at Production (build.py's DEPLOYS_PROD)."""
    stage.BeforeEntry = when_staged(skip_unless("DEPLOYS_PROD", "true", "AVersionIsAtProduction"))
    return stage


def record_project(role: Any, key: Any, tags: Tags) -> codebuild.Project:
    """record_stage.py: UpdateModelPackage ModelLifeCycle `Deployed` on the deployed version."""
    project = cicd.build_project(
        "ModelDeployRecordProject", project_name("modeldeploy-record"),
        "Records the model lifecycle stage a version was deployed to (UpdateModelPackage ModelLifeCycle).",
        role, key, {"PIPELINE_NAME": project_name("modeldeploy")}, tags,
        buildspec=RECORD_BUILDSPEC, timeout_minutes=15,
    )
    project.Condition = USES_STAGES
    return project


def record_action(name: str, project: Any, stage: str, lifecycle_stage: str, deployed_to: str) -> If:
    """A second action of a stage, in stage mode only: record `lifecycle_stage` on the version the
    stage deployed. `deployed_to` is an Fn::Sub text (it may name `${Parameters}`)."""
    return when_staged(cicd.codebuild_action(
        name, project, ["BuildArtifact"], run_order=2,
        EnvironmentVariables=action_environment({
            "STAGE": stage, "LIFECYCLE_STAGE": lifecycle_stage, "DEPLOYED_TO": deployed_to,
            "PIPELINE_EXECUTION_ID": EXECUTION_ID,
        }),
    ))


# --- IAM ------------------------------------------------------------------------------------------


def records_deployed_stages() -> Statement:
    """The pipeline role records `Deployed` at Staging or Production on this account's versions
    (a hub's versions are recorded by the hub: its group policy grants no UpdateModelPackage)."""
    return {
        "Sid": "RecordDeployedModelStages",
        "Effect": "Allow",
        "Action": ["sagemaker:UpdateModelPackage"],
        "Resource": Sub("arn:${AWS::Partition}:sagemaker:*:${AWS::AccountId}:model-package/*"),
        "Condition": {"StringEquals": {STAGE_KEY: [STAGING, PRODUCTION], STATUS_KEY: [DEPLOYED]}},
    }


def stage_guard(allowed_principals: Any) -> list[Statement]:
    """For the roles of people (Studio execution roles): set Development or Staging on this
    account's versions; never Production, nor the pipeline's `Deployed`, unless the caller is one of
    `allowed_principals` (role ARNs: the pipeline role, the production approver), so one policy can
    be attached to every Studio role, the approver's included."""
    writes = Sub("arn:${AWS::Partition}:sagemaker:*:${AWS::AccountId}:model-package/*")
    unless = {"ArnNotEquals": {"aws:PrincipalArn": allowed_principals}}
    return [
        {"Sid": "DevelopmentAndStagingStages", "Effect": "Allow", "Action": STAGE_WRITES, "Resource": writes,
         "Condition": {"StringEquals": {STAGE_KEY: [DEVELOPMENT, STAGING]}}},
        {"Sid": "ProductionOnlyByPipelineOrApprover", "Effect": "Deny", "Action": STAGE_WRITES, "Resource": "*",
         "Condition": {"StringEquals": {STAGE_KEY: [PRODUCTION]}, **unless}},
        {"Sid": "DeployedOnlyByPipelineOrApprover", "Effect": "Deny", "Action": STAGE_WRITES, "Resource": "*",
         "Condition": {"StringEquals": {STATUS_KEY: [DEPLOYED]}, **unless}},
    ]
