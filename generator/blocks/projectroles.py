"""The two roles SageMaker projects of this catalog need in a data science account.

* The **launch role** (the `sagemaker-projects` portfolio's launch constraint, `LocalRoleName`):
  Service Catalog assumes it and CloudFormation creates the project stacks' resources with its
  credentials. The AWS-managed launch role (`AmazonSageMakerServiceCatalogProductsLaunchRole`)
  cannot: its policy has no KMS actions, no `s3:PutBucketVersioning` or
  `s3:PutBucketOwnershipControls`, no `sagemaker:CreateModelPackageGroup`, no
  `events:PutPermission`. The statements below follow the CloudFormation handler permissions
  (the provider schemas shipped with cfn-lint) of each resource type the three Studio templates
  create, for the properties they set, scoped by the names the templates give
  (`sagemaker-...`, stacks `SC-...`) or, where names are generated, by the project tag.
* The **S3 launch role** (S3-mode projects: SageMaker's `CfnTemplateProvider.RoleARN`):
  CloudFormation assumes it for the `SP-...` stacks Studio users start from templates in S3. It can
  do exactly what the Service Catalog launch role does to the projects' resources (the same
  statement builders, `project_resources`), on `SP-...` stacks instead of `SC-...`, and without
  Service Catalog's provisioning-template read.
* The **S3 templates user policy**: what a Studio execution role needs to start projects from
  those templates: pass the S3 launch role to CloudFormation only, run `SP-...` stacks only with
  that role (`cloudformation:RoleArn`), the SageMaker project calls, and reading the templates.
* The **pipeline role**: what the projects' CodeBuild, CodePipeline and EventBridge run as where
  the AWS-managed `AmazonSageMakerServiceCatalogProductsUseRole` cannot do the job: it has no
  `sts:AssumeRole` (cross-account deploy and test) and no StackSets permissions.
* **CodeConnections** (projects on GitHub, GitLab or Bitbucket): the launch roles pass the
  account's connections to CodePipeline only; the pipeline role uses them (the pipelines' source
  actions, the seeding build). Only connections tagged `sagemaker=true`, as in the AWS-managed
  project roles' own statements. See `pass_connections` and `pipeline_connections`.

Statements are plain dicts (see generator/blocks/policy.py). Every `Resource: "*"` is an action
without resource-level permissions or a read; each says why.
"""

from __future__ import annotations

from typing import Any

from troposphere import Equals, If, Join, Not, Ref, Select, Split, Sub

from generator.blocks.policy import Statement, when

PROJECT_ID_TAG = "sagemaker:project-id"
LAUNCH_SERVICES = ["codebuild.amazonaws.com", "codepipeline.amazonaws.com", "events.amazonaws.com"]
# Roles the launch role may pass: the AWS-managed project roles (UseRole and the split roles of
# newer accounts) and this product's pipeline role.
MANAGED_PROJECT_ROLES = "service-role/AmazonSageMakerServiceCatalogProducts*"
# Roles in other accounts the pipelines assume (target-account-bootstrap's names).
DEPLOYER_ROLES = "sagemaker-*-deployer"
TESTER_ROLES = "sagemaker-*-tester"
# Resource types the endpoint StackSets may hold (seedcode/modeldeploy/endpoint-config-template.yml).
STACK_SET_RESOURCE_TYPES = ["AWS-SageMaker-*", "AWS-CloudWatch-*", "AWS-ApplicationAutoScaling-*"]


def arn(service: str, resource: str, region: str = "*", account: str = "${AWS::AccountId}") -> Sub:
    """`arn:<partition>:<service>:<region>:<account>:<resource>`; any region by default: IAM is
    global, and the same role serves projects in every region the catalog is published to."""
    return Sub(f"arn:${{AWS::Partition}}:{service}:{region}:{account}:{resource}")


def allow(sid: str, actions: list[str], resources: Any, condition: dict | None = None) -> Statement:
    statement: Statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def tag_present(kind: str) -> dict[str, Any]:
    """Condition: the request (`RequestTag`) or the resource (`ResourceTag`) has the project id tag."""
    return {"Null": {f"aws:{kind}/{PROJECT_ID_TAG}": "false"}}


def service_trust(*services: str) -> Statement:
    return {"Effect": "Allow", "Principal": {"Service": list(services)}, "Action": "sts:AssumeRole"}


# --- The launch role ---------------------------------------------------------------------------

# The project buckets: sagemaker-<project id>-<account>-<region> (generator/blocks/storage.py).
PROJECT_BUCKETS = "arn:${AWS::Partition}:s3:::sagemaker-*-${AWS::AccountId}-*"


# Stack name prefixes: Service Catalog names provisioned products' stacks SC-<account>-pp-<id>;
# SageMaker names the stacks of projects from S3 templates SP-<...> (the prefix AWS's S3-template
# samples scope their policies to; issue 11 facts, section 6).
SERVICE_CATALOG_STACKS = "SC-"
S3_TEMPLATE_STACKS = "SP-"
LAUNCH_STACK_ACTIONS = [
    "cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DeleteStack",
    "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResource", "cloudformation:DescribeStackResources",
    "cloudformation:GetTemplate", "cloudformation:TagResource", "cloudformation:UntagResource",
]


def _launch_stacks(sid: str, prefix: str) -> list[Statement]:
    return [
        allow(sid, LAUNCH_STACK_ACTIONS, arn("cloudformation", f"stack/{prefix}*/*")),
        # Read-only; ValidateTemplate has no resource type and GetTemplateSummary reads the
        # template it is given.
        allow("ValidateTemplates", ["cloudformation:GetTemplateSummary", "cloudformation:ValidateTemplate"], "*"),
    ]


def service_catalog_stacks() -> list[Statement]:
    """The provisioned products' stacks (Service Catalog names them SC-<account>-pp-<id>)."""
    return _launch_stacks("ServiceCatalogStacks", SERVICE_CATALOG_STACKS)


def s3_template_stacks() -> list[Statement]:
    """The stacks of projects created from S3 templates (SP-...)."""
    return _launch_stacks("SageMakerProjectStacks", S3_TEMPLATE_STACKS)


def provisioning_template_reads() -> list[Statement]:
    """Service Catalog's copies of the templates, tagged servicecatalog:provisioning=true, in its
    own buckets (Service Catalog's documented launch-role statement: they are not ours to name)."""
    return [allow("ReadProvisioningTemplates", ["s3:GetObject"], "*",
                  {"StringEquals": {"s3:ExistingObjectTag/servicecatalog:provisioning": "true"}})]


def seed_reads(bucket_parameter: str, keys_parameter: str, keys_condition: str) -> list[Any]:
    """The seed-code zips the repositories are created from (in the publisher's artifact bucket,
    which must let this role read them: see the README), decrypted through S3 only."""
    return [
        allow("ReadSeedCode", ["s3:GetObject", "s3:GetObjectVersion"],
              Sub(f"arn:${{AWS::Partition}}:s3:::${{{bucket_parameter}}}/*")),
        when(keys_condition, allow("DecryptSeedCode", ["kms:Decrypt"], Ref(keys_parameter),
                                   {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}})),
    ]


def template_and_seed_reads(bucket_parameter: str, keys_parameter: str, keys_condition: str) -> list[Any]:
    """The Service Catalog launch role's reads: the provisioning templates and the seed code."""
    return [*provisioning_template_reads(), *seed_reads(bucket_parameter, keys_parameter, keys_condition)]


def project_resources(pipeline_role_arn: Any) -> list[Statement]:
    """Everything the Studio templates' resources need (their handler permissions): the same for
    both launch roles, so that they cannot drift apart."""
    return [
        *project_keys(),
        *project_buckets(),
        *project_cicd(),
        *project_model_groups(),
        *project_code_repositories(),
        *project_functions(),
        *pass_project_roles(pipeline_role_arn),
        *pass_connections(),
    ]


def project_keys() -> list[Statement]:
    """Customer-managed keys and their `alias/sagemaker-...` aliases. Keys have generated ids, so
    they are scoped by the project tag the templates put on them (passed to CreateKey)."""
    keys = arn("kms", "key/*")
    return [
        # CreateKey has no resource type: the key does not exist yet. Only tagged keys.
        allow("CreateProjectKeys", ["kms:CreateKey"], "*", tag_present("RequestTag")),
        # Tagging in CreateKey needs kms:TagResource "not restricted to particular KMS keys" (KMS
        # developer guide, controlling access to tags): every key of the account, but only with the
        # project tag in the request. PutKeyPolicy: CreateKey's policy lockout safety check asks
        # whether this role could put the new key's policy; a real PutKeyPolicy request carries no
        # tags, so this statement grants it nothing (ManageProjectKeys does, on tagged keys).
        allow("TagProjectKeysOnCreate", ["kms:TagResource", "kms:PutKeyPolicy"], keys, tag_present("RequestTag")),
        allow("ManageProjectKeys", [
            "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags",
            "kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:UpdateKeyDescription",
            "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
            # An alias operation is authorized on the key as well as on the alias.
            "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias",
        ], keys, tag_present("ResourceTag")),
        allow("ProjectKeyAliases", ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"],
              arn("kms", "alias/sagemaker-*")),
        # Read-only, no resource type.
        allow("ListAliases", ["kms:ListAliases"], "*"),
    ]


def project_buckets() -> list[Statement]:
    """Versioned, SSE-KMS, public-access-blocked, owner-enforced buckets with a bucket policy."""
    buckets = Sub(PROJECT_BUCKETS)
    return [
        allow("ProjectBuckets", [
            "s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:GetBucketAcl",
            "s3:PutBucketTagging", "s3:GetBucketTagging", "s3:TagResource", "s3:UntagResource",
            "s3:ListTagsForResource",
            "s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration",
            "s3:PutBucketVersioning", "s3:GetBucketVersioning",
            "s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock",
            "s3:PutBucketOwnershipControls", "s3:GetBucketOwnershipControls",
            "s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy",
        ], buckets),
        # The read handler describes every configuration, set or not.
        allow("ReadProjectBucketConfiguration", [
            "s3:GetAccelerateConfiguration", "s3:GetAnalyticsConfiguration", "s3:GetBucketAbac", "s3:GetBucketCORS",
            "s3:GetBucketLogging", "s3:GetBucketNotification", "s3:GetBucketObjectLockConfiguration",
            "s3:GetBucketWebsite", "s3:GetInventoryConfiguration", "s3:GetIntelligentTieringConfiguration",
            "s3:GetLifecycleConfiguration", "s3:GetBucketMetadataTableConfiguration", "s3:GetMetricsConfiguration",
            "s3:GetReplicationConfiguration",
        ], buckets),
    ]


def project_cicd() -> list[Statement]:
    """Repositories, CodeBuild projects, pipelines and rules named sagemaker-..."""
    return [
        allow("ProjectRepositories", [
            "codecommit:CreateRepository", "codecommit:DeleteRepository", "codecommit:GetRepository",
            "codecommit:CreateCommit", "codecommit:UpdateRepositoryName", "codecommit:UpdateRepositoryDescription",
            "codecommit:GetRepositoryTriggers", "codecommit:TagResource", "codecommit:UntagResource",
            "codecommit:ListTagsForResource",
        ], arn("codecommit", "sagemaker-*")),
        # Read-only, no resource type (the delete and read handlers list repositories).
        allow("ListRepositories", ["codecommit:ListRepositories"], "*"),
        allow("ProjectBuildProjects", [
            "codebuild:CreateProject", "codebuild:UpdateProject", "codebuild:DeleteProject",
            "codebuild:BatchGetProjects",
        ], arn("codebuild", "project/sagemaker-*")),
        allow("ProjectPipelines", [
            "codepipeline:CreatePipeline", "codepipeline:UpdatePipeline", "codepipeline:DeletePipeline",
            "codepipeline:GetPipeline", "codepipeline:GetPipelineState", "codepipeline:StartPipelineExecution",
            "codepipeline:EnableStageTransition", "codepipeline:DisableStageTransition",
            "codepipeline:TagResource", "codepipeline:UntagResource", "codepipeline:ListTagsForResource",
        ], arn("codepipeline", "sagemaker-*")),
        allow("ProjectRules", [
            "events:PutRule", "events:DeleteRule", "events:DescribeRule", "events:PutTargets",
            "events:RemoveTargets", "events:ListTargetsByRule", "events:TagResource", "events:UntagResource",
            "events:ListTagsForResource",
        ], arn("events", "rule/sagemaker-*")),
        # The deploy projects let a hub registry's account put its model events on the default
        # bus (AWS::Events::EventBusPolicy). PutPermission and RemovePermission have no resource
        # type: they edit the bus policy of the account.
        allow("DefaultBusPolicy", ["events:PutPermission", "events:RemovePermission"], "*"),
        allow("DescribeDefaultBus", ["events:DescribeEventBus"], arn("events", "event-bus/default")),
    ]


def project_model_groups() -> list[Statement]:
    """Model package groups are named <project name>-<project id> (no sagemaker- prefix): created
    only with the project tag, changed and deleted only when they carry it."""
    groups = arn("sagemaker", "model-package-group/*")
    return [
        allow("CreateProjectModelGroups", ["sagemaker:CreateModelPackageGroup", "sagemaker:AddTags"], groups,
              tag_present("RequestTag")),
        allow("ManageProjectModelGroups", [
            "sagemaker:PutModelPackageGroupPolicy", "sagemaker:DeleteModelPackageGroupPolicy",
            "sagemaker:DeleteModelPackageGroup", "sagemaker:AddTags", "sagemaker:DeleteTags",
        ], groups, tag_present("ResourceTag")),
        allow("ReadModelGroups", [
            "sagemaker:DescribeModelPackageGroup", "sagemaker:GetModelPackageGroupPolicy", "sagemaker:ListTags",
        ], groups),
    ]


def project_code_repositories() -> list[Statement]:
    """`AWS::SageMaker::CodeRepository` (CodeConnections mode: Studio shows the user's repository),
    named sagemaker-<name>-<id>-...; its handler permissions, on the code-repository resource type
    (Service Authorization Reference, Amazon SageMaker: CreateCodeRepository, UpdateCodeRepository,
    DeleteCodeRepository, DescribeCodeRepository, AddTags, DeleteTags and ListTags all take it)."""
    return [
        allow("ProjectCodeRepositories", [
            "sagemaker:CreateCodeRepository", "sagemaker:UpdateCodeRepository", "sagemaker:DeleteCodeRepository",
            "sagemaker:DescribeCodeRepository", "sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListTags",
        ], arn("sagemaker", "code-repository/sagemaker-*")),
    ]


# Roles that trust Lambda among those the templates name: the UseRole (its trust policy admits
# lambda.amazonaws.com, as AWS creates it) and the split Lambda role of newer accounts. Never the
# pipeline role, which reaches the target accounts and trusts no Lambda.
LAMBDA_PROJECT_ROLES = [
    "service-role/AmazonSageMakerServiceCatalogProductsUseRole",
    "service-role/AmazonSageMakerServiceCatalogProductsLambdaRole",
]


def project_functions() -> list[Statement]:
    """The CodeConnections mode's seeding (generator/blocks/seeding.py): a Lambda function named
    sagemaker-<id>-...-seed behind a custom resource, and its log group /aws/lambda/<function>.
    The handler permissions of AWS::Lambda::Function and AWS::Logs::LogGroup for the properties
    the templates set (inline code, no VPC, file system, layers, code signing or KMS key);
    lambda:InvokeFunction: CloudFormation invokes a custom resource's function with the stack's
    credentials, this role's."""
    functions = arn("lambda", "function:sagemaker-*")
    return [
        allow("ProjectFunctions", [
            "lambda:CreateFunction", "lambda:GetFunction", "lambda:DeleteFunction", "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration", "lambda:PublishVersion", "lambda:TagResource",
            "lambda:UntagResource", "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency",
            "lambda:GetFunctionCodeSigningConfig", "lambda:GetRuntimeManagementConfig",
            "lambda:PutRuntimeManagementConfig", "lambda:GetFunctionRecursionConfig",
            "lambda:PutFunctionRecursionConfig", "lambda:GetFunctionScalingConfig", "lambda:PutFunctionScalingConfig",
            "lambda:InvokeFunction",
        ], functions),
        allow("ProjectFunctionLogs", [
            "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
            "logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource", "logs:GetDataProtectionPolicy",
        ], arn("logs", "log-group:/aws/lambda/sagemaker-*")),
        # Read-only, no resource type (the log group handlers describe them).
        allow("DescribeLogGroups", [
            "logs:DescribeLogGroups", "logs:DescribeIndexPolicies", "logs:DescribeResourcePolicies",
        ], "*"),
    ]


# --- CodeConnections ----------------------------------------------------------------------------

# A connection's ARN has either service prefix: codeconnections (created since July 2024) or the
# older codestar-connections; each is authorized by the action of its own prefix ("When specifying
# a resource in the IAM policy, the service prefix needs to match that of the resource", Developer
# Tools console user guide, Identity and access management for AWS CodeConnections). Both forms are
# valid in the products' CodeConnectionArn.
CONNECTION_PREFIXES = ("codeconnections", "codestar-connections")
# The tag the AWS-managed project roles require on a connection before they use it
# (AmazonSageMakerServiceCatalogProductsCodePipelineServiceRolePolicy and ...CodeBuildServiceRolePolicy:
# UseConnection with StringEqualsIgnoreCase aws:ResourceTag/sagemaker = true; tests/hub/managed_policies.py).
# The connection resource type supports aws:ResourceTag/${TagKey} (Service Authorization Reference).
CONNECTION_TAG = {"StringEqualsIgnoreCase": {"aws:ResourceTag/sagemaker": "true"}}
# Services a connection may be passed to: codeconnections:PassedToService takes codeguru-reviewer,
# codepipeline.amazonaws.com and proton.amazonaws.com (Developer Tools console user guide, AWS
# CodeConnections permissions reference, "Passing a connection to a service"); CodeBuild is not one
# (a CodeBuild project's CODECONNECTIONS source is used by its service role: GetConnectionToken).
CONNECTION_SERVICES = ["codepipeline.amazonaws.com"]


def connections(account: str = "${AWS::AccountId}") -> list[Sub]:
    """This account's connections, in both ARN forms (any region: a pipeline may use a connection of
    another region)."""
    return [arn(prefix, "connection/*", account=account) for prefix in CONNECTION_PREFIXES]


def pass_connections() -> list[Statement]:
    """CreatePipeline/UpdatePipeline with a CodeStarSourceConnection action pass its connection
    (codestar-connections:PassConnection is a handler permission of AWS::CodePipeline::Pipeline):
    the account's connections tagged sagemaker=true, to CodePipeline only. One statement per prefix,
    each with its own PassedToService key (PassConnection's condition key in the Service Authorization
    Reference, for codeconnections and codestar-connections alike), as AWS's managed policy
    AWSProtonDeveloperAccess does; the AWS-managed SageMaker launch role's policy passes connections
    to codepipeline.amazonaws.com the same way."""
    return [
        allow(f"Pass{name}ToCodePipeline", [f"{prefix}:PassConnection"], connections(),
              {"StringEquals": {f"{prefix}:PassedToService": CONNECTION_SERVICES}, **CONNECTION_TAG})
        for prefix, name in zip(CONNECTION_PREFIXES, ("CodeConnections", "CodeStarConnections"), strict=True)
    ]


def pass_project_roles(pipeline_role_arn: Any) -> list[Statement]:
    """The roles the templates' CodeBuild projects, pipelines and rules run as, to those services only."""
    roles = [arn("iam", f"role/{MANAGED_PROJECT_ROLES}", region=""), pipeline_role_arn]
    return [
        allow("PassProjectRoles", ["iam:PassRole"], roles,
              {"StringEquals": {"iam:PassedToService": LAUNCH_SERVICES}}),
        # The seeding function's role (CodeConnections mode): only the roles that trust Lambda.
        allow("PassProjectRolesToLambda", ["iam:PassRole"],
              [arn("iam", f"role/{role}", region="") for role in LAMBDA_PROJECT_ROLES],
              {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}),
        # The pipeline handlers read the role they pass.
        allow("ReadProjectRoles", ["iam:GetRole"], roles),
    ]


# --- S3 templates: their location, and what Studio users need --------------------------------

# A templates location as the SageMaker domain tag sagemaker:projectS3TemplatesLocation holds it:
# s3://<bucket>/<prefix>/ (a prefix of up to PREFIX_SEGMENTS segments, each of S3's safe key
# characters but *), or s3://<bucket>/ for the whole bucket; blank for none.
PREFIX_SEGMENTS = 4
TEMPLATES_LOCATION_PATTERN = (
    r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([A-Za-z0-9!_.'()-]+/){0,"
    + str(PREFIX_SEGMENTS) + r"})?$"
)
CLOUDFORMATION = "cloudformation.amazonaws.com"


def _location_parts(parameter: str) -> Split:
    # ["s3:", "", bucket, segment 1, ..., ""]; the padding keeps every Select below in range,
    # even for a blank location.
    padding = "/" * (PREFIX_SEGMENTS + 3)
    return Split("/", Sub(f"${{{parameter}}}{padding}"))


def _segment(parameter: str, n: int) -> Select:
    return Select(2 + n, _location_parts(parameter))


def location_conditions(parameter: str) -> dict[str, Any]:
    """Conditions on the location parameter: given at all, and how deep its prefix is."""
    conditions: dict[str, Any] = {f"Has{parameter}": Not(Equals(Ref(parameter), ""))}
    for n in range(1, PREFIX_SEGMENTS + 1):
        conditions[f"{parameter}Depth{n}"] = Not(Equals(_segment(parameter, n), ""))
    return conditions


def location_objects(parameter: str) -> Sub:
    """`arn:...:s3:::<bucket>/<prefix>/*`: every object under the location."""
    path = Select(1, Split("s3://", Sub(f"${{{parameter}}}s3://")))
    return Sub("arn:${AWS::Partition}:s3:::${Path}*", Path=path)


def location_bucket(parameter: str) -> Sub:
    return Sub("arn:${AWS::Partition}:s3:::${Bucket}", Bucket=Select(2, _location_parts(parameter)))


def location_prefix_pattern(parameter: str) -> Any:
    """The `s3:prefix` of listings under the location: `<prefix>/*`, or `*` for a whole bucket.
    CloudFormation cannot cut a string at its first "/", so the prefix is rebuilt from its
    segments, at the depth location_conditions finds."""
    pattern: Any = "*"
    for n in range(1, PREFIX_SEGMENTS + 1):
        segments = [_segment(parameter, i) for i in range(1, n + 1)]
        pattern = If(f"{parameter}Depth{n}", Join("/", [*segments, "*"]), pattern)
    return pattern


def template_location_reads(parameter: str, condition: str) -> list[Any]:
    """The S3 launch role reads the seed-code zips the S3 publisher puts under the location
    (when `condition`: a location is given)."""
    return [when(condition, allow("ReadTemplateSeedCode", ["s3:GetObject", "s3:GetObjectVersion"],
                                  location_objects(parameter)))]


def s3_template_user(launch_role_arn: Any, location_parameter: str) -> list[Statement]:
    """A Studio execution role starting, updating and deleting projects from the S3 templates.
    The caller's credentials create the SP- stack (SageMaker makes the CloudFormation calls for
    it), so: pass the S3 launch role to CloudFormation and nothing else; create, update and
    delete SP- stacks only with that role as their service role (cloudformation:RoleArn, which
    the Service Authorization Reference lists for CreateStack, UpdateStack and DeleteStack;
    without a RoleARN the request has no such key and is refused); read and list the templates,
    with their tags (Studio lists only objects tagged sagemaker:studio-visibility=true)."""
    stacks = arn("cloudformation", f"stack/{S3_TEMPLATE_STACKS}*/*")
    return [
        allow("PassS3LaunchRole", ["iam:PassRole"], launch_role_arn,
              {"StringEquals": {"iam:PassedToService": CLOUDFORMATION}}),
        allow("ProjectStacksWithTheLaunchRole", [
            "cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DeleteStack",
        ], stacks, {"ArnEquals": {"cloudformation:RoleArn": launch_role_arn}}),
        # CreateStack and UpdateStack with tags also authorize cloudformation:TagResource (and
        # UntagResource on update): only as part of those calls (cloudformation:CreateAction).
        allow("TagProjectStacks", ["cloudformation:TagResource", "cloudformation:UntagResource"], stacks,
              {"StringEquals": {"cloudformation:CreateAction": ["CreateStack", "UpdateStack"]}}),
        allow("ReadProjectStacks", ["cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents"], stacks),
        # Read-only: the summary (parameters) of the template it is given.
        allow("ReadTemplateSummaries", ["cloudformation:GetTemplateSummary"], "*"),
        # Tags given to CreateProject need sagemaker:AddTags as well.
        allow("SageMakerProjects", [
            "sagemaker:CreateProject", "sagemaker:UpdateProject", "sagemaker:DescribeProject",
            "sagemaker:DeleteProject", "sagemaker:AddTags",
        ], arn("sagemaker", "project/*")),
        allow("ReadTemplates", [
            "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging",
        ], location_objects(location_parameter)),
        allow("ListTemplates", ["s3:ListBucket"], location_bucket(location_parameter),
              {"StringLike": {"s3:prefix": location_prefix_pattern(location_parameter)}}),
    ]


# --- The pipeline role -------------------------------------------------------------------------


def pipeline_sources_and_builds() -> list[Statement]:
    """CodePipeline: the CodeCommit source and the CodeBuild actions; EventBridge: start the pipeline."""
    return [
        allow("ProjectSources", [
            "codecommit:GetBranch", "codecommit:GetCommit", "codecommit:GetRepository", "codecommit:UploadArchive",
            "codecommit:GetUploadArchiveStatus", "codecommit:CancelUploadArchive",
        ], arn("codecommit", "sagemaker-*")),
        allow("ProjectBuilds", ["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
              arn("codebuild", "project/sagemaker-*")),
        allow("StartProjectPipelines", ["codepipeline:StartPipelineExecution"], arn("codepipeline", "sagemaker-*")),
        allow("BuildLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], [
            arn("logs", "log-group:/aws/codebuild/sagemaker-*"),
            arn("logs", "log-group:/aws/codebuild/sagemaker-*:log-stream:*"),
        ]),
    ]


def pipeline_connections() -> list[Statement]:
    """The account's connections tagged sagemaker=true (the AWS-managed project roles' condition):
    * UseConnection: a pipeline's CodeStarSourceConnection source action (CodePipeline user guide:
      the service role needs UseConnection on the connection). Its documented condition keys
      (FullRepositoryId, BranchName, OwnerId, RepositoryName, ProviderAction,
      ProviderPermissionsRequired) name one repository or provider call; the repository is a
      per-project parameter, and the permissions reference recommends plain UseConnection "unless
      your access control requirements require different permissions", as the provider calls a
      feature makes may change: not used.
    * GetConnectionToken and GetConnection: a CodeBuild project whose source uses the connection
      (the seeding build) runs as its service role, which needs both (CodeBuild user guide,
      "GitHub App connections", step 2)."""
    return [
        allow("UseConnections", [f"{prefix}:{action}" for prefix in CONNECTION_PREFIXES
                                 for action in ("UseConnection", "GetConnectionToken", "GetConnection")],
              connections(), CONNECTION_TAG),
    ]


def pipeline_artifacts() -> list[Statement]:
    """Pipeline artifacts, packaged templates and model data in the project buckets (sagemaker-*;
    another region's artifact bucket of cross-account-endpoint must be named so too). The keys'
    policies grant this role their use."""
    # Bucket names are global: a sagemaker-* bucket of any other account would match the name, so
    # the owner must be this account too (aws:ResourceAccount, IAM global condition keys; S3
    # supports it for bucket and object actions).
    own = {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}}
    return [
        allow("ProjectArtifacts", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
              Sub("arn:${AWS::Partition}:s3:::sagemaker-*/*"), own),
        allow("ProjectArtifactBuckets", ["s3:ListBucket", "s3:GetBucketAcl", "s3:GetBucketLocation",
                                         "s3:GetBucketVersioning"], Sub("arn:${AWS::Partition}:s3:::sagemaker-*"), own),
    ]


def pipeline_sagemaker(execution_role_pattern: str) -> list[Statement]:
    """model-build's CodeBuild upserts and starts the SageMaker Pipeline (sagemaker-<name>-<id>)
    and passes it the execution role; the deploy builds read the registry (here or a hub's,
    whose group policy decides)."""
    return [
        allow("SageMakerPipelines", [
            "sagemaker:CreatePipeline", "sagemaker:UpdatePipeline", "sagemaker:DescribePipeline",
            "sagemaker:StartPipelineExecution", "sagemaker:AddTags", "sagemaker:ListTags",
        ], arn("sagemaker", "pipeline/sagemaker-*")),
        allow("SageMakerPipelineExecutions", [
            "sagemaker:DescribePipelineExecution", "sagemaker:ListPipelineExecutionSteps",
        ], arn("sagemaker", "pipeline/sagemaker-*/execution/*")),
        allow("ReadProjectTags", ["sagemaker:ListTags"], arn("sagemaker", "project/*")),
        allow("ReadModelRegistry", [
            "sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup",
        ], [arn("sagemaker", "model-package-group/*", account="*"), arn("sagemaker", "model-package/*", account="*")]),
        allow("PassExecutionRole", ["iam:PassRole"], Sub(
            f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/${{{execution_role_pattern}}}"),
            {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
    ]


def pipeline_cross_account() -> list[Statement]:
    """cross-account-endpoint's CloudFormation actions assume the deployer role of each target
    account; both deploy products' test steps assume the narrow tester role there (never the
    endpoints' execution role, which trusts SageMaker only)."""
    # Only roles of accounts in this account's organization: aws:ResourceOrgID is the org of the
    # role's account and sts:AssumeRole supports it (IAM user guide, global condition keys,
    # aws:ResourceOrgID); the policy variable needs no organization id parameter.
    return [
        allow("AssumeTargetAccountRoles", ["sts:AssumeRole"], [
            arn("iam", f"role/{DEPLOYER_ROLES}", region="", account="*"),
            arn("iam", f"role/{TESTER_ROLES}", region="", account="*"),
        ], {"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}}),
    ]


def pipeline_stack_sets() -> list[Statement]:
    """multi-account-deploy's CodeBuild deploys service-managed StackSets named
    sagemaker-<name>-<id>-deploy-<stage> (seedcode/modeldeploy/deploy_stackset.py), with CallAs
    DELEGATED_ADMIN or SELF. A delegated administrator's StackSets may carry the management
    account's id, so the account is left open; the name and the resource types are not."""
    stack_sets = arn("cloudformation", "stackset/sagemaker-*:*", account="*")
    return [
        # CreateStackSet has no resource type (the StackSet has no id yet): only with the project
        # tag the deploy script always sets.
        allow("CreateProjectStackSets", ["cloudformation:CreateStackSet"], "*", tag_present("RequestTag")),
        allow("OperateProjectStackSets", [
            "cloudformation:UpdateStackSet", "cloudformation:CreateStackInstances",
            "cloudformation:DescribeStackSet", "cloudformation:DescribeStackSetOperation",
            "cloudformation:ListStackInstances", "cloudformation:ListStackSetOperations",
            "cloudformation:ListStackSetOperationResults", "cloudformation:TagResource",
        ], [
            stack_sets,
            arn("cloudformation", "stackset-target/*", account="*"),
            # Instances may hold endpoint resources only (never IAM, Lambda...).
            *(arn("cloudformation", f"type/resource/{t}", account="*") for t in STACK_SET_RESOURCE_TYPES),
        ]),
        # Read-only and without resource types: StackSets checks the delegated administrator.
        allow("FindDelegatedAdministrator", [
            "organizations:ListDelegatedAdministrators", "organizations:DescribeOrganization",
        ], "*"),
    ]
