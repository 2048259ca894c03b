"""A customer-managed KMS key and a bucket encrypted with it."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Sub, Tags, kms, s3

from generator.blocks.policy import key_admin_for_account, policy_document, tls_only
from generator.blocks.security import skip_check


def encryption_key(
    logical_id: str, description: str, tags: Tags, *grants: Any, alias: Any = None
) -> list[kms.Key | kms.Alias]:
    """A rotated symmetric key administered by this account; `grants` are extra key-policy statements."""
    key = kms.Key(
        logical_id,
        Description=description,
        EnableKeyRotation=True,
        KeyPolicy=policy_document(key_admin_for_account(), *grants),
        Tags=tags,
        # The buckets it encrypts are retained; deleting the key would make their data unreadable.
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    )
    resources: list[kms.Key | kms.Alias] = [key]
    if alias is not None:
        resources.append(kms.Alias(f"{logical_id}Alias", AliasName=alias, TargetKeyId=Ref(key)))
    return resources


def encrypted_bucket(
    logical_id: str, name: Any, key: kms.Key, tags: Tags, *grants: Any
) -> list[s3.Bucket | s3.BucketPolicy]:
    """A versioned, private, SSE-KMS bucket kept on stack deletion, with a TLS-only policy.

    `grants` are extra bucket-policy statements (for example cross-account reads).
    """
    bucket = s3.Bucket(
        logical_id,
        BucketName=name,
        BucketEncryption=s3.BucketEncryption(
            ServerSideEncryptionConfiguration=[
                s3.ServerSideEncryptionRule(
                    BucketKeyEnabled=True,
                    ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                        SSEAlgorithm="aws:kms", KMSMasterKeyID=GetAtt(key, "Arn")
                    ),
                )
            ]
        ),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
        ),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        Tags=tags,
        # Model artifacts and pipeline history outlive the project stack.
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    )
    skip_check(
        bucket,
        "CKV_AWS_18",
        "Object-level access is audited with CloudTrail data events; a log bucket per project has no reader.",
    )
    policy = s3.BucketPolicy(
        f"{logical_id}Policy",
        Bucket=Ref(bucket),
        PolicyDocument=policy_document(tls_only(bucket), *grants),
    )
    return [bucket, policy]


def bucket_name(*parts: str) -> Sub:
    """A globally unique bucket name: the parts, then this account and region."""
    return Sub("-".join([*parts, "${AWS::AccountId}", "${AWS::Region}"]))
