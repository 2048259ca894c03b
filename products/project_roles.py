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
  the names they give or, for generated names, on resources tagged with the project id, and pass
  the account's connections tagged `sagemaker=true` to CodePipeline (the CodeConnections mode); and
  read the seed-code zips in the catalog publisher's artifact bucket.
* `SageMakerProjectsS3LaunchRole` (`S3LaunchRoleName`, with `CreateS3LaunchRole` true, the
  default): the launch role of projects created from the S3 templates (the portfolio's
  `s3_templates.launch_role`, which Studio users give as the project's Role ARN). CloudFormation
  (and only CloudFormation) assumes it for the `SP-...` stacks; it can do to the projects'
  resources exactly what the Service Catalog launch role can (the same statements), and read the
  seed-code zips in the catalog's artifact bucket and under the templates location.
* `sagemaker-projects-s3-templates-user` (with a `TemplatesLocation`): the managed policy Studio
  execution roles need to start projects from the S3 templates: pass that launch role to
  CloudFormation only, create, update and delete `SP-...` stacks only with it as their service
  role, the SageMaker project calls, and reading (and listing) the tagged templates. Attached to
  `TemplateUserRoleNames`, or only created.
* `sagemaker-projects-pipeline-role` (`PipelineRoleName`): what the deploy projects' CodeBuild
  and CodePipeline run as by default (the AWS-managed UseRole has no sts:AssumeRole and no
  StackSets permissions): pipeline artifacts, CodeCommit or a CodeConnections connection (tagged
  `sagemaker=true`) and CodeBuild, SageMaker Pipelines and
  the model registry, StackSets named sagemaker-* holding endpoint resources only, and assuming
  `sagemaker-*-deployer` / `sagemaker-role-*` in the target accounts (target-account-bootstrap's
  roles, whose `PipelineRoleName` must name this role). It may record the model lifecycle stage
  it deployed (`Staging` or `Production` with status `Deployed`, deploy projects with
  `PromotionMode` `LifecycleStage`).
* `sagemaker-projects-model-lifecycle`: the managed policy for the roles of people (Studio execution
  roles, attached to `ModelLifecycleUserRoleNames`): they may set the stages `Development` and
  `Staging`; `Production` (and the pipeline's `Deployed`) only the pipeline role and
  `ProductionApproverRoleArn` may set (condition keys `sagemaker:ModelLifeCycle:stage` and
  `:stageStatus`; see generator/blocks/lifecycle.py).
"""

from troposphere import (
    And,
    Condition,
    Equals,
    GetAtt,
    If,
    Join,
    Not,
    Output,
    Parameter,
    Ref,
    Tags,
    Template,
    iam,
)

from generator.blocks import hub, lifecycle, projectroles
from generator.blocks.policy import policy_document
from generator.blocks.project import LAUNCH_ROLE, PIPELINE_ROLE, parameter_groups
from generator.product import Product

PRODUCT_NAME = "project-roles"
IAM_NAME = r"^[\w+=,.@-]{1,64}$"
S3_LAUNCH_ROLE = "SageMakerProjectsS3LaunchRole"
S3_TEMPLATES_USER_POLICY = "sagemaker-projects-s3-templates-user"
LOCATION = "TemplatesLocation"
USERS = "TemplateUserRoleNames"
# Model lifecycle stages (generator/blocks/lifecycle.py): who may set Production.
LIFECYCLE_POLICY = "sagemaker-projects-model-lifecycle"
LIFECYCLE_USERS = "ModelLifecycleUserRoleNames"
APPROVER = "ProductionApproverRoleArn"


def template() -> Template:
    t = Template(Description="The launch roles (Service Catalog and S3 templates), the S3 templates user policy "
                 "and the pipeline role of the SageMaker projects of a data science account (smcat project-roles).")

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
    t.add_parameter(Parameter(
        "CreateS3LaunchRole", Type="String", Default="true", AllowedValues=["true", "false"],
        Description="Create the launch role of projects from S3 templates (publish_to: s3).",
    ))
    t.add_parameter(Parameter(
        "S3LaunchRoleName", Type="String", Default=S3_LAUNCH_ROLE, MinLength=1, MaxLength=64, AllowedPattern=IAM_NAME,
        Description="Name of the launch role of projects from S3 templates: the portfolio's s3_templates.launch_role, "
        "the Role ARN Studio users give (CloudFormation runs the SP- stacks as it).",
        ConstraintDescription="an IAM role name (no path)",
    ))
    t.add_parameter(Parameter(
        LOCATION, Type="String", Default="", MaxLength=256, AllowedPattern=projectroles.TEMPLATES_LOCATION_PATTERN,
        Description="Where the S3 templates are: s3://<bucket>/<prefix>/, the value of the domains' "
        "sagemaker:projectS3TemplatesLocation tag. Blank: no user policy.",
        ConstraintDescription=f"blank, s3://<bucket>/ or s3://<bucket>/<prefix>/ (at most "
        f"{projectroles.PREFIX_SEGMENTS} prefix levels, no *)",
    ))
    t.add_parameter(Parameter(
        USERS, Type="CommaDelimitedList", Default="", AllowedPattern=r"^([\w+=.@-]{1,64})?$",
        Description="Roles of this account (names, without path; Studio execution roles) the S3 templates user "
        "policy is attached to. Blank: only create the policy.",
        ConstraintDescription="IAM role names (without path), comma-separated, or blank",
    ))
    t.add_parameter(Parameter(
        LIFECYCLE_USERS, Type="CommaDelimitedList", Default="", AllowedPattern=r"^([\w+=.@-]{1,64})?$",
        Description="Roles of this account (names, without path; Studio execution roles, the approver's too, and "
        "AmazonSageMakerServiceCatalogProductsUseRole, which model-build's pipeline steps run as) the "
        f"model lifecycle policy ({LIFECYCLE_POLICY}) is attached to: they may set the stages Development and "
        "Staging, never Production (only the pipeline role and ProductionApproverRoleArn may). Blank: only create "
        "the policy.", ConstraintDescription="IAM role names (without path), comma-separated, or blank",
    ))
    t.add_parameter(Parameter(
        APPROVER, Type="String", Default="", MaxLength=512,
        AllowedPattern=r"^(arn:aws[a-z-]*:iam::\d{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64})?$",
        Description="ARN (with path) of the role that may promote model versions to the Production stage besides "
        "the pipeline role, e.g. a governance officer's Studio execution role. Blank: the pipeline role only.",
        ConstraintDescription="blank or an IAM role ARN",
    ))
    parameter_groups(t, {
        "Roles": ["LaunchRoleName", "PipelineRoleName"],
        "Model lifecycle stages": [LIFECYCLE_USERS, APPROVER],
        "Catalog publisher": ["CatalogArtifactBucket", "CatalogArtifactKeyArns"],
        "SageMaker": ["ExecutionRoleNamePattern"],
        "S3 templates": ["CreateS3LaunchRole", "S3LaunchRoleName", LOCATION, USERS],
    })
    t.add_condition("HasCatalogKeys", Not(Equals(Join("", Ref("CatalogArtifactKeyArns")), "")))
    t.add_condition("CreateS3LaunchRole", Equals(Ref("CreateS3LaunchRole"), "true"))
    for name, condition in projectroles.location_conditions(LOCATION).items():
        t.add_condition(name, condition)
    t.add_condition("CreateS3TemplatesUserPolicy", And(Condition("CreateS3LaunchRole"), Condition(f"Has{LOCATION}")))
    t.add_condition("HasTemplateUsers", hub.has_items(USERS))
    t.add_condition("HasLifecycleUsers", hub.has_items(LIFECYCLE_USERS))
    t.add_condition("HasProductionApprover", Not(Equals(Ref(APPROVER), "")))
    # What the conditions would otherwise drop silently.
    t.add_rule("TemplateUsersNeedTheLocation", {
        "RuleCondition": Not({"Fn::EachMemberEquals": [Ref(USERS), ""]}),
        "Assertions": [{"Assert": Not(Equals(Ref(LOCATION), "")),
                        "AssertDescription": f"{USERS} needs {LOCATION}: the user policy reads the templates there."}],
    })
    t.add_rule("TwoLaunchRoles", {
        "RuleCondition": Equals(Ref("CreateS3LaunchRole"), "true"),
        "Assertions": [{"Assert": Not(Equals(Ref("S3LaunchRoleName"), Ref("LaunchRoleName"))),
                        "AssertDescription": "S3LaunchRoleName must differ from LaunchRoleName: Service Catalog and "
                        "CloudFormation each trust their own launch role."}],
    })
    t.add_rule("TemplatesNeedTheS3LaunchRole", {
        "RuleCondition": Not(Equals(Ref(LOCATION), "")),
        "Assertions": [{"Assert": Equals(Ref("CreateS3LaunchRole"), "true"),
                        "AssertDescription": f"{LOCATION} needs CreateS3LaunchRole true: the user policy passes "
                        "that role."}],
    })

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
            *projectroles.pipeline_connections(),
            # The CodeConnections seeding build (when a deploy project's CodeBuildRole is this role)
            # reads the seed zip where the launch roles read it for CodeCommit.
            *projectroles.seed_reads("CatalogArtifactBucket", "CatalogArtifactKeyArns", "HasCatalogKeys"),
            *projectroles.template_location_reads(LOCATION, f"Has{LOCATION}"),
            *projectroles.pipeline_artifacts(),
            *projectroles.pipeline_sagemaker("ExecutionRoleNamePattern"),
            *projectroles.pipeline_cross_account(),
            *projectroles.pipeline_stack_sets(),
            lifecycle.records_deployed_stages(),
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
            *projectroles.project_resources(GetAtt(pipeline_role, "Arn")),
        ))],
        Tags=tags,
    ))

    # --- The S3 launch role: CloudFormation only, for the SP- stacks of projects from S3 templates
    # (the CloudFormation service role; CloudFormation documents no aws:SourceAccount for stack
    # service roles, and iam:PassRole cannot pass a role to another account's stacks).
    s3_launch_role = t.add_resource(iam.Role(
        "S3LaunchRole",
        Condition="CreateS3LaunchRole",
        RoleName=Ref("S3LaunchRoleName"),
        Description="Launch role of the SageMaker projects from S3 templates: CloudFormation creates their SP- "
        "stacks' resources with it.",
        AssumeRolePolicyDocument=policy_document(projectroles.service_trust(projectroles.CLOUDFORMATION)),
        Policies=[iam.Policy(PolicyName="launch-sagemaker-projects-s3", PolicyDocument=policy_document(
            *projectroles.s3_template_stacks(),
            *projectroles.seed_reads("CatalogArtifactBucket", "CatalogArtifactKeyArns", "HasCatalogKeys"),
            *projectroles.template_location_reads(LOCATION, f"Has{LOCATION}"),
            *projectroles.project_resources(GetAtt(pipeline_role, "Arn")),
        ))],
        Tags=tags,
    ))

    # --- What Studio execution roles need to start projects from the S3 templates.
    user_policy = t.add_resource(iam.ManagedPolicy(
        "S3TemplatesUserPolicy",
        Condition="CreateS3TemplatesUserPolicy",
        ManagedPolicyName=S3_TEMPLATES_USER_POLICY,
        Description="Start SageMaker projects from the S3 templates: pass the S3 launch role to CloudFormation, "
        "SP- stacks with that role only, read the templates.",
        PolicyDocument=policy_document(*projectroles.s3_template_user(GetAtt(s3_launch_role, "Arn"), LOCATION)),
        Roles=If("HasTemplateUsers", Ref(USERS), Ref("AWS::NoValue")),
    ))

    # --- Model lifecycle stages: people set Development or Staging; Production only the pipeline
    # role (its record of a deployment) and the named approver.
    lifecycle_policy = t.add_resource(iam.ManagedPolicy(
        "ModelLifecyclePolicy",
        ManagedPolicyName=LIFECYCLE_POLICY,
        Description="Model lifecycle stages: Development and Staging; Production only by the pipeline role or "
        "the production approver.",
        PolicyDocument=policy_document(*lifecycle.stage_guard([
            GetAtt(pipeline_role, "Arn"), If("HasProductionApprover", Ref(APPROVER), Ref("AWS::NoValue")),
        ])),
        Roles=If("HasLifecycleUsers", Ref(LIFECYCLE_USERS), Ref("AWS::NoValue")),
    ))

    # --- Outputs
    t.add_output([
        Output("LaunchRoleName", Description="The sagemaker-projects portfolio's launch constraint (local_role_name).",
               Value=Ref(launch_role)),
        Output("LaunchRoleArn", Description="ARN of the launch role.", Value=GetAtt(launch_role, "Arn")),
        Output("PipelineRoleName", Description="Default CodeBuildRole/CodePipelineRole of the deploy products; "
               "target-account-bootstrap's PipelineRoleName.", Value=Ref(pipeline_role)),
        Output("PipelineRoleArn", Description="ARN of the pipeline role.", Value=GetAtt(pipeline_role, "Arn")),
        Output("S3LaunchRoleArn", Condition="CreateS3LaunchRole", Value=GetAtt(s3_launch_role, "Arn"),
               Description="The launch role of projects from S3 templates: the Role ARN Studio users give."),
        Output("ModelLifecyclePolicyArn", Value=Ref(lifecycle_policy),
               Description="The managed policy that keeps Studio execution roles from setting the Production stage."),
        Output("S3TemplatesUserPolicyArn", Condition="CreateS3TemplatesUserPolicy", Value=Ref(user_policy),
               Description="The managed policy Studio execution roles need for the S3 templates."),
    ])
    return t


PRODUCT = Product(
    name=PRODUCT_NAME,
    description="The roles SageMaker projects need in a data science account: the launch role of the "
    "sagemaker-projects portfolio (KMS keys, buckets, repositories, pipelines, model package groups of the "
    "project templates), the launch role and the Studio users' policy of projects from S3 templates, and the "
    "pipeline role their cross-account deployments run as. Deploy into every data science account (or as a "
    "StackSet to their OU, one region) before the first project.",
    owner="ML platform team",
    version="1.0.0",
    studio_project=False,
    template=template,
    test_parameters={"CatalogArtifactBucket": "$[taskcat_autobucket]"},
)
