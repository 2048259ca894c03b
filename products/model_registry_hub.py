"""Model registry hub: the shared-services account's central model registry (seeds 000, 004, 003).

An admin product (ml-admin portfolio), launched once in the shared-services (hub) account.

* **Registry**: up to five model package groups with seed 000's cross-account policy: data science
  accounts describe, list and register versions (as PendingManualApproval only: the hub owner
  approves); deployment and workload accounts (by id or by OU) describe them and create models.
* **Artifacts**: one KMS key and one versioned, TLS-only bucket. Data science accounts write under
  `push/<their account>/`; the sync function writes under `pull/<account>/`; deployment and
  workload accounts read everything. Every grant is also pinned to the organization.
* **Push pattern** (seed 004): the push role, which the data science accounts assume to write
  artifacts and register versions (pending approval) in the hub's groups. The caller must tag the
  session `smcat-account=<its own account id>` (the trust policy checks it against
  aws:PrincipalAccount); the role writes `push/<that account>/` only.
* **Pull pattern** (seeds 004, 003): a central event bus that accepts SageMaker model package
  events from the organization's accounts only; a rule for Approved versions invokes the sync
  function (generator/lambdas/model_sync.py), which reads the spoke's version and artifact (the
  registry-spoke product grants its role that), copies the artifact here and registers the
  version as PendingManualApproval.
* **Deployment**: approvals and rejections in the hub's groups are forwarded to the default bus
  of the deployment accounts (first five), where the deploy projects (multi-account-deploy,
  cross-account-endpoint given a hub group ARN) admit them.
"""

from troposphere import GetAtt, If, Join, Output, Ref, Select, Split, Sub, Tags, Template, awslambda, events, iam, sqs

from generator.blocks import hub, registry
from generator.blocks.lambda_function import inline_function, log_group, logs_use_key
from generator.blocks.policy import BUCKET_READ, KEY_READ, KEY_USE, OBJECT_READ, policy_document, when
from generator.blocks.project import parameter_groups
from generator.blocks.security import skip_check
from generator.blocks.storage import encrypted_bucket, encryption_key
from generator.parameters import account_list_parameter
from generator.product import Product

PRODUCT_NAME = "model-registry-hub"
DEPLOYMENT_TARGETS = 5  # one EventBridge rule takes at most five targets

DATA_SCIENCE = "DataScienceAccountIds"
DEPLOYMENT = "DeploymentAccountIds"
WORKLOAD = "WorkloadAccountIds"
WORKLOAD_OUS = "WorkloadOrganizationalUnitIds"


def template() -> Template:
    t = Template(
        Description="Central SageMaker model registry of the shared-services account: model package groups, "
        "artifact bucket and key, push role, central event bus and model sync function (smcat model-registry-hub)."
    )

    # --- Parameters: the hub's name, the organization, the groups, and who may do what.
    t.add_parameter([hub.hub_name_parameter(), hub.organization_parameter()])
    t.add_parameter(hub.group_parameters(required=True))
    t.add_parameter(
        [
            account_list_parameter(
                DATA_SCIENCE, "Data science accounts: register versions (pending approval) and write artifacts."
            ),
            account_list_parameter(
                DEPLOYMENT,
                "Deployment accounts (where deploy projects run): read versions and artifacts, and "
                "receive the groups' approval events on their default bus (the first five).",
            ),
            account_list_parameter(WORKLOAD, "Workload accounts (endpoints): read versions and artifacts."),
            hub.ou_list_parameter(
                WORKLOAD_OUS, "Workload OUs (endpoints in every account): read versions and artifacts."
            ),
        ]
    )
    parameter_groups(
        t,
        {
            "Hub": [hub.HUB_NAME, hub.ORGANIZATION_ID],
            "Model package groups": [hub.group_parameter_name(s) for s in range(1, hub.GROUP_SLOTS + 1)],
            "Accounts": [DATA_SCIENCE, DEPLOYMENT, WORKLOAD, WORKLOAD_OUS],
        },
    )

    # --- Conditions: each kind of grant only when its accounts are named.
    groups = hub.add_group_conditions(t, required=True)
    for condition, parameter in (
        ("HasDataScienceAccounts", DATA_SCIENCE),
        ("HasDeploymentAccounts", DEPLOYMENT),
        ("HasWorkloadAccounts", WORKLOAD),
        ("HasWorkloadOUs", WORKLOAD_OUS),
    ):
        t.add_condition(condition, hub.has_items(parameter))
    t.add_condition(
        "HasGroupGrants",
        {
            "Fn::Or": [
                {"Condition": c}
                for c in ("HasDataScienceAccounts", "HasDeploymentAccounts", "HasWorkloadAccounts", "HasWorkloadOUs")
            ]
        },
    )
    # The deployment accounts as five slots ("" when fewer), for the forwarding rule's targets.
    padded = Split(",", Sub("${Ids},,,,,", Ids=Join(",", Ref(DEPLOYMENT))))
    deployment_slots = [Select(i, padded) for i in range(DEPLOYMENT_TARGETS)]
    for i, account in enumerate(deployment_slots, start=1):
        t.add_condition(f"HasDeploymentTarget{i}", {"Fn::Not": [{"Fn::Equals": [account, ""]}]})

    tags = Tags({"smcat:product": PRODUCT_NAME})

    # --- Encryption: the hub key; data science accounts use it, the others decrypt.
    key, _ = t.add_resource(
        encryption_key(
            "HubKey",
            "Encrypts the hub model registry's artifacts.",
            tags,
            when(
                "HasDataScienceAccounts", hub.for_accounts("DataScienceAccountsUseKey", Ref(DATA_SCIENCE), KEY_USE, "*")
            ),
            when(
                "HasDeploymentAccounts", hub.for_accounts("DeploymentAccountsDecrypt", Ref(DEPLOYMENT), KEY_READ, "*")
            ),
            when("HasWorkloadAccounts", hub.for_accounts("WorkloadAccountsDecrypt", Ref(WORKLOAD), KEY_READ, "*")),
            when("HasWorkloadOUs", hub.for_ous("WorkloadOUsDecrypt", WORKLOAD_OUS, KEY_READ, "*")),
            logs_use_key(hub.hub_resource_name("sync")),
            alias=Sub(f"alias/sagemaker-${{{hub.HUB_NAME}}}"),
        )
    )

    # --- Artifacts: data science accounts write their own push/ prefix; readers read everything.
    bucket_arn = GetAtt("HubBucket", "Arn")
    under = lambda path: Sub(f"${{Arn}}/{path}", Arn=bucket_arn)  # noqa: E731
    whole_bucket = [bucket_arn, under("*")]
    bucket, _ = t.add_resource(
        encrypted_bucket(
            "HubBucket",
            hub.bucket_name(),
            key,
            tags,
            when(
                "HasDataScienceAccounts",
                hub.for_accounts(
                    "DataScienceAccountsWriteOwnPrefix",
                    Ref(DATA_SCIENCE),
                    ["s3:PutObject", "s3:AbortMultipartUpload", *OBJECT_READ],
                    under(f"{hub.PUSH_PREFIX}/${{!aws:PrincipalAccount}}/*"),
                ),
            ),
            when(
                "HasDataScienceAccounts",
                hub.for_accounts(
                    "DataScienceAccountsReadOwnPulledModels",
                    Ref(DATA_SCIENCE),
                    OBJECT_READ,
                    under(f"{hub.PULL_PREFIX}/${{!aws:PrincipalAccount}}/*"),
                ),
            ),
            when(
                "HasDeploymentAccounts",
                hub.for_accounts("DeploymentAccountsRead", Ref(DEPLOYMENT), OBJECT_READ + BUCKET_READ, whole_bucket),
            ),
            when(
                "HasWorkloadAccounts",
                hub.for_accounts("WorkloadAccountsRead", Ref(WORKLOAD), OBJECT_READ + BUCKET_READ, whole_bucket),
            ),
            when(
                "HasWorkloadOUs", hub.for_ous("WorkloadOUsRead", WORKLOAD_OUS, OBJECT_READ + BUCKET_READ, whole_bucket)
            ),
        )
    )

    # --- Registry: the groups, with seed 000's cross-account policy.
    for slot, condition in enumerate(groups, start=1):
        name = Ref(hub.group_parameter_name(slot))
        group = t.add_resource(
            registry.model_package_group(
                f"ModelPackageGroup{slot}",
                name,
                "A model package group of the hub model registry (approve versions here).",
                tags,
                policy=If("HasGroupGrants", group_policy(name), Ref("AWS::NoValue")),
            )
        )
        if condition:
            group.Condition = condition
    group_resources = hub.per_group(groups, registry.group_arn) + hub.per_group(groups, registry.packages_arn)

    # --- Central event bus: SageMaker model package events from the organization's accounts only.
    bus = t.add_resource(
        events.EventBus("HubEventBus", Name=hub.bus_name(), Description="Model package events from spokes.", Tags=tags)
    )
    t.add_resource(
        events.EventBusPolicy(
            "HubEventBusPolicy",
            EventBusName=Ref(bus),
            StatementId="OrganizationSendsModelPackageEvents",
            Statement={
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "events:PutEvents",
                "Resource": GetAtt(bus, "Arn"),
                "Condition": {
                    "StringEquals": {
                        **hub.in_organization(),
                        "events:source": "aws.sagemaker",
                        "events:detail-type": hub.MODEL_PACKAGE_EVENT,
                    }
                },
            },
        )
    )

    # --- Pull pattern: approved spoke versions invoke the sync function.
    function_name = hub.hub_resource_name("sync")
    logs_group = t.add_resource(log_group("SyncLogGroup", function_name, tags, key=key))
    dead_letters = t.add_resource(
        sqs.Queue(
            "SyncDeadLetterQueue",
            QueueName=hub.hub_resource_name("sync-dlq"),
            KmsMasterKeyId=GetAtt(key, "Arn"),
            MessageRetentionPeriod=1209600,
            Tags=tags,
        )
    )
    sync_role = t.add_resource(
        iam.Role(
            "SyncRole",
            RoleName=hub.sync_role_name(),
            Description="Runs the model sync function: reads spoke registries and artifacts, writes the hub's.",
            AssumeRolePolicyDocument=policy_document(service_trust("lambda.amazonaws.com", for_this_account=False)),
            Policies=[
                iam.Policy(
                    PolicyName="model-sync",
                    PolicyDocument=policy_document(
                        {
                            "Sid": "WriteLogs",
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": GetAtt(logs_group, "Arn"),
                        },
                        {
                            "Sid": "KeepFailedEvents",
                            "Effect": "Allow",
                            "Action": "sqs:SendMessage",
                            "Resource": GetAtt(dead_letters, "Arn"),
                        },
                        {
                            "Sid": "ReadModelPackages",
                            "Effect": "Allow",
                            "Action": ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
                            "Resource": [
                                Sub("arn:${AWS::Partition}:sagemaker:${AWS::Region}:*:model-package/*"),
                                Sub("arn:${AWS::Partition}:sagemaker:${AWS::Region}:*:model-package-group/*"),
                            ],
                        },
                        {
                            # A list call names a group, not a version (see hub.LIST): which ARN IAM
                            # evaluates is not documented, so "*" (read-only; in another account the
                            # group's own policy still decides).
                            "Sid": "ListModelPackages",
                            "Effect": "Allow",
                            "Action": hub.LIST,
                            "Resource": "*",
                        },
                        # Only the buckets it syncs from: the spokes' (sagemaker-<hub>-<account>-<region>)
                        # and the model-build projects' (sagemaker-<project id>-<account>-<region>, see
                        # generator/blocks/storage.py bucket_name) of the data science accounts. A name
                        # cannot pin the owner (any account may create any free name), so the owner is
                        # checked too: aws:ResourceAccount, the account owning the resource (IAM User
                        # Guide, "AWS global condition context keys"; S3 also has s3:ResourceAccount).
                        when("HasDataScienceAccounts", read_synced_buckets(OBJECT_READ, data_science_objects())),
                        # A URI naming no object is copied as a prefix: ListObjectsV2 (s3:ListBucket).
                        when("HasDataScienceAccounts", read_synced_buckets(["s3:ListBucket"], data_science_buckets())),
                        # Keys of the data science accounts only (a key ARN names its account), and only
                        # as S3 uses them for the sync role (kms:ViaService, AWS KMS Developer Guide).
                        when(
                            "HasDataScienceAccounts",
                            {
                                "Sid": "DecryptDataScienceArtifactsThroughS3",
                                "Effect": "Allow",
                                "Action": "kms:Decrypt",
                                "Resource": data_science_keys(),
                                "Condition": {
                                    "StringEquals": {"kms:ViaService": Sub("s3.${AWS::Region}.amazonaws.com")}
                                },
                            },
                        ),
                        {
                            "Sid": "WritePulledArtifacts",
                            "Effect": "Allow",
                            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                            "Resource": under(f"{hub.PULL_PREFIX}/*"),
                        },
                        {
                            "Sid": "UseHubKey",
                            "Effect": "Allow",
                            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                            "Resource": GetAtt(key, "Arn"),
                        },
                        hub.register_pending_versions(group_resources),
                    ),
                )
            ],
            Tags=tags,
        )
    )
    function = t.add_resource(
        inline_function(
            "SyncFunction",
            function_name,
            "Copies approved spoke model versions into the hub registry, pending approval.",
            "model_sync",
            GetAtt(sync_role, "Arn"),
            {
                "HUB_BUCKET": Ref(bucket),
                "HUB_GROUPS": Join(",", [Ref(hub.group_parameter_name(s)) for s in range(1, hub.GROUP_SLOTS + 1)]),
            },
            tags,
            dead_letter_queue=dead_letters,
        )
    )
    function.DependsOn = [logs_group.title]
    skip_check(function, "CKV_AWS_117", "Calls AWS APIs only (S3, SageMaker); no VPC resources to reach.")
    skip_check(function, "CKV_AWS_173", "Environment holds the bucket and group names only, nothing secret.")
    skip_check(
        function,
        "CKV_AWS_115",
        "No reserved concurrency: it fails in accounts at the minimum concurrency quota; events are few and retried.",
    )
    sync_rule = t.add_resource(
        events.Rule(
            "SyncApprovedModels",
            Name=hub.hub_resource_name("sync-approved"),
            Description="Approved model versions forwarded by spokes: sync them into the hub.",
            EventBusName=Ref(bus),
            EventPattern={
                "source": ["aws.sagemaker"],
                "detail-type": [hub.MODEL_PACKAGE_EVENT],
                "detail": {"ModelApprovalStatus": ["Approved"]},
            },
            State="ENABLED",
            Targets=[events.Target(Id="ModelSync", Arn=GetAtt(function, "Arn"))],
        )
    )
    t.add_resource(
        awslambda.Permission(
            "SyncFunctionInvokedByRule",
            FunctionName=Ref(function),
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=GetAtt(sync_rule, "Arn"),
        )
    )

    # --- Push pattern: data science accounts assume this role to register versions here.
    t.add_resource(
        iam.Role(
            "PushRole",
            Condition="HasDataScienceAccounts",
            RoleName=hub.push_role_name(),
            Description="Assumed by data science accounts to write artifacts and register versions (pending approval).",
            # One role for every data science account: the session tag names the caller's own
            # account (checked against aws:PrincipalAccount), and the role writes that prefix only.
            AssumeRolePolicyDocument=policy_document(
                {
                    "Sid": "DataScienceAccountsInOrganization",
                    "Effect": "Allow",
                    "Principal": {"AWS": Ref(DATA_SCIENCE)},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Condition": {
                        "StringEquals": {
                            **hub.in_organization(),
                            f"aws:RequestTag/{hub.ACCOUNT_TAG}": "${aws:PrincipalAccount}",  # an IAM policy variable
                        }
                    },
                }
            ),
            Policies=[
                iam.Policy(
                    PolicyName="model-push",
                    PolicyDocument=policy_document(
                        {
                            "Sid": "WritePushedArtifacts",
                            "Effect": "Allow",
                            "Action": ["s3:PutObject", "s3:AbortMultipartUpload", *OBJECT_READ],
                            "Resource": under(f"{hub.PUSH_PREFIX}/${{!aws:PrincipalTag/{hub.ACCOUNT_TAG}}}/*"),
                        },
                        {
                            "Sid": "UseHubKey",
                            "Effect": "Allow",
                            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                            "Resource": GetAtt(key, "Arn"),
                        },
                        {
                            "Sid": "ReadHubRegistry",
                            "Effect": "Allow",
                            "Action": [
                                "sagemaker:DescribeModelPackageGroup",
                                "sagemaker:DescribeModelPackage",
                                "sagemaker:ListModelPackages",
                            ],
                            "Resource": group_resources,
                        },
                        hub.register_pending_versions(group_resources),
                    ),
                )
            ],
            Tags=tags,
        )
    )

    # --- Deployment: the groups' approvals and rejections go to the deployment accounts' buses.
    deployment_buses = [hub.default_bus_arn(account) for account in deployment_slots]
    present = [f"HasDeploymentTarget{i}" for i in range(1, DEPLOYMENT_TARGETS + 1)]
    forward_role = t.add_resource(
        iam.Role(
            "ForwardRole",
            Condition="HasDeploymentAccounts",
            RoleName=hub.hub_resource_name("forward"),
            Description="EventBridge forwards the hub groups' model package events to the deployment accounts.",
            AssumeRolePolicyDocument=policy_document(service_trust("events.amazonaws.com")),
            Policies=[
                iam.Policy(
                    PolicyName="forward-model-package-events",
                    PolicyDocument=policy_document(
                        {
                            "Sid": "PutEventsOnDeploymentBuses",
                            "Effect": "Allow",
                            "Action": "events:PutEvents",
                            "Resource": [
                                If(c, arn, Ref("AWS::NoValue"))
                                for c, arn in zip(present, deployment_buses, strict=True)
                            ],
                        }
                    ),
                )
            ],
            Tags=tags,
        )
    )
    t.add_resource(
        events.Rule(
            "ForwardToDeploymentAccounts",
            Condition="HasDeploymentAccounts",
            Name=hub.hub_resource_name("to-deployment"),
            Description="Approvals and rejections in the hub's groups, for the deployment accounts' deploy projects.",
            EventPattern={
                "source": ["aws.sagemaker"],
                "detail-type": [hub.MODEL_PACKAGE_EVENT],
                "detail": {
                    "ModelPackageGroupName": [Ref(hub.group_parameter_name(s)) for s in range(1, hub.GROUP_SLOTS + 1)],
                    "ModelApprovalStatus": ["Approved", "Rejected"],
                },
            },
            State="ENABLED",
            Targets=[
                If(
                    condition,
                    events.Target(Id=f"DeploymentAccount{i}", Arn=arn, RoleArn=GetAtt(forward_role, "Arn")),
                    Ref("AWS::NoValue"),
                )
                for i, (condition, arn) in enumerate(zip(present, deployment_buses, strict=True), start=1)
            ],
        )
    )

    # --- Outputs: what spokes, projects and target accounts are given.
    t.add_output(
        [
            Output(
                "HubBucketName",
                Description="Artifact bucket (ArtifactBucketPattern of target accounts).",
                Value=Ref(bucket),
            ),
            Output(
                "HubKeyArn", Description="Artifact key (ArtifactKeyArns of target accounts).", Value=GetAtt(key, "Arn")
            ),
            Output("HubEventBusArn", Description="Central bus the spokes forward to.", Value=GetAtt(bus, "Arn")),
            Output(
                "SyncRoleArn",
                Description="Role of the sync function (spokes grant it read).",
                Value=GetAtt(sync_role, "Arn"),
            ),
            Output(
                "PushRoleArn",
                Condition="HasDataScienceAccounts",
                Description="Role data science accounts assume.",
                Value=hub.role_arn("${AWS::AccountId}", "push"),
            ),
            Output(
                "SyncDeadLetterQueueUrl", Description="Events the sync function failed on.", Value=Ref(dead_letters)
            ),
            *[
                conditional(
                    Output(
                        f"ModelPackageGroup{slot}Arn",
                        Description="Hub group ARN (HubModelPackageGroupName or SageMakerModelPackageGroupName).",
                        Value=registry.group_arn(Ref(hub.group_parameter_name(slot))),
                    ),
                    condition,
                )
                for slot, condition in enumerate(groups, start=1)
            ],
        ]
    )
    return t


def group_policy(name):
    """Seed 000's cross-account policy of one hub group."""
    group, versions = registry.group_arn(name), registry.packages_arn(name)
    return policy_document(
        when(
            "HasDataScienceAccounts",
            hub.for_accounts("DataScienceDescribeGroup", Ref(DATA_SCIENCE), hub.DATA_SCIENCE_GROUP, group),
        ),
        when(
            "HasDataScienceAccounts",
            hub.for_accounts("DataScienceReadVersions", Ref(DATA_SCIENCE), hub.DATA_SCIENCE_VERSIONS, versions),
        ),
        when(
            "HasDataScienceAccounts",
            hub.for_accounts(
                "DataScienceRegisterPendingVersions",
                Ref(DATA_SCIENCE),
                hub.DATA_SCIENCE_REGISTER,
                [group, versions],
                hub.pending_unpromoted(),
            ),
        ),
        when(
            "HasDeploymentAccounts",
            hub.for_accounts("DeploymentAccountsDeploy", Ref(DEPLOYMENT), hub.DEPLOY, [group, versions]),
        ),
        when(
            "HasWorkloadAccounts",
            hub.for_accounts("WorkloadAccountsDeploy", Ref(WORKLOAD), hub.DEPLOY, [group, versions]),
        ),
        when("HasWorkloadOUs", hub.for_ous("WorkloadOUsDeploy", WORKLOAD_OUS, hub.DEPLOY, [group, versions])),
    )


# The data science accounts' artifact buckets: sagemaker-<hub or project id>-<12 characters>-<region>.
SYNCED_BUCKETS = "arn:${AWS::Partition}:s3:::sagemaker-*-????????????-${AWS::Region}"


def data_science_buckets():
    return Sub(SYNCED_BUCKETS)


def data_science_objects():
    return Sub(SYNCED_BUCKETS + "/*")


def data_science_keys():
    """`arn:*:kms:*:<account>:key/*` for each data science account: CloudFormation cannot join a list
    with a delimiter holding pseudo parameters, so partition and region are wildcards (the statement
    pins the region through kms:ViaService)."""
    return Split(",", Join("", ["arn:*:kms:*:", Join(":key/*,arn:*:kms:*:", Ref(DATA_SCIENCE)), ":key/*"]))


def read_synced_buckets(actions, resources):
    """The sync role's read of the data science accounts' artifact buckets: by name, owned by a
    data science account (aws:ResourceAccount; stronger than aws:ResourceOrgID, which it replaces)."""
    sid = "ListDataScienceArtifactBuckets" if actions == ["s3:ListBucket"] else "ReadDataScienceArtifacts"
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": resources,
        "Condition": {"StringEquals": {"aws:ResourceAccount": Ref(DATA_SCIENCE)}},
    }


def service_trust(service, for_this_account=True):
    """The service may assume the role (on behalf of this account's resources only)."""
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if for_this_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}}
    return statement


def conditional(resource, condition):
    if condition:
        resource.Condition = condition
    return resource


PRODUCT = Product(
    name=PRODUCT_NAME,
    description="Central model registry of the shared-services account: model package groups shared with data "
    "science, deployment and workload accounts of the organization, an artifact bucket and key, a push role, and a "
    "central event bus whose approved spoke versions are copied in for approval.",
    owner="ML platform team",
    version="1.0.0",
    studio_project=False,
    template=template,
)
