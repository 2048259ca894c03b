"""E9120 (wildcard actions) and E9121 (write actions on Resource "*")."""

from __future__ import annotations

import pytest


def role(*statements, trust=None):
    return {"Role": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": trust or {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)}}],
    }}}


def allow(action, resource="arn:aws:s3:::bucket/*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


ROOT = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}


def key(*statements):
    return {"Key": {"Type": "AWS::KMS::Key", "Properties": {
        "EnableKeyRotation": True, "KeyPolicy": {"Version": "2012-10-17", "Statement": list(statements)}}}}


# ---------------------------------------------------------------------------- E9120


@pytest.mark.parametrize("action", ["s3:GetObject", ["s3:GetObject", "s3:PutObject"], "s3:Get*"])
def test_specific_actions_pass(project, lint, action):
    assert lint(project(role(allow(action))), "E9120") == []


@pytest.mark.parametrize("action,fragment", [
    ("*", "allows '*': every action of every service"),
    ("s3:*", "allows 's3:*': every action of s3"),
    (["sagemaker:DescribeModel", "SageMaker:*"], "allows 'SageMaker:*': every action of SageMaker"),
])
def test_wildcard_actions_are_flagged(project, lint, action, fragment):
    [finding] = lint(project(role(allow(action))), "E9120")
    assert finding.path == ("Resources", "Role", "Properties", "Policies", 0, "PolicyDocument", "Statement", 0)
    assert finding.message.startswith("Role (AWS::IAM::Role) Statement[0] " + fragment.split(":")[0])
    assert fragment in finding.message
    assert "List the specific actions needed" in finding.message


def test_deny_with_wildcard_is_fine(project, lint):
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert lint(project(role(deny, allow("s3:GetObject"))), "E9120") == []


def test_not_action_is_flagged(project, lint):
    statement = {"Sid": "Everything", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    [finding] = lint(project(role(statement)), "E9120")
    assert "statement 'Everything' allows every action except iam:* (NotAction with Effect Allow)" in finding.message


def test_kms_root_statement_is_exempt(project, lint):
    tpl = project(key({"Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"}))
    assert lint(tpl, "E9120") == []
    tpl = project(key({"Effect": "Allow", "Principal": {"AWS": {"Ref": "AWS::AccountId"}},
                       "Action": "kms:*", "Resource": "*"}))
    assert lint(tpl, "E9120") == []


def test_kms_wildcard_for_another_principal_is_flagged(project, lint):
    other = {"AWS": "arn:aws:iam::111122223333:role/Deployer"}
    [finding] = lint(project(key({"Effect": "Allow", "Principal": other, "Action": "kms:*", "Resource": "*"})),
                     "E9120")
    assert "only the account root" in finding.message and "kms:Decrypt" in finding.message


def test_kms_wildcard_for_root_of_another_account_is_flagged(project, lint):
    other_root = {"AWS": "arn:aws:iam::111122223333:root"}
    assert lint(project(key({"Effect": "Allow", "Principal": other_root, "Action": "kms:*", "Resource": "*"})),
                "E9120")


def test_wildcards_in_resource_policies(project, lint):
    bucket_policy = {"Policy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
        "Bucket": "b", "PolicyDocument": {"Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:*",
            "Resource": "arn:aws:s3:::b/*"}]}}}}
    [finding] = lint(project(bucket_policy), "E9120")
    assert finding.message.startswith("Policy (AWS::S3::BucketPolicy) Statement[0] allows 's3:*'")


def test_policy_as_json_string(project, lint):
    group = {"Group": {"Type": "AWS::SageMaker::ModelPackageGroup", "Properties": {
        "ModelPackageGroupPolicy": '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},'
                                   ' "Action": "sagemaker:*", "Resource": "*"}]}'}}}
    assert [f.rule for f in lint(project(group), "E9120")] == ["E9120"]


def test_managed_policy_with_fn_if_statement(project, lint):
    tpl = project({"Policy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {
        "Statement": [{"Fn::If": ["C", allow("*"), {"Ref": "AWS::NoValue"}]}]}}}})
    tpl["Conditions"] = {"C": {"Fn::Equals": ["a", "a"]}}
    [finding] = lint(tpl, "E9120")
    assert finding.path[-2:] == ("Statement", 0)


# ---------------------------------------------------------------------------- E9121


@pytest.mark.parametrize("actions", [
    ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages", "s3:GetObject", "ecr:GetAuthorizationToken"],
    ["cloudwatch:PutMetricData", "xray:PutTraceSegments", "codepipeline:PutJobSuccessResult"],
    ["sagemaker:Describe*", "sagemaker:List*", "sagemaker:Search"],
])
def test_read_and_unscopable_actions_on_star_pass(project, lint, actions):
    assert lint(project(role(allow(actions, "*"))), "E9121") == []


def test_write_actions_on_star_are_flagged(project, lint):
    statement = allow(["sagemaker:CreateEndpoint", "sagemaker:DescribeEndpoint", "iam:PassRole"], "*")
    [finding] = lint(project(role(statement)), "E9121")
    assert finding.message.startswith(
        "Role (AWS::IAM::Role) Statement[0] allows sagemaker:CreateEndpoint, iam:PassRole on Resource '*'")
    assert "support resource-level permissions" in finding.message


def test_write_actions_on_scoped_resources_pass(project, lint):
    arn = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/sagemaker-*"
    statement = allow("sagemaker:CreateEndpoint", {"Fn::Sub": arn})
    assert lint(project(role(statement)), "E9121") == []


def test_resource_policies_are_not_checked_for_star(project, lint):
    tpl = project(key(
        {"Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": ["kms:Decrypt", "kms:ReEncrypt*"], "Resource": "*"},
    ))
    assert lint(tpl, "E9121") == []


def test_full_wildcard_is_left_to_e9120(project, lint):
    findings = lint(project(role(allow("s3:*", "*"))))
    assert [f.rule for f in findings] == ["E9120"]


def test_allow_list_entries_have_reasons():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "generator" / "rules" / "iam_resource_star.py"
    spec = importlib.util.spec_from_file_location("iam_resource_star_for_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for action, reason in module.NO_RESOURCE_ACTIONS.items():
        assert action == action.lower() and ":" in action and reason
