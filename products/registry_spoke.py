"""Registry spoke: a data science account's side of the hub model registry's pull pattern (seed 004).

An admin product (ml-admin portfolio), launched in each data science account after the hub
(model-registry-hub) exists, with the hub's account and HubName.

* **Local registry**: up to five model package groups this stack creates, whose policy lets the
  hub's sync role (and nothing else of the hub account) describe and list their versions.
  CloudFormation can only set a group's policy on a group it creates; for a group that already
  exists, forward it by prefix and apply the policy in the `ExistingGroupPolicy` output with
  `aws sagemaker put-model-package-group-policy` (the sync function logs AccessDenied until then).
* **Artifacts**: a KMS key and a versioned, TLS-only bucket for the versions' model artifacts,
  which the hub's sync role may read and decrypt. Principals of this account may use the key
  through S3 only (SageMaker jobs write model.tar.gz there with no IAM grant on the key).
  Register versions with artifacts here (or in a bucket granting the same).
* **Forwarding**: an EventBridge rule sends the Approved state changes of these groups (and of the
  groups whose names start with `ForwardGroupNamePrefix`) to the hub's central bus, through a role
  that may put events on that bus only.
"""

import json

from troposphere import Equals, GetAtt, If, Not, Or, Output, Parameter, Ref, Sub, Tags, Template, events, iam

from generator.blocks import hub, keys, registry
from generator.blocks.crossaccount import account_parameter
from generator.blocks.policy import BUCKET_READ, KEY_READ, OBJECT_READ, policy_document
from generator.blocks.project import mark_optional, parameter_groups
from generator.blocks.security import skip_check
from generator.blocks.storage import encrypted_bucket, encryption_key
from generator.product import Product

PRODUCT_NAME = "registry-spoke"
HUB_ACCOUNT = "HubAccountId"
PREFIX = "ForwardGroupNamePrefix"
PUSH_CALLERS = "PushCallerRoleNames"
PUSH_CALLERS_DEFAULT = "AmazonSageMakerServiceCatalogProductsUseRole"  # SageMaker projects' UseRole (no path)
HUB_KEY = "HubKeyArn"


def template() -> Template:
    t = Template(
        Description="Spoke of the hub model registry in a data science account: model package groups and an artifact "
        "bucket the hub's sync role may read, and forwarding of approved versions to the hub (smcat registry-spoke)."
    )

    # --- Parameters: the hub, the groups made here, and optionally a prefix of existing groups.
    t.add_parameter(
        [account_parameter(HUB_ACCOUNT, "Shared-services account of the hub model registry."), hub.hub_name_parameter()]
    )
    t.add_parameter(hub.group_parameters(required=False))
    t.add_parameter(
        Parameter(
            PREFIX,
            Type="String",
            Default="",
            MaxLength=63,
            AllowedPattern=r"^([a-zA-Z0-9][a-zA-Z0-9-]*)?$",
            Description="Also forward existing groups whose names start with this (they need the ExistingGroupPolicy "
            "output applied). Blank: only the groups above.",
            ConstraintDescription="blank, or the start of model package group names",
        )
    )
    t.add_parameter(
        [
            Parameter(
                PUSH_CALLERS,
                Type="CommaDelimitedList",
                Default=PUSH_CALLERS_DEFAULT,
                AllowedPattern=r"^([\w+=.@-]{1,64})?$",
                Description="Roles of this account (names, without path) that push into the hub: the push policy "
                "(assume the hub's push role tagging the session with this account, use the hub key) is attached to "
                "them. Blank: only create the policy.",
                ConstraintDescription="IAM role names (without path), comma-separated, or blank",
            ),
            Parameter(
                HUB_KEY,
                Type="String",
                Default="",
                AllowedPattern=keys.KEY_ARN_PATTERN,
                Description="The hub's HubKeyArn output: the push policy then names exactly that key. Blank: the "
                "hub account's key whose alias is alias/sagemaker-<hub name>.",
                ConstraintDescription="blank or a KMS key ARN",
            ),
        ]
    )
    mark_optional(t, PREFIX, PUSH_CALLERS, HUB_KEY)
    parameter_groups(
        t,
        {
            "Hub": [HUB_ACCOUNT, hub.HUB_NAME],
            "Model package groups": [hub.group_parameter_name(s) for s in range(1, hub.GROUP_SLOTS + 1)] + [PREFIX],
            "Push pattern": [PUSH_CALLERS, HUB_KEY],
        },
    )

    # --- Conditions and rules: something must be forwarded.
    groups = hub.add_group_conditions(t, required=False)
    t.add_condition("HasPrefix", Not(Equals(Ref(PREFIX), "")))
    t.add_condition("HasPushCallers", hub.has_items(PUSH_CALLERS))
    t.add_condition("HasHubKeyArn", Not(Equals(Ref(HUB_KEY), "")))
    t.add_rule(
        "SomethingToForward",
        {
            "Assertions": [
                {
                    "Assert": Or(Not(Equals(Ref(hub.group_parameter_name(1)), "")), Not(Equals(Ref(PREFIX), ""))),
                    "AssertDescription": "Name ModelPackageGroupName1 or ForwardGroupNamePrefix.",
                },
            ]
        },
    )

    tags = Tags({"smcat:product": PRODUCT_NAME})
    hub_account = f"${{{HUB_ACCOUNT}}}"

    # --- Encryption: the spoke's artifact key. This account's principals use it through S3 (the
    # SageMaker jobs writing model.tar.gz, whose roles' IAM policies name no key); the hub's sync
    # role decrypts (through S3).
    key, _ = t.add_resource(
        encryption_key(
            "SpokeKey",
            "Encrypts the model artifacts the hub model registry syncs from this account.",
            tags,
            keys.use_through_s3_for_this_account("ThisAccountUsesKeyThroughS3"),
            hub.for_hub_role("HubSyncRoleDecrypts", hub_account, "sync", KEY_READ, "*"),
            alias=Sub(f"alias/sagemaker-${{{hub.HUB_NAME}}}-spoke"),
        )
    )
    skip_check(
        key,
        "CKV_AWS_33",
        "the * principal is confined to this account (kms:CallerAccount, aws:PrincipalAccount) calling through "
        "S3 (kms:ViaService); checkov does not read conditions, lint rule E9130 does",
    )

    # --- Artifacts: the versions' model files; the hub's sync role reads them.
    bucket_arn = GetAtt("SpokeBucket", "Arn")
    bucket, _ = t.add_resource(
        encrypted_bucket(
            "SpokeBucket",
            hub.bucket_name(),
            key,
            tags,
            hub.for_hub_role(
                "HubSyncRoleReadsModels",
                hub_account,
                "sync",
                OBJECT_READ + BUCKET_READ,
                [bucket_arn, Sub("${Arn}/*", Arn=bucket_arn)],
            ),
        )
    )

    # --- Registry: the groups, readable by the hub's sync role.
    for slot, condition in enumerate(groups, start=1):
        name = Ref(hub.group_parameter_name(slot))
        group = t.add_resource(
            registry.model_package_group(
                f"ModelPackageGroup{slot}",
                name,
                "A model package group whose approved versions the hub model registry syncs.",
                tags,
                policy=group_policy(name, hub_account),
            )
        )
        group.Condition = condition

    # --- Forwarding: approved versions of these groups go to the hub's central bus.
    hub_bus = hub.bus_arn(hub_account)
    forward_role = t.add_resource(
        iam.Role(
            "ForwardRole",
            RoleName=hub.hub_resource_name("to-hub"),
            Description="EventBridge puts approved model package events on the hub's central bus.",
            AssumeRolePolicyDocument=policy_document(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}},
                }
            ),
            Policies=[
                iam.Policy(
                    PolicyName="forward-to-hub",
                    PolicyDocument=policy_document(
                        {
                            "Sid": "PutEventsOnHubBus",
                            "Effect": "Allow",
                            "Action": "events:PutEvents",
                            "Resource": hub_bus,
                        }
                    ),
                )
            ],
            Tags=tags,
        )
    )
    target = events.Target(Id="HubEventBus", Arn=hub_bus, RoleArn=GetAtt(forward_role, "Arn"))
    t.add_resource(
        events.Rule(
            "ForwardGroupsToHub",
            Condition="HasModelPackageGroups",
            Name=hub.hub_resource_name("to-hub"),
            Description="Approved versions of this stack's model package groups, for the hub model registry.",
            EventPattern=approved_pattern([Ref(hub.group_parameter_name(s)) for s in range(1, hub.GROUP_SLOTS + 1)]),
            State="ENABLED",
            Targets=[target],
        )
    )
    t.add_resource(
        events.Rule(
            "ForwardPrefixToHub",
            Condition="HasPrefix",
            Name=hub.hub_resource_name("prefix-to-hub"),
            Description="Approved versions of existing model package groups (by name prefix), for the hub.",
            EventPattern=approved_pattern([{"prefix": Ref(PREFIX)}]),
            State="ENABLED",
            Targets=[target],
        )
    )

    # --- Push pattern, the caller's side: the hub's push role trusts this account's principals that
    # tag the session with their own account; IAM also needs the caller's own policy to allow
    # sts:AssumeRole and sts:TagSession on the role (IAM User Guide, "Passing session tags in AWS
    # STS": TagSession in the role's trust policy and the caller's permissions), and cross-account
    # key use needs the caller's IAM policy too (AWS KMS Developer Guide, "Allowing users in other
    # accounts to use a KMS key"). ManagedPolicy Roles attaches it to existing roles by name.
    push_policy = t.add_resource(
        iam.ManagedPolicy(
            "PushCallerPolicy",
            ManagedPolicyName=Sub(f"sagemaker-${{{hub.HUB_NAME}}}-push-${{AWS::Region}}"),
            Description="Push into the hub model registry: assume the hub's push role (session tagged with this "
            "account) and use the hub key for push/<this account>/ of the hub bucket.",
            PolicyDocument=push_policy_document(hub_account),
            Roles=If("HasPushCallers", Ref(PUSH_CALLERS), Ref("AWS::NoValue")),
        )
    )

    # --- Outputs
    t.add_output(
        [
            Output(
                "SpokeBucketName", Description="Bucket for the model artifacts of synced versions.", Value=Ref(bucket)
            ),
            Output("SpokeKeyArn", Description="Key encrypting that bucket.", Value=GetAtt(key, "Arn")),
            Output("HubEventBusArn", Description="The hub's central bus approved versions go to.", Value=hub_bus),
            Output(
                "HubSyncRoleArn",
                Description="The hub role that reads this account's groups and artifacts.",
                Value=hub.role_arn(hub_account, "sync"),
            ),
            Output(
                "HubPushRoleArn",
                Description="The hub role this account may assume to push versions (push pattern), tagging the "
                "session smcat-account=<this account id>; it writes push/<this account id>/ of the hub bucket.",
                Value=hub.role_arn(hub_account, "push"),
            ),
            Output(
                "PushCallerPolicyArn",
                Description="Managed policy for the roles that push into the hub (attached to PushCallerRoleNames).",
                Value=Ref(push_policy),
            ),
            Output(
                "ExistingGroupPolicy",
                Description="Policy for an existing group forwarded by prefix: replace <group> and apply it with "
                "aws sagemaker put-model-package-group-policy --model-package-group-name <group> --resource-policy.",
                Value=Sub(
                    existing_group_policy_text(),
                    SyncRole=hub.role_arn(hub_account, "sync"),
                    HubRoot=Sub(f"arn:${{AWS::Partition}}:iam::{hub_account}:root"),
                ),
            ),
        ]
    )
    return t


def push_policy_document(hub_account):
    """What a role of this account needs, on its own side, to push into the hub: assume the push role
    (exactly that ARN), tag the session smcat-account=<this account> only, use the hub key (exactly:
    HubKeyArn, else the key behind the hub's alias) through S3, and write its own push/ prefix."""
    hub_bucket = f"sagemaker-${{{hub.HUB_NAME}}}-{hub_account}-${{AWS::Region}}"
    return policy_document(
        {
            "Sid": "AssumeHubPushRole",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": hub.role_arn(hub_account, "push"),
        },
        {
            "Sid": "TagPushSessionWithOwnAccount",
            "Effect": "Allow",
            "Action": "sts:TagSession",
            "Resource": hub.role_arn(hub_account, "push"),
            # The trust policy's test, on this side too: only this account's id (an IAM policy variable).
            "Condition": {"StringEquals": {f"aws:RequestTag/{hub.ACCOUNT_TAG}": "${aws:PrincipalAccount}"}},
        },
        {
            # Key ARNs only name a key in IAM policies; kms:ResourceAliases matches the key by its alias
            # (AWS KMS Developer Guide, "Specifying KMS keys in IAM policy statements", "ABAC for AWS KMS").
            "Sid": "UseHubKeyThroughS3",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": If(
                "HasHubKeyArn", Ref(HUB_KEY), Sub(f"arn:${{AWS::Partition}}:kms:${{AWS::Region}}:{hub_account}:key/*")
            ),
            "Condition": If(
                "HasHubKeyArn",
                {"StringEquals": {"kms:ViaService": Sub("s3.${AWS::Region}.amazonaws.com")}},
                {
                    "StringEquals": {"kms:ViaService": Sub("s3.${AWS::Region}.amazonaws.com")},
                    "ForAnyValue:StringEquals": {"kms:ResourceAliases": Sub(f"alias/sagemaker-${{{hub.HUB_NAME}}}")},
                },
            ),
        },
        {
            "Sid": "WriteOwnPushPrefix",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload", *OBJECT_READ],
            "Resource": Sub(
                f"arn:${{AWS::Partition}}:s3:::{hub_bucket}/{hub.PUSH_PREFIX}/${{!aws:PrincipalAccount}}/*"
            ),
        },
    )


def approved_pattern(group_names):
    """Approved versions of the groups matched by `group_names` (names or {"prefix": ...})."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [hub.MODEL_PACKAGE_EVENT],
        "detail": {"ModelPackageGroupName": group_names, "ModelApprovalStatus": ["Approved"]},
    }


def group_policy(name, hub_account):
    """Seed 004's spoke group policy: the hub's sync role describes the group and its versions."""
    return policy_document(
        hub.for_hub_role("HubSyncRoleDescribesGroup", hub_account, "sync", hub.SYNC_GROUP, registry.group_arn(name)),
        hub.for_hub_role(
            "HubSyncRoleReadsVersions", hub_account, "sync", hub.SYNC_VERSIONS, registry.packages_arn(name)
        ),
    )


def existing_group_policy_text():
    """`group_policy` as JSON text for `<group>`, to be filled in by `Fn::Sub`."""
    group = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model-package-group/<group>"
    versions = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model-package/<group>/*"

    def statement(sid, actions, resource):
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"AWS": "${HubRoot}"},
            "Action": actions,
            "Resource": resource,
            "Condition": {"ArnEquals": {"aws:PrincipalArn": "${SyncRole}"}},
        }

    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                statement("HubSyncRoleDescribesGroup", hub.SYNC_GROUP, group),
                statement("HubSyncRoleReadsVersions", hub.SYNC_VERSIONS, versions),
            ],
        },
        separators=(",", ":"),
    )


PRODUCT = Product(
    name=PRODUCT_NAME,
    description="Data science account side of the hub model registry: model package groups and an artifact bucket "
    "the hub may read, and forwarding of approved model versions to the hub's central event bus (pull pattern).",
    owner="ML platform team",
    version="1.0.0",
    studio_project=False,
    template=template,
)
