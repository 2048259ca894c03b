"""Project roles: the launch role and the pipeline role the Studio products need in a data science
account. An admin product (ml-admin portfolio), deployed by platform engineers into every data
science account before the first project: per account, or as a StackSet to the data science OU
(one region only: IAM roles are global).

* `SageMakerProjectsLaunchRole` (`LaunchRoleName`): the `sagemaker-projects` portfolio's launch
  constraint names it (`local_role_name`), so Service Catalog creates the model-build,
  multi-account-deploy and cross-account-endpoint stacks with it. The AWS-managed
  `AmazonSageMakerServiceCatalogProductsLaunchRole` cannot create their KMS keys, bucket
  versioning and ownership controls, model package groups or event bus permissions. This role can
  do exactly what those templates' resources need (their CloudFormation handler permissions), on
  the names they give or, for generated names, on resources tagged with the project id; and read
  the seed-code zips in the catalog publisher's artifact bucket.
* `sagemaker-projects-pipeline-role` (`PipelineRoleName`): what the deploy projects' CodeBuild
  and CodePipeline run as by default (the AWS-managed UseRole has no sts:AssumeRole and no
  StackSets permissions): pipeline artifacts, CodeCommit and CodeBuild, SageMaker Pipelines and
  the model registry, StackSets named sagemaker-* holding endpoint resources only, and assuming
  `sagemaker-*-deployer` / `sagemaker-role-*` in the target accounts (target-account-bootstrap's
  roles, whose `PipelineRoleName` must name this role).
"""

from troposphere import Equals, GetAtt, Join, Not, Output, Parameter, Ref, Tags, Template, iam

from generator.blocks import projectroles
from generator.blocks.policy import policy_document
from generator.blocks.project import LAUNCH_ROLE, PIPELINE_ROLE, parameter_groups
from generator.product import Product

PRODUCT_NAME = "project-roles"
IAM_NAME = r"^[\w+=,.@-]{1,64}$"


def template() -> Template:
    t = Template(Description="The launch role and the pipeline role of the SageMaker projects of a data science "
                 "account (smcat project-roles).")

    # --- Parameters: the two role names, where the catalog's artifacts are, the execution role.
    t.add_parameter(Parameter(
        "LaunchRoleName", Type="String", Default=LAUNCH_ROLE, MinLength=1, MaxLength=64, AllowedPattern=IAM_NAME,
        Description="Name of the launch role. Must be the sagemaker-projects portfolio's launch constraint "
        "(local_role_name).", ConstraintDescription="an IAM role name (no path)",
    ))
    t.add_parameter(Parameter(
        "PipelineRoleName", Type="String", Default=PIPELINE_ROLE, MinLength=1, MaxLength=64, AllowedPattern=IAM_NAME,
        Description="Name of the role the projects' CodeBuild and CodePipeline run as (the deploy products' "
        "CodeBuildRole/CodePipelineRole default, and target-account-bootstrap's PipelineRoleName).",
        ConstraintDescription="an IAM role name (no path)",
    ))
    t.add_parameter(Parameter(
        "CatalogArtifactBucket", Type="String", MinLength=3, MaxLength=63,
        AllowedPattern=r"^[a-z0-9][a-z0-9.-]{2,62}[a-z0-9.*-]{0,60}$",
        Description="The catalog publisher's artifact bucket (publish --bucket), where the seed-code zips are. "
        "For one bucket per region (--bucket name-{region}) write the region as *: name-*.",
        ConstraintDescription="an S3 bucket name; * only after the first three characters",
    ))
    t.add_parameter(Parameter(
        "CatalogArtifactKeyArns", Type="CommaDelimitedList", Default="",
        AllowedPattern=r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]+)?$",
        Description="KMS keys of that bucket (publish --kms-key-id), comma-separated ARNs; blank for SSE-S3. "
        "Used only to decrypt, through S3.", ConstraintDescription="KMS key ARNs",
    ))
    t.add_parameter(Parameter(
        "ExecutionRoleNamePattern", Type="String", Default=projectroles.MANAGED_PROJECT_ROLES, MinLength=1,
        MaxLength=128, AllowedPattern=r"^([\w+=,.@*-]+/)*[\w+=,.@-][\w+=,.@*-]{0,63}$",
        Description="Name (with path; * allowed) of the SageMaker execution roles the pipeline role may pass to "
        "SageMaker Pipelines (model-build's SageMakerExecutionRole).",
        ConstraintDescription="an IAM role name or pattern, with its path",
    ))
    parameter_groups(t, {
        "Roles": ["LaunchRoleName", "PipelineRoleName"],
        "Catalog publisher": ["CatalogArtifactBucket", "CatalogArtifactKeyArns"],
        "SageMaker": ["ExecutionRoleNamePattern"],
    })
    t.add_condition("HasCatalogKeys", Not(Equals(Join("", Ref("CatalogArtifactKeyArns")), "")))

    tags = Tags({"smcat:product": PRODUCT_NAME})

    # --- The pipeline role: CodeBuild, CodePipeline and EventBridge of the projects. Not
    # SageMaker: Studio users may pass any role to SageMaker (AmazonSageMakerFullAccess), and this
    # one reaches the target accounts.
    pipeline_role = t.add_resource(iam.Role(
        "PipelineRole",
        RoleName=Ref("PipelineRoleName"),
        Description="CodeBuild, CodePipeline and EventBridge of the SageMaker projects: deploys to target accounts.",
        AssumeRolePolicyDocument=policy_document(projectroles.service_trust(*projectroles.LAUNCH_SERVICES)),
        Policies=[iam.Policy(PolicyName="sagemaker-project-pipelines", PolicyDocument=policy_document(
            *projectroles.pipeline_sources_and_builds(),
            *projectroles.pipeline_artifacts(),
            *projectroles.pipeline_sagemaker("ExecutionRoleNamePattern"),
            *projectroles.pipeline_cross_account(),
            *projectroles.pipeline_stack_sets(),
        ))],
        Tags=tags,
    ))

    # --- The launch role: Service Catalog only.
    launch_role = t.add_resource(iam.Role(
        "LaunchRole",
        RoleName=Ref("LaunchRoleName"),
        Description="Launch constraint of the SageMaker project templates: creates their stacks' resources.",
        AssumeRolePolicyDocument=policy_document(projectroles.service_trust("servicecatalog.amazonaws.com")),
        Policies=[iam.Policy(PolicyName="launch-sagemaker-projects", PolicyDocument=policy_document(
            *projectroles.service_catalog_stacks(),
            *projectroles.template_and_seed_reads("CatalogArtifactBucket", "CatalogArtifactKeyArns", "HasCatalogKeys"),
            *projectroles.project_keys(),
            *projectroles.project_buckets(),
            *projectroles.project_cicd(),
            *projectroles.project_model_groups(),
            *projectroles.pass_project_roles(GetAtt(pipeline_role, "Arn")),
        ))],
        Tags=tags,
    ))

    # --- Outputs
    t.add_output([
        Output("LaunchRoleName", Description="The sagemaker-projects portfolio's launch constraint (local_role_name).",
               Value=Ref(launch_role)),
        Output("LaunchRoleArn", Description="ARN of the launch role.", Value=GetAtt(launch_role, "Arn")),
        Output("PipelineRoleName", Description="Default CodeBuildRole/CodePipelineRole of the deploy products; "
               "target-account-bootstrap's PipelineRoleName.", Value=Ref(pipeline_role)),
        Output("PipelineRoleArn", Description="ARN of the pipeline role.", Value=GetAtt(pipeline_role, "Arn")),
    ])
    return t


PRODUCT = Product(
    name=PRODUCT_NAME,
    description="The roles SageMaker projects need in a data science account: the launch role of the "
    "sagemaker-projects portfolio (KMS keys, buckets, repositories, pipelines, model package groups of the "
    "project templates) and the pipeline role their cross-account deployments run as. Deploy into every data "
    "science account (or as a StackSet to their OU, one region) before the first project.",
    owner="ML platform team",
    version="1.0.0",
    studio_project=False,
    template=template,
    test_parameters={"CatalogArtifactBucket": "$[taskcat_autobucket]"},
)
