"""Service-managed StackSets deployed to OUs from a pipeline in a delegated-administrator account.

CodePipeline's own `CloudFormationStackSet` / `CloudFormationStackInstances` deploy actions only
work in the organization's management account: the CodePipeline user guide says "You must use
the AWS Organizations management account to deploy with AWS CloudFormation StackSets. You cannot
use a delegated administration account for this action", and the action has no `CallAs` setting
(aws-cloudformation/cloudformation-coverage-roadmap#796, open). A SageMaker project lives in a
data science account, which is at best a delegated administrator for StackSets.

So the pipeline deploys with a CodeBuild step that calls the StackSets API itself
(`seedcode/modeldeploy/deploy_stackset.py`, run by `buildspec-deploy-stackset.yml`) with
`CallAs=DELEGATED_ADMIN`, or `SELF` when the project does live in the management account. The
script always uses `PermissionModel: SERVICE_MANAGED` with automatic deployment to accounts that
join the OU, and deploys to the region it runs in (the pipeline's). The step's environment names
the rest: `STAGE`, `STACK_SET_NAME`, `ORGANIZATIONAL_UNIT_IDS`, `CALL_AS`, `EXPORT_TEMPLATE_NAME`.

What the management account must have done first (once per organization):
* all features enabled in AWS Organizations;
* trusted access for StackSets activated (`aws cloudformation activate-organizations-access`, or
  `aws organizations enable-aws-service-access --service-principal
  member.org.stacksets.cloudformation.amazonaws.com`);
* the data science account registered as a StackSets delegated administrator
  (`aws organizations register-delegated-administrator --service-principal
  member.org.stacksets.cloudformation.amazonaws.com --account-id <data science account>`).
Service-managed StackSets never deploy to the management account itself.
"""

from __future__ import annotations

from typing import Any

from troposphere import Parameter, Ref, Sub

from generator.blocks.project import project_name

CALL_AS = ["DELEGATED_ADMIN", "SELF"]
DEPLOY_BUILDSPEC = "buildspec-deploy-stackset.yml"


def call_as_parameter(name: str = "StackSetCallAs") -> Parameter:
    return Parameter(
        name, Type="String", AllowedValues=CALL_AS, Default="DELEGATED_ADMIN",
        Description="How this account calls the StackSets API: DELEGATED_ADMIN from an account "
        "registered as a StackSets delegated administrator, SELF from the management account.",
    )


def stack_set_name(stage: str) -> Sub:
    """`sagemaker-<name>-<id>-deploy-<stage>`: at most 10 + 32 + 1 + 20 + 8 + len(stage)."""
    return project_name(f"deploy-{stage}")


def stage_environment(stage: str, ou: str) -> dict[str, Any]:
    """One stage's deploy action: its StackSet and the OU (a parameter name) it deploys to. The
    script reads `<stage>-config-export.json` for the stack parameters and tags."""
    return {"STAGE": stage, "STACK_SET_NAME": stack_set_name(stage), "ORGANIZATIONAL_UNIT_IDS": Ref(ou)}
