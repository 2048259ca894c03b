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
step's environment carries the same settings CodePipeline's action would take as configuration
(`STACK_SET_NAME`, `PERMISSION_MODEL`, `DEPLOYMENT_TARGETS`, `REGIONS`, ...).

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

PERMISSION_MODEL = "SERVICE_MANAGED"
CALL_AS = ["DELEGATED_ADMIN", "SELF"]
DEPLOY_BUILDSPEC = "buildspec-deploy-stackset.yml"
TEMPLATE_FILE = "endpoint-config-template.yml"


def call_as_parameter(name: str = "StackSetCallAs") -> Parameter:
    return Parameter(
        name, Type="String", AllowedValues=CALL_AS, Default="DELEGATED_ADMIN",
        Description="How this account calls the StackSets API: DELEGATED_ADMIN from an account "
        "registered as a StackSets delegated administrator, SELF from the management account.",
    )


def stack_set_name(stage: str) -> Sub:
    """`sagemaker-<name>-<id>-deploy-<stage>`: at most 10 + 32 + 1 + 20 + 8 + len(stage)."""
    return project_name(f"deploy-{stage}")


def parameters_file(stage: str) -> str:
    """The StackSet parameter list (`[{ParameterKey, ParameterValue}]`) the build writes."""
    return f"{stage}-params-export.json"


def deployment_environment(call_as: str, regions: Any = None) -> dict[str, Any]:
    """What every StackSet deployment of the project shares (the deploy project's environment).
    `call_as` is a parameter name; `regions` defaults to this region."""
    return {
        "PERMISSION_MODEL": PERMISSION_MODEL,
        "CALL_AS": Ref(call_as),
        "REGIONS": regions if regions is not None else Ref("AWS::Region"),
        "TEMPLATE_PATH": TEMPLATE_FILE,
        # New accounts moved into the OU get the endpoint; accounts leaving it lose theirs.
        "ORGANIZATIONS_AUTO_DEPLOYMENT": "Enabled",
    }


def stage_environment(stage: str, ou: str) -> dict[str, Any]:
    """What one stage's deploy action adds: its StackSet, its OU (a parameter name), its parameters."""
    return {
        "STAGE": stage,
        "STACK_SET_NAME": stack_set_name(stage),
        "DEPLOYMENT_TARGETS": Ref(ou),
        "PARAMETERS_PATH": parameters_file(stage),
    }
