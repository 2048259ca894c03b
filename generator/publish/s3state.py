"""Read the live state of one S3 templates bucket: what the S3 planner compares the catalog with.

Reads only, and few: HeadBucket (the bucket's region), GetBucketVersioning, GetBucketCors,
GetBucketPolicy, one paginated ListObjectsV2 per prefix (current objects only, so reads do not grow
with object versions), GetObjectTagging per template that exists, and HeadObject only where the
listing's ETag cannot tell whether a template is up to date (an object encrypted under KMS or
uploaded in parts) or whose owner must be known (a template no longer in the catalog: pruned only
when smcat wrote it).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from .aws import Clients, error_code
from .state import StateError, bucket_region_of

__all__ = ["S3Target", "is_template_key", "LiveS3Object", "S3LiveState", "read_s3_state", "SHA_METADATA",
           "PRODUCT_METADATA", "CONTENT_METADATA"]

#: object metadata smcat writes on each template (x-amz-meta-...): the uploaded bytes' sha256 and the product
SHA_METADATA = "smcat-sha256"
PRODUCT_METADATA = "smcat-product"
CONTENT_METADATA = "smcat-content-hash"
READERS = 8


@dataclass
class S3Target:
    """One bucket the S3 templates go to, and what goes there: prefix -> the portfolios published there."""

    bucket: str
    region: str  # the region whose --region (or s3_templates.regions) named the bucket first
    locations: dict[str, list[str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"s3://{self.bucket}"


@dataclass
class LiveS3Object:
    key: str
    etag: str  # without quotes
    size: int = 0


@dataclass
class S3LiveState:
    bucket: str
    region: str
    bucket_region: str = ""
    versioning: str = ""  # Enabled | Suspended | "" (never enabled)
    cors: list[dict] = field(default_factory=list)
    policy: dict | None = None  # None: the bucket has no policy
    #: current objects under the target's prefixes
    objects: dict[str, LiveS3Object] = field(default_factory=dict)
    #: tags of the current version of each template that exists
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    #: user metadata of the objects read with HeadObject
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _denied(bucket: str, what: str) -> StateError:
    return StateError(f"access denied to {what} of S3 templates bucket {bucket}: the publisher needs s3:ListBucket, "
                      f"s3:GetObject, s3:GetObjectTagging, s3:GetBucketVersioning, s3:GetBucketCors and "
                      f"s3:GetBucketPolicy (and the matching Put actions to publish)")


def read_s3_state(clients: Clients, target: S3Target, templates: dict[str, str]) -> S3LiveState:
    """The bucket's state; ``templates`` maps each template key the catalog publishes to the MD5 of
    the bytes it would upload (to tell from the listing's ETag whether it is current)."""
    state = S3LiveState(bucket=target.bucket, region=target.region)
    try:
        answer = clients.s3.head_bucket(Bucket=target.bucket)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404 or error_code(exc) in ("404", "NoSuchBucket"):
            raise StateError(f"S3 templates bucket {target.bucket} does not exist (s3_templates.bucket, "
                             f"{target.region}); create it first") from None
        if status == 403 or error_code(exc) in ("403", "AccessDenied"):
            raise _denied(target.bucket, "HeadBucket") from None
        raise
    state.bucket_region = bucket_region_of(answer) or target.region
    s3 = clients.s3_in(state.bucket_region)

    def read(call, what: str, missing: tuple[str, ...] = ()):
        try:
            return call()
        except ClientError as exc:
            if error_code(exc) in missing:
                return None
            if error_code(exc) in ("403", "AccessDenied"):
                raise _denied(target.bucket, what) from None
            raise

    versioning = read(lambda: s3.get_bucket_versioning(Bucket=target.bucket), "the versioning")
    state.versioning = (versioning or {}).get("Status", "")
    cors = read(lambda: s3.get_bucket_cors(Bucket=target.bucket), "the CORS configuration",
                ("NoSuchCORSConfiguration",))
    state.cors = list((cors or {}).get("CORSRules", []))
    policy = read(lambda: s3.get_bucket_policy(Bucket=target.bucket), "the bucket policy", ("NoSuchBucketPolicy",))
    if policy is not None:
        try:
            state.policy = json.loads(policy["Policy"])
        except (ValueError, KeyError, TypeError):
            raise StateError(f"the bucket policy of {target.bucket} is not JSON") from None
        if not isinstance(state.policy, dict):
            raise StateError(f"the bucket policy of {target.bucket} is not a JSON object")

    for prefix in sorted(target.locations):
        paginator = s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=target.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    state.objects[item["Key"]] = LiveS3Object(item["Key"], item.get("ETag", "").strip('"'),
                                                              item.get("Size", 0))
        except ClientError as exc:
            if error_code(exc) in ("403", "AccessDenied"):
                raise _denied(target.bucket, "the listing") from None
            raise

    present = [key for key in templates if key in state.objects]
    # ETag = MD5 of the body for a single-part upload without KMS; otherwise ask the object's metadata
    unsure = [key for key in present if state.objects[key].etag != templates[key]]
    stale = [key for key in state.objects
             if key not in templates and is_template_key(key, target.locations)]

    def tagging(key: str) -> tuple[str, dict[str, str]]:
        answer = read(lambda: s3.get_object_tagging(Bucket=target.bucket, Key=key), f"the tags of {key}")
        return key, {t["Key"]: t["Value"] for t in answer.get("TagSet", [])}

    def head(key: str) -> tuple[str, dict[str, str]]:
        answer = read(lambda: s3.head_object(Bucket=target.bucket, Key=key), f"object {key}", ("404", "NoSuchKey"))
        return key, {k.lower(): v for k, v in ((answer or {}).get("Metadata") or {}).items()}

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        state.tags = dict(pool.map(tagging, present))
        state.metadata = dict(pool.map(head, sorted(set(unsure) | set(stale))))
    return state


def is_template_key(key: str, locations: dict[str, list[str]]) -> bool:
    """A template smcat may have written: <prefix><name>.yaml, directly under one of the prefixes."""
    return any(key.startswith(prefix) and "/" not in key[len(prefix):] and key.endswith(".yaml")
               for prefix in locations)
