"""E9130: grants to any principal are pinned to the organization or accounts."""

from __future__ import annotations

import pytest

RULE = "E9130"
ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}


def bucket_policy(statement):
    return {"Policy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
        "Bucket": "b", "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}}}


def share(principal, condition=None, effect="Allow"):
    statement = {"Effect": effect, "Principal": principal, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    if condition is not None:
        statement["Condition"] = condition
    return statement


@pytest.mark.parametrize("principal,condition", [
    ("*", ORG),
    ({"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgPaths": "o-abcdefghij/r-ab12/ou-ab12-11111111/*"}}),
    ({"AWS": "*"}, {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-abcdefghij/*"]}}),
    ({"AWS": "*"}, {"StringEquals": {"aws:PrincipalAccount": ["111122223333", "444455556666"]}}),
    ({"AWS": "*"}, {"StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}}),
    ({"AWS": ["arn:aws:iam::111122223333:root", "444455556666"]}, None),
    ({"Service": "sagemaker.amazonaws.com"}, None),
])
def test_constrained_or_explicit_principals_pass(project, lint, principal, condition):
    assert lint(project(bucket_policy(share(principal, condition))), RULE) == []


@pytest.mark.parametrize("principal,condition", [
    ("*", None),
    ({"AWS": "*"}, None),
    ({"AWS": ["arn:aws:iam::111122223333:root", "*"]}, None),
    ({"AWS": "*"}, {"StringNotEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}),
    ({"AWS": "*"}, {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abcdefghij"}}),
    ({"AWS": "*"}, {"StringLike": {"aws:PrincipalOrgID": "*"}}),
    ({"AWS": "*"}, {"Bool": {"aws:SecureTransport": "true"}}),
])
def test_unconstrained_wildcard_is_flagged(project, lint, principal, condition):
    [finding] = lint(project(bucket_policy(share(principal, condition))), RULE)
    assert finding.path == ("Resources", "Policy", "Properties", "PolicyDocument", "Statement", 0)
    assert finding.message.startswith(
        "Policy (AWS::S3::BucketPolicy) Statement[0] allows s3:GetObject to any AWS principal")
    assert "aws:PrincipalOrgID" in finding.message


def test_deny_to_everyone_is_fine(project, lint):
    deny = share("*", {"Bool": {"aws:SecureTransport": "false"}}, effect="Deny")
    assert lint(project(bucket_policy(deny)), RULE) == []


def test_model_package_group_policy(project, lint):
    group = {"Group": {"Type": "AWS::SageMaker::ModelPackageGroup", "Properties": {
        "ModelPackageGroupName": "g", "ModelPackageGroupPolicy": {"Statement": [{
            "Sid": "Share", "Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": "sagemaker:DescribeModelPackage", "Resource": "*"}]}}}}
    [finding] = lint(project(group), RULE)
    assert "ModelPackageGroup) statement 'Share' allows sagemaker:DescribeModelPackage" in finding.message


def test_key_policy_accepts_caller_account(project, lint):
    key = {"Key": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": True, "KeyPolicy": {"Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"}}}]}}}}
    assert lint(project(key), RULE) == []


def test_trust_policy(project, lint):
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    tpl = project({"Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust}}})
    [finding] = lint(tpl, RULE)
    assert finding.path[-3:] == ("AssumeRolePolicyDocument", "Statement", 0)


def test_event_bus_policy_legacy_and_statement(project, lint):
    legacy = {"Type": "AWS::Events::EventBusPolicy", "Properties": {
        "StatementId": "s", "Action": "events:PutEvents", "Principal": "*"}}
    legacy_org = {"Type": "AWS::Events::EventBusPolicy", "Properties": {
        "StatementId": "t", "Action": "events:PutEvents", "Principal": "*",
        "Condition": {"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-abcdefghij"}}}
    statement = {"Type": "AWS::Events::EventBusPolicy", "Properties": {"StatementId": "u", "Statement": {
        "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": "*"}}}
    findings = lint(project({"Legacy": legacy, "LegacyOrg": legacy_org, "Statement": statement}), RULE)
    assert sorted(f.path[1] for f in findings) == ["Legacy", "Statement"]


def test_not_principal_is_flagged(project, lint):
    statement = {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
                 "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    [finding] = lint(project(bucket_policy(statement)), RULE)
    assert "NotPrincipal with Effect Allow" in finding.message


def test_lambda_permission(project, lint):
    open_permission = {"Type": "AWS::Lambda::Permission", "Properties": {
        "Action": "lambda:InvokeFunction", "FunctionName": "f", "Principal": "*"}}
    org_permission = {"Type": "AWS::Lambda::Permission", "Properties": {
        "Action": "lambda:InvokeFunction", "FunctionName": "f", "Principal": "*", "PrincipalOrgID": "o-abcdefghij"}}
    [finding] = lint(project({"Open": open_permission, "Org": org_permission}), RULE)
    assert finding.path == ("Resources", "Open", "Properties", "Principal")
