"""Roles in a target (staging, preprod, prod) account that a data science account's pipelines use.

Three roles, each limited to what its job needs:

* the SageMaker execution role endpoints run as (trusted by SageMaker only): reads the model
  artifacts (a bucket name pattern) and decrypts them (keys of the registry accounts, through S3
  only), writes endpoint logs and data capture in its own account;
* the tester role the data science account's pipeline role assumes to test the endpoints:
  describes and invokes the projects' endpoints and reads their stacks, nothing else (the
  pipeline never gets the production endpoints' execution role);
* the deployer role: CodePipeline's cross-account CloudFormation action assumes it, and
  CloudFormation runs as it. It may only operate the project stacks (a stack name prefix), pass
  the execution role to SageMaker (and itself to CloudFormation), manage SageMaker models,
  endpoint configs and endpoints of the projects, and read the pipeline artifacts.

Statements are plain dicts. Names in SageMaker ARNs are lowercase (SageMaker lowercases them),
so name prefixes used in SageMaker ARNs must be lowercase. Models and endpoint configs created by
the endpoint template have names CloudFormation generates, so they are scoped by the project tag
the template puts on them (`sagemaker:project-name`) instead of by name.
"""

from __future__ import annotations

from typing import Any

from troposphere import If, Ref, Sub

from generator.blocks.policy import BUCKET_READ, OBJECT_READ, Statement

PROJECT_TAG = "sagemaker:project-name"
# The data capture bucket of a target account: one per account and region, shared by every
# project's endpoints there (SageMaker writes under <endpoint name>/<variant>/...). The endpoint
# template (seedcode/modeldeploy/endpoint-config-template.yml) defaults DataCaptureUploadPath to it.
DATA_CAPTURE_BUCKET = "sagemaker-datacapture-${AWS::AccountId}-${AWS::Region}"


def trusted_service(service: str) -> Statement:
    return {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}


def trusted_role(account: Any, role_arn: Any) -> Statement:
    """Exactly one role of `account` may assume this one. The principal is the account, the role
    an `aws:PrincipalArn` condition: IAM rejects a trust policy naming a role that does not exist
    yet ("Invalid principal in policy"; IAM user guide, "AWS JSON policy elements: Principal",
    role principals), and target accounts are set up before the data science account's roles.
    The data science account's role still needs its own sts:AssumeRole grant (cross-account).
    No ExternalId: CodePipeline's cross-account actions cannot pass one."""
    return {
        "Effect": "Allow",
        "Principal": {"AWS": account},
        "Action": "sts:AssumeRole",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": role_arn}},
    }


# --- Reading the data science account's artifacts ---------------------------------------------


def artifact_read(buckets: Any) -> list[Statement]:
    """Objects and listing of the buckets matching `buckets`: a list of bucket names or patterns
    (`${Parameter}` strings, Refs, or `If(condition, name, AWS::NoValue)`), or an `If` choosing
    between two such lists."""
    def arns(items: Any, suffix: str) -> Any:
        if isinstance(items, list):
            return [arns(item, suffix) for item in items]
        if isinstance(items, If):
            condition, yes, no = items.data["Fn::If"]
            return If(condition, arns(yes, suffix), arns(no, suffix))
        if isinstance(items, str):
            return Sub(f"arn:${{AWS::Partition}}:s3:::{items}{suffix}")
        if isinstance(items, Ref) and items.data["Ref"] == "AWS::NoValue":
            return items
        return Sub(f"arn:${{AWS::Partition}}:s3:::${{Pattern}}{suffix}", Pattern=items)

    return [
        {"Sid": "ReadArtifactObjects", "Effect": "Allow", "Action": OBJECT_READ, "Resource": arns(buckets, "/*")},
        {"Sid": "ListArtifactBuckets", "Effect": "Allow", "Action": BUCKET_READ, "Resource": arns(buckets, "")},
    ]


def key_decrypt(key_arns: Any) -> Statement:
    """`kms:Decrypt` of extra listed keys, and nothing else."""
    return {"Sid": "DecryptArtifacts", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arns}


def key_decrypt_through_s3(account: str, hub_account: str, hub_condition: str) -> Statement:
    """Decrypting objects read from S3 with any key of the registry accounts (the data science
    account, and a hub's when `hub_condition` holds). Every project creates its own key, so a list
    of key ARNs would break each new project until the list is updated; each key's own policy
    still decides who may use it, and only S3 may use it on this role's behalf."""
    def keys(parameter: str) -> Sub:
        return Sub(f"arn:${{AWS::Partition}}:kms:*:${{{parameter}}}:key/*")

    return {
        "Sid": "DecryptArtifactsThroughS3",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:DescribeKey"],
        "Resource": [keys(account), If(hub_condition, keys(hub_account), Ref("AWS::NoValue"))],
        "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}},
    }


def in_registry_accounts(kind: str, account: str, hub_account: str, hub_condition: str) -> list[Any]:
    """`arn:...:sagemaker:*:<account>:<kind>/*` of the model registry accounts: the data science
    account (parameter `account`) and, when `hub_condition` holds, a hub's (`hub_account`)."""
    def arn(parameter: str) -> Sub:
        return Sub(f"arn:${{AWS::Partition}}:sagemaker:*:${{{parameter}}}:{kind}/*")

    return [arn(account), If(hub_condition, arn(hub_account), Ref("AWS::NoValue"))]


def volume_keys(key_arns: list[Any]) -> list[Statement]:
    """An endpoint config with a KmsKeyId (a customer key for the instance storage volume): SageMaker
    checks the key and creates a grant on it for the endpoint's instances as the caller
    (CreateEndpointConfig KmsKeyId: "The KMS key policy must grant permission to the IAM role that
    you specify in your CreateEndpoint, UpdateEndpoint requests"). Grants only for AWS resources
    (kms:GrantIsForAWSResource, AWS KMS developer guide, condition keys), so the role cannot grant
    the key to a principal of its choice. The key's own policy must allow the same."""
    return [
        {"Sid": "DescribeVolumeKeys", "Effect": "Allow", "Action": "kms:DescribeKey", "Resource": key_arns},
        {
            "Sid": "GrantVolumeKeysToSageMaker",
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": key_arns,
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]


def registry_read(packages: list[Any], groups: list[Any]) -> Statement:
    """Describe model packages of the registry accounts (their group policies must allow this account)."""
    return {
        "Sid": "DescribeRegistryModelPackages",
        "Effect": "Allow",
        "Action": ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
        "Resource": [*packages, *groups],
    }


def registry_models(packages: list[Any]) -> Statement:
    """CreateModel with a ModelPackageName is authorized against the model package too, in the
    registry's account (whose group policy must allow it as well: registry.GROUP_DEPLOY)."""
    return {
        "Sid": "CreateModelsFromRegistryPackages",
        "Effect": "Allow",
        "Action": ["sagemaker:CreateModel", "sagemaker:DescribeModelPackage"],
        "Resource": packages,
    }


# --- What endpoints do at run time (execution role) -------------------------------------------


def image_pull() -> list[Statement]:
    """Pulling the inference image: from SageMaker's own registries (AWS accounts that differ by
    region) or the data science account's. Read-only; each repository's policy decides too."""
    return [
        {
            # GetAuthorizationToken has no resource-level permissions; it only reads a token.
            "Sid": "RegistryLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "PullModelImages",
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            "Resource": Sub("arn:${AWS::Partition}:ecr:*:*:repository/*"),
        },
    ]


def endpoint_runtime(prefix: str) -> list[Statement]:
    """Logs of SageMaker endpoints, data capture of the projects' endpoints into this account's
    data capture bucket (their own <endpoint name>/ prefix), container metrics, and reading the
    rollback alarms."""
    return [
        {
            "Sid": "EndpointLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": Sub("arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:/aws/sagemaker/Endpoints/*"),
        },
        {
            # Endpoint names start with the project name (<name>-<id>-<stage>). The bucket's key
            # lets this account's principals use it through S3, so no KMS grant is needed here.
            "Sid": "DataCapture",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": Sub(f"arn:${{AWS::Partition}}:s3:::sagemaker-datacapture-${{AWS::AccountId}}-*/${{{prefix}}}*"),
        },
        {
            # PutMetricData has no resource-level permissions; the namespace condition confines it.
            "Sid": "ContainerMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
        },
        {
            # Blue/green rollback watches the endpoint's alarms; the endpoint template names them
            # after the project (<prefix>...). DescribeAlarms takes the alarm resource type
            # (Service Authorization Reference, Amazon CloudWatch: DescribeAlarms, alarm*).
            "Sid": "ReadRollbackAlarms",
            "Effect": "Allow",
            "Action": "cloudwatch:DescribeAlarms",
            "Resource": project_alarms(prefix),
        },
    ]


def project_alarms(prefix: str) -> list[Sub]:
    """The endpoint template's rollback alarms (named after the project) and the alarms target
    tracking scaling makes for the projects' endpoints."""
    return [
        Sub(f"arn:${{AWS::Partition}}:cloudwatch:*:${{AWS::AccountId}}:alarm:${{{prefix}}}*"),
        Sub(f"arn:${{AWS::Partition}}:cloudwatch:*:${{AWS::AccountId}}:alarm:TargetTracking-endpoint/${{{prefix}}}*"),
    ]


# --- What the endpoint tests do (tester role) ------------------------------------------------


def endpoint_tests(prefix: str) -> list[Statement]:
    """seedcode/modeldeploy/test/test.py: is a project's endpoint InService, does it answer; and
    the project stacks' outputs (stacks the deployer makes are named sagemaker-<prefix>..., the
    stack instances of a StackSet StackSet-sagemaker-<prefix>...)."""
    stacks = [
        Sub(f"arn:${{AWS::Partition}}:cloudformation:*:${{AWS::AccountId}}:stack/{name}${{{prefix}}}*/*")
        for name in ("sagemaker-", "StackSet-sagemaker-")
    ]
    return [
        {
            "Sid": "TestProjectEndpoints",
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"],
            "Resource": Sub(f"arn:${{AWS::Partition}}:sagemaker:*:${{AWS::AccountId}}:endpoint/${{{prefix}}}*"),
        },
        {
            "Sid": "ReadProjectStacks",
            "Effect": "Allow",
            "Action": "cloudformation:DescribeStacks",
            "Resource": stacks,
        },
    ]


# --- What the deployer does -------------------------------------------------------------------


def project_stacks(prefix: str) -> list[Statement]:
    """CloudFormation on stacks named `sagemaker-<prefix>*` only."""
    stacks = Sub(f"arn:${{AWS::Partition}}:cloudformation:*:${{AWS::AccountId}}:stack/sagemaker-${{{prefix}}}*/*")
    return [
        {
            "Sid": "OperateProjectStacks",
            "Effect": "Allow",
            "Action": [
                "cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DeleteStack",
                "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStackResources", "cloudformation:GetTemplate",
                "cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet",
                "cloudformation:ExecuteChangeSet", "cloudformation:DeleteChangeSet",
                "cloudformation:TagResource", "cloudformation:UntagResource",
            ],
            "Resource": stacks,
        },
        {
            # ValidateTemplate and GetTemplateSummary (of a template body) have no resource-level
            # permissions; both only read the template they are given.
            "Sid": "ValidateTemplates",
            "Effect": "Allow",
            "Action": ["cloudformation:ValidateTemplate", "cloudformation:GetTemplateSummary"],
            "Resource": "*",
        },
    ]


def pass_roles(execution_role_arn: Any, own_role_arn: Any) -> list[Statement]:
    """The execution role to SageMaker only; the deployer itself to CloudFormation only (the
    CloudFormation action runs the stack as the deployer: its configuration needs a RoleArn)."""
    return [
        {
            "Sid": "PassExecutionRoleToSageMaker",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": execution_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
        {
            "Sid": "PassSelfToCloudFormation",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": own_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        },
    ]


def project_endpoints(prefix: str) -> list[Statement]:
    """SageMaker models, endpoint configs and endpoints of the projects whose names start with the
    (lowercase) `prefix` parameter: endpoints by name, models and endpoint configs by project tag."""
    def arn(kind: str, name: str = "*") -> Sub:
        return Sub(f"arn:${{AWS::Partition}}:sagemaker:*:${{AWS::AccountId}}:{kind}/{name}")

    endpoint = arn("endpoint", f"${{{prefix}}}*")
    generated = [arn("model"), arn("endpoint-config")]
    tagged = f"${{{prefix}}}*"
    return [
        {
            "Sid": "ProjectEndpoints",
            "Effect": "Allow",
            # UpdateEndpointWeightsAndCapacities (with DescribeEndpoint and DescribeEndpointConfig):
            # registering the variant as a scalable target checks the caller may scale it
            # (SageMaker's auto scaling prerequisites).
            "Action": [
                "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DeleteEndpoint",
                "sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities",
                "sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListTags",
            ],
            "Resource": endpoint,
        },
        {
            "Sid": "CreateTaggedModelsAndConfigs",
            "Effect": "Allow",
            "Action": ["sagemaker:CreateModel", "sagemaker:CreateEndpointConfig", "sagemaker:AddTags"],
            "Resource": generated,
            "Condition": {"StringLike": {f"aws:RequestTag/{PROJECT_TAG}": Sub(tagged)}},
        },
        {
            # The endpoint's config is a resource of CreateEndpoint and UpdateEndpoint too.
            "Sid": "UseAndDeleteTaggedModelsAndConfigs",
            "Effect": "Allow",
            # AddTags/DeleteTags: a tag-only change of a model or endpoint config is an update in
            # place (CloudFormation's handlers tag the existing resource; both are immutable
            # otherwise), and it may not carry the project tag in the request.
            "Action": [
                "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint",
                "sagemaker:DeleteModel", "sagemaker:DeleteEndpointConfig", "sagemaker:AddTags", "sagemaker:DeleteTags",
            ],
            "Resource": generated,
            "Condition": {"StringLike": {f"aws:ResourceTag/{PROJECT_TAG}": Sub(tagged)}},
        },
        {
            "Sid": "ReadModelsAndConfigs",
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeModel", "sagemaker:DescribeEndpointConfig", "sagemaker:ListTags"],
            "Resource": generated,
        },
    ]


def endpoint_alarms_and_scaling(prefix: str) -> list[Statement]:
    """The endpoint template's rollback alarms (named after the project) and its auto scaling."""
    return [
        {
            "Sid": "ProjectAlarms",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
                "cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource",
            ],
            "Resource": project_alarms(prefix),
        },
        {
            # Read-only calls without resource-level permissions (scaling descriptions, metric
            # data for target tracking).
            "Sid": "DescribeScaling",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:GetMetricData",
                "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:DescribeScalingActivities", "application-autoscaling:DescribeScheduledActions",
            ],
            "Resource": "*",
        },
        {
            # Scalable targets get generated ids, so their ARNs cannot name the project; this
            # account's scalable targets only.
            "Sid": "ScaleEndpoints",
            "Effect": "Allow",
            "Action": [
                "application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy",
                "application-autoscaling:TagResource", "application-autoscaling:UntagResource",
                "application-autoscaling:ListTagsForResource",
            ],
            "Resource": Sub("arn:${AWS::Partition}:application-autoscaling:*:${AWS::AccountId}:scalable-target/*"),
        },
        {
            "Sid": "EndpointScalingServiceLinkedRole",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": Sub(
                "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/"
                "sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
            ),
            "Condition": {"StringEquals": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}},
        },
    ]
