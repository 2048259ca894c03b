"""E9140 (bucket encryption), E9141 (TLS-only bucket policy) and E9150 (key rotation)."""

from __future__ import annotations

import pytest

KMS_ENCRYPTION = {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {
    "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]}}, "BucketKeyEnabled": True}]}
TLS_DENY = {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [{"Fn::GetAtt": ["Bucket", "Arn"]}, {"Fn::Sub": "${Bucket.Arn}/*"}],
            "Condition": {"Bool": {"aws:SecureTransport": False}}}


def bucket(encryption=KMS_ENCRYPTION, policy_statements=(TLS_DENY,), bucket_ref=None, **props):
    resources = {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": dict(props)}}
    if encryption is not None:
        resources["Bucket"]["Properties"]["BucketEncryption"] = encryption
    if policy_statements is not None:
        resources["BucketPolicy"] = {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": bucket_ref or {"Ref": "Bucket"},
            "PolicyDocument": {"Version": "2012-10-17", "Statement": list(policy_statements)}}}
    return resources


# ---------------------------------------------------------------------------- E9140


def test_kms_encrypted_bucket_passes(project, lint):
    assert lint(project(bucket()), "E9140") == []


def test_dsse_passes(project, lint):
    dsse = {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {
        "SSEAlgorithm": "aws:kms:dsse", "KMSMasterKeyID": "arn:aws:kms:us-east-1:111122223333:key/k"}}]}
    assert lint(project(bucket(encryption=dsse)), "E9140") == []


def test_unencrypted_bucket(project, lint):
    [finding] = lint(project(bucket(encryption=None)), "E9140")
    assert finding.path == ("Resources", "Bucket", "Properties")
    assert finding.message.startswith("Bucket (AWS::S3::Bucket) has no BucketEncryption")
    assert "SSEAlgorithm: aws:kms, KMSMasterKeyID" in finding.message


def test_sse_s3_bucket(project, lint):
    aes = {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    [finding] = lint(project(bucket(encryption=aes)), "E9140")
    assert finding.message.startswith("Bucket (AWS::S3::Bucket) encrypts with SSEAlgorithm AES256; use aws:kms")


def test_aws_managed_key(project, lint):
    managed = {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}
    [finding] = lint(project(bucket(encryption=managed)), "E9140")
    assert "without KMSMasterKeyID, i.e. the AWS managed key aws/s3" in finding.message
    assert finding.path[-2:] == ("ServerSideEncryptionConfiguration", 0)


# ---------------------------------------------------------------------------- E9141


@pytest.mark.parametrize("statement", [
    TLS_DENY,
    {**TLS_DENY, "Principal": {"AWS": "*"}, "Action": "*",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
])
def test_tls_only_bucket_passes(project, lint, statement):
    assert lint(project(bucket(policy_statements=[statement])), "E9141") == []


def test_policy_found_by_bucket_name(project, lint):
    name = {"Fn::Sub": "sagemaker-${SageMakerProjectId}-data"}
    tpl = project(bucket(BucketName=name, bucket_ref={"Fn::Sub": "sagemaker-${SageMakerProjectId}-data"}))
    assert lint(tpl, "E9141") == []


def test_bucket_without_policy(project, lint):
    [finding] = lint(project(bucket(policy_statements=None)), "E9141")
    assert finding.path == ("Resources", "Bucket")
    assert finding.message.startswith("Bucket (AWS::S3::Bucket) has no AWS::S3::BucketPolicy, so it accepts "
                                      "requests over plain HTTP. Add an AWS::S3::BucketPolicy with Bucket: !Ref Bucket")


@pytest.mark.parametrize("statement", [
    {**TLS_DENY, "Effect": "Allow"},
    {**TLS_DENY, "Action": "s3:GetObject"},
    {**TLS_DENY, "Principal": {"AWS": "arn:aws:iam::111122223333:root"}},
    {**TLS_DENY, "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
    {k: v for k, v in TLS_DENY.items() if k != "Condition"},
])
def test_policy_without_tls_deny(project, lint, statement):
    [finding] = lint(project(bucket(policy_statements=[statement])), "E9141")
    assert finding.path == ("Resources", "BucketPolicy", "Properties", "PolicyDocument")
    assert "bucket policy BucketPolicy does not deny requests where aws:SecureTransport is false" in finding.message


def test_policy_of_another_bucket_does_not_count(project, lint):
    [finding] = lint(project(bucket(bucket_ref="some-other-bucket")), "E9141")
    assert "has no AWS::S3::BucketPolicy" in finding.message


# ---------------------------------------------------------------------------- E9150


def key(**props):
    return {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": []}, **props}}}


@pytest.mark.parametrize("props", [
    {"EnableKeyRotation": True},
    {"EnableKeyRotation": "true"},
    {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"},
    {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
    {"Origin": "EXTERNAL"},
])
def test_rotating_or_unrotatable_keys_pass(project, lint, props):
    assert lint(project(key(**props)), "E9150") == []


@pytest.mark.parametrize("props,shown", [
    ({}, "not set"),
    ({"EnableKeyRotation": False}, "false"),
    ({"EnableKeyRotation": {"Fn::If": ["C", True, False]}}, "'{if C: true | false}', not true in every case"),
    ({"EnableKeyRotation": {"Ref": "Rotate"}}, "'${Rotate}', not true in every case"),
])
def test_symmetric_key_without_rotation(project, lint, props, shown):
    tpl = project(key(**props), parameters={"Rotate": {"Type": "String", "AllowedValues": ["true", "false"]}})
    tpl["Conditions"] = {"C": {"Fn::Equals": ["a", "a"]}}
    [finding] = lint(tpl, "E9150")
    assert finding.message.startswith(f"Key (AWS::KMS::Key) is a symmetric key with EnableKeyRotation {shown}.")
    assert "set EnableKeyRotation: true" in finding.message
