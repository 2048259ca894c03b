"""Target account bootstrap: the roles a data science account's deploy pipelines use in a
staging, preprod or prod account. An admin product (ml-admin portfolio), launched in each target
account or deployed as a StackSet to the workload OUs: every value works in every account.

Seeds 001, 002 and 000. It makes

* `sagemaker-role-<suffix>`, the SageMaker execution role the endpoints run as (trusted by
  SageMaker only): reads the model artifacts and decrypts them (any key of the data science and
  registry accounts, through S3 only; ArtifactKeyArns for extra keys), pulls the
  inference image, writes endpoint logs and data capture;
* `sagemaker-<suffix>-tester`, the role the data science account's pipeline role assumes to test
  the endpoints (deploy projects' TestRoleName): describes and invokes the projects' endpoints and
  reads their stacks, nothing else. The pipeline never holds the endpoints' execution role, which
  in prod can read the models and write the captured production data;
* `sagemaker-datacapture-<account>-<region>`, the bucket the endpoints capture request and
  response data into by default (KMS-encrypted with its own key, versioned, TLS-only, kept when
  the stack is deleted); one per account and region for every project (CreateDataCaptureBucket
  false for a second bootstrap stack there);
* `sagemaker-<suffix>-deployer`, the role the cross-account-endpoint pipeline's CloudFormation
  actions assume and run the stack as (trusted by that pipeline role and CloudFormation only):
  limited to the project stacks, passing the execution role, and the projects' SageMaker
  models, endpoint configs, endpoints, alarms and scaling. Service-managed StackSets
  (multi-account-deploy) do not need it: set CreateDeployerRole to false there.
"""

from troposphere import Equals, GetAtt, If, Join, Not, Output, Parameter, Ref, Sub, Tags, Template, iam

from generator.blocks import crossaccount, keys, targetaccount
from generator.blocks.policy import policy_document, when
from generator.blocks.project import PIPELINE_ROLE, parameter_groups, role_parameter
from generator.blocks.security import skip_check
from generator.blocks.storage import encrypted_bucket, encryption_key
from generator.parameters import account_id_parameter
from generator.product import Product

PRODUCT_NAME = "target-account-bootstrap"
LOWERCASE_NAME = r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"


def template() -> Template:
    t = Template(Description="Roles a data science account's SageMaker deploy pipelines use in a target account: "
                 "the SageMaker execution role, the endpoint tester and the cross-account deployer "
                 "(smcat target-account-bootstrap).")

    # --- Parameters: who deploys here, which projects, what they may read.
    t.add_parameter(Parameter(
        "RoleSuffix", Type="String", Default="mlops", MinLength=1, MaxLength=32, AllowedPattern=LOWERCASE_NAME,
        Description="Suffix of the role names: sagemaker-role-<suffix>, sagemaker-<suffix>-tester and "
        "sagemaker-<suffix>-deployer.",
        ConstraintDescription="1-32 lowercase letters, digits and inner hyphens",
    ))
    t.add_parameter(crossaccount.account_parameter(
        "DataScienceAccountId", "Account (12 digits) whose SageMaker project pipelines deploy here."))
    t.add_parameter(role_parameter(
        "PipelineRoleName", "the data science account's project pipelines run as (in that account; the deploy "
        "products' CodeBuildRole/CodePipelineRole, by default project-roles' pipeline role)", PIPELINE_ROLE))
    t.add_parameter(Parameter(
        "ProjectNamePrefix", Type="String", MinLength=1, MaxLength=32, AllowedPattern=LOWERCASE_NAME,
        Description="Lowercase start of the names of the SageMaker projects that may deploy here: their stacks "
        "(sagemaker-<prefix>*), endpoints and alarms (<prefix>*), models and endpoint configs (tag "
        "sagemaker:project-name <prefix>*).",
        ConstraintDescription="1-32 lowercase letters, digits and inner hyphens",
    ))
    t.add_parameter(Parameter(
        "ArtifactBucketPattern", Type="String", Default="", MaxLength=63,
        AllowedPattern=r"^([a-z0-9*][a-z0-9.*-]{1,62})?$",
        Description="Name (or pattern with *) of the buckets holding model and pipeline artifacts. Leave blank for "
        "the project buckets of the data science account: sagemaker-*-<DataScienceAccountId>-*.",
        ConstraintDescription="blank or an S3 bucket name, * allowed",
    ))
    t.add_parameter(Parameter(
        "ArtifactKeyArns", Type="CommaDelimitedList", Default="",
        AllowedPattern=r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]+)?$",
        Description="Extra KMS keys (ARNs, comma-separated) the roles may decrypt with, for artifacts outside the "
        "data science and registry accounts. Leave blank: any key of those accounts already decrypts objects "
        "read through S3 (each project makes its own key; the key's policy decides).",
        ConstraintDescription="blank or KMS key ARNs",
    ))
    t.add_parameter(account_id_parameter(
        "ModelRegistryAccountId", "Account of a hub model registry, when models come from one too (the data "
        "science account's registry is always allowed)."))
    t.add_parameter(Parameter(
        "CreateDeployerRole", Type="String", AllowedValues=["true", "false"], Default="true",
        Description="Create the deployer role for cross-account-endpoint pipelines (not needed for StackSets).",
    ))
    t.add_parameter(Parameter(
        "CreateDataCaptureBucket", Type="String", AllowedValues=["true", "false"], Default="true",
        Description="Create this account's data capture bucket sagemaker-datacapture-<account>-<region> (the "
        "endpoints' default capture destination). false when another bootstrap stack here already did.",
    ))
    parameter_groups(t, {
        "Roles": ["RoleSuffix", "CreateDeployerRole", "CreateDataCaptureBucket"],
        "Data science account": ["DataScienceAccountId", "PipelineRoleName", "ProjectNamePrefix"],
        "Artifacts": ["ArtifactBucketPattern", "ArtifactKeyArns", "ModelRegistryAccountId"],
    })

    t.add_condition("CreatesDeployerRole", Equals(Ref("CreateDeployerRole"), "true"))
    t.add_condition("CreatesDataCaptureBucket", Equals(Ref("CreateDataCaptureBucket"), "true"))
    t.add_condition("HasBucketPattern", Not(Equals(Ref("ArtifactBucketPattern"), "")))
    t.add_condition("HasRegistryAccount", Not(Equals(Ref("ModelRegistryAccountId"), "")))
    t.add_condition("HasArtifactKeys", Not(Equals(Join("", Ref("ArtifactKeyArns")), "")))

    tags = Tags({"smcat:product": PRODUCT_NAME})
    pipeline_role = crossaccount.role_in_account("DataScienceAccountId", "PipelineRoleName")
    data_science = Ref("DataScienceAccountId")
    # Project buckets are sagemaker-<project id>-<account>-<region> (generator/blocks/storage.py), a
    # hub's sagemaker-<hub>-<account>-<region>: read those of the data science account, and of the
    # registry account when one is given (a hub's pulled models), unless a pattern replaces both.
    buckets = If(
        "HasBucketPattern",
        [Ref("ArtifactBucketPattern")],
        [
            "sagemaker-*-${DataScienceAccountId}-*",
            If("HasRegistryAccount", "sagemaker-*-${ModelRegistryAccountId}-*", Ref("AWS::NoValue")),
        ],
    )
    # Model registries: the data science account's, and a hub's when ModelRegistryAccountId is given.
    packages, groups = (
        targetaccount.in_registry_accounts(kind, "DataScienceAccountId", "ModelRegistryAccountId", "HasRegistryAccount")
        for kind in ("model-package", "model-package-group")
    )
    # Customer keys an endpoint config may name for its volume: this account's, and the data
    # science and registry accounts' (a project's shared key); each key's policy decides too.
    volume_keys = [
        Sub("arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*"),
        Sub("arn:${AWS::Partition}:kms:*:${DataScienceAccountId}:key/*"),
        If("HasRegistryAccount", Sub("arn:${AWS::Partition}:kms:*:${ModelRegistryAccountId}:key/*"),
           Ref("AWS::NoValue")),
    ]
    reading = [
        *targetaccount.artifact_read(buckets),
        targetaccount.key_decrypt_through_s3("DataScienceAccountId", "ModelRegistryAccountId", "HasRegistryAccount"),
        when("HasArtifactKeys", targetaccount.key_decrypt(Ref("ArtifactKeyArns"))),
        targetaccount.registry_read(packages, groups),
    ]

    # --- Data capture: the endpoints' default destination, in this account. Its key lets this
    # account's principals use it through S3 (the execution roles write with no KMS grant).
    capture_key, capture_alias = t.add_resource(encryption_key(
        "DataCaptureKey", "Encrypts the request and response data SageMaker endpoints capture in this account.", tags,
        keys.use_through_s3_for_this_account("ThisAccountUsesKeyThroughS3"),
        alias="alias/sagemaker-datacapture",
    ))
    skip_check(capture_key, "CKV_AWS_33", "the * principal is confined to this account (kms:CallerAccount, "
               "aws:PrincipalAccount) calling through S3 (kms:ViaService); checkov does not read conditions, "
               "lint rule E9130 does")
    capture_bucket, capture_policy = t.add_resource(encrypted_bucket(
        "DataCaptureBucket", Sub(targetaccount.DATA_CAPTURE_BUCKET), capture_key, tags))
    for resource in (capture_key, capture_alias, capture_bucket, capture_policy):
        resource.Condition = "CreatesDataCaptureBucket"

    # --- The execution role: what the endpoints run as (SageMaker only).
    execution_role = t.add_resource(iam.Role(
        "SageMakerExecutionRole",
        RoleName=Sub("sagemaker-role-${RoleSuffix}"),
        Description="SageMaker execution role of endpoints deployed by the data science account's pipelines.",
        AssumeRolePolicyDocument=policy_document(targetaccount.trusted_service("sagemaker.amazonaws.com")),
        Policies=[iam.Policy(PolicyName="model-hosting", PolicyDocument=policy_document(
            *reading, *targetaccount.image_pull(), *targetaccount.endpoint_runtime("ProjectNamePrefix")))],
        Tags=tags,
    ))

    # --- The tester role: the pipeline's test step checks and invokes the endpoints with it.
    tester = t.add_resource(iam.Role(
        "TesterRole",
        RoleName=Sub("sagemaker-${RoleSuffix}-tester"),
        Description="Tests the SageMaker endpoints of the data science account's projects (describe, invoke).",
        AssumeRolePolicyDocument=policy_document(targetaccount.trusted_role(data_science, pipeline_role)),
        Policies=[iam.Policy(PolicyName="endpoint-tests", PolicyDocument=policy_document(
            *targetaccount.endpoint_tests("ProjectNamePrefix")))],
        Tags=tags,
    ))

    # --- The deployer role: the cross-account CloudFormation actions assume it and run stacks as it.
    deployer_arn = Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/sagemaker-${RoleSuffix}-deployer")
    deployer = t.add_resource(iam.Role(
        "DeployerRole",
        Condition="CreatesDeployerRole",
        RoleName=Sub("sagemaker-${RoleSuffix}-deployer"),
        Description="Deploys SageMaker endpoint stacks of the data science account's projects.",
        AssumeRolePolicyDocument=policy_document(
            targetaccount.trusted_role(data_science, pipeline_role),
            targetaccount.trusted_service("cloudformation.amazonaws.com"),
        ),
        Policies=[iam.Policy(PolicyName="endpoint-deployment", PolicyDocument=policy_document(
            *targetaccount.project_stacks("ProjectNamePrefix"),
            *targetaccount.pass_roles(GetAtt(execution_role, "Arn"), deployer_arn),
            *targetaccount.project_endpoints("ProjectNamePrefix"),
            targetaccount.registry_models(packages),
            *targetaccount.volume_keys(volume_keys),
            *targetaccount.endpoint_alarms_and_scaling("ProjectNamePrefix"),
            *reading,
        ))],
        Tags=tags,
    ))

    # --- Outputs
    t.add_output([
        Output("SageMakerExecutionRoleName",
               Description="Pass as SageMakerExecutionRole*Name / ModelExecutionRoleName.",
               Value=Ref(execution_role)),
        Output("SageMakerExecutionRoleArn", Description="ARN of the execution role.",
               Value=GetAtt(execution_role, "Arn")),
        Output("TesterRoleName", Description="Pass as TestRoleName of the deploy projects.", Value=Ref(tester)),
        Output("DataCaptureBucketName", Condition="CreatesDataCaptureBucket",
               Description="Default destination of the endpoints' data capture.", Value=Ref(capture_bucket)),
        Output("TesterRoleArn", Description="ARN of the tester role.", Value=GetAtt(tester, "Arn")),
        Output("DeployerRoleName", Condition="CreatesDeployerRole",
               Description="Pass as DeployerRoleName of cross-account-endpoint projects.", Value=Ref(deployer)),
        Output("DeployerRoleArn", Condition="CreatesDeployerRole", Description="ARN of the deployer role.",
               Value=GetAtt(deployer, "Arn")),
    ])
    return t


PRODUCT = Product(
    name=PRODUCT_NAME,
    description="Roles in a staging, preprod or prod account for a data science account's SageMaker deploy "
    "pipelines: the endpoints' execution role and a least-privilege cross-account deployer. Launch per account "
    "or deploy as a StackSet to the workload OUs.",
    owner="ML platform team",
    version="1.0.0",
    studio_project=False,
    template=template,
)
