"""Decide: compare the catalog with the live state of a region and list the actions to take.

Pure functions of (catalog, options, live state): no AWS calls, no clock.  The order of the actions
is the order they are applied in:

1. S3 artifacts (seed zips, then templates that point at them);
2. portfolios (create / description, provider, tags), their TagOptions and principals;
3. products (create with the first version / tags and attributes), new versions, re-activation;
4. product-portfolio associations, then constraints (which need the association): launch, tag update
   (RESOURCE_UPDATE) and notification; with --prune, removal of those no longer configured;
5. deprecation of versions past --keep-versions; with --retire-after, deletion of deprecated versions
   past the newest N that nothing this account can see uses;
6. with --prune, removal of product associations that are no longer configured;
7. shares, last, so that recipients never see a half-built portfolio; with --prune, unshares.
"""

from __future__ import annotations

import hashlib
import json
import re

from .artifacts import normalize_prefix, seed_key, template_key, template_url
from .manifest import (
    APPLIED_TAG,
    OWNER_TAG_PORTFOLIO,
    OWNER_TAG_PRODUCT,
    SHARE_CHECK_TAG,
    STUDIO_TAG,
    Catalog,
    Portfolio,
    Product,
    notification_parameters,
    resource_update_parameters,
    topic_in,
)
from .model import Action, Options, RegionPlan
from .state import LivePortfolio, LiveState, constraint_description, share_errors_text

__all__ = ["plan_region", "PlanError", "artifact_description", "artifact_location", "parse_artifact_description",
           "QUOTAS"]

QUOTAS = {
    "portfolios_per_region": 100,
    "products_per_region": 350,
    "versions_per_product": 100,
}


class PlanError(Exception):
    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


#: "sha256:<content hash> location:<12 hex>"; parsed leniently (extra text and spacing are ignored)
_DESCRIPTION = re.compile(r"sha256:(?P<content>[0-9a-f]{64})(?:\s+location:(?P<location>[0-9a-f]{12}))?")


def artifact_location(bucket: str, prefix: str, bucket_region: str) -> str:
    """Short hash of where a version's template and seed code live.  The uploaded template bakes the
    bucket and the seed keys (under the prefix) into parameter defaults and the version's URL names
    the bucket's region, so the same content published elsewhere is a different version."""
    material = json.dumps([bucket, normalize_prefix(prefix), bucket_region], separators=(",", ":"))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:12]


def artifact_description(product: Product, location: str) -> str:
    return f"sha256:{product.content_hash} location:{location}"


def parse_artifact_description(description: str) -> tuple[str | None, str | None]:
    """(content hash, location) of a version's description; (None, None) when not written by smcat,
    (hash, None) for a description without a location (it then matches no location)."""
    match = _DESCRIPTION.search(description or "")
    if match is None:
        return None, None
    return match["content"], match["location"]


def _is_current(artifact, product: Product, location: str) -> bool:
    return parse_artifact_description(artifact.description) == (product.content_hash, location)


def live_location(options: Options, live: LiveState) -> str:
    return artifact_location(live.bucket, options.prefix, live.bucket_region)


def desired_portfolio_tags(portfolio: Portfolio) -> dict[str, str]:
    return {**dict(portfolio.tags), OWNER_TAG_PORTFOLIO: portfolio.key}


def desired_product_tags(catalog: Catalog, product: Product) -> dict[str, str]:
    tags = {OWNER_TAG_PRODUCT: product.key}
    if catalog.studio_visible(product.key):
        tags[STUDIO_TAG] = "true"
    return tags


def product_attributes(product: Product) -> dict[str, str]:
    return {
        "Owner": product.owner,
        "Description": product.description,
        "Distributor": product.distributor,
        "SupportEmail": product.support_email,
        "SupportUrl": product.support_url,
        "SupportDescription": product.support_description,
    }


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def plan_region(catalog: Catalog, options: Options, live: LiveState) -> RegionPlan:
    plan = RegionPlan(region=live.region, bucket=live.bucket, notes=list(live.notes))
    problems: list[str] = []
    _plan_objects(catalog, options, live, plan)
    _plan_portfolios(catalog, live, plan, problems)
    _plan_tag_options(catalog, live, plan)
    _plan_principals(catalog, live, plan)
    _plan_products(catalog, options, live, plan, problems)
    _plan_associations(catalog, live, plan)
    _plan_constraints(catalog, options, live, plan)
    _plan_deprecations(catalog, options, live, plan)
    _plan_retirements(catalog, options, live, plan)
    _plan_stale_associations(catalog, options, live, plan)
    _plan_shares(catalog, options, live, plan)
    _plan_share_checks(catalog, options, live, plan)
    if problems:
        raise PlanError(problems)
    return plan


# ------------------------------------------------------------------------------------------ S3


def _plan_objects(catalog: Catalog, options: Options, live: LiveState, plan: RegionPlan) -> None:
    def one(key: str, source: str, content_type: str, sha256: str, product: str | None) -> None:
        obj = live.objects.get(key)
        target = f"s3://{live.bucket}/{key}"
        details = {
            "bucket": live.bucket,
            "bucket_region": live.bucket_region,
            "key": key,
            "source": source,
            "sha256": sha256,
            "content_type": content_type,
            "kms_key_id": options.kms_key_for(live.region),
            "render_for": product,
        }
        if obj is None or not obj.exists:
            plan.actions.append(Action("create", "s3-object", target, live.region, f"upload {source}", details))
        elif details["kms_key_id"] and obj.encryption != "aws:kms":
            plan.actions.append(
                Action("update", "s3-object", target, live.region, f"re-upload {source} with SSE-KMS", details)
            )
        elif details["kms_key_id"] and obj.kms_key_id and live.kms_key_names and (
                obj.kms_key_id not in live.kms_key_names):
            plan.actions.append(Action(
                "update", "s3-object", target, live.region,
                f"re-upload {source} with SSE-KMS key {details['kms_key_id']} (now {obj.kms_key_id})", details,
            ))
        else:
            plan.actions.append(Action("noop", "s3-object", target, live.region, "already uploaded"))

    seen: set[str] = set()
    for product in catalog.products.values():
        for seed in product.seeds:
            key = seed_key(options.prefix, seed)
            if key not in seen:
                seen.add(key)
                one(key, seed.path, "application/zip", seed.sha256, None)
    for product in catalog.products.values():
        one(template_key(options.prefix, product), product.template, "application/json",
            product.template_sha256, product.key)


# ------------------------------------------------------------------------------------------ portfolios


def _plan_portfolios(catalog: Catalog, live: LiveState, plan: RegionPlan, problems: list[str]) -> None:
    creates = 0
    for key, portfolio in catalog.portfolios.items():
        current = live.portfolios.get(key)
        tags = desired_portfolio_tags(portfolio)
        target = f"portfolio/{key}"
        if current is None:
            creates += 1
            plan.actions.append(Action(
                "create", "portfolio", target, live.region, f"create portfolio '{portfolio.display_name}'",
                {
                    "portfolio": key,
                    "DisplayName": portfolio.display_name,
                    "Description": portfolio.description,
                    "ProviderName": portfolio.provider,
                    "Tags": _tag_list(tags),
                },
            ))
            continue
        changes = {}
        if current.display_name != portfolio.display_name:
            changes["DisplayName"] = portfolio.display_name
        if (current.description or "") != portfolio.description:
            changes["Description"] = portfolio.description
        if current.provider != portfolio.provider:
            changes["ProviderName"] = portfolio.provider
        add = {k: v for k, v in tags.items() if current.tags.get(k) != v}
        remove = sorted(k for k in current.tags if k not in tags and k not in (SHARE_CHECK_TAG, APPLIED_TAG))
        if changes or add or remove:
            what = sorted(changes) + [f"+tag {k}" for k in sorted(add)] + [f"-tag {k}" for k in remove]
            plan.actions.append(Action(
                "update", "portfolio", target, live.region, "update " + ", ".join(what),
                {"portfolio": key, "changes": changes, "AddTags": _tag_list(add), "RemoveTags": remove},
            ))
        else:
            plan.actions.append(Action("noop", "portfolio", target, live.region, "up to date"))
    if creates and live.portfolio_count + creates > QUOTAS["portfolios_per_region"]:
        problems.append(
            f"{live.region}: {live.portfolio_count} portfolios exist and {creates} more would exceed the "
            f"quota of {QUOTAS['portfolios_per_region']} per region (raise it in Service Quotas)"
        )


def _plan_tag_options(catalog: Catalog, live: LiveState, plan: RegionPlan) -> None:
    created: set[tuple[str, str]] = set()  # a TagOption is created once, then associated elsewhere
    for key, portfolio in catalog.portfolios.items():
        current: LivePortfolio | None = live.portfolios.get(key)
        have = dict(current.tag_options) if current else {}
        for option in portfolio.tag_options:
            target = f"portfolio/{key}/tag-option/{option[0]}={option[1]}"
            if option in have:
                plan.actions.append(Action("noop", "tag-option", target, live.region, "associated"))
                continue
            known = (live.tag_option_ids or {}).get(option)
            verb = "associate" if known or option in created else "create and associate"
            created.add(option)
            plan.actions.append(Action(
                "create", "tag-option", target, live.region, f"{verb} TagOption {option[0]}={option[1]}",
                {"portfolio": key, "key": option[0], "value": option[1], "tag_option_id": known},
            ))
        for option, option_id in sorted(have.items()):
            if option not in portfolio.tag_options:
                plan.actions.append(Action(
                    "delete", "tag-option", f"portfolio/{key}/tag-option/{option[0]}={option[1]}", live.region,
                    f"disassociate TagOption {option[0]}={option[1]}",
                    {"portfolio": key, "key": option[0], "value": option[1], "tag_option_id": option_id},
                ))


def _plan_principals(catalog: Catalog, live: LiveState, plan: RegionPlan) -> None:
    for key, portfolio in catalog.portfolios.items():
        current = live.portfolios.get(key)
        have = dict(current.principals) if current else {}
        want = {p.arn: p.type for p in portfolio.principals}
        for arn, kind in sorted(have.items()):
            if want.get(arn) != kind:
                plan.actions.append(Action(
                    "delete", "principal", f"portfolio/{key}/principal/{arn}", live.region,
                    f"disassociate {kind} {arn}",
                    {"portfolio": key, "PrincipalARN": arn, "PrincipalType": kind},
                ))
        for arn, kind in want.items():
            target = f"portfolio/{key}/principal/{arn}"
            if have.get(arn) == kind:
                plan.actions.append(Action("noop", "principal", target, live.region, "associated"))
            else:
                plan.actions.append(Action(
                    "create", "principal", target, live.region, f"associate {kind} {arn}",
                    {"portfolio": key, "PrincipalARN": arn, "PrincipalType": kind},
                ))


# ------------------------------------------------------------------------------------------ products


def _plan_products(catalog: Catalog, options: Options, live: LiveState, plan: RegionPlan,
                   problems: list[str]) -> None:
    creates = 0
    for key, product in catalog.products.items():
        current = live.products.get(key)
        tags = desired_product_tags(catalog, product)
        url = template_url(live.bucket, live.bucket_region, template_key(options.prefix, product))
        target = f"product/{key}"
        if current is None:
            creates += 1
            attributes = {k: v for k, v in product_attributes(product).items() if v}
            plan.actions.append(Action(
                "create", "product", target, live.region,
                f"create product '{product.name}' with version {product.version}",
                {
                    "product": key,
                    "Name": product.name,
                    **attributes,
                    "Tags": _tag_list(tags),
                    "artifact": {
                        "Name": product.version,
                        "Description": artifact_description(product, live_location(options, live)),
                        "LoadTemplateFromURL": url,
                    },
                },
            ))
            continue
        # tags: only the keys the publisher manages; other tags on the product are left alone
        add = {k: v for k, v in tags.items() if current.tags.get(k) != v}
        remove = [STUDIO_TAG] if STUDIO_TAG in current.tags and STUDIO_TAG not in tags else []
        # attributes: an empty manifest value leaves the live one alone (never cleared)
        changes = {k: v for k, v in product_attributes(product).items() if v and v != current.attributes.get(k, "")}
        if current.name != product.name:
            changes["Name"] = product.name
        if add or remove or changes:
            what = sorted(changes) + [f"+tag {k}={v}" for k, v in sorted(add.items())] + [
                f"-tag {k}" for k in remove]
            plan.actions.append(Action(
                "update", "product", target, live.region, "update " + ", ".join(what),
                {"product": key, "changes": changes, "AddTags": _tag_list(add), "RemoveTags": remove},
            ))
        else:
            plan.actions.append(Action("noop", "product", target, live.region, "up to date"))
        _plan_version(product, options, live, plan, problems, url)
    if creates and live.product_count + creates > QUOTAS["products_per_region"]:
        problems.append(
            f"{live.region}: {live.product_count} products exist and {creates} more would exceed the quota "
            f"of {QUOTAS['products_per_region']} per region (raise it in Service Quotas)"
        )


def _plan_version(product: Product, options: Options, live: LiveState, plan: RegionPlan, problems: list[str],
                  url: str) -> None:
    current = live.products[product.key]
    location = live_location(options, live)
    description = artifact_description(product, location)
    matching = [a for a in current.artifacts if _is_current(a, product, location)]
    target = f"product/{product.key}/version/{product.version}"
    if not matching:
        if len(current.artifacts) >= QUOTAS["versions_per_product"]:
            problems.append(
                f"{live.region}: product {product.key} already has {len(current.artifacts)} versions, the "
                f"quota; retire deprecated ones (publish --retire-after N) or delete old versions by hand"
            )
            return
        # same version with new content, or the same content in a new location: keep names unique
        taken = {a.name for a in current.artifacts}
        unique = f"{product.version}+{product.content_hash[:12]}"
        candidates = [product.version, unique, f"{unique}.{location[:8]}"]
        name = next((c for c in candidates if c not in taken), None)
        n = 2
        while name is None:
            name = f"{unique}.{location[:8]}.{n}" if f"{unique}.{location[:8]}.{n}" not in taken else None
            n += 1
        plan.actions.append(Action(
            "create", "artifact", f"product/{product.key}/version/{name}", live.region,
            f"new version {name} ({description[:19]}...)",
            {"product": product.key, "product_id": current.id, "Name": name, "Description": description,
             "LoadTemplateFromURL": url},
        ))
        return
    artifact = matching[0]
    if artifact.guidance == "DEPRECATED" or not artifact.active:
        plan.actions.append(Action(
            "update", "artifact", target, live.region, f"re-activate version {artifact.name} (current content)",
            {"product": product.key, "product_id": current.id, "artifact_id": artifact.id, "Active": True,
             "Guidance": "DEFAULT"},
        ))
    else:
        plan.actions.append(Action("noop", "artifact", target, live.region, "current version exists"))


def _plan_deprecations(catalog: Catalog, options: Options, live: LiveState, plan: RegionPlan) -> None:
    for key, product in catalog.products.items():
        current = live.products.get(key)
        if current is None:
            continue
        # the current version (new or existing) counts as one of --keep-versions; the others kept
        # are the newest; on a roll-back to an old version the newer ones are deprecated too
        location = live_location(options, live)
        others = [a for a in current.artifacts if not _is_current(a, product, location)]
        ordered = sorted(others, key=lambda a: (a.created is not None, a.created or 0), reverse=True)
        for artifact in ordered[options.keep_versions - 1:]:
            if artifact.guidance == "DEPRECATED":
                continue
            plan.actions.append(Action(
                "deprecate", "artifact", f"product/{key}/version/{artifact.name}", live.region,
                f"deprecate version {artifact.name} (more than {options.keep_versions} newer versions)",
                {"product": key, "product_id": current.id, "artifact_id": artifact.id, "Guidance": "DEPRECATED"},
            ))


def _unseen_use(catalog: Catalog, live: LiveState, portfolio_ids: list[str]) -> str:
    """Why provisioned products of the product may exist where this account cannot see them ('' when
    not): a portfolio holding it is shared (provisioned products belong to the account that launched
    them; SearchProvisionedProducts' Account level is the caller's account), or smcat does not manage it."""
    managed = {p.id: key for key, p in live.portfolios.items()}
    reasons = []
    for portfolio_id in portfolio_ids:
        key = managed.get(portfolio_id)
        if key is None:
            reasons.append(f"it is also in portfolio {portfolio_id}, whose shares smcat does not read")
            continue
        targets = {(s.type, s.value) for s in catalog.portfolios[key].shares} if key in catalog.portfolios else set()
        targets |= set((live.portfolios[key].shares or {}).keys())
        if targets:
            shown = ", ".join(f"{t} {v}" for t, v in sorted(targets))
            reasons.append(f"portfolio {key} is shared with {shown}")
    if not reasons:
        return ""
    return "; ".join(reasons) + ": provisioned products in other accounts cannot be seen from this one"


def _retirement_verdict(artifact, usage, deprecating: set[str], unseen: str, options: Options) -> str:
    """Why a deprecated version past the newest --retire-after ones is kept ('' = delete it)."""
    if artifact.id in deprecating:
        return "deprecated by this run; retired by a later one"
    if usage is None:
        return "its use was not read"
    if usage.users.get(artifact.id):
        return "used by " + ", ".join(sorted(usage.users[artifact.id]))
    if usage.changing:
        return "provisioned products are under change (" + ", ".join(sorted(usage.changing)) + ")"
    if unseen and not options.retire_shared:
        return unseen + " (--retire-shared retires anyway)"
    return ""


def _plan_retirements(catalog: Catalog, options: Options, live: LiveState, plan: RegionPlan) -> None:
    """--retire-after N: delete the DEPRECATED versions past the newest N deprecated ones, when nothing
    uses them.  Never the current version (nor one this plan re-activates); a version this plan
    deprecates counts as deprecated but is kept until a later run, so that every deleted version was
    deprecated for at least one run.  Everything kept past the newest N is said in a note, with why."""
    if options.retire_after is None:
        return
    versions = [a for a in plan.actions if a.resource == "artifact"]
    deprecating = {a.details["artifact_id"] for a in versions if a.kind == "deprecate"}
    reactivating = {a.details.get("artifact_id") for a in versions if a.kind == "update"}
    location = live_location(options, live)
    for key, product in catalog.products.items():
        current = live.products.get(key)
        if current is None:
            continue
        deprecated = [a for a in current.artifacts if (a.guidance == "DEPRECATED" or a.id in deprecating)
                      and a.id not in reactivating and not _is_current(a, product, location)]
        ordered = sorted(deprecated, key=lambda a: (a.created is not None, a.created or 0), reverse=True)
        usage = (live.usage or {}).get(key)
        unseen = _unseen_use(catalog, live, usage.portfolio_ids) if usage is not None else ""
        kept = []
        for artifact in ordered[options.retire_after:]:
            why = _retirement_verdict(artifact, usage, deprecating, unseen, options)
            if why:
                kept.append(f"{artifact.name} ({why})")
                continue
            plan.actions.append(Action(
                "delete", "artifact", f"product/{key}/version/{artifact.name}", live.region,
                f"retire deprecated version {artifact.name} (past the newest {options.retire_after} deprecated, "
                f"used by no provisioned product)",
                {"product": key, "product_id": current.id, "artifact_id": artifact.id, "Name": artifact.name},
            ))
        newest = [a.name for a in ordered[:options.retire_after]]
        if newest:
            kept.insert(0, f"{', '.join(newest)} (the newest {options.retire_after} deprecated)")
        if kept:
            plan.notes.append(f"retire: product {key} keeps deprecated versions " + "; ".join(kept))


# ------------------------------------------------------------------------------------------ associations


def _plan_associations(catalog: Catalog, live: LiveState, plan: RegionPlan) -> None:
    for key, portfolio in catalog.portfolios.items():
        current = live.portfolios.get(key)
        for product_key in portfolio.products:
            product = live.products.get(product_key)
            target = f"portfolio/{key}/product/{product_key}"
            if current is not None and product is not None and product.id in current.product_ids:
                plan.actions.append(Action("noop", "association", target, live.region, "associated"))
            else:
                plan.actions.append(Action(
                    "create", "association", target, live.region, f"add product {product_key} to portfolio {key}",
                    {"portfolio": key, "product": product_key},
                ))


def _plan_constraints(catalog: Catalog, options: Options, live: LiveState, plan: RegionPlan) -> None:
    """Per product of each portfolio: its LAUNCH constraint, its RESOURCE_UPDATE (tag update) constraint when the
    portfolio sets tag_update_constraint, and a NOTIFICATION constraint per topic of notification_constraints.
    Constraints the portfolio does not (or no longer) configure are reported, and removed only with --prune."""
    for key, portfolio in catalog.portfolios.items():
        current = live.portfolios.get(key)
        topics = _topics_in(key, portfolio, live.region, plan)
        unconfigured: list[str] = []  # "product: what" of the constraints left in place without --prune
        for product_key in portfolio.products:
            product = live.products.get(product_key)
            on_pair = []
            if current is not None and product is not None:
                on_pair = [c for c in current.constraints if c.product_id == product.id]
            pair = _Pair(key, product_key, on_pair, live.region, plan)
            pair.one_per_pair("LAUNCH", "launch-constraint", "launch constraint", portfolio.launch_parameters,
                              lambda c, wanted: c.parameters == wanted)
            if portfolio.tag_update is not None:
                pair.one_per_pair("RESOURCE_UPDATE", "resource-update-constraint", "tag update constraint",
                                  resource_update_parameters(portfolio.tag_update),
                                  lambda c, wanted: _tag_update_of(c) == _tag_update_of(wanted))
            else:
                unconfigured += pair.unconfigured([c for c in on_pair if c.type == "RESOURCE_UPDATE"],
                                                  "resource-update-constraint", "tag update constraint",
                                                  options.prune)
            unconfigured += pair.notifications(topics, options.prune)
        if unconfigured:
            plan.notes.append(
                f"portfolio {key} has constraints its configuration does not have ({'; '.join(unconfigured)}); "
                "run with --prune to remove them"
            )


def _tag_update_of(constraint_or_parameters) -> str | None:
    """TagUpdateOnProvisionedProduct of RESOURCE_UPDATE parameters (or of a live constraint's)."""
    parameters = getattr(constraint_or_parameters, "parameters", constraint_or_parameters)
    properties = parameters.get("Properties") if isinstance(parameters, dict) else None
    return properties.get("TagUpdateOnProvisionedProduct") if isinstance(properties, dict) else None


def _notification_arns(constraint) -> list[str]:
    arns = constraint.parameters.get("NotificationArns") if isinstance(constraint.parameters, dict) else None
    return [a for a in arns if isinstance(a, str)] if isinstance(arns, list) else []


def _topics_in(key: str, portfolio: Portfolio, region: str, plan: RegionPlan) -> list[str]:
    """The portfolio's topics in ``region`` ({region} replaced). CloudFormation publishes a stack's events to
    topics of the stack's region only (one elsewhere fails the stack: "Invalid parameter: TopicArn",
    aws-cdk#20603), so a topic named in another region gets no constraint here, and the plan says so."""
    here, elsewhere = [], []
    for topic in portfolio.notification_topics:
        arn = topic_in(topic, region)
        (here if arn.split(":")[3] == region else elsewhere).append(arn)
    if elsewhere:
        plan.notes.append(
            f"portfolio {key}: notification topic {', '.join(elsewhere)} is not in {region}, and CloudFormation "
            f"notifies topics of the stack's region only: no NOTIFICATION constraint for it in {region} (write "
            "{region} in the ARN for a topic per region)"
        )
    return here


class _Pair:
    """Plans the constraints of one product in one portfolio (deciding only: appends actions to the plan)."""

    def __init__(self, portfolio: str, product: str, on_pair: list, region: str, plan: RegionPlan):
        self.portfolio, self.product, self.on_pair, self.region, self.plan = portfolio, product, on_pair, region, plan

    def _target(self, suffix: str) -> str:
        return f"portfolio/{self.portfolio}/product/{self.product}/{suffix}"

    def _details(self, kind: str, parameters: dict) -> dict:
        return {
            "portfolio": self.portfolio,
            "product": self.product,
            "Type": kind,
            "Parameters": json.dumps(parameters, sort_keys=True),
            "Description": constraint_description(parameters, kind),
            # the live state the create was decided from: part of its IdempotencyToken, so a
            # create after the first constraint is gone is not the first create's replay
            "live_constraint_ids": sorted(c.id for c in self.on_pair),
        }

    def one_per_pair(self, kind: str, suffix: str, label: str, parameters: dict, same) -> None:
        """A type a product has at most one of per portfolio (LAUNCH: CreateConstraint's documentation; RESOURCE_UPDATE:
        AWS's CDK refuses a second "tag update constraint" per association): created when missing, left alone when
        ``same``, else changed in place (UpdateConstraint takes either type's Parameters, per its documentation),
        any extra one deleted first."""
        existing = [c for c in self.on_pair if c.type == kind]
        details, target = self._details(kind, parameters), self._target(suffix)
        if not existing:
            self.plan.actions.append(Action(
                "create", "constraint", target, self.region, f"{label} {json.dumps(parameters)}", details))
        elif len(existing) == 1 and same(existing[0], parameters):
            self.plan.actions.append(Action("noop", "constraint", target, self.region, f"{label} in place"))
        else:
            keep, *extra = sorted(existing, key=lambda c: c.id)
            old = ", ".join(json.dumps(c.parameters) for c in existing)
            self.plan.actions.append(Action(
                "update", "constraint", target, self.region, f"change {label} {old} to {json.dumps(parameters)}",
                {**details, "constraint_id": keep.id, "replace": [c.id for c in extra]},
            ))

    def unconfigured(self, constraints: list, suffix: str, label: str, prune: bool) -> list[str]:
        """Constraints nothing configures: deleted with --prune, else listed for the plan's note."""
        if not constraints:
            return []
        if not prune:
            return [f"{self.product}: {label} {', '.join(c.id for c in constraints)}"]
        self.plan.actions.append(Action(
            "delete", "constraint", self._target(suffix), self.region, f"remove {label} (pruned)",
            {"portfolio": self.portfolio, "product": self.product,
             "constraint_ids": sorted(c.id for c in constraints)},
        ))
        return []

    def notifications(self, wanted: list[str], prune: bool) -> list[str]:
        """One NOTIFICATION constraint per wanted topic. A live one naming only wanted topics stays; one naming
        wanted and other topics stays without --prune (noted) and is narrowed in place with it; one naming none
        is noted, or deleted with --prune."""
        covered: set[str] = set()
        unconfigured: list[str] = []
        for c in sorted((c for c in self.on_pair if c.type == "NOTIFICATION"), key=lambda c: c.id):
            arns = _notification_arns(c)
            kept = [a for a in arns if a in wanted]
            covered.update(kept)
            extra = sorted(set(arns) - set(wanted))
            suffix = f"notification-constraint/{kept[0] if kept else (arns[0] if arns else c.id)}"
            if not kept:
                unconfigured += self.unconfigured([c], suffix, "notification constraint", prune)
            elif extra and not prune:
                unconfigured.append(f"{self.product}: notification constraint {c.id} also notifies {', '.join(extra)}")
            elif extra:
                parameters = {"NotificationArns": kept}
                self.plan.actions.append(Action(
                    "update", "constraint", self._target(suffix), self.region,
                    f"stop notifying {', '.join(extra)} (pruned)",
                    {**self._details("NOTIFICATION", parameters), "constraint_id": c.id, "replace": []},
                ))
        for topic in wanted:
            target = self._target(f"notification-constraint/{topic}")
            if topic in covered:
                self.plan.actions.append(Action("noop", "constraint", target, self.region,
                                                "notification constraint in place"))
                continue
            parameters = notification_parameters(topic)
            self.plan.actions.append(Action(
                "create", "constraint", target, self.region, f"notification constraint {json.dumps(parameters)}",
                self._details("NOTIFICATION", parameters),
            ))
        return unconfigured


def _plan_stale_associations(catalog: Catalog, options: Options, live: LiveState, plan: RegionPlan) -> None:
    names = {p.id: k for k, p in live.products.items()}
    for key, portfolio in catalog.portfolios.items():
        current = live.portfolios.get(key)
        if current is None:
            continue
        wanted = {live.products[p].id for p in portfolio.products if p in live.products}
        for product_id in sorted(current.product_ids - wanted):
            label = names.get(product_id, product_id)
            if not options.prune:
                plan.notes.append(
                    f"product {label} is in portfolio {key} but not in its configuration; "
                    f"run with --prune to remove it from the portfolio"
                )
                continue
            constraint_ids = sorted(c.id for c in current.constraints if c.product_id == product_id)
            plan.actions.append(Action(
                "delete", "association", f"portfolio/{key}/product/{label}", live.region,
                f"remove product {label} from portfolio {key} (pruned)",
                {"portfolio": key, "product_id": product_id, "constraint_ids": constraint_ids},
            ))


# ------------------------------------------------------------------------------------------ shares


def _node(share_type: str, value: str) -> dict[str, str]:
    return {"Type": share_type, "Value": value}


def _plan_shares(catalog: Catalog, options: Options, live: LiveState, plan: RegionPlan) -> None:
    for key, portfolio in catalog.portfolios.items():
        current = live.portfolios.get(key)
        have = (current.shares or {}) if current is not None else {}
        for share in portfolio.shares:
            target = f"portfolio/{key}/share/{share.type}/{share.value}"
            flags = {"SharePrincipals": share.share_principals, "ShareTagOptions": share.share_tag_options}
            existing = have.get((share.type, share.value))
            details = {"portfolio": key, "OrganizationNode": _node(share.type, share.value), **flags}
            described = ", ".join(k for k, v in flags.items() if v) or "no principals/TagOptions"
            if existing is None:
                plan.actions.append(Action(
                    "share", "share", target, live.region, f"share with {share.type} {share.value} ({described})",
                    details,
                ))
            elif (existing.share_principals, existing.share_tag_options) != (
                    share.share_principals, share.share_tag_options):
                plan.actions.append(Action(
                    "update", "share", target, live.region,
                    f"update share with {share.type} {share.value} ({described})", details,
                ))
            else:
                plan.actions.append(Action("noop", "share", target, live.region, "shared"))
        wanted = {(s.type, s.value) for s in portfolio.shares}
        for node_type, value in sorted(have):
            if (node_type, value) in wanted:
                continue
            target = f"portfolio/{key}/share/{node_type}/{value}"
            if options.prune:
                plan.actions.append(Action(
                    "unshare", "share", target, live.region, f"stop sharing with {node_type} {value} (pruned)",
                    {"portfolio": key, "OrganizationNode": _node(node_type, value)},
                ))
            else:
                plan.notes.append(
                    f"portfolio {key} is shared with {node_type} {value}, which is not configured; "
                    f"run with --prune to remove the share (kept)"
                )


# ------------------------------------------------------------------------------------------ share checks

UNFINISHED = ("NOT_STARTED", "IN_PROGRESS")
FAILED_SHARE = ("COMPLETED_WITH_ERRORS", "ERROR")


def _node_value(value: str) -> str:
    return value.rsplit("/", 1)[1] if value.startswith("arn:") else value


def _guess_type(value: str) -> str:
    if value.startswith("o-"):
        return "ORGANIZATION"
    return "ACCOUNT" if value.isdigit() else "ORGANIZATIONAL_UNIT"


def _plan_share_checks(catalog: Catalog, options: Options, live: LiveState, plan: RegionPlan) -> None:
    """Share operations an earlier run left unchecked (the portfolio's smcat:share-check tag).

    A completed one is forgotten (the tag is updated).  One that ended COMPLETED_WITH_ERRORS or
    ERROR, or is still running, is a problem (plan and publish exit 1) unless this plan shares
    with that target again anyway, or --retry-shares asks to.  The tag is read and written only
    when an operation did not complete cleanly, so a clean no-op makes no extra call."""
    for key, portfolio in catalog.portfolios.items():
        current = live.portfolios.get(key)
        if current is None:
            plan.share_checks[key] = {}
            continue
        configured = {s.value: s for s in portfolio.shares}
        kept: dict[str, str] = {}
        for op in current.share_ops:
            value = _node_value(op.value)
            if op.status == "COMPLETED":
                continue
            if op.status not in UNFINISHED + FAILED_SHARE:
                plan.notes.append(f"portfolio {key}: share operation {op.token} recorded by an earlier run is "
                                  f"unknown to Service Catalog; it is no longer checked")
                continue
            share = configured.get(value)
            node_type = share.type if share else next(
                (t for (t, v) in (current.shares or {}) if v == value), _guess_type(value))
            what = (f"the last share operation with {node_type} {value} ({op.token}) "
                    + (f"is still {op.status}" if op.status in UNFINISHED else f"ended {op.status}")
                    + (f": {share_errors_text(op.errors)}" if op.status in FAILED_SHARE else ""))
            target = f"portfolio/{key}/share/{node_type}/{value}"
            if any(a.target == target and a.is_write for a in plan.actions):
                kept[op.token] = value  # this run's share operation replaces it
                plan.notes.append(f"portfolio {key}: {what}; this run shares again")
                continue
            if share is None:
                plan.notes.append(f"portfolio {key}: {what}; the target is no longer configured, so it is no "
                                  f"longer checked")
                continue
            kept[op.token] = value
            if op.status in FAILED_SHARE and options.retry_shares:
                exists = (share.type, share.value) in (current.shares or {})
                described = ", ".join(k for k, v in (("SharePrincipals", share.share_principals),
                                                     ("ShareTagOptions", share.share_tag_options)) if v)
                plan.actions.append(Action(
                    "update" if exists else "share", "share", target, live.region,
                    f"share again with {share.type} {share.value} ({described or 'no principals/TagOptions'}; "
                    f"last operation {op.token} ended {op.status})",
                    {"portfolio": key, "OrganizationNode": _node(share.type, share.value),
                     "SharePrincipals": share.share_principals, "ShareTagOptions": share.share_tag_options},
                ))
                continue
            hint = ("run publish again once it has completed" if op.status in UNFINISHED
                    else "fix the cause, then run publish --retry-shares")
            plan.problems.append(f"{live.region}: portfolio {key}: {what}; {hint}")
        plan.share_checks[key] = kept
        before = current.tags.get(SHARE_CHECK_TAG, "").split()
        if list(kept) != before:
            _merge_tag_change(plan, key, live.region, kept, [t for t in before if t not in kept])


def _merge_tag_change(plan: RegionPlan, key: str, region: str, kept: dict[str, str], dropped: list[str]) -> None:
    """Write the smcat:share-check tag as part of the portfolio's update action (made one if it was a no-op)."""
    target = f"portfolio/{key}"
    index = next(i for i, a in enumerate(plan.actions) if a.resource == "portfolio" and a.target == target)
    action = plan.actions[index]
    details = action.details if action.kind == "update" else {"portfolio": key, "changes": {}, "AddTags": [],
                                                               "RemoveTags": []}
    if kept:
        details["AddTags"] = [*details["AddTags"], {"Key": SHARE_CHECK_TAG, "Value": " ".join(kept)}]
    else:
        details["RemoveTags"] = [*details["RemoveTags"], SHARE_CHECK_TAG]
    what = f"stop checking share operation{'s' if len(dropped) != 1 else ''} {', '.join(dropped)}"
    summary = f"{action.summary}, {what}" if action.kind == "update" else what
    plan.actions[index] = Action("update", "portfolio", target, region, summary, details)
