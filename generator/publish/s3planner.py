"""Decide, for the S3 templates target: compare the catalog with a bucket's live state and list the
actions to take.  Pure functions of (catalog, S3 config, options, live state), as the Service Catalog
planner.  The order of the actions is the order they are applied in:

1. versioning Enabled (so that every template upload is a new object version);
2. seed zips at content-addressed keys ``<prefix>seedcode/<seed>-<sha256 12>.zip`` (skipped when present);
3. templates at stable keys ``<prefix><product>.yaml``, rewritten only when their bytes differ, with
   the Studio tag in the PutObject request itself (a new version is never untagged);
4. tags of templates whose content is current but whose tags drifted;
5. with --prune, a delete marker for each template smcat wrote whose product left that location;
6. the bucket's CORS configuration (Studio's rule merged into the others), then its policy (the
   ``Smcat*`` statements reconciled, others kept), last: readers see only complete templates.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import yaml

from .manifest import STUDIO_TAG, Catalog, Product, Seed
from .model import Action, Options, RegionPlan
from .planner import PlanError
from .s3config import S3Config
from .s3state import PRODUCT_METADATA, SHA_METADATA, S3LiveState, S3Target, is_template_key

__all__ = [
    "S3RegionPlan",
    "STUDIO_CORS_RULE",
    "POLICY_SID_PREFIX",
    "s3_targets",
    "template_object_key",
    "seed_object_key",
    "render_s3_template",
    "expected_templates",
    "plan_s3_target",
    "tagging",
]

#: The CORS rule Studio needs on a bucket it reads templates from (SageMaker developer guide, "Migration
#: from Studio Classic", CORS section; the same rule as aws-samples sagemaker-custom-project-templates).
STUDIO_CORS_RULE: dict[str, Any] = {
    "AllowedHeaders": ["*"],
    "AllowedMethods": ["POST", "PUT", "GET", "HEAD", "DELETE"],
    "AllowedOrigins": ["https://*.sagemaker.aws"],
    "ExposeHeaders": ["ETag", "x-amz-delete-marker", "x-amz-id-2", "x-amz-request-id",
                      "x-amz-server-side-encryption", "x-amz-version-id"],
}
STUDIO_CORS_ID = "smcat-sagemaker-studio"
POLICY_SID_PREFIX = "Smcat"
MAX_POLICY_BYTES = 20 * 1024  # S3 bucket policy size limit
MAX_OBJECT_TAGS = 10


@dataclass
class S3RegionPlan(RegionPlan):
    """The plan of one S3 templates bucket (``region`` is the bucket's region)."""

    target: str = "s3"
    prefixes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"s3://{self.bucket} ({self.region})"

    def to_dict(self) -> dict:
        return {**super().to_dict(), "target": self.target, "prefixes": list(self.prefixes)}


# ------------------------------------------------------------------------------------------ layout


def template_object_key(prefix: str, product_key: str) -> str:
    return f"{prefix}{product_key}.yaml"


def seed_object_key(prefix: str, seed: Seed) -> str:
    return f"{prefix}seedcode/{seed.name}-{seed.sha256[:12]}.zip"


def s3_targets(config: S3Config, regions: list[str]) -> list[S3Target]:
    """Every bucket the S3 portfolios publish to (``{region}`` replaced per region; a bucket named for
    several regions is one target), in the order the portfolios and regions name them."""
    targets: dict[str, S3Target] = {}
    for portfolio in config.portfolios.values():
        for region in portfolio.regions or tuple(regions):
            bucket = portfolio.bucket_for(region)
            target = targets.setdefault(bucket, S3Target(bucket=bucket, region=region))
            keys = target.locations.setdefault(portfolio.prefix, [])
            if portfolio.key not in keys:
                keys.append(portfolio.key)
    return list(targets.values())


def _products_at(config: S3Config, target: S3Target, prefix: str) -> dict[str, bool]:
    """product key -> studio visible, for one prefix of a target (visible when any portfolio there asks)."""
    products: dict[str, bool] = {}
    for key in target.locations[prefix]:
        portfolio = config.portfolios[key]
        for product in portfolio.products:
            products[product] = products.get(product, False) or portfolio.studio_visibility
    return products


def render_s3_template(catalog: Catalog, config: S3Config, product_key: str, bucket: str, prefix: str) -> bytes:
    """The built YAML template, with the seed-code parameters' defaults set to the uploaded zips (the
    Service Catalog path does the same with the JSON); without seed code, the built bytes as they are."""
    product: Product = catalog.products[product_key]
    data = config.read_bytes(config.products[product_key].template_yaml)
    if not product.seeds:
        return data
    from generator.output import canonical_yaml  # the build's own YAML rendering

    template = yaml.safe_load(data)
    parameters = template.setdefault("Parameters", {})
    defaults = {seed.key_parameter: seed_object_key(prefix, seed) for seed in product.seeds}
    if product.bucket_parameter:
        defaults[product.bucket_parameter] = bucket
    for name, value in defaults.items():
        parameters.setdefault(name, {"Type": "String"})["Default"] = value
    return canonical_yaml(template)


def expected_templates(catalog: Catalog, config: S3Config, target: S3Target) -> dict[str, tuple[bytes, str]]:
    """template key -> (bytes to upload, product key), for every template of the target."""
    out: dict[str, tuple[bytes, str]] = {}
    for prefix in target.locations:
        for product in _products_at(config, target, prefix):
            out[template_object_key(prefix, product)] = (
                render_s3_template(catalog, config, product, target.bucket, prefix), product)
    return out


def tagging(tags: dict[str, str]) -> str:
    """PutObject's Tagging parameter (URL query form)."""
    return urlencode(sorted(tags.items()))


# ------------------------------------------------------------------------------------------ canonical forms


def _canon(value: Any) -> Any:
    """A policy or CORS element in a form where equal meaning compares equal: a one-element list is its
    element, lists are sorted, dict keys sorted."""
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = [_canon(v) for v in value]
        if len(items) == 1:
            return items[0]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def _canon_rule(rule: dict) -> str:
    return json.dumps(_canon({k: v for k, v in rule.items() if k != "ID"}), sort_keys=True)


def _canon_statement(statement: dict) -> str:
    return json.dumps(_canon(statement), sort_keys=True)


# ------------------------------------------------------------------------------------------ plan


def plan_s3_target(catalog: Catalog, config: S3Config, target: S3Target, live: S3LiveState, options: Options,
                   rendered: dict[str, tuple[bytes, str]] | None = None) -> S3RegionPlan:
    region = live.bucket_region or live.region
    plan = S3RegionPlan(region=region, bucket=target.bucket, notes=list(live.notes),
                        prefixes=sorted(target.locations))
    rendered = rendered if rendered is not None else expected_templates(catalog, config, target)
    problems: list[str] = []
    bucket = target.bucket
    base = {"bucket": bucket, "bucket_region": region}

    if live.versioning == "Enabled":
        plan.actions.append(Action("noop", "s3-versioning", f"s3://{bucket}", region, "versioning enabled"))
    else:
        plan.actions.append(Action(
            "update", "s3-versioning", f"s3://{bucket}", region,
            f"enable versioning (now {live.versioning or 'never enabled'})", {**base, "Status": "Enabled"}))

    for prefix in sorted(target.locations):
        seen: set[str] = set()
        for product_key in _products_at(config, target, prefix):
            for seed in catalog.products[product_key].seeds:
                key = seed_object_key(prefix, seed)
                if key in seen:
                    continue
                seen.add(key)
                url = f"s3://{bucket}/{key}"
                if key in live.objects:
                    plan.actions.append(Action("noop", "s3-seed", url, region, "already uploaded"))
                else:
                    plan.actions.append(Action("create", "s3-seed", url, region, f"upload {seed.path}", {
                        **base, "key": key, "source": seed.path, "sha256": seed.sha256}))

    tag_updates: list[Action] = []
    for prefix in sorted(target.locations):
        for product_key, visible in _products_at(config, target, prefix).items():
            key = template_object_key(prefix, product_key)
            body, _ = rendered[key]
            sha256 = hashlib.sha256(body).hexdigest()
            url = f"s3://{bucket}/{key}"
            current = live.tags.get(key, {})
            tags = {k: v for k, v in current.items() if k != STUDIO_TAG}
            if visible:
                tags[STUDIO_TAG] = "true"
            if len(tags) > MAX_OBJECT_TAGS:
                problems.append(f"{url}: {len(tags)} tags; S3 allows at most {MAX_OBJECT_TAGS} per object")
            product = config.products[product_key]
            details = {**base, "key": key, "product": product_key, "source": product.template_yaml,
                       "sha256": sha256, "content_hash": product.content_hash, "version": product.version,
                       "tags": dict(sorted(tags.items()))}
            obj = live.objects.get(key)
            if obj is None:
                plan.actions.append(Action(
                    "create", "s3-template", url, region,
                    f"upload {product_key} {product.version} ({len(body)} bytes"
                    + (", Studio-visible)" if visible else ")"), details))
                continue
            same = obj.etag == hashlib.md5(body, usedforsecurity=False).hexdigest() or (
                live.metadata.get(key, {}).get(SHA_METADATA) == sha256)
            if not same:
                plan.actions.append(Action(
                    "update", "s3-template", url, region,
                    f"new version of {product_key} {product.version} ({len(body)} bytes)", details))
                continue
            plan.actions.append(Action("noop", "s3-template", url, region, "current"))
            if current != tags:
                changes = [f"+tag {k}={v}" for k, v in sorted(tags.items()) if current.get(k) != v]
                changes += [f"-tag {k}" for k in sorted(current) if k not in tags]
                tag_updates.append(Action("update", "s3-tags", url, region, ", ".join(changes),
                                          {**base, "key": key, "tags": dict(sorted(tags.items()))}))
            else:
                plan.actions.append(Action("noop", "s3-tags", url, region, "tags current"))
    plan.actions.extend(tag_updates)

    for key in sorted(live.objects):
        if key in rendered or not is_template_key(key, target.locations):
            continue
        url = f"s3://{bucket}/{key}"
        owner = live.metadata.get(key, {}).get(PRODUCT_METADATA)
        if not owner:
            plan.notes.append(f"{url} was not published by smcat (no {PRODUCT_METADATA} metadata); left alone")
        elif options.prune:
            plan.actions.append(Action(
                "delete", "s3-template", url, region,
                f"delete marker: product {owner} is no longer published here (pruned; older versions kept)",
                {**base, "key": key, "product": owner}))
        else:
            plan.notes.append(f"template {url} (product {owner}) is no longer in the catalog for this location; "
                              f"run with --prune to remove it (kept)")

    _plan_cors(live, plan, base)
    _plan_policy(config, target, live, plan, options, base, problems)
    if problems:
        raise PlanError(problems)
    return plan


def _plan_cors(live: S3LiveState, plan: S3RegionPlan, base: dict) -> None:
    target = f"s3://{live.bucket}/?cors"
    ours = _canon_rule(STUDIO_CORS_RULE)
    if any(_canon_rule(rule) == ours for rule in live.cors):
        plan.actions.append(Action("noop", "s3-cors", target, plan.region, "Studio CORS rule in place"))
        return
    rules = [*live.cors, {"ID": STUDIO_CORS_ID, **STUDIO_CORS_RULE}]
    kept = f", {len(live.cors)} other rule{'s' if len(live.cors) != 1 else ''} kept" if live.cors else ""
    plan.actions.append(Action("update", "s3-cors", target, plan.region, f"add Studio's CORS rule{kept}",
                               {**base, "CORSRules": rules}))


def _wanted_statements(config: S3Config, target: S3Target, problems: list[str]) -> dict[str, dict]:
    from .s3policy import bucket_policy_statements  # the portfolios' readers (shares) as statements

    wanted: dict[str, dict] = {}
    for prefix, keys in sorted(target.locations.items()):
        for key in keys:
            for statement in bucket_policy_statements(config.portfolios[key], target.bucket, prefix):
                sid = statement.get("Sid", "")
                if not sid.startswith(POLICY_SID_PREFIX):
                    problems.append(f"portfolio {key}: bucket policy statement {sid!r} has no Sid starting "
                                    f"{POLICY_SID_PREFIX}")
                    continue
                if sid in wanted and _canon_statement(wanted[sid]) != _canon_statement(statement):
                    problems.append(f"s3://{target.bucket}: two portfolios want different bucket policy statements "
                                    f"with Sid {sid}")
                    continue
                wanted[sid] = statement
    return wanted


def _plan_policy(config: S3Config, target: S3Target, live: S3LiveState, plan: S3RegionPlan, options: Options,
                 base: dict, problems: list[str]) -> None:
    url = f"s3://{live.bucket}/?policy"
    wanted = _wanted_statements(config, target, problems)
    document = dict(live.policy or {"Version": "2012-10-17"})
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    ours = [s for s in statements if str(s.get("Sid", "")).startswith(POLICY_SID_PREFIX)]
    others = [s for s in statements if s not in ours]
    new = list(others) + [wanted[sid] for sid in sorted(wanted)]
    stale = [s for s in ours if s.get("Sid") not in wanted]
    for statement in stale:
        if not options.prune:
            new.append(statement)
            plan.notes.append(f"bucket policy statement {statement.get('Sid')} of {live.bucket} is no longer "
                              f"configured; run with --prune to remove it (kept)")
    before = sorted(_canon_statement(s) for s in statements)
    after = sorted(_canon_statement(s) for s in new)
    if before == after:
        plan.actions.append(Action("noop", "s3-policy", url, plan.region,
                                   f"{len(wanted)} smcat statement{'s' if len(wanted) != 1 else ''} in place"))
        return
    added = sorted(sid for sid in wanted if _canon_statement(wanted[sid]) not in
                   {_canon_statement(s) for s in ours})
    removed = sorted(s.get("Sid") for s in stale) if options.prune else []
    what = [f"+{sid}" for sid in added] + [f"-{sid} (pruned)" for sid in removed]
    if not new:
        plan.actions.append(Action("delete", "s3-policy", url, plan.region,
                                   "delete the bucket policy (only pruned smcat statements were left)", base))
        return
    document["Statement"] = new
    document.setdefault("Version", "2012-10-17")
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    if len(text.encode()) > MAX_POLICY_BYTES:
        problems.append(f"{url}: the bucket policy would be {len(text.encode())} bytes; S3 allows "
                        f"{MAX_POLICY_BYTES}")
    kept = f"; {len(others)} other statement{'s' if len(others) != 1 else ''} kept" if others else ""
    plan.actions.append(Action("update" if live.policy else "create", "s3-policy", url, plan.region,
                               f"bucket policy {', '.join(what) or 'statements updated'}{kept}",
                               {**base, "Policy": text}))
