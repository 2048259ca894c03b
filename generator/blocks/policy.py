"""Scoped IAM policy statements, as plain dicts (troposphere accepts them as they are)."""

from __future__ import annotations

from typing import Any

from troposphere import AWSHelperFn, GetAtt, If, Ref, Sub

Statement = dict[str, Any]

KEY_USE = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
KEY_READ = ["kms:Decrypt", "kms:DescribeKey"]
OBJECT_READ = ["s3:GetObject", "s3:GetObjectVersion"]
BUCKET_READ = ["s3:GetBucketLocation", "s3:ListBucket"]


def policy_document(*statements: Statement | AWSHelperFn) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def account_root(account: str | AWSHelperFn = "${AWS::AccountId}") -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:iam::{account}:root")


def tls_only(bucket: Any) -> Statement:
    """Denies every request to the bucket that does not use TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [GetAtt(bucket, "Arn"), Sub("${Bucket}/*", Bucket=GetAtt(bucket, "Arn"))],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_read_for_accounts(bucket: Any, accounts: Any, sid: str = "ReadForAccounts") -> Statement:
    """Lets the listed accounts (ids, a CommaDelimitedList Ref, or ARNs) read the bucket's objects."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": accounts},
        "Action": OBJECT_READ + BUCKET_READ,
        "Resource": [GetAtt(bucket, "Arn"), Sub("${Bucket}/*", Bucket=GetAtt(bucket, "Arn"))],
    }


def key_admin_for_account() -> Statement:
    """The account root administers the key, so IAM policies in this account can grant its use."""
    return {
        "Sid": "AccountAdministersKey",
        "Effect": "Allow",
        "Principal": {"AWS": account_root()},
        "Action": "kms:*",
        "Resource": "*",
    }


def key_use_for(principals: Any, actions: list[str] | None = None, sid: str = "UseKey") -> Statement:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": principals},
        "Action": actions or KEY_USE,
        "Resource": "*",
    }


def when(condition: str, statement: Statement) -> If:
    """A statement present only when `condition` holds."""
    return If(condition, statement, Ref("AWS::NoValue"))
