"""The target-account-bootstrap template: two roles, their trust, and permissions scoped to the
projects' stacks, endpoints, artifacts and keys. Also where the product is published."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT, load_template
from crossaccount_checks import (
    all_statements,
    as_list,
    assert_no_open_principals,
    longest_names,
    name_violations,
    unwrap,
)

PIPELINE_ROLE = {"Fn::Sub": "arn:${AWS::Partition}:iam::${DataScienceAccountId}:role/${PipelineRoleName}"}
# The pipeline role is trusted through its account and an aws:PrincipalArn condition: IAM rejects a
# trust policy naming a role that does not exist yet, and target accounts are set up first.
TRUSTS_PIPELINE_ROLE = {
    "Effect": "Allow",
    "Principal": {"AWS": {"Ref": "DataScienceAccountId"}},
    "Action": "sts:AssumeRole",
    "Condition": {"ArnEquals": {"aws:PrincipalArn": PIPELINE_ROLE}},
}
# Every Allow on Resource "*" and why "*" is the only choice (read-only or no resource type).
STAR_ALLOWED = {
    "cloudwatch:PutMetricData",  # no resource type; confined by cloudwatch:namespace
    "ecr:GetAuthorizationToken",  # no resource type; a registry login token
    "cloudwatch:GetMetricData",
    "cloudformation:ValidateTemplate",
    "cloudformation:GetTemplateSummary",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScalingActivities",
    "application-autoscaling:DescribeScheduledActions",
}


@pytest.fixture(scope="module")
def template(built):
    return load_template(built, "target-account-bootstrap")


@pytest.fixture(scope="module")
def roles(template):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::IAM::Role"}


def policy(role):
    """Statements by Sid, looking through Fn::If (the 'present when' branch)."""
    (document,) = [p["PolicyDocument"] for p in role["Properties"]["Policies"]]
    return {s["Sid"]: s for s in unwrap(document["Statement"])}


def present_when(role, sid):
    """The condition an Fn::If-wrapped statement is present under (None: always)."""
    (document,) = [p["PolicyDocument"] for p in role["Properties"]["Policies"]]
    for item in document["Statement"]:
        if "Fn::If" in item and item["Fn::If"][1]["Sid"] == sid:
            return item["Fn::If"][0]
        if item.get("Sid") == sid:
            return None
    raise KeyError(sid)


def test_it_is_an_admin_product_in_the_admin_portfolio_only(built):
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["products"]["target-account-bootstrap"]["studio_project"] is False
    admin = manifest["portfolios"]["ml-admin"]
    assert "target-account-bootstrap" in admin["products"] and admin["studio_visibility"] is False
    studio = manifest["portfolios"]["sagemaker-projects"]
    assert {"multi-account-deploy", "cross-account-endpoint"} <= set(studio["products"])
    assert "target-account-bootstrap" not in studio["products"]
    assert manifest["products"]["multi-account-deploy"]["studio_project"] is True


def test_no_project_parameters_and_values_that_suit_every_account_of_an_ou(template):
    params = template["Parameters"]
    assert "SageMakerProjectName" not in params
    assert not any(p.get("Default", "").isdigit() for p in params.values() if isinstance(p.get("Default"), str))
    assert params["RoleSuffix"]["Default"] == "mlops"
    for name in ("RoleSuffix", "ProjectNamePrefix"):
        pattern = params[name]["AllowedPattern"]
        assert re.fullmatch(pattern, "fraud-detection") and not re.fullmatch(pattern, "Fraud")
        assert params[name]["MaxLength"] == 32
    assert params["ArtifactKeyArns"]["Type"] == "CommaDelimitedList"
    # Optional: the data science account's keys decrypt through S3 without being listed.
    assert params["ArtifactKeyArns"]["Default"] == ""
    assert re.fullmatch(params["ArtifactKeyArns"]["AllowedPattern"], "")
    assert re.fullmatch(params["ArtifactKeyArns"]["AllowedPattern"],
                        "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    assert not re.fullmatch(params["ArtifactKeyArns"]["AllowedPattern"], "arn:aws:kms:eu-west-1:111122223333:key/*")
    assert not re.fullmatch(params["ArtifactKeyArns"]["AllowedPattern"], "*")


def test_role_names_and_tags(template, roles):
    assert set(roles) == {"SageMakerExecutionRole", "TesterRole", "DeployerRole"}
    assert roles["SageMakerExecutionRole"]["Properties"]["RoleName"] == {"Fn::Sub": "sagemaker-role-${RoleSuffix}"}
    assert roles["TesterRole"]["Properties"]["RoleName"] == {"Fn::Sub": "sagemaker-${RoleSuffix}-tester"}
    assert "Condition" not in roles["TesterRole"]  # both deploy products test their endpoints
    assert roles["DeployerRole"]["Properties"]["RoleName"] == {"Fn::Sub": "sagemaker-${RoleSuffix}-deployer"}
    assert roles["DeployerRole"]["Condition"] == "CreatesDeployerRole"
    assert name_violations(template) == []
    assert all(len(v) <= 64 for v in longest_names(template).values())
    for role in roles.values():
        assert role["Properties"]["Tags"] == [{"Key": "smcat:product", "Value": "target-account-bootstrap"}]


def test_execution_role_trusts_sagemaker_only(roles):
    """The pipeline tests endpoints with the tester role: in prod the execution role reads the
    models and writes captured production data, which the data science pipeline must not hold."""
    trust = roles["SageMakerExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"},
    ]
    assert "TestProjectEndpoints" not in policy(roles["SageMakerExecutionRole"])


def test_tester_role_is_trusted_by_the_pipeline_role_and_only_describes_and_invokes(template, roles):
    tester = roles["TesterRole"]["Properties"]
    assert tester["AssumeRolePolicyDocument"]["Statement"] == [TRUSTS_PIPELINE_ROLE]
    assert policy(roles["TesterRole"]) == {
        "TestProjectEndpoints": {
            "Sid": "TestProjectEndpoints",
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"],
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:sagemaker:*:${AWS::AccountId}:endpoint/${ProjectNamePrefix}*"},
        },
        "ReadProjectStacks": {
            "Sid": "ReadProjectStacks",
            "Effect": "Allow",
            "Action": "cloudformation:DescribeStacks",
            "Resource": [
                {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/"
                            "sagemaker-${ProjectNamePrefix}*/*"},
                {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/"
                            "StackSet-sagemaker-${ProjectNamePrefix}*/*"},
            ],
        },
    }
    outputs = template["Outputs"]
    assert outputs["TesterRoleName"]["Value"] == {"Ref": "TesterRole"} and "Condition" not in outputs["TesterRoleName"]
    # By default the pipeline role is project-roles' (the deploy products' CodeBuild runs as it).
    assert template["Parameters"]["PipelineRoleName"]["Default"] == "sagemaker-projects-pipeline-role"


def test_deployer_trusts_the_pipeline_role_and_cloudformation_only(roles):
    trust = roles["DeployerRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        TRUSTS_PIPELINE_ROLE,
        {"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"},
    ]
    # CodePipeline cannot pass an ExternalId, so none is required.
    assert not any("sts:ExternalId" in str(s) for s in trust)


def test_roles_decrypt_with_the_registry_accounts_keys_through_s3_and_listed_extra_keys(template, roles):
    """Every new project makes its own key: a fixed list of key ARNs broke each new project until
    an admin updated the StackSet. The keys' own policies still decide who may decrypt."""
    for role in ("SageMakerExecutionRole", "DeployerRole"):
        found = policy(roles[role])
        assert found["DecryptArtifactsThroughS3"] == {
            "Sid": "DecryptArtifactsThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": [
                {"Fn::Sub": "arn:${AWS::Partition}:kms:*:${DataScienceAccountId}:key/*"},
                {"Fn::If": ["HasRegistryAccount",
                            {"Fn::Sub": "arn:${AWS::Partition}:kms:*:${ModelRegistryAccountId}:key/*"},
                            {"Ref": "AWS::NoValue"}]},
            ],
            "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}},
        }
        assert found["DecryptArtifacts"] == {"Sid": "DecryptArtifacts", "Effect": "Allow", "Action": "kms:Decrypt",
                                             "Resource": {"Ref": "ArtifactKeyArns"}}
        assert present_when(roles[role], "DecryptArtifacts") == "HasArtifactKeys"
    assert template["Conditions"]["HasArtifactKeys"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "ArtifactKeyArns"}]}, ""]}]}


def test_execution_role_reads_artifacts_and_decrypts_with_the_shared_keys_only(roles):
    found = policy(roles["SageMakerExecutionRole"])
    assert found["ReadArtifactObjects"]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    # The given pattern, or by default the project buckets of the data science account and the
    # buckets of the registry account (a hub's pulled models).
    assert found["ReadArtifactObjects"]["Resource"] == {"Fn::If": [
        "HasBucketPattern",
        [{"Fn::Sub": ["arn:${AWS::Partition}:s3:::${Pattern}/*", {"Pattern": {"Ref": "ArtifactBucketPattern"}}]}],
        [{"Fn::Sub": "arn:${AWS::Partition}:s3:::sagemaker-*-${DataScienceAccountId}-*/*"},
         {"Fn::If": ["HasRegistryAccount",
                     {"Fn::Sub": "arn:${AWS::Partition}:s3:::sagemaker-*-${ModelRegistryAccountId}-*/*"},
                     {"Ref": "AWS::NoValue"}]}],
    ]}
    writes = [(sid, a) for sid, s in found.items() for a in as_list(s["Action"]) if a.startswith("s3:Put")]
    assert writes == [("DataCapture", "s3:PutObject")]
    # This account's data capture bucket, under the project endpoints' own prefixes.
    assert found["DataCapture"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::sagemaker-datacapture-${AWS::AccountId}-*/${ProjectNamePrefix}*"}


def test_deployer_operates_the_project_stacks_only(roles):
    found = policy(roles["DeployerRole"])
    stacks = found["OperateProjectStacks"]
    assert stacks["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/sagemaker-${ProjectNamePrefix}*/*"}
    assert {"cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DescribeStacks"} <= set(
        stacks["Action"])
    cfn = [s for s in found.values() if any(a.startswith("cloudformation:") for a in as_list(s["Action"]))]
    assert [s["Sid"] for s in cfn] == ["OperateProjectStacks", "ValidateTemplates"]


def test_deployer_passes_the_execution_role_to_sagemaker_and_itself_to_cloudformation_only(template, roles):
    found = policy(roles["DeployerRole"])
    passes = [s for s in found.values() if "iam:PassRole" in as_list(s["Action"])]
    assert [(s["Resource"], s["Condition"]) for s in passes] == [
        ({"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]},
         {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
        ({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/sagemaker-${RoleSuffix}-deployer"},
         {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}),
    ]
    assert all(as_list(s["Action"]) == ["iam:PassRole"] for s in passes)


def test_deployer_manages_project_endpoints_by_name_and_models_by_project_tag(roles):
    found = policy(roles["DeployerRole"])
    endpoint = "arn:${AWS::Partition}:sagemaker:*:${AWS::AccountId}:endpoint/${ProjectNamePrefix}*"
    assert found["ProjectEndpoints"]["Resource"] == {"Fn::Sub": endpoint}
    generated = [{"Fn::Sub": "arn:${AWS::Partition}:sagemaker:*:${AWS::AccountId}:model/*"},
                 {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:*:${AWS::AccountId}:endpoint-config/*"}]
    create = found["CreateTaggedModelsAndConfigs"]
    assert create["Resource"] == generated
    assert create["Condition"] == {"StringLike": {"aws:RequestTag/sagemaker:project-name":
                                                  {"Fn::Sub": "${ProjectNamePrefix}*"}}}
    use = found["UseAndDeleteTaggedModelsAndConfigs"]
    assert use["Condition"] == {"StringLike": {"aws:ResourceTag/sagemaker:project-name":
                                               {"Fn::Sub": "${ProjectNamePrefix}*"}}}
    unconditioned_writes = [a for s in found.values() if s["Resource"] == generated and "Condition" not in s
                            for a in as_list(s["Action"]) if not a.startswith(("sagemaker:Describe", "sagemaker:List"))]
    assert unconditioned_writes == []


def test_deployer_can_register_the_endpoints_with_auto_scaling(roles):
    """SageMaker's auto scaling prerequisites: the caller registering a variant may describe the
    endpoint and its config and update its weights and capacities; Application Auto Scaling's
    actions; and creating its service-linked role for SageMaker endpoints, and no other."""
    found = policy(roles["DeployerRole"])
    endpoints = {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:*:${AWS::AccountId}:endpoint/${ProjectNamePrefix}*"}
    assert found["ProjectEndpoints"]["Resource"] == endpoints
    assert {"sagemaker:UpdateEndpointWeightsAndCapacities", "sagemaker:DescribeEndpoint"} <= set(
        found["ProjectEndpoints"]["Action"])
    assert "sagemaker:DescribeEndpointConfig" in found["ReadModelsAndConfigs"]["Action"]
    assert {"arn:${AWS::Partition}:sagemaker:*:${AWS::AccountId}:endpoint-config/*"} == {
        r["Fn::Sub"] for r in found["ReadModelsAndConfigs"]["Resource"]} - {
        "arn:${AWS::Partition}:sagemaker:*:${AWS::AccountId}:model/*"}
    scale = found["ScaleEndpoints"]
    assert {"application-autoscaling:RegisterScalableTarget", "application-autoscaling:PutScalingPolicy",
            "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:DeleteScalingPolicy"} <= set(
        scale["Action"])
    assert scale["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:application-autoscaling:*:${AWS::AccountId}:scalable-target/*"}
    assert {"application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
            "application-autoscaling:DescribeScalingActivities"} <= set(found["DescribeScaling"]["Action"])
    assert found["EndpointScalingServiceLinkedRole"] == {
        "Sid": "EndpointScalingServiceLinkedRole",
        "Effect": "Allow",
        "Action": "iam:CreateServiceLinkedRole",
        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/"
                                "sagemaker.application-autoscaling.amazonaws.com/"
                                "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"},
        "Condition": {"StringEquals": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}},
    }


def test_the_data_capture_bucket_is_encrypted_versioned_tls_only_and_the_endpoints_default(template):
    """The endpoint stack's default capture destination must exist in every target account: this
    stack makes it (nothing made sagemaker-<region>-<account> before)."""
    resources = template["Resources"]
    assert template["Conditions"]["CreatesDataCaptureBucket"] == {
        "Fn::Equals": [{"Ref": "CreateDataCaptureBucket"}, "true"]}
    assert template["Parameters"]["CreateDataCaptureBucket"]["Default"] == "true"
    for logical_id in ("DataCaptureKey", "DataCaptureKeyAlias", "DataCaptureBucket", "DataCaptureBucketPolicy"):
        assert resources[logical_id]["Condition"] == "CreatesDataCaptureBucket", logical_id
    bucket = resources["DataCaptureBucket"]
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    props = bucket["Properties"]
    assert props["BucketName"] == {"Fn::Sub": "sagemaker-datacapture-${AWS::AccountId}-${AWS::Region}"}
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["DataCaptureKey", "Arn"]}}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    (tls,) = resources["DataCaptureBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    key = resources["DataCaptureKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    statements = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
    assert set(statements) == {"AccountAdministersKey", "ThisAccountUsesKeyThroughS3"}
    assert statements["ThisAccountUsesKeyThroughS3"]["Condition"] == {"StringEquals": {
        "kms:CallerAccount": {"Ref": "AWS::AccountId"}, "aws:PrincipalAccount": {"Ref": "AWS::AccountId"},
        "kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}}
    # The endpoint template's default destination is this bucket.
    endpoint_template = (ROOT / "seedcode" / "modeldeploy" / "endpoint-config-template.yml").read_text()
    assert "!Sub s3://sagemaker-datacapture-${AWS::AccountId}-${AWS::Region}\n" in endpoint_template
    assert max(len(v) for (i, _), v in longest_names(template).items() if i == "DataCaptureBucket") <= 63


def registry_arns(kind):
    """The data science account's registry, and a hub's when ModelRegistryAccountId is given."""
    return [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:sagemaker:*:${{DataScienceAccountId}}:{kind}/*"},
        {"Fn::If": ["HasRegistryAccount",
                    {"Fn::Sub": f"arn:${{AWS::Partition}}:sagemaker:*:${{ModelRegistryAccountId}}:{kind}/*"},
                    {"Ref": "AWS::NoValue"}]},
    ]


def test_deployer_creates_models_from_the_registry_accounts_packages(roles):
    """CreateModel with a ModelPackageName of another account is authorized against that model
    package too: the deployer needs it there (and the group's policy on the other side)."""
    found = policy(roles["DeployerRole"])
    assert found["CreateModelsFromRegistryPackages"] == {
        "Sid": "CreateModelsFromRegistryPackages",
        "Effect": "Allow",
        "Action": ["sagemaker:CreateModel", "sagemaker:DescribeModelPackage"],
        "Resource": registry_arns("model-package"),
    }
    for role in ("DeployerRole", "SageMakerExecutionRole"):
        read = policy(roles[role])["DescribeRegistryModelPackages"]
        assert read["Resource"] == registry_arns("model-package") + registry_arns("model-package-group")
        assert read["Action"] == ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"]


def role_statements(template):
    """Statements of the roles' trust and identity policies (the data capture key and bucket
    policies are checked on their own)."""
    return [(i, w, s) for i, w, s in all_statements(template) if template["Resources"][i]["Type"] == "AWS::IAM::Role"]


def test_no_wildcard_actions_and_no_writes_on_every_resource(template):
    for logical_id, _where, statement in role_statements(template):
        assert statement["Effect"] == "Allow"
        for name in as_list(statement["Action"]):
            assert name != "*" and not name.endswith(":*"), (logical_id, statement)
        if statement.get("Resource") == "*":
            assert set(as_list(statement["Action"])) <= STAR_ALLOWED, (logical_id, statement["Sid"])
    assert_no_open_principals(template)


def test_every_resource_pattern_stays_in_this_account_or_the_named_ones(template):
    for _logical_id, _where, statement in role_statements(template):
        if "Resource" not in statement or statement["Resource"] == "*":
            continue
        if statement["Sid"] == "PullModelImages":  # SageMaker's image registries are AWS accounts
            assert all(a.startswith(("ecr:BatchGet", "ecr:Get", "ecr:BatchCheck")) for a in statement["Action"])
            continue
        for resource in as_list(statement["Resource"]):
            text = json.dumps(resource)
            assert re.search(r"AWS::AccountId|DataScienceAccountId|Account|ArtifactKeyArns|:s3:::|GetAtt",
                             text), (statement["Sid"], text)
