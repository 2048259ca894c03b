"""A customer-managed key that is either given (by ARN) or created by the template.

`storage.encrypted_bucket` and `cicd.pipeline` take the key resource; when the key may instead
come from a parameter, build them as usual and point them at `chosen_key(...)` with the two
`use_key_*` helpers. The created key then carries the condition, and nothing else changes.
"""

from __future__ import annotations

from typing import Any

from troposphere import Equals, GetAtt, If, Parameter, Ref, Sub, codepipeline, s3

from generator.blocks.policy import KEY_USE, Statement

KEY_ARN_PATTERN = r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]+)?$"


def key_arn_parameter(name: str, description: str) -> Parameter:
    """An optional KMS key ARN; `description` says what leaving it blank means."""
    return Parameter(
        name, Type="String", Default="", AllowedPattern=KEY_ARN_PATTERN, Description=description,
        ConstraintDescription="blank or a KMS key ARN (aliases cannot be shared across accounts)",
    )


def creates_key(parameter: str) -> Equals:
    """Condition: no key ARN was given."""
    return Equals(Ref(parameter), "")


def chosen_key(condition: str, key: Any, parameter: str) -> If:
    """The created key's ARN when `condition` holds, else the given one."""
    return If(condition, GetAtt(key, "Arn"), Ref(parameter))


def use_key_for_bucket(bucket: s3.Bucket, key_arn: Any) -> s3.Bucket:
    for rule in bucket.BucketEncryption.ServerSideEncryptionConfiguration:
        rule.ServerSideEncryptionByDefault.KMSMasterKeyID = key_arn
    return bucket


def use_key_for_pipeline(pipeline: codepipeline.Pipeline, key_arn: Any) -> codepipeline.Pipeline:
    pipeline.ArtifactStore.EncryptionKey.Id = key_arn
    return pipeline


def use_through_s3_for_this_account(sid: str) -> Statement:
    """Key-policy statement: any principal of this account may use the key, but only through S3 in
    this region (what the AWS managed aws/s3 key allows): SSE-KMS reads and writes of a bucket
    work for every role that may use the bucket (SageMaker jobs, endpoints' data capture), without
    an IAM grant on the key. Principal "*" is confined by kms:CallerAccount and aws:PrincipalAccount."""
    account = Ref("AWS::AccountId")
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": KEY_USE,
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:CallerAccount": account,
                "aws:PrincipalAccount": account,
                "kms:ViaService": Sub("s3.${AWS::Region}.amazonaws.com"),
            }
        },
    }


def grant_for_aws_resources(principals: Any, sid: str) -> Statement:
    """Key-policy statement: `principals` may create grants on the key for AWS resources only
    (kms:GrantIsForAWSResource: the grant is made by an AWS service integrated with KMS on their
    behalf, e.g. SageMaker for an endpoint's storage volume; AWS KMS developer guide,
    "AWS KMS condition keys")."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": principals},
        # Only CreateGrant: DescribeKey requests carry no kms:GrantIsForAWSResource, so the
        # condition would refuse them (give DescribeKey in its own statement).
        "Action": "kms:CreateGrant",
        "Resource": "*",
        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    }
