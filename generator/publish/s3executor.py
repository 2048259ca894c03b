"""Do, for the S3 templates target: apply one bucket's plan, action by action.

Decides nothing: each action becomes one S3 call.  On the first failure it stops and reports the
actions applied, the one that failed and those not attempted, as the Service Catalog executor does.
Every call converges when repeated: a template upload whose answer was lost is found current by the
next run (its ETag and ``smcat-sha256`` metadata), so a re-run makes no second version of it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .aws import Clients, Runtime
from .executor import ActionFailed, Progress, apply_in_order
from .manifest import Catalog
from .model import Action, ActionOutcome, RegionResult
from .s3config import S3Config
from .s3planner import S3RegionPlan, render_s3_template, tagging
from .s3state import CONTENT_METADATA, PRODUCT_METADATA, SHA_METADATA

__all__ = ["S3Executor"]

YAML_CONTENT_TYPE = "application/x-yaml"


class S3Executor:
    def __init__(self, catalog: Catalog, config: S3Config, runtime: Runtime, progress: Progress | None = None):
        self.catalog = catalog
        self.config = config
        self.runtime = runtime
        self.progress = progress or Progress()

    def apply_region(self, plan: S3RegionPlan, clients: Clients) -> RegionResult:
        result = RegionResult(plan.label, warnings=list(plan.problems))
        return apply_in_order(result, plan.writes, lambda action: self._apply(clients, action), self.progress)

    def _apply(self, clients: Clients, action: Action) -> ActionOutcome:
        handler = getattr(self, f"_{action.resource.replace('-', '_')}_{action.kind}")
        d = action.details
        return handler(clients.s3_in(d["bucket_region"]), action)

    @staticmethod
    def _ok(action: Action, message: str = "", **result: Any) -> ActionOutcome:
        return ActionOutcome(action, "applied", message, result)

    # ---------------------------------------------------------------------------------------- bucket

    def _s3_versioning_update(self, s3, action: Action) -> ActionOutcome:
        d = action.details
        s3.put_bucket_versioning(Bucket=d["bucket"], VersioningConfiguration={"Status": d["Status"]})
        return self._ok(action)

    def _s3_cors_update(self, s3, action: Action) -> ActionOutcome:
        d = action.details
        s3.put_bucket_cors(Bucket=d["bucket"], CORSConfiguration={"CORSRules": d["CORSRules"]})
        return self._ok(action)

    def _s3_policy_update(self, s3, action: Action) -> ActionOutcome:
        d = action.details
        s3.put_bucket_policy(Bucket=d["bucket"], Policy=d["Policy"])
        return self._ok(action)

    _s3_policy_create = _s3_policy_update

    def _s3_policy_delete(self, s3, action: Action) -> ActionOutcome:
        s3.delete_bucket_policy(Bucket=action.details["bucket"])
        return self._ok(action)

    # ---------------------------------------------------------------------------------------- objects

    def _s3_seed_create(self, s3, action: Action) -> ActionOutcome:
        d = action.details
        body = self.catalog.read_bytes(d["source"])
        if hashlib.sha256(body).hexdigest() != d["sha256"]:
            raise ActionFailed(f"{d['source']} changed since the plan was made; run plan again")
        answer = s3.put_object(Bucket=d["bucket"], Key=d["key"], Body=body, ContentType="application/zip",
                               ServerSideEncryption="AES256")
        return self._ok(action, f"{len(body)} bytes", version_id=answer.get("VersionId"))

    def _s3_template_create(self, s3, action: Action) -> ActionOutcome:
        d = action.details
        prefix = d["key"][: -len(f"{d['product']}.yaml")]
        body = render_s3_template(self.catalog, self.config, d["product"], d["bucket"], prefix)
        if hashlib.sha256(body).hexdigest() != d["sha256"]:
            raise ActionFailed(f"{d['source']} changed since the plan was made; run plan again")
        params: dict[str, Any] = {
            "Bucket": d["bucket"], "Key": d["key"], "Body": body, "ContentType": YAML_CONTENT_TYPE,
            "ServerSideEncryption": "AES256",
            "Metadata": {SHA_METADATA: d["sha256"], PRODUCT_METADATA: d["product"],
                         CONTENT_METADATA: d["content_hash"], "smcat-version": d["version"]},
        }
        if d["tags"]:
            params["Tagging"] = tagging(d["tags"])  # in the request: the new version is never untagged
        answer = s3.put_object(**params)
        version = answer.get("VersionId")
        return self._ok(action, f"version {version}" if version else f"{len(body)} bytes", version_id=version)

    _s3_template_update = _s3_template_create

    def _s3_template_delete(self, s3, action: Action) -> ActionOutcome:
        d = action.details
        answer = s3.delete_object(Bucket=d["bucket"], Key=d["key"])  # versioned: a delete marker
        return self._ok(action, "delete marker", version_id=answer.get("VersionId"))

    def _s3_tags_update(self, s3, action: Action) -> ActionOutcome:
        d = action.details
        if d["tags"]:
            s3.put_object_tagging(Bucket=d["bucket"], Key=d["key"],
                                  Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in d["tags"].items()]})
        else:
            s3.delete_object_tagging(Bucket=d["bucket"], Key=d["key"])
        return self._ok(action)
