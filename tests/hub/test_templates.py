"""The model-registry-hub and registry-spoke templates (as built into dist), statement by statement."""

from __future__ import annotations

import json
import re

import pytest
from conftest import load_template

from generator.blocks import hub
from generator.blocks.lambda_function import inline_source
from generator.names import resolve as longest

from .conftest import DATA_SCIENCE, HUB, ORGANIZATION
from .resolve import resolve

ORG = {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}
# Registering into the hub: no version already at stage Production or with stage status Deployed.
NOT_PROMOTED = {
    "StringNotEquals": {"sagemaker:ModelLifeCycle:stage": "Production",
                        "sagemaker:ModelLifeCycle:stageStatus": "Deployed"}
}
DATA_SCIENCE_OWNED = {"StringEquals": {"aws:ResourceAccount": {"Ref": "DataScienceAccountIds"}}}
GROUP_ARN = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model-package-group/${Name}"
VERSIONS_ARN = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model-package/${Name}/*"
BUCKET_ARN = {"Fn::GetAtt": ["HubBucket", "Arn"]}
OU_PATHS = {
    "Fn::Split": [
        ",",
        {"Fn::Sub": ["*/${Ous}/*", {"Ous": {"Fn::Join": ["/*,*/", {"Ref": "WorkloadOrganizationalUnitIds"}]}}]},
    ]
}
SYNC_ROLE = {"Fn::Sub": "arn:${AWS::Partition}:iam::${HubAccountId}:role/sagemaker-${HubName}-sync"}
HUB_ROOT = {"Fn::Sub": "arn:${AWS::Partition}:iam::${HubAccountId}:root"}
KEY_USE = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
KEY_READ = ["kms:Decrypt", "kms:DescribeKey"]
OBJECT_READ = ["s3:GetObject", "s3:GetObjectVersion"]
READ = OBJECT_READ + ["s3:GetBucketLocation", "s3:ListBucket"]


@pytest.fixture(scope="module")
def hub_template(built):
    return load_template(built, "model-registry-hub")


@pytest.fixture(scope="module")
def spoke(built):
    return load_template(built, "registry-spoke")


def props(template, logical_id):
    return template["Resources"][logical_id]["Properties"]


def present_when(item):
    """(condition, statement) of an Fn::If-wrapped statement; (None, statement) otherwise."""
    if "Fn::If" in item:
        condition, statement, absent = item["Fn::If"]
        assert absent == {"Ref": "AWS::NoValue"}
        return condition, statement
    return None, item


def statements(document):
    """{Sid: (condition, statement)}."""
    found = {}
    for item in document["Statement"]:
        condition, statement = present_when(item)
        found[statement["Sid"]] = (condition, statement)
    return found


def sub(text, **variables):
    return {"Fn::Sub": [text, variables]} if variables else {"Fn::Sub": text}


def under(path):
    return {"Fn::Sub": [f"${{Arn}}/{path}", {"Arn": BUCKET_ARN}]}


# --- model-registry-hub -------------------------------------------------------------------------


def test_hub_parameters(hub_template):
    params = hub_template["Parameters"]
    assert params["HubName"]["Default"] == "model-hub" and params["HubName"]["MaxLength"] == 24
    assert re.fullmatch(params["HubName"]["AllowedPattern"], "model-hub")
    assert not re.fullmatch(params["HubName"]["AllowedPattern"], "Model-Hub")
    assert re.fullmatch(params["OrganizationId"]["AllowedPattern"], ORGANIZATION)
    assert "Default" not in params["OrganizationId"] and "Default" not in params["ModelPackageGroupName1"]
    for slot in range(2, 6):
        assert params[f"ModelPackageGroupName{slot}"]["Default"] == ""
    for name in ("DataScienceAccountIds", "DeploymentAccountIds", "WorkloadAccountIds"):
        assert params[name]["Type"] == "CommaDelimitedList" and params[name]["Default"] == ""
        assert re.fullmatch(params[name]["AllowedPattern"], DATA_SCIENCE)
    ous = params["WorkloadOrganizationalUnitIds"]
    assert ous["Type"] == "CommaDelimitedList"
    assert re.fullmatch(ous["AllowedPattern"], "ou-ab12-11111111") and re.fullmatch(ous["AllowedPattern"], "")


def test_hub_has_no_hard_coded_accounts_or_regions(hub_template):
    text = json.dumps({k: v for k, v in hub_template.items() if k != "Resources"}) + json.dumps(
        {k: v for k, v in hub_template["Resources"].items() if k != "SyncFunction"}
    )
    assert not re.search(r"\b\d{12}\b", text)
    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af|il|mx)-(east|west|north|south|central)-\d\b", text)


def test_hub_names_fit_at_the_longest_hub_name(hub_template):
    names = {
        ("HubBucket", "BucketName"): 63,
        ("SyncRole", "RoleName"): 64,
        ("PushRole", "RoleName"): 64,
        ("ForwardRole", "RoleName"): 64,
        ("SyncFunction", "FunctionName"): 64,
        ("SyncApprovedModels", "Name"): 64,
        ("ForwardToDeploymentAccounts", "Name"): 64,
        ("HubEventBus", "Name"): 256,
        ("SyncDeadLetterQueue", "QueueName"): 80,
    }
    for (logical_id, prop), limit in names.items():
        value = longest(props(hub_template, logical_id)[prop], hub_template)
        assert value is not None and len(value) <= limit, (logical_id, value)
    assert len(longest(props(hub_template, "HubBucket")["BucketName"], hub_template)) == 63


def test_hub_key_policy_statement_by_statement(hub_template):
    key = props(hub_template, "HubKey")
    assert key["EnableKeyRotation"] is True
    policy = statements(key["KeyPolicy"])
    assert set(policy) == {
        "AccountAdministersKey",
        "DataScienceAccountsUseKey",
        "DeploymentAccountsDecrypt",
        "WorkloadAccountsDecrypt",
        "WorkloadOUsDecrypt",
        "CloudWatchLogsUseKey",
    }
    assert policy["AccountAdministersKey"] == (
        None,
        {
            "Sid": "AccountAdministersKey",
            "Effect": "Allow",
            "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
            "Action": "kms:*",
            "Resource": "*",
        },
    )
    for sid, condition, accounts, actions in (
        ("DataScienceAccountsUseKey", "HasDataScienceAccounts", "DataScienceAccountIds", KEY_USE),
        ("DeploymentAccountsDecrypt", "HasDeploymentAccounts", "DeploymentAccountIds", KEY_READ),
        ("WorkloadAccountsDecrypt", "HasWorkloadAccounts", "WorkloadAccountIds", KEY_READ),
    ):
        assert policy[sid] == (
            condition,
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"AWS": {"Ref": accounts}},
                "Action": actions,
                "Resource": "*",
                "Condition": {"StringEquals": ORG},
            },
        )
    assert policy["WorkloadOUsDecrypt"] == (
        "HasWorkloadOUs",
        {
            "Sid": "WorkloadOUsDecrypt",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": KEY_READ,
            "Resource": "*",
            "Condition": {"StringEquals": ORG, "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": OU_PATHS}},
        },
    )
    logs_condition, logs = policy["CloudWatchLogsUseKey"]
    assert logs_condition is None
    assert logs["Principal"] == {"Service": sub("logs.${AWS::Region}.amazonaws.com")}
    assert list(logs["Condition"]["ArnEquals"]) == ["kms:EncryptionContext:aws:logs:arn"]


def test_hub_bucket_is_encrypted_versioned_private_retained_and_tls_only(hub_template):
    bucket = hub_template["Resources"]["HubBucket"]
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    p = bucket["Properties"]
    assert p["BucketName"] == sub("sagemaker-${HubName}-${AWS::AccountId}-${AWS::Region}")
    rule = p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["HubKey", "Arn"]}}
    assert p["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(p["PublicAccessBlockConfiguration"].values()) == {True}
    policy = statements(props(hub_template, "HubBucketPolicy")["PolicyDocument"])
    _, tls = policy["DenyInsecureTransport"]
    assert tls["Effect"] == "Deny" and tls["Principal"] == "*" and tls["Action"] == "s3:*"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_hub_bucket_policy_statement_by_statement(hub_template):
    policy = statements(props(hub_template, "HubBucketPolicy")["PolicyDocument"])
    assert set(policy) == {
        "DenyInsecureTransport",
        "DataScienceAccountsWriteOwnPrefix",
        "DataScienceAccountsReadOwnPulledModels",
        "DeploymentAccountsRead",
        "WorkloadAccountsRead",
        "WorkloadOUsRead",
    }

    def for_accounts(sid, accounts, actions, resource):
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"AWS": {"Ref": accounts}},
            "Action": actions,
            "Resource": resource,
            "Condition": {"StringEquals": ORG},
        }

    assert policy["DataScienceAccountsWriteOwnPrefix"] == (
        "HasDataScienceAccounts",
        for_accounts(
            "DataScienceAccountsWriteOwnPrefix",
            "DataScienceAccountIds",
            ["s3:PutObject", "s3:AbortMultipartUpload", *OBJECT_READ],
            under("push/${!aws:PrincipalAccount}/*"),
        ),
    )
    assert policy["DataScienceAccountsReadOwnPulledModels"] == (
        "HasDataScienceAccounts",
        for_accounts(
            "DataScienceAccountsReadOwnPulledModels",
            "DataScienceAccountIds",
            OBJECT_READ,
            under("pull/${!aws:PrincipalAccount}/*"),
        ),
    )
    whole = [BUCKET_ARN, under("*")]
    assert policy["DeploymentAccountsRead"] == (
        "HasDeploymentAccounts",
        for_accounts("DeploymentAccountsRead", "DeploymentAccountIds", READ, whole),
    )
    assert policy["WorkloadAccountsRead"] == (
        "HasWorkloadAccounts",
        for_accounts("WorkloadAccountsRead", "WorkloadAccountIds", READ, whole),
    )
    assert policy["WorkloadOUsRead"] == (
        "HasWorkloadOUs",
        {
            "Sid": "WorkloadOUsRead",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": READ,
            "Resource": whole,
            "Condition": {"StringEquals": ORG, "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": OU_PATHS}},
        },
    )


def test_hub_groups_carry_seed_000s_cross_account_policy(hub_template):
    resources = hub_template["Resources"]
    for slot in range(1, 6):
        group = resources[f"ModelPackageGroup{slot}"]
        assert group.get("Condition") == (None if slot == 1 else f"HasModelPackageGroup{slot}")
        p = group["Properties"]
        name = {"Ref": f"ModelPackageGroupName{slot}"}
        assert p["ModelPackageGroupName"] == name
        condition, document, absent = p["ModelPackageGroupPolicy"]["Fn::If"]
        assert condition == "HasGroupGrants" and absent == {"Ref": "AWS::NoValue"}
        group_arn, versions = sub(GROUP_ARN, Name=name), sub(VERSIONS_ARN, Name=name)
        policy = statements(document)
        expected = {
            "DataScienceDescribeGroup": (
                "HasDataScienceAccounts",
                "DataScienceAccountIds",
                ["sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages"],
                group_arn,
                {"StringEquals": ORG},
            ),
            "DataScienceReadVersions": (
                "HasDataScienceAccounts",
                "DataScienceAccountIds",
                ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages", "sagemaker:CreateModel"],
                versions,
                {"StringEquals": ORG},
            ),
            "DataScienceRegisterPendingVersions": (
                "HasDataScienceAccounts",
                "DataScienceAccountIds",
                # No UpdateModelPackage: it would reach every account's versions and any status.
                ["sagemaker:CreateModelPackage"],
                [group_arn, versions],
                {
                    "StringEquals": ORG,
                    "StringEqualsIfExists": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"},
                    **NOT_PROMOTED,
                },
            ),
            "DeploymentAccountsDeploy": (
                "HasDeploymentAccounts",
                "DeploymentAccountIds",
                hub.DEPLOY,
                [group_arn, versions],
                {"StringEquals": ORG},
            ),
            "WorkloadAccountsDeploy": (
                "HasWorkloadAccounts",
                "WorkloadAccountIds",
                hub.DEPLOY,
                [group_arn, versions],
                {"StringEquals": ORG},
            ),
        }
        assert set(policy) == {*expected, "WorkloadOUsDeploy"}
        for sid, (when, accounts, actions, resource, conditions) in expected.items():
            assert policy[sid] == (
                when,
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"AWS": {"Ref": accounts}},
                    "Action": actions,
                    "Resource": resource,
                    "Condition": conditions,
                },
            ), sid
        assert policy["WorkloadOUsDeploy"] == (
            "HasWorkloadOUs",
            {
                "Sid": "WorkloadOUsDeploy",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": hub.DEPLOY,
                "Resource": [group_arn, versions],
                "Condition": {"StringEquals": ORG, "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": OU_PATHS}},
            },
        )


def test_hub_bus_accepts_sagemaker_model_package_events_from_the_organization_only(hub_template):
    assert props(hub_template, "HubEventBus")["Name"] == sub("sagemaker-${HubName}")
    policy = props(hub_template, "HubEventBusPolicy")
    assert policy["EventBusName"] == {"Ref": "HubEventBus"}
    assert policy["Statement"] == {
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "events:PutEvents",
        "Resource": {"Fn::GetAtt": ["HubEventBus", "Arn"]},
        "Condition": {
            "StringEquals": {
                **ORG,
                "events:source": "aws.sagemaker",
                "events:detail-type": "SageMaker Model Package State Change",
            }
        },
    }


def test_approved_versions_on_the_hub_bus_invoke_the_sync_function(hub_template):
    rule = props(hub_template, "SyncApprovedModels")
    assert rule["EventBusName"] == {"Ref": "HubEventBus"}
    assert rule["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelApprovalStatus": ["Approved"]},
    }
    assert rule["Targets"] == [{"Id": "ModelSync", "Arn": {"Fn::GetAtt": ["SyncFunction", "Arn"]}}]
    permission = props(hub_template, "SyncFunctionInvokedByRule")
    assert permission == {
        "FunctionName": {"Ref": "SyncFunction"},
        "Action": "lambda:InvokeFunction",
        "Principal": "events.amazonaws.com",
        "SourceArn": {"Fn::GetAtt": ["SyncApprovedModels", "Arn"]},
    }


def test_sync_function_runs_the_embedded_model_sync_module(hub_template):
    function = hub_template["Resources"]["SyncFunction"]
    p = function["Properties"]
    assert p["Code"] == {"ZipFile": inline_source("model_sync")}
    assert len(p["Code"]["ZipFile"].encode()) <= 4096
    assert (p["Runtime"], p["Handler"], p["Timeout"]) == ("python3.12", "index.handler", 900)
    assert p["Role"] == {"Fn::GetAtt": ["SyncRole", "Arn"]}
    assert p["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": ["SyncDeadLetterQueue", "Arn"]}}
    assert p["Environment"]["Variables"] == {
        "HUB_BUCKET": {"Ref": "HubBucket"},
        "HUB_GROUPS": {"Fn::Join": [",", [{"Ref": f"ModelPackageGroupName{s}"} for s in range(1, 6)]]},
    }
    assert function["DependsOn"] == ["SyncLogGroup"]
    assert props(hub_template, "SyncLogGroup")["KmsKeyId"] == {"Fn::GetAtt": ["HubKey", "Arn"]}
    assert props(hub_template, "SyncDeadLetterQueue")["KmsMasterKeyId"] == {"Fn::GetAtt": ["HubKey", "Arn"]}


def test_sync_role_statement_by_statement(hub_template):
    role = props(hub_template, "SyncRole")
    assert role["RoleName"] == sub("sagemaker-${HubName}-sync")
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    (policy,) = role["Policies"]
    policy = statements(policy["PolicyDocument"])
    assert {sid: (s["Action"], s.get("Condition")) for sid, (_, s) in policy.items()} == {
        "WriteLogs": (["logs:CreateLogStream", "logs:PutLogEvents"], None),
        "KeepFailedEvents": ("sqs:SendMessage", None),
        "ReadModelPackages": (["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"], None),
        "ListModelPackages": ("sagemaker:ListModelPackages", None),
        "ReadDataScienceArtifacts": (OBJECT_READ, DATA_SCIENCE_OWNED),
        "ListDataScienceArtifactBuckets": (["s3:ListBucket"], DATA_SCIENCE_OWNED),
        "DecryptDataScienceArtifactsThroughS3": (
            "kms:Decrypt",
            {"StringEquals": {"kms:ViaService": sub("s3.${AWS::Region}.amazonaws.com")}},
        ),
        "WritePulledArtifacts": (["s3:PutObject", "s3:AbortMultipartUpload"], None),
        "UseHubKey": (["kms:GenerateDataKey", "kms:Decrypt"], None),
        "RegisterPendingVersions": (
            "sagemaker:CreateModelPackage",
            {"StringEqualsIfExists": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}, **NOT_PROMOTED},
        ),
    }
    assert policy["WritePulledArtifacts"][1]["Resource"] == under("pull/*")
    # Only the data science accounts' artifact buckets (sagemaker-<hub or project id>-<account>-<region>)
    # and keys; nothing to read when no data science account is listed.
    synced = "arn:${AWS::Partition}:s3:::sagemaker-*-????????????-${AWS::Region}"
    assert policy["ReadDataScienceArtifacts"] == ("HasDataScienceAccounts", policy["ReadDataScienceArtifacts"][1])
    assert policy["ReadDataScienceArtifacts"][1]["Resource"] == sub(synced + "/*")
    assert policy["ListDataScienceArtifactBuckets"][1]["Resource"] == sub(synced)
    assert policy["DecryptDataScienceArtifactsThroughS3"][0] == "HasDataScienceAccounts"
    assert policy["ReadModelPackages"][1]["Resource"] == [
        sub("arn:${AWS::Partition}:sagemaker:${AWS::Region}:*:model-package/*"),
        sub("arn:${AWS::Partition}:sagemaker:${AWS::Region}:*:model-package-group/*"),
    ]
    # A list call names a group: "*" whichever ARN IAM evaluates (read-only).
    assert policy["ListModelPackages"][1]["Resource"] == "*"
    resources = policy["RegisterPendingVersions"][1]["Resource"]
    assert resources[0] == sub(GROUP_ARN, Name={"Ref": "ModelPackageGroupName1"})
    assert resources[5] == sub(VERSIONS_ARN, Name={"Ref": "ModelPackageGroupName1"})
    assert resources[1] == {
        "Fn::If": [
            "HasModelPackageGroup2",
            sub(GROUP_ARN, Name={"Ref": "ModelPackageGroupName2"}),
            {"Ref": "AWS::NoValue"},
        ]
    }


def test_push_role_is_for_the_data_science_accounts_in_the_organization(hub_template):
    role = hub_template["Resources"]["PushRole"]
    assert role["Condition"] == "HasDataScienceAccounts"
    p = role["Properties"]
    assert p["RoleName"] == sub("sagemaker-${HubName}-push")
    # One role for every data science account: the caller tags the session with its own account
    # (an IAM policy variable in the condition), and the role writes that account's prefix only.
    assert p["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Sid": "DataScienceAccountsInOrganization",
            "Effect": "Allow",
            "Principal": {"AWS": {"Ref": "DataScienceAccountIds"}},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {**ORG, "aws:RequestTag/smcat-account": "${aws:PrincipalAccount}"},
            },
        }
    ]
    policy = statements(p["Policies"][0]["PolicyDocument"])
    assert policy["WritePushedArtifacts"][1]["Resource"] == under("push/${!aws:PrincipalTag/smcat-account}/*")
    assert policy["WritePushedArtifacts"][1]["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload", *OBJECT_READ]
    assert policy["RegisterPendingVersions"][1]["Condition"] == {
        "StringEqualsIfExists": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"},
        **NOT_PROMOTED,
    }
    assert "sagemaker:UpdateModelPackage" not in json.dumps(policy)  # approving is the hub owner's


def test_hub_forwards_approvals_to_the_first_five_deployment_accounts(hub_template):
    rule = hub_template["Resources"]["ForwardToDeploymentAccounts"]
    assert rule["Condition"] == "HasDeploymentAccounts"
    p = rule["Properties"]
    assert p["EventPattern"]["detail"] == {
        "ModelPackageGroupName": [{"Ref": f"ModelPackageGroupName{s}"} for s in range(1, 6)],
        "ModelApprovalStatus": ["Approved", "Rejected"],
    }
    assert [t["Fn::If"][0] for t in p["Targets"]] == [f"HasDeploymentTarget{i}" for i in range(1, 6)]
    first = p["Targets"][0]["Fn::If"][1]
    assert first["RoleArn"] == {"Fn::GetAtt": ["ForwardRole", "Arn"]}
    assert first["Arn"]["Fn::Sub"][0] == "arn:${AWS::Partition}:events:${AWS::Region}:${Account}:event-bus/default"
    (policy,) = props(hub_template, "ForwardRole")["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert [r["Fn::If"][1] for r in statement["Resource"]] == [t["Fn::If"][1]["Arn"] for t in p["Targets"]]


@pytest.mark.parametrize(
    ("accounts", "targets"),
    [
        ([DATA_SCIENCE], [f"arn:aws:events:us-east-1:{DATA_SCIENCE}:event-bus/default"]),
        (
            [f"{i}" * 12 for i in range(1, 8)],
            [f"arn:aws:events:us-east-1:{i * 12}:event-bus/default" for i in "12345"],
        ),
    ],
)
def test_deployment_slots_follow_the_list(hub_template, accounts, targets):
    resolved = resolve(
        hub_template,
        HUB,
        {"OrganizationId": ORGANIZATION, "ModelPackageGroupName1": "churn", "DeploymentAccountIds": accounts},
    )
    rule = resolved["Resources"]["ForwardToDeploymentAccounts"]["Properties"]
    assert [t["Arn"] for t in rule["Targets"]] == targets


def test_hub_without_optional_accounts_grants_nothing_across_accounts(hub_template):
    resolved = resolve(hub_template, HUB, {"OrganizationId": ORGANIZATION, "ModelPackageGroupName1": "churn"})
    resources = resolved["Resources"]
    assert "PushRole" not in resources and "ForwardRole" not in resources
    assert "ModelPackageGroupPolicy" not in resources["ModelPackageGroup1"]["Properties"]
    assert {s["Sid"] for s in resources["HubBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]} == {
        "DenyInsecureTransport"
    }
    assert [f"ModelPackageGroup{s}" in resources for s in range(1, 6)] == [True, False, False, False, False]


def test_hub_outputs(hub_template):
    outputs = hub_template["Outputs"]
    assert outputs["SyncRoleArn"]["Value"] == {"Fn::GetAtt": ["SyncRole", "Arn"]}
    assert outputs["PushRoleArn"]["Condition"] == "HasDataScienceAccounts"
    assert outputs["HubEventBusArn"]["Value"] == {"Fn::GetAtt": ["HubEventBus", "Arn"]}
    assert outputs["ModelPackageGroup1Arn"]["Value"] == sub(GROUP_ARN, Name={"Ref": "ModelPackageGroupName1"})
    assert outputs["ModelPackageGroup3Arn"]["Condition"] == "HasModelPackageGroup3"


# --- registry-spoke ---------------------------------------------------------------------------------


def test_spoke_parameters_and_rule(spoke):
    params = spoke["Parameters"]
    assert re.fullmatch(params["HubAccountId"]["AllowedPattern"], HUB) and "Default" not in params["HubAccountId"]
    assert params["HubName"]["Default"] == "model-hub"
    assert all(params[f"ModelPackageGroupName{s}"]["Default"] == "" for s in range(1, 6))
    assert params["ForwardGroupNamePrefix"]["Default"] == ""
    (assertion,) = spoke["Rules"]["SomethingToForward"]["Assertions"]
    assert assertion["Assert"] == {
        "Fn::Or": [
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "ModelPackageGroupName1"}, ""]}]},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "ForwardGroupNamePrefix"}, ""]}]},
        ]
    }


def hub_sync(sid, actions, resource):
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": HUB_ROOT},
        "Action": actions,
        "Resource": resource,
        "Condition": {"ArnEquals": {"aws:PrincipalArn": SYNC_ROLE}},
    }


def test_spoke_key_bucket_and_groups_let_only_the_hubs_sync_role_read(spoke):
    key = statements(props(spoke, "SpokeKey")["KeyPolicy"])
    assert set(key) == {"AccountAdministersKey", "ThisAccountUsesKeyThroughS3", "HubSyncRoleDecrypts"}
    assert key["HubSyncRoleDecrypts"] == (None, hub_sync("HubSyncRoleDecrypts", KEY_READ, "*"))
    # SageMaker jobs of this account write model.tar.gz (SSE-KMS) without an IAM grant on the key.
    assert key["ThisAccountUsesKeyThroughS3"] == (
        None,
        {
            "Sid": "ThisAccountUsesKeyThroughS3",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": KEY_USE,
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": {"Ref": "AWS::AccountId"},
                    "aws:PrincipalAccount": {"Ref": "AWS::AccountId"},
                    "kms:ViaService": sub("s3.${AWS::Region}.amazonaws.com"),
                }
            },
        },
    )

    assert props(spoke, "SpokeBucket")["BucketName"] == sub("sagemaker-${HubName}-${AWS::AccountId}-${AWS::Region}")
    bucket_arn = {"Fn::GetAtt": ["SpokeBucket", "Arn"]}
    bucket = statements(props(spoke, "SpokeBucketPolicy")["PolicyDocument"])
    assert set(bucket) == {"DenyInsecureTransport", "HubSyncRoleReadsModels"}
    assert bucket["HubSyncRoleReadsModels"] == (
        None,
        hub_sync("HubSyncRoleReadsModels", READ, [bucket_arn, {"Fn::Sub": ["${Arn}/*", {"Arn": bucket_arn}]}]),
    )

    for slot in range(1, 6):
        group = spoke["Resources"][f"ModelPackageGroup{slot}"]
        assert group["Condition"] == f"HasModelPackageGroup{slot}"
        name = {"Ref": f"ModelPackageGroupName{slot}"}
        policy = statements(group["Properties"]["ModelPackageGroupPolicy"])
        assert policy == {
            "HubSyncRoleDescribesGroup": (
                None,
                hub_sync(
                    "HubSyncRoleDescribesGroup",
                    ["sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages"],
                    sub(GROUP_ARN, Name=name),
                ),
            ),
            "HubSyncRoleReadsVersions": (
                None,
                hub_sync(
                    "HubSyncRoleReadsVersions",
                    ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                    sub(VERSIONS_ARN, Name=name),
                ),
            ),
        }


def test_spoke_forwards_approved_versions_to_the_hub_bus_only(spoke):
    hub_bus = sub("arn:${AWS::Partition}:events:${AWS::Region}:${HubAccountId}:event-bus/sagemaker-${HubName}")
    role = props(spoke, "ForwardRole")
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }
    ]
    assert role["Policies"][0]["PolicyDocument"]["Statement"] == [
        {"Sid": "PutEventsOnHubBus", "Effect": "Allow", "Action": "events:PutEvents", "Resource": hub_bus}
    ]
    target = {"Id": "HubEventBus", "Arn": hub_bus, "RoleArn": {"Fn::GetAtt": ["ForwardRole", "Arn"]}}
    groups = spoke["Resources"]["ForwardGroupsToHub"]
    assert groups["Condition"] == "HasModelPackageGroups"
    assert groups["Properties"]["Targets"] == [target]
    assert groups["Properties"]["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {
            "ModelPackageGroupName": [{"Ref": f"ModelPackageGroupName{s}"} for s in range(1, 6)],
            "ModelApprovalStatus": ["Approved"],
        },
    }
    prefix = spoke["Resources"]["ForwardPrefixToHub"]
    assert prefix["Condition"] == "HasPrefix"
    assert prefix["Properties"]["Targets"] == [target]
    assert prefix["Properties"]["EventPattern"]["detail"]["ModelPackageGroupName"] == [
        {"prefix": {"Ref": "ForwardGroupNamePrefix"}}
    ]


def test_spoke_existing_group_policy_output_is_the_policy_the_spoke_gives_its_own_groups(spoke):
    params = {"HubAccountId": HUB, "ModelPackageGroupName1": "churn"}
    resolved = resolve(spoke, DATA_SCIENCE, params)
    text = resolved["Outputs"]["ExistingGroupPolicy"].replace("<group>", "churn")
    own = resolved["Resources"]["ModelPackageGroup1"]["Properties"]["ModelPackageGroupPolicy"]
    assert json.loads(text) == own


def test_admin_products_are_not_studio_projects(built):
    manifest = json.loads((built / "manifest.json").read_text())
    for name in ("model-registry-hub", "registry-spoke"):
        assert manifest["products"][name]["studio_project"] is False
        template = load_template(built, name)
        assert "SageMakerProjectName" not in template["Parameters"]


# --- The sync role reads only the buckets and keys it syncs from (issue 9, A10) -------------------

OTHER_DATA_SCIENCE = "555555555555"


def everyone_in_the_organization_reads(buckets):
    """Bucket policies (in the data science account) that would let the hub's sync role read: the
    identity policy alone must then refuse what it does not sync from."""
    return {
        "Resources": {
            f"Policy{i}": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": bucket,
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Sid": "Organization",
                                "Effect": "Allow",
                                "Principal": {"AWS": "*"},
                                "Action": ["s3:GetObject", "s3:ListBucket"],
                                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION}},
                            }
                        ]
                    },
                },
            }
            for i, bucket in enumerate(buckets)
        }
    }


@pytest.mark.parametrize(
    ("bucket", "owner", "allowed"),
    [
        (f"sagemaker-model-hub-{DATA_SCIENCE}-us-east-1", DATA_SCIENCE, True),  # a spoke
        (f"sagemaker-p-abcdef123456-{DATA_SCIENCE}-us-east-1", DATA_SCIENCE, True),  # a model-build project
        (f"sagemaker-model-hub-{OTHER_DATA_SCIENCE}-us-east-1", OTHER_DATA_SCIENCE, True),  # the second listed
        (f"sagemaker-us-east-1-{DATA_SCIENCE}", DATA_SCIENCE, False),  # the SageMaker SDK's default bucket
        (f"ml-data-{DATA_SCIENCE}", DATA_SCIENCE, False),  # any other bucket of the account
        (f"sagemaker-model-hub-{DATA_SCIENCE}-eu-west-1", DATA_SCIENCE, False),  # another region
        (f"sagemaker-model-hub-{DATA_SCIENCE}-us-east-1", "333333333333", False),  # the name, squatted elsewhere
        ("sagemaker-model-hub-333333333333-us-east-1", "333333333333", False),  # not a data science account
    ],
)
def test_sync_role_reads_only_the_data_science_accounts_artifact_buckets(hub_template, bucket, owner, allowed):
    from .access import Grants, Principal, need

    resolved = resolve(
        hub_template,
        HUB,
        {
            "OrganizationId": ORGANIZATION,
            "ModelPackageGroupName1": "churn",
            "DataScienceAccountIds": [DATA_SCIENCE, OTHER_DATA_SCIENCE],
        },
    )
    grants = Grants().add_template(resolved, HUB).add_template(everyone_in_the_organization_reads([bucket]), owner)
    sync = Principal(f"arn:aws:iam::{HUB}:role/sagemaker-model-hub-sync", ORGANIZATION)
    context = {"aws:ResourceAccount": owner, "aws:ResourceOrgID": ORGANIZATION}
    for action, arn in (
        ("s3:GetObject", f"arn:aws:s3:::{bucket}/m/model.tar.gz"),
        ("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
    ):
        assert (grants.check(need(sync, action, arn, "sync", **context)) == []) is allowed, (action, bucket)


def test_sync_role_decrypts_only_keys_of_the_data_science_accounts_through_s3(hub_template):
    resolved = resolve(
        hub_template,
        HUB,
        {"OrganizationId": ORGANIZATION, "ModelPackageGroupName1": "churn", "DataScienceAccountIds": [DATA_SCIENCE]},
    )
    (policy,) = resolved["Resources"]["SyncRole"]["Properties"]["Policies"]
    (decrypt,) = [
        s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "DecryptDataScienceArtifactsThroughS3"
    ]
    assert decrypt["Resource"] == [f"arn:*:kms:*:{DATA_SCIENCE}:key/*"]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    assert not any(
        s["Resource"] in ("*", "arn:aws:s3:::*/*")
        for s in policy["PolicyDocument"]["Statement"]
        if s["Sid"] != "ListModelPackages"
    )


# --- The push policy of the data science roles (issue 9, A8) ---------------------------------------

PUSH_ROLE = {"Fn::Sub": "arn:${AWS::Partition}:iam::${HubAccountId}:role/sagemaker-${HubName}-push"}


def test_spoke_push_caller_policy_is_scoped_to_the_push_role_and_the_hub_key(spoke):
    policy = props(spoke, "PushCallerPolicy")
    assert spoke["Resources"]["PushCallerPolicy"]["Type"] == "AWS::IAM::ManagedPolicy"
    assert policy["ManagedPolicyName"] == sub("sagemaker-${HubName}-push-${AWS::Region}")
    assert policy["Roles"] == {"Fn::If": ["HasPushCallers", {"Ref": "PushCallerRoleNames"}, {"Ref": "AWS::NoValue"}]}
    assert spoke["Parameters"]["PushCallerRoleNames"]["Default"] == "AmazonSageMakerServiceCatalogProductsUseRole"
    assert spoke["Parameters"]["HubKeyArn"]["Default"] == ""
    found = statements(policy["PolicyDocument"])
    assert {sid: s["Action"] for sid, (_, s) in found.items()} == {
        "AssumeHubPushRole": "sts:AssumeRole",
        "TagPushSessionWithOwnAccount": "sts:TagSession",
        "UseHubKeyThroughS3": ["kms:GenerateDataKey", "kms:Decrypt"],
        "WriteOwnPushPrefix": ["s3:PutObject", "s3:AbortMultipartUpload", *OBJECT_READ],
    }
    assert found["AssumeHubPushRole"][1]["Resource"] == PUSH_ROLE
    assert found["TagPushSessionWithOwnAccount"][1]["Resource"] == PUSH_ROLE
    assert found["TagPushSessionWithOwnAccount"][1]["Condition"] == {
        "StringEquals": {"aws:RequestTag/smcat-account": "${aws:PrincipalAccount}"}
    }
    # Through S3 only; the hub key by its alias only when HubKeyArn does not name it.
    via_s3 = {"StringEquals": {"kms:ViaService": sub("s3.${AWS::Region}.amazonaws.com")}}
    assert found["UseHubKeyThroughS3"][1]["Condition"] == {"Fn::If": [
        "HasHubKeyArn",
        via_s3,
        {**via_s3, "ForAnyValue:StringEquals": {"kms:ResourceAliases": sub("alias/sagemaker-${HubName}")}},
    ]}
    assert spoke["Outputs"]["PushCallerPolicyArn"]["Value"] == {"Ref": "PushCallerPolicy"}


@pytest.mark.parametrize(
    ("parameters", "roles", "key"),
    [
        ({}, ["AmazonSageMakerServiceCatalogProductsUseRole"], f"arn:aws:kms:us-east-1:{HUB}:key/*"),
        ({"PushCallerRoleNames": ""}, None, f"arn:aws:kms:us-east-1:{HUB}:key/*"),
        (
            {"PushCallerRoleNames": "ml-a,ml-b", "HubKeyArn": f"arn:aws:kms:us-east-1:{HUB}:key/abcd-1234"},
            ["ml-a", "ml-b"],
            f"arn:aws:kms:us-east-1:{HUB}:key/abcd-1234",
        ),
    ],
)
def test_spoke_push_caller_policy_attaches_to_the_named_roles(spoke, parameters, roles, key):
    resolved = resolve(spoke, DATA_SCIENCE, {"HubAccountId": HUB, "ModelPackageGroupName1": "churn", **parameters})
    policy = resolved["Resources"]["PushCallerPolicy"]["Properties"]
    assert policy.get("Roles") == roles
    by_sid = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert by_sid["AssumeHubPushRole"]["Resource"] == f"arn:aws:iam::{HUB}:role/sagemaker-model-hub-push"
    assert by_sid["UseHubKeyThroughS3"]["Resource"] == key
    assert by_sid["WriteOwnPushPrefix"]["Resource"] == (
        f"arn:aws:s3:::sagemaker-model-hub-{HUB}-us-east-1/push/${{aws:PrincipalAccount}}/*"
    )
