"""Pull pattern of the hub model registry: copy an approved spoke model version into the hub.

Invoked by an EventBridge rule on the hub's central bus with a forwarded "SageMaker Model
Package State Change" event (Approved) from a data science (spoke) account. It:

1. checks the package comes from the account that sent the event, and that the hub has a model
   package group of the same name (HUB_GROUPS);
2. looks for a hub package already made from it (idempotent: a re-delivered event creates
   nothing); the source ARN is kept in CustomerMetadataProperties and the description;
3. describes the source package across accounts (the spoke's group policy lets the hub's sync
   role read it): the current description, not the event's copy, is what gets synced;
4. copies EVERY s3:// URI of the members it carries over (CARRY) into the hub bucket under
   pull/<account>/<source bucket>/<source key>, reading only buckets that account owns, and
   rewrites each URI to its copy: model data (ModelDataUrl, ModelDataSource and
   AdditionalModelDataSources S3Uri, AdditionalS3DataSource), container Environment values such
   as SAGEMAKER_SUBMIT_DIRECTORY, the additional inference specifications, ModelMetrics and
   DriftCheckBaselines reports, SourceAlgorithmSpecification model data, SamplePayloadUrl and
   SourceUri. A workload account deploying the hub version so never reads the spoke's bucket.
   A URI naming no object is copied as a prefix (S3DataType S3Prefix: every key under it);
5. creates the hub version as PendingManualApproval, so the hub owner approves it.

Not carried: ValidationSpecification (it runs as the spoke's ValidationRole, which the hub cannot
pass), SecurityConfig (a key of the spoke account), the model card and life cycle (the hub
owner's to set). Refused with a clear error: manifest model data (ManifestS3Uri: the manifest
itself lists spoke locations) and S3 https:// URLs (register s3:// URIs); the member shapes are
in the botocore model of DescribeModelPackage (tests/hub/test_model_sync.py walks it).

Logs are JSON, one object per line. Uses the standard library and boto3 only.
"""

import hashlib
import json
import os
import re

import boto3
from botocore.exceptions import ClientError

SOURCE_KEY = "smcat:source-model-package-arn"
PREFIX = "pull"
PACKAGE = re.compile(r"arn:[^:]+:sagemaker:[^:]+:(\d{12}):model-package/([^/]+)/\d+$")
S3_URL = re.compile(r"s3://([^/]+)/(.+)$")
# DescribeModelPackage output members re-registered in the hub, each s3:// URI in them copied.
CARRY = (
    "InferenceSpecification AdditionalInferenceSpecifications SourceAlgorithmSpecification ModelMetrics "
    "DriftCheckBaselines SamplePayloadUrl SourceUri Domain Task"
).split()


class SyncError(Exception):
    """The event cannot be synced; the message says why and what to change."""


def log(level, message, **fields):
    print(json.dumps({"level": level, "message": message, **fields}, default=str))


def handler(event, context=None, sm=None, s3=None):
    source = (event.get("detail") or {}).get("ModelPackageArn") or (event.get("resources") or [""])[0]
    fields = {"source_package_arn": source, "event_id": event.get("id"), "source_account": event.get("account")}
    try:
        result = sync(event, source, sm or boto3.client("sagemaker"), s3 or boto3.client("s3"))
    except (SyncError, ClientError) as error:
        log("ERROR", str(error), error=type(error).__name__, **fields)
        raise
    log("INFO", result.pop("message"), **fields, **result)
    return result


def sync(event, source, sm, s3):
    match = PACKAGE.match(source)
    if not match or match[1] != event.get("account"):
        raise SyncError(f"{source!r} is not a model version of the sending account")
    account, group = match.groups()
    if group not in os.environ["HUB_GROUPS"].split(","):
        raise SyncError(f"the hub has no model package group {group}: add it to the hub stack")
    if existing := find_synced(sm, group, source):
        return {"status": "exists", "hub_package_arn": existing, "message": "already synced"}
    package = sm.describe_model_package(ModelPackageName=source)
    if (status := package.get("ModelApprovalStatus")) != "Approved":
        return {"status": "skipped", "message": f"source is {status}, not Approved"}

    def rewrite(value):
        """`value` with each S3 URI in it, at any depth (model data, Environment values, reports),
        copied into the hub and replaced by its copy's; without the source objects' ETags
        (optional members; a multipart copy gets another ETag)."""
        if isinstance(value, dict):
            if "ManifestS3Uri" in value:  # the manifest file lists locations in the spoke
                raise SyncError("ManifestS3Uri cannot be synced")
            return {k: rewrite(v) for k, v in value.items() if "ETag" not in k}
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        # S3 https URLs (virtual-hosted or path style) go to copy_artifact too, which refuses them.
        return copy_artifact(s3, value, account) if re.match(r"s3://|https://[^/]*s3[.-]", str(value)) else value

    created = sm.create_model_package(
        **{key: rewrite(package[key]) for key in CARRY if key in package},
        ModelPackageGroupName=group,
        ModelPackageDescription=f"Synced from {source}",
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties={**package.get("CustomerMetadataProperties", {}), SOURCE_KEY: source},
        ClientToken=hashlib.sha256(source.encode()).hexdigest()[:36],
    )["ModelPackageArn"]
    return {"status": "created", "hub_package_arn": created, "message": "synced"}


def find_synced(sm, group, source):
    """The hub package made from `source`, if any (newest first)."""
    for page in sm.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending"
    ):
        for item in page["ModelPackageSummaryList"]:
            if source in item.get("ModelPackageDescription", ""):
                found = sm.describe_model_package(ModelPackageName=item["ModelPackageArn"])
                if found.get("CustomerMetadataProperties", {}).get(SOURCE_KEY) == source:
                    return found["ModelPackageArn"]


def copy_artifact(s3, url, account):
    """Copies s3://bucket/key from a bucket `account` owns into the hub bucket: the object `key`,
    or, when there is none, every object under the prefix `key` (S3DataType S3Prefix); returns
    the URI of the copy. Listing with ExpectedBucketOwner fails (403) on another's bucket."""
    match = S3_URL.match(url)
    if not match:
        raise SyncError(f"model artifact {url!r} is not an s3:// URL")
    bucket, key = match.groups()
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key, ExpectedBucketOwner=account)
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    except ClientError as error:
        raise SyncError(
            f"cannot read {url} ({error.response['Error']['Code']}): it must be in a bucket of {account} "
            "granting the hub read"
        ) from error
    if not keys:
        raise SyncError(f"model artifact {url} does not exist")
    hub, target = os.environ["HUB_BUCKET"], f"{PREFIX}/{account}/{bucket}/"
    for item in [key] if key in keys else keys:
        s3.copy({"Bucket": bucket, "Key": item}, hub, target + item)
    return f"s3://{hub}/{target}{key}"
