"""Which KMS key encrypts each S3 object, worked out from the request that wrote it.

S3 (PutObject, CreateMultipartUpload, CopyObject):
* `ServerSideEncryption: aws:kms` with `SSEKMSKeyId` -> that key (an id or alias resolves in the
  writer's account);
* `aws:kms` WITHOUT `SSEKMSKeyId` -> the AWS managed key `aws/s3` of the writer's account, not the
  bucket's default key. botocore's s3 service-2.json, PutObjectRequest.SSEKMSKeyId: "If you specify
  x-amz-server-side-encryption:aws:kms ... but do not provide x-amz-server-side-encryption-aws-kms-key-id,
  Amazon S3 uses the Amazon Web Services managed key (aws/s3) to protect the data." (checked here,
  botocore 1.44.8);
* no SSE header -> the bucket's default encryption (`BucketEncryption` of the template that makes
  the bucket; `AES256` or no KMS key -> SSE-S3, no KMS request).

SageMaker jobs (`pipeline.py`): ProcessingOutputConfig.KmsKeyId / OutputDataConfig.KmsKeyId, or
when absent "the default KMS key for Amazon S3 for your role's account" (botocore sagemaker
service-2.json, OutputDataConfig.KmsKeyId; ProcessingOutputConfig.KmsKeyId: "the key that Amazon
SageMaker uses to encrypt the processing job output").

The AWS managed `aws/s3` key is modelled with its key policy (`aws_s3_key_template`): AWS managed
keys' policies allow use through the owning service only, to principals of the owning account
(`kms:ViaService` = s3.<region>.amazonaws.com and `kms:CallerAccount` = the account), and cannot be
changed (AWS KMS developer guide, "AWS managed keys" and "kms:CallerAccount", which shows this
pattern for an AWS managed key; S3 user guide, "Using SSE-KMS": cross-account access needs a
customer managed key). So no other account can decrypt an object under `aws/s3`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.hub.access import Grants, Need, Principal, need
from tests.hub.resolve import PARTITION, REGION

AWS_S3_KEY_ID = "aws-managed-aws-s3"
VIA_S3 = f"s3.{REGION}.amazonaws.com"
_S3_URI = re.compile(r"^s3://([^/]+)/?(.*)$")


def aws_s3_key_arn(account: str) -> str:
    """The stand-in ARN of `account`'s AWS managed aws/s3 key (AWS picks the real id)."""
    return f"arn:{PARTITION}:kms:{REGION}:{account}:key/{AWS_S3_KEY_ID}"


def aws_s3_key_template(account: str) -> dict[str, Any]:
    """A resolved template holding `account`'s aws/s3 key and its key policy, for `Grants.add_template`.

    The policy AWS attaches to AWS managed keys (statement names as AWS writes them for aws/s3):
    use through S3 by any principal of the account, and read-only metadata for the account.
    """
    statements = [
        {
            "Sid": "Allow access through S3 for all principals in the account that are authorized to use S3",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": account, "kms:ViaService": VIA_S3}},
        },
        {
            "Sid": "Allow direct access to key metadata to the account",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{PARTITION}:iam::{account}:root"},
            "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
            "Resource": "*",
        },
    ]
    return {
        "Resources": {
            "AwsManagedS3Key": {
                "Type": "AWS::KMS::Key",
                "PhysicalId": AWS_S3_KEY_ID,
                "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": statements}},
            }
        }
    }


def s3_arn(bucket: str, key: str) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}/{key}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if uri.startswith("https://"):  # TemplateURL form https://bucket.s3.region.amazonaws.com/key
        host, _, key = uri[len("https://"):].partition("/")
        return host.split(".s3")[0], key
    match = _S3_URI.match(uri)
    if not match:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return match[1], match[2]


@dataclass
class StoredObject:
    bucket: str
    key: str
    kms_key: str | None  # None: SSE-S3
    writer: str
    why: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def arn(self) -> str:
        return s3_arn(self.bucket, self.key)


class ObjectStore:
    """The objects a run writes, with the key each one is encrypted with, and the buckets and keys
    the resolved templates make."""

    def __init__(self, templates: list[tuple[dict[str, Any], str]], organizations: dict[str, str] | None = None):
        self.bucket_accounts: dict[str, str] = {}
        self.bucket_keys: dict[str, str | None] = {}
        self.aliases: dict[tuple[str, str], str] = {}
        self.organizations = organizations or {}
        self.objects: dict[tuple[str, str], StoredObject] = {}
        for resolved, account in templates:
            self.add_template(resolved, account)

    def add_template(self, resolved: dict[str, Any], account: str) -> None:
        for resource in resolved["Resources"].values():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::S3::Bucket" and "BucketName" in props:
                name = props["BucketName"]
                if name in self.bucket_accounts:
                    # The fit world gives its three project templates one project id, so their
                    # buckets share a name: the first template (model-build) is the one that runs.
                    continue
                self.bucket_accounts[name] = account
                rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
                default = rules[0]["ServerSideEncryptionByDefault"] if rules else {"SSEAlgorithm": "AES256"}
                if default["SSEAlgorithm"].startswith("aws:kms"):
                    self.bucket_keys[name] = self.resolve_key(default.get("KMSMasterKeyID"), account)
                else:
                    self.bucket_keys[name] = None
            elif resource["Type"] == "AWS::KMS::Alias":
                target = props["TargetKeyId"]
                arn = target if target.startswith("arn:") else f"arn:{PARTITION}:kms:{REGION}:{account}:key/{target}"
                self.aliases[(account, props["AliasName"])] = arn

    # --- keys ---------------------------------------------------------------------------------
    def resolve_key(self, key_id: str | None, account: str) -> str:
        """A KmsKeyId / SSEKMSKeyId / KMSMasterKeyID value as a key ARN (ids and aliases resolve in
        `account`, the account of the principal making the request); None -> aws/s3 of `account`."""
        if not key_id:
            return aws_s3_key_arn(account)
        if key_id.startswith("arn:") and ":key/" in key_id:
            return key_id
        if key_id.startswith("arn:") and ":alias/" in key_id:
            owner, alias = key_id.split(":")[4], key_id.split(":", 5)[5]
            return self._alias(owner, alias)
        if key_id.startswith("alias/"):
            return self._alias(account, key_id)
        return f"arn:{PARTITION}:kms:{REGION}:{account}:key/{key_id}"

    def _alias(self, account: str, alias: str) -> str:
        if alias == "alias/aws/s3":
            return aws_s3_key_arn(account)
        if (account, alias) not in self.aliases:
            raise LookupError(f"no template makes the KMS alias {alias} in {account}")
        return self.aliases[(account, alias)]

    def key_for_write(self, bucket: str, sse: str | None, key_id: str | None, writer_account: str) -> str | None:
        """The key S3 encrypts a new object with, from the request's SSE parameters."""
        if sse in ("aws:kms", "aws:kms:dsse"):
            return self.resolve_key(key_id, writer_account)
        if sse == "AES256":
            return None
        if sse:
            raise ValueError(f"ServerSideEncryption {sse!r} is not modelled")
        if bucket not in self.bucket_keys:
            raise LookupError(f"bucket {bucket} is made by none of the templates: its default encryption is unknown")
        return self.bucket_keys[bucket]

    # --- objects ------------------------------------------------------------------------------
    def put(self, bucket: str, key: str, kms_key: str | None, writer: str, why: str) -> StoredObject:
        stored = StoredObject(bucket, key, kms_key, writer, why)
        self.objects[(bucket, key)] = stored
        return stored

    def get(self, bucket: str, key: str) -> StoredObject | None:
        return self.objects.get((bucket, key))

    def under(self, uri: str) -> list[StoredObject]:
        """The objects an S3Prefix input reads: the object itself, or those under the prefix."""
        bucket, key = parse_s3_uri(uri)
        exact = self.get(bucket, key)
        if exact:
            return [exact]
        prefix = key.rstrip("/") + "/"
        return [o for (b, k), o in sorted(self.objects.items()) if b == bucket and k.startswith(prefix)]

    def bucket_account(self, bucket: str) -> str:
        return self.bucket_accounts.get(bucket, "")

    def org_of(self, account: str) -> str:
        return self.organizations.get(account, "")

    # --- requests -----------------------------------------------------------------------------
    @staticmethod
    def via_s3(principal: Principal) -> dict[str, Any]:
        """The context of a KMS request S3 makes for `principal`."""
        return {"kms:ViaService": VIA_S3, "kms:CallerAccount": principal.account}

    def read_needs(self, principal: Principal, bucket: str, key: str, why: str, decrypt: bool = True) -> list[Need]:
        """s3:GetObject, and kms:Decrypt (through S3) on the key the object was actually written with.

        An object no recorded request wrote is taken to carry its bucket's default encryption."""
        context = {"aws:ResourceAccount": self.bucket_account(bucket)}
        if self.organizations.get(self.bucket_account(bucket)):
            context["aws:ResourceOrgID"] = self.organizations[self.bucket_account(bucket)]
        needs = [need(principal, "s3:GetObject", s3_arn(bucket, key), why, **context)]
        if not decrypt:
            return needs
        stored = self.get(bucket, key)
        kms_key = stored.kms_key if stored else self.bucket_keys.get(bucket)
        if stored is None and bucket not in self.bucket_keys:
            raise LookupError(f"s3://{bucket}/{key}: written by nothing recorded, in a bucket no template makes")
        if kms_key:
            via = f" (encrypted by {stored.why})" if stored else " (bucket default key)"
            needs.append(need(principal, "kms:Decrypt", kms_key, why + via, **self.via_s3(principal)))
        return needs

    def write_needs(self, principal: Principal, uri: str, kms_key_id: str | None, why: str) -> list[Need]:
        """A SageMaker job writing `uri` as `principal`, with the job's KmsKeyId (None: aws/s3 of
        the role's account); records the object."""
        bucket, key = parse_s3_uri(uri)
        kms_key = self.resolve_key(kms_key_id, principal.account)
        self.put(bucket, key, kms_key, principal.arn, why)
        return [
            need(principal, "s3:PutObject", s3_arn(bucket, key), why,
                 **{"aws:ResourceAccount": self.bucket_account(bucket)}),
            need(principal, "kms:GenerateDataKey", kms_key, why, **self.via_s3(principal)),
        ]


def add_aws_managed_keys(grants: Grants, accounts: list[str]) -> Grants:
    for account in accounts:
        grants.add_template(aws_s3_key_template(account), account)
    return grants


def reader_problems(grants: Grants, store: ObjectStore, uri: str, readers: list[Principal], why: str) -> list[str]:
    """Can every reader get `uri` and decrypt it with the key it was really written with?"""
    from tests.runtime.calls import check

    bucket, key = parse_s3_uri(uri)
    if store.get(bucket, key) is None:
        return [f"{uri}: no recorded request or job wrote it ({why})"]
    problems = []
    for reader in readers:
        for request in store.read_needs(reader, bucket, key, why):
            problems += check(grants, request)
    return problems
