"""Plain data passed between the publisher's stages: options, the plan and its actions, results.

A :class:`Plan` is what the publisher decided; it holds no clients and no live objects and converts
to JSON as it is (``Plan.to_dict``).  Actions refer to portfolios and products by their manifest ids
(``details["portfolio"]``, ``details["product"]``); the executor maps those to the physical ids that
it read or created, so a plan can be computed before anything exists.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "KINDS",
    "WRITE_KINDS",
    "Options",
    "Action",
    "RegionPlan",
    "Plan",
    "ActionOutcome",
    "RegionResult",
    "PublishResult",
    "idempotency_token",
]

#: What an action does.  "delete" removes a principal or TagOption association or a stale product
#: association (the brief's kinds plus this one); "noop" records something already up to date.
KINDS = ("create", "update", "delete", "share", "unshare", "deprecate", "noop")
WRITE_KINDS = tuple(k for k in KINDS if k != "noop")


@dataclass(frozen=True)
class Options:
    bucket: str  # may contain "{region}"
    prefix: str = "smcat"
    kms_key_id: str | None = None  # may contain "{region}"
    keep_versions: int = 3
    prune: bool = False
    share_timeout: float = 900.0
    retry_shares: bool = False
    #: read every portfolio and product in full, whatever their applied digests (smcat:applied) say
    refresh: bool = False
    #: delete DEPRECATED versions past the newest N deprecated ones that nothing seen uses (None: never)
    retire_after: int | None = None
    #: retire versions of products in shared portfolios too (their use in other accounts cannot be seen)
    retire_shared: bool = False

    def bucket_for(self, region: str) -> str:
        return self.bucket.replace("{region}", region)

    def kms_key_for(self, region: str) -> str | None:
        """--kms-key-id with "{region}" replaced, like --bucket (a KMS key lives in one region)."""
        return self.kms_key_id.replace("{region}", region) if self.kms_key_id else None


@dataclass
class Action:
    kind: str
    resource: str  # s3-object | portfolio | tag-option | principal | product | artifact | association |
    #                constraint | share
    target: str  # stable, human-readable: "portfolio/sagemaker-projects", "s3://bucket/key", ...
    region: str
    summary: str = ""  # one line for people
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def is_write(self) -> bool:
        return self.kind != "noop"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RegionPlan:
    region: str
    bucket: str
    actions: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: what the plan cannot fix and the user must look at (a share whose last operation did not
    #: complete cleanly): plan and publish exit 1 while there is any
    problems: list[str] = field(default_factory=list)
    #: per portfolio: the share operations still to be checked on the next run (token -> target
    #: value), as the portfolio's smcat:share-check tag holds them once the plan's own updates are done
    share_checks: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def writes(self) -> list[Action]:
        return [a for a in self.actions if a.is_write]

    def counts(self) -> dict[str, int]:
        result = {kind: 0 for kind in KINDS}
        for action in self.actions:
            result[action.kind] += 1
        return result

    def to_dict(self) -> dict:
        return {
            "region": self.region,
            "bucket": self.bucket,
            "counts": self.counts(),
            "actions": [a.to_dict() for a in self.actions],
            "notes": list(self.notes),
            "problems": list(self.problems),
        }


@dataclass
class Plan:
    dist: str
    options: Options
    regions: list[RegionPlan] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: what each OU path share target resolved to (oupaths.Resolution.to_dict), the same in every region
    ou_paths: list[dict] = field(default_factory=list)

    @property
    def actions(self) -> list[Action]:
        return [a for r in self.regions for a in r.actions]

    @property
    def writes(self) -> list[Action]:
        return [a for a in self.actions if a.is_write]

    @property
    def problems(self) -> list[str]:
        return [p for r in self.regions for p in r.problems]

    def counts(self) -> dict[str, int]:
        result = {kind: 0 for kind in KINDS}
        for region in self.regions:
            for kind, count in region.counts().items():
                result[kind] += count
        return result

    def to_dict(self) -> dict:
        return {
            "dist": self.dist,
            "options": asdict(self.options),
            "counts": self.counts(),
            "regions": [r.to_dict() for r in self.regions],
            "warnings": list(self.warnings),
            "ou_paths": list(self.ou_paths),
        }


@dataclass
class ActionOutcome:
    action: Action
    status: str  # applied | failed | warning
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"action": self.action.to_dict(), "status": self.status, "message": self.message,
                "result": self.result}


@dataclass
class RegionResult:
    region: str
    applied: list[ActionOutcome] = field(default_factory=list)
    failed: ActionOutcome | None = None
    remaining: list[Action] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: actions that were in flight (--max-parallel) when ``failed`` failed, and failed as well
    also_failed: list[ActionOutcome] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "region": self.region,
            "applied": [o.to_dict() for o in self.applied],
            "failed": self.failed.to_dict() if self.failed else None,
            "also_failed": [o.to_dict() for o in self.also_failed],
            "remaining": [a.to_dict() for a in self.remaining],
            "warnings": list(self.warnings),
        }


@dataclass
class PublishResult:
    regions: list[RegionResult] = field(default_factory=list)
    not_started: list[str] = field(default_factory=list)  # regions never reached after a failure
    api_calls: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.failed is None for r in self.regions) and not self.not_started

    @property
    def warnings(self) -> list[str]:
        return [w for r in self.regions for w in r.warnings]

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "regions": [r.to_dict() for r in self.regions],
            "not_started": list(self.not_started),
            "api_calls": dict(self.api_calls),
        }


_TOKEN_OK = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]*")


def idempotency_token(kind: str, *parts: Any) -> str:
    """Deterministic IdempotencyToken for a create call.

    Derived from what is being created (region, manifest id, physical parent ids, content hash and
    the request's own parameters), so re-running an interrupted publish repeats the very same
    request and Service Catalog answers with the resource it already made instead of a duplicate.
    Matches ``[a-zA-Z0-9][a-zA-Z0-9_-]*`` and stays far below 128 characters.
    """
    material = json.dumps([kind, *parts], sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]
    safe_kind = re.sub(r"[^a-zA-Z0-9]", "", kind)[:20] or "x"
    token = f"smcat-{safe_kind}-{digest}"
    assert _TOKEN_OK.fullmatch(token) and len(token) <= 128
    return token
