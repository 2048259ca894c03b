"""Pull pattern of the hub model registry: copy an approved spoke model version into the hub.

Invoked by an EventBridge rule on the hub's central bus with a forwarded "SageMaker Model
Package State Change" event (Approved) from a data science (spoke) account. It:

1. checks the package comes from the account that sent the event, and that the hub has a model
   package group of the same name (HUB_GROUPS);
2. looks for a hub package already made from it (idempotent: a re-delivered event creates
   nothing); the source ARN is kept in CustomerMetadataProperties and the description;
3. describes the source package across accounts (the spoke's group policy lets the hub's sync
   role read it): the current description, not the event's copy, is what gets synced;
4. copies each container's model artifact into the hub bucket under
   pull/<account>/<source bucket>/<source key>, reading only buckets that account owns;
5. creates the hub version as PendingManualApproval, so the hub owner approves it.

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
PACKAGE = re.compile(r"^arn:[^:]+:sagemaker:[^:]+:(\d{12}):model-package/([^/]+)/\d+$")
S3_URL = re.compile(r"^s3://([^/]+)/(.+)$")


class SyncError(Exception):
    """The event cannot be synced; the message says why and what to change."""


def log(level, message, **fields):
    print(json.dumps({"level": level, "message": message, **fields}, default=str))


def handler(event, context=None, sm=None, s3=None):
    detail = event.get("detail") or {}
    source = detail.get("ModelPackageArn") or (event.get("resources") or [""])[0]
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
    account, group = match[1], match[2]
    if group not in os.environ["HUB_GROUPS"].split(","):
        raise SyncError(f"the hub has no model package group {group}: add it to the hub stack")
    existing = find_synced(sm, group, source)
    if existing:
        return {"status": "exists", "hub_package_arn": existing, "message": "already synced"}
    package = sm.describe_model_package(ModelPackageName=source)
    if package.get("ModelApprovalStatus") != "Approved":
        return {"status": "skipped", "message": f"source is {package.get('ModelApprovalStatus')}, not Approved"}
    spec = package.get("InferenceSpecification")
    if not spec:
        raise SyncError("the source has no InferenceSpecification")
    for container in spec["Containers"]:
        if "ModelDataUrl" in container:
            container["ModelDataUrl"] = copy_artifact(s3, container["ModelDataUrl"], account)
            container.pop("ModelDataETag", None)
    metadata = {**package.get("CustomerMetadataProperties", {}), SOURCE_KEY: source}
    request = {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": f"Synced from {source}",
        "InferenceSpecification": spec,
        "ModelApprovalStatus": "PendingManualApproval",
        "CustomerMetadataProperties": metadata,
        "ClientToken": hashlib.sha256(source.encode()).hexdigest()[:36],
    }
    if package.get("ModelMetrics"):
        request["ModelMetrics"] = package["ModelMetrics"]
    created = sm.create_model_package(**request)["ModelPackageArn"]
    return {"status": "created", "hub_package_arn": created, "message": "synced"}


def find_synced(sm, group, source):
    """The hub package made from `source`, if any (newest first)."""
    pages = sm.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending"
    )
    for page in pages:
        for summary in page["ModelPackageSummaryList"]:
            if source in summary.get("ModelPackageDescription", ""):
                found = sm.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
                if found.get("CustomerMetadataProperties", {}).get(SOURCE_KEY) == source:
                    return found["ModelPackageArn"]
    return None


def copy_artifact(s3, url, account):
    """Copies s3://bucket/key (in a bucket `account` owns) into the hub bucket; returns the new URL."""
    match = S3_URL.match(url)
    if not match:
        raise SyncError(f"model artifact {url!r} is not an s3:// URL")
    bucket, key = match[1], match[2]
    try:
        s3.head_object(Bucket=bucket, Key=key, ExpectedBucketOwner=account)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("404", "NoSuchKey", "NotFound"):
            raise SyncError(f"model artifact {url} does not exist") from error
        raise SyncError(
            f"cannot read {url} ({code}): it must be in a bucket of {account} granting the hub read"
        ) from error
    hub_bucket = os.environ["HUB_BUCKET"]
    target = f"{PREFIX}/{account}/{bucket}/{key}"
    s3.copy({"Bucket": bucket, "Key": key}, hub_bucket, target)
    return f"s3://{hub_bucket}/{target}"
