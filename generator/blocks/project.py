"""The SageMaker project contract: the two parameters Studio fills in, and the project tags."""

from __future__ import annotations

from troposphere import Parameter, Ref, Sub, Tags, Template

# The CreateProject API's own limits (botocore model), narrowed to lowercase: SageMaker writes
# names lowercased into ARNs (model-package-group/<name>), so policies built from a mixed-case
# name would match nothing; and the id goes into S3 bucket names. Studio only ever generates ids
# of the form p-<12 lowercase>.
PROJECT_NAME_MAX = 32
PROJECT_ID_MAX = 20
PROJECT_NAME_PATTERN = "^[a-z0-9](-*[a-z0-9]){0,31}$"
PROJECT_ID_PATTERN = "^[a-z0-9](-*[a-z0-9]){0,19}$"

PROJECT_NAME = "SageMakerProjectName"
PROJECT_ID = "SageMakerProjectId"

USE_ROLE = "service-role/AmazonSageMakerServiceCatalogProductsUseRole"
# The project-roles product's roles: the sagemaker-projects portfolio's launch constraint, and
# the role the deploy projects' CodeBuild and CodePipeline run as where the UseRole cannot
# (it has no sts:AssumeRole and no StackSets permissions).
LAUNCH_ROLE = "SageMakerProjectsLaunchRole"
PIPELINE_ROLE = "sagemaker-projects-pipeline-role"


def project_parameters() -> list[Parameter]:
    """`SageMakerProjectName` and `SageMakerProjectId`, with the API's lengths and patterns."""
    name = Parameter(
        PROJECT_NAME,
        Type="String",
        Description="Name of the project (filled in by SageMaker Studio).",
        MinLength=1,
        MaxLength=PROJECT_NAME_MAX,
        AllowedPattern=PROJECT_NAME_PATTERN,
        ConstraintDescription="1-32 lowercase letters, digits and hyphens, not at either end "
        "(SageMaker lowercases names in ARNs, so this template's policies need lowercase names).",
    )
    project_id = Parameter(
        PROJECT_ID,
        Type="String",
        Description="Service-generated id of the project (filled in by SageMaker Studio).",
        MinLength=1,
        MaxLength=PROJECT_ID_MAX,
        AllowedPattern=PROJECT_ID_PATTERN,
        ConstraintDescription="1-20 lowercase letters, digits and hyphens, not at either end.",
    )
    return [name, project_id]


def project_tags(**extra: str) -> Tags:
    """The tags SageMaker uses to list a project's resources, plus any extra ones."""
    return Tags({"sagemaker:project-name": Ref(PROJECT_NAME), "sagemaker:project-id": Ref(PROJECT_ID), **extra})


def project_name(suffix: str = "", prefix: str = "sagemaker-") -> Sub:
    """`sagemaker-<name>-<id>[-suffix]`: the prefix the launch role's managed policy allows."""
    tail = f"-{suffix}" if suffix else ""
    return Sub(f"{prefix}${{{PROJECT_NAME}}}-${{{PROJECT_ID}}}{tail}")


def role_parameter(name: str, purpose: str, default: str = USE_ROLE) -> Parameter:
    """The name (with path) of an existing role in this account, by default the products use role."""
    return Parameter(
        name,
        Type="String",
        Description=f"Name, with path, of the IAM role {purpose}.",
        Default=default,
        MinLength=1,
        MaxLength=512,
        AllowedPattern=r"^([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$",
    )


def role_arn(role_parameter_name: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/${{{role_parameter_name}}}")


def mark_optional(template: Template, *parameters: str) -> None:
    """Tells Studio which parameters may be left blank in its create-project form."""
    rules = template.metadata.setdefault("SagemakerTemplateParameterRules", {})
    for name in parameters:
        rules[name] = {"Optional": True}


def parameter_groups(template: Template, groups: dict[str, list[str]]) -> None:
    """Orders the console's form: `AWS::CloudFormation::Interface` parameter groups."""
    template.metadata["AWS::CloudFormation::Interface"] = {
        "ParameterGroups": [{"Label": {"default": label}, "Parameters": names} for label, names in groups.items()]
    }
