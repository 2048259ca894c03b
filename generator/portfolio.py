"""Portfolio files: `portfolios/<id>.yaml`, validated in full before anything is built or published.

Structure and types are checked against a JSON Schema (also written out for editors); what a
schema cannot say well (AWS id formats with clear reasons, tag character classes, cross-file
duplicates, product names, quotas) is checked here, on every part that is well-typed: a wrong type in
one key hides nothing about the others. Every problem is collected, none raised alone.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from generator.awsids import ACCOUNT_ID, IAM_ARN, IAM_PATTERN_ARN, ORG_ID, OU_ID, ROLE_ARN, ROLE_NAME, ROOT_ID
from generator.errors import InputError, Problem
from generator.publish.manifest import MAX_NOTIFICATION_TOPICS, TAG_UPDATE_VALUES, topic_arn_problem
from generator.publish.oupaths import OU_PATH, exclude_problems, is_ou_path, path_problem
from generator.publish.s3policy import (
    DEFAULT_LAUNCH_ROLE,
    DEFAULT_PREFIX,
    LOCATION_TAG,
    PUBLISH_TARGETS,
    REGION,
    REGION_PLACEHOLDER,
    S3,
    SERVICE_CATALOG,
    bucket_template_problems,
    location_problem,
    normalise_prefix,
    prefix_problem,
)

# The role project-roles creates for the Studio portfolio (generator/blocks/project.py LAUNCH_ROLE; not
# imported: that module needs troposphere). The AWS-managed AmazonSageMakerServiceCatalogProductsLaunchRole
# cannot create the Studio templates' resources, so a launch constraint is never defaulted to it.
PROJECTS_LAUNCH_ROLE = "SageMakerProjectsLaunchRole"
MAX_TAGS = 20  # Service Catalog quota per portfolio
OWN_TAGS = 3  # the publisher's tags count towards that quota: identity, share checks, applied digest
MAX_TAG_OPTIONS = 25
MAX_PATTERN_PRINCIPALS = 10
# A share's explicit acknowledgement of the principal-name sharing risk (see _pattern_sharing_warnings).
PATTERN_RISK_KEY = "principal_pattern_risk"
PATTERN_RISK_ACCEPTED = "accepted"

_TEXT = {"type": "string"}
_FLAG = {"type": "boolean"}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://smcat.dev/portfolio.schema.json",
    "title": "smcat portfolio",
    "description": "One portfolio: its products, who may launch them, where it is shared, and where it is "
    "published (Service Catalog, S3 templates or both).",
    "type": "object",
    "additionalProperties": False,
    "required": ["display_name", "provider", "products"],
    # launch_constraint is required unless the portfolio is published to S3 templates only
    "if": {
        "required": ["publish_to"],
        "properties": {"publish_to": {"type": "array", "not": {"contains": {"const": SERVICE_CATALOG}}}},
    },
    "else": {"required": ["launch_constraint"]},
    "properties": {
        "display_name": {**_TEXT, "minLength": 1, "maxLength": 100, "description": "Portfolio name shown to users."},
        "description": {**_TEXT, "maxLength": 2000},
        "provider": {**_TEXT, "minLength": 1, "maxLength": 50, "description": "Who provides the portfolio."},
        "products": {
            "type": "array",
            "items": {**_TEXT, "minLength": 1},
            "maxItems": 150,
            "description": "Product names (the `name` of modules in products/).",
        },
        "studio_visibility": {
            **_FLAG,
            "default": True,
            "description": "Tag the products sagemaker:studio-visibility=true so Studio lists them.",
        },
        "publish_to": {
            "type": "array",
            "items": {"enum": list(PUBLISH_TARGETS)},
            "minItems": 1,
            "default": [SERVICE_CATALOG],
            "description": "Where the portfolio is published: service-catalog, s3 (SageMaker projects from S3 "
            "templates) or both (a migration).",
        },
        "s3_templates": {
            "type": "object",
            "additionalProperties": False,
            "required": ["bucket"],
            "description": "The S3 template location (required when publish_to has s3, refused otherwise).",
            "properties": {
                "bucket": {
                    **_TEXT,
                    "description": f"S3 bucket name; {REGION_PLACEHOLDER} is replaced by each region.",
                },
                "prefix": {
                    **_TEXT,
                    "default": DEFAULT_PREFIX,
                    "description": "Key prefix of the templates (letters, digits, _ . / -; no leading /); "
                    "ends with one /. Domains are tagged " + LOCATION_TAG + "=s3://bucket/prefix/.",
                },
                "regions": {
                    "type": "array",
                    "items": _TEXT,
                    "minItems": 1,
                    "description": "Region names (such as us-east-1); default: the --region options of plan "
                    "and publish.",
                },
                "launch_role": {
                    **_TEXT,
                    "default": DEFAULT_LAUNCH_ROLE,
                    "description": "Name of the role CloudFormation creates the SP-* stacks with, in each "
                    "consuming account (passed as the project's RoleARN).",
                },
            },
        },
        "organization_id": {
            **_TEXT,
            "description": "The organization (o-...) of the OUs in shares: an s3 portfolio sharing with an OU "
            "needs it (aws:PrincipalOrgID and aws:PrincipalOrgPaths in the bucket policy).",
        },
        "launch_constraint": {
            "type": "object",
            "additionalProperties": False,
            "description": "The role products launch with (required, except for publish_to: [s3]): a role name "
            f"resolved in each account, such as project-roles' {PROJECTS_LAUNCH_ROLE}, or one role ARN.",
            "properties": {
                "local_role_name": _TEXT,
                "role_arn": _TEXT,
            },
            "minProperties": 1,
            "maxProperties": 1,
        },
        "tag_update_constraint": {
            "enum": list(TAG_UPDATE_VALUES),
            "description": "A RESOURCE_UPDATE constraint on every product: ALLOWED lets users change a provisioned "
            "product's tags (SageMaker UpdateProject with tags needs it), NOT_ALLOWED forbids it; without one, "
            "tag updates are not allowed. Service Catalog only.",
        },
        "notification_constraints": {
            "type": "array",
            "items": _TEXT,
            "maxItems": MAX_NOTIFICATION_TOPICS,
            "description": "SNS topic ARNs told of every stack event of the products (a NOTIFICATION constraint per "
            f"topic and product); {REGION_PLACEHOLDER} in the region is replaced by each region published to "
            "(CloudFormation notifies topics of the stack's region only). Service Catalog only.",
        },
        "principals": {
            "type": "array",
            "items": _TEXT,
            "description": "IAM ARNs allowed to launch; account-less ARNs (arn:aws:iam:::role/...) are patterns.",
        },
        "shares": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["target"],
                "properties": {
                    "target": {
                        **_TEXT,
                        "description": "An OU id (ou-...), account id (12 digits), organization id (o-...) or OU "
                        "path (Root/Workloads/ML, resolved through AWS Organizations at plan time).",
                    },
                    "exclude": {
                        "type": "array",
                        "items": _TEXT,
                        "minItems": 1,
                        "description": "OU paths under an OU path target that the share must not reach: the target "
                        "is shared as its other child OUs and its accounts instead.",
                    },
                    "optional": {
                        **_FLAG,
                        "default": False,
                        "description": "An OU path target that may not exist yet: then the plan notes it and shares "
                        "nothing.",
                    },
                    "share_principals": {
                        **_FLAG,
                        "description": "Share principal associations (OUs and the organization; default true there).",
                    },
                    "share_tag_options": {**_FLAG, "default": True},
                    PATTERN_RISK_KEY: {
                        "enum": [PATTERN_RISK_ACCEPTED],
                        "description": "Acknowledges that with share_principals and IAM_PATTERN principals, anyone "
                        "who can create IAM roles in a recipient account can make one whose name matches a pattern "
                        "and launch the portfolio's products (Service Catalog API reference, "
                        "AssociatePrincipalWithPortfolio); without it the build warns.",
                    },
                },
            },
        },
        "tags": {
            "type": "object",
            "additionalProperties": {**_TEXT, "minLength": 1, "maxLength": 256},
            "propertyNames": {"type": "string", "minLength": 1, "maxLength": 128},
        },
        "tag_options": {
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "items": {**_TEXT, "minLength": 1, "maxLength": 256},
                "minItems": 1,
            },
            "propertyNames": {"type": "string", "minLength": 1, "maxLength": 128},
        },
    },
}

_TYPE_NAMES = {"string": "a string", "boolean": "true or false", "array": "a list", "object": "a mapping"}


@dataclass(frozen=True)
class Portfolio:
    """A validated portfolio, in the resolved form the manifest and the publisher use."""

    id: str
    file: str
    config: dict[str, Any]
    warnings: tuple[Problem, ...] = ()  # reported by the build, not fatal


@dataclass(frozen=True)
class _File:
    """What one file holds as far as it is well-typed, so checks across files run even when it has problems."""

    where: str
    lines: dict[tuple, int]
    display_name: str | None
    products: list[tuple[int, str]]
    studio_visibility: bool | None
    portfolio: Portfolio | None  # None when the file has problems
    s3_location: tuple[str, str] | None = None  # (bucket, prefix) when well-formed and published to S3

    def line(self, path: tuple) -> int | None:
        return _line(self.lines, path)


def load_portfolios(files: list[Path], products: set[str] | None, rel=lambda p: str(p)) -> list[Portfolio]:
    """Loads and validates every file; raises InputError with every problem in every file.

    `products` are the product names the catalog declares, including those of broken modules (a portfolio
    naming one is not told the product is unknown); None skips that check.
    """
    problems: list[Problem] = []
    loaded: list[_File] = []
    for path in files:
        found, one = _load_one(path, rel(path), products)
        problems += found
        if one is not None:
            loaded.append(one)
    problems += _display_name_repeats(loaded) + _visibility_conflicts(loaded) + _location_conflicts(loaded)
    if problems:
        raise InputError(problems)
    return [one.portfolio for one in loaded]


def unlisted_products(products: dict[str, Any], portfolios: list[Portfolio]) -> list[Problem]:
    """Warnings (not errors): products that no portfolio holds, which nobody can launch."""
    listed = {name for portfolio in portfolios for name in portfolio.config["products"]}
    found = []
    for name, product in products.items():
        if name not in listed:
            who = "Studio users cannot see it" if product.studio_project else "nobody can launch it"
            found.append(Problem(product.source, "", f"product {name!r} is in no portfolio; {who}"))
    return found


def portfolio_warnings(portfolios: list[Portfolio]) -> list[Problem]:
    """Warnings (not errors) about keys a portfolio's publish targets cannot express."""
    return [warning for portfolio in portfolios for warning in portfolio.warnings]


def _display_name_repeats(loaded: list[_File]) -> list[Problem]:
    first: dict[str, str] = {}
    problems = []
    for one in loaded:
        name = one.display_name
        if name is None:
            continue
        if name in first:
            problems.append(
                Problem(
                    one.where,
                    "display_name",
                    f"{name!r} is also the display name in {first[name]}",
                    one.line(("display_name",)),
                )
            )
        first.setdefault(name, one.where)
    return problems


def _visibility_conflicts(loaded: list[_File]) -> list[Problem]:
    """The sagemaker:studio-visibility tag sits on the product, so its portfolios must agree on it."""
    first: dict[str, _File] = {}
    problems = []
    for one in loaded:
        if one.studio_visibility is None:
            continue
        for index, product in one.products:
            other = first.setdefault(product, one)
            if other.studio_visibility != one.studio_visibility:
                problems.append(
                    Problem(
                        one.where,
                        f"products[{index}]",
                        f"{product!r} is also in {other.where}, which sets studio_visibility "
                        f"{str(other.studio_visibility).lower()}; the tag is on the product, "
                        "so every portfolio holding it must agree",
                        one.line(("products", index)),
                    )
                )
    return problems


def _location_conflicts(loaded: list[_File]) -> list[Problem]:
    """A domain is tagged with one template location, and the bucket policy's statements are named per share
    target: portfolios publishing to one bucket must use one prefix."""
    first: dict[str, tuple[str, _File]] = {}
    problems = []
    for one in loaded:
        if one.s3_location is None:
            continue
        bucket, prefix = one.s3_location
        seen, other = first.setdefault(bucket, (prefix, one))
        if seen != prefix:
            problems.append(
                Problem(
                    one.where,
                    "s3_templates.prefix",
                    f"{prefix!r}, but {other.where} publishes to bucket {bucket!r} with prefix {seen!r}; "
                    "portfolios sharing a bucket use one prefix (one template location per bucket)",
                    one.line(("s3_templates", "prefix")) or one.line(("s3_templates",)),
                )
            )
    return problems


def _load_one(path: Path, where: str, products: set[str] | None) -> tuple[list[Problem], _File | None]:
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text)
        data = yaml.safe_load(text) if node is not None else None
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(where, "", f"cannot be read: {exc}")], None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        return [Problem(where, "", f"is not valid YAML: {reason}", mark.line + 1 if mark else None)], None
    if not isinstance(data, dict):
        return [Problem(where, "", "must be a mapping of portfolio settings")], None
    lines: dict[tuple, int] = {}
    texts: dict[tuple, str] = {}  # scalars as written: YAML turns 0123 into 83 and yes into True
    problems = _index(node, (), lines, texts, where, yaml.constructor.SafeConstructor())

    def problem(path: tuple, message: str, line: int | None = -1) -> None:
        problems.append(Problem(where, _key(path), message, _line(lines, path) if line == -1 else line))

    warnings: list[Problem] = []

    def warn(path: tuple, message: str) -> None:
        warnings.append(Problem(where, _key(path), message, _line(lines, path)))

    # Structure first, key by key: a wrong type in one place never stops the checks of the others.
    for error in Draft202012Validator(SCHEMA).iter_errors(data):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - set(allowed), key=str):
                problem((*path, key), _unknown_key(key, allowed))
        elif error.validator == "required":
            for key in error.validator_value:
                if key not in error.instance and f"{key!r}" in error.message:
                    # a missing top-level key is on no line; a missing share key is in its share
                    problem((*path, key), _REQUIRED.get(key, "is required"), _line(lines, path) if path else None)
        else:
            problem(path, _schema_message(error, texts.get(path)))
    # Then meaning, on every part that is well-typed.
    config = _resolve(data, products, problem, warn)
    visibility = data.get("studio_visibility", True)
    display_name = data.get("display_name")
    portfolio = None if problems else Portfolio(path.stem, where, config(), tuple(warnings))
    s3 = portfolio.config.get("s3_templates") if portfolio else None
    return problems, _File(
        where,
        lines,
        display_name if isinstance(display_name, str) else None,
        _items(data.get("products")),
        visibility if isinstance(visibility, bool) else None,
        portfolio,
        (s3["bucket"], s3["prefix"]) if s3 else None,
    )


_REQUIRED = {
    "launch_constraint": (
        "is required: the role Service Catalog creates the products' stacks with; give local_role_name: "
        f"{PROJECTS_LAUNCH_ROLE} (the project-roles product's launch role) or your own role, not the AWS-managed "
        "AmazonSageMakerServiceCatalogProductsLaunchRole, which cannot create these templates' resources"
    ),
}


def _items(value: Any) -> list[tuple[int, str]]:
    """The string entries of a list, with their indexes; nothing when it is not a list."""
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)] if isinstance(value, list) else []


def _resolve(data: dict[str, Any], products: set[str] | None, problem, warn) -> Callable[[], dict[str, Any]]:
    """Checks what the schema cannot, on each well-typed part; returns what makes the portfolio in the form
    the publisher uses, to call only when no problem was found."""
    raw_targets = data.get("publish_to", [SERVICE_CATALOG])
    targets = _items(raw_targets)
    _duplicates(targets, ("publish_to",), problem)
    publish_to = [t for t in PUBLISH_TARGETS if t in {v for _, v in targets}]
    # None: publish_to is wrong (reported), so what it asks for is unknown and nothing is checked against it
    known = isinstance(raw_targets, list) and raw_targets and all(t in PUBLISH_TARGETS for t in raw_targets)
    to_s3 = (S3 in publish_to) if known else None
    s3_only = to_s3 is True and SERVICE_CATALOG not in publish_to
    s3_templates = _s3_templates(data, to_s3, problem)
    names = _items(data.get("products"))
    for index, name in names:
        if products is not None and name and name not in products:
            close = difflib.get_close_matches(name, sorted(products), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(products)) or 'none'}"
            problem(("products", index), f"unknown product {name!r}{hint}")
    _duplicates(names, ("products",), problem)

    constraint = data.get("launch_constraint")
    launch: dict[str, str] = {}
    if s3_only and "launch_constraint" in data:
        launch_role = s3_templates.get("launch_role", DEFAULT_LAUNCH_ROLE)
        warn(
            ("launch_constraint",),
            "applies to Service Catalog only; publish_to: [s3] launches with s3_templates.launch_role "
            f"({launch_role}), which the project's RoleARN names",
        )
    if isinstance(constraint, dict):
        arn, role = constraint.get("role_arn"), constraint.get("local_role_name")
        if isinstance(arn, str):
            if not ROLE_ARN.match(arn):
                problem(("launch_constraint", "role_arn"), f"{arn!r} is not an IAM role ARN")
            launch = {"RoleArn": arn}
        if isinstance(role, str):
            if not ROLE_NAME.match(role):
                problem(
                    ("launch_constraint", "local_role_name"),
                    f"{role!r} is not an IAM role name (1-64 of letters, digits and +=,.@_-; no path)",
                )
            launch = {"LocalRoleName": role}
    tag_update, topics = _update_and_notification(data, s3_only, problem, warn)

    principals = []
    arns = _items(data.get("principals"))
    for index, arn in arns:
        kind = _principal_type(arn)
        if kind is None:
            problem(
                ("principals", index),
                f"{arn!r} is not an IAM user, role or group ARN "
                "(arn:aws:iam::<12 digits>:role/Name, or arn:aws:iam:::role/Name* for a pattern)",
            )
        principals.append({"arn": arn, "type": kind})
    _duplicates(arns, ("principals",), problem)
    if s3_only and arns:
        warn(
            ("principals",),
            "apply to Service Catalog only; S3 templates have no launch principals: who can create projects "
            "from them is decided by the execution roles' IAM policy (iam:PassRole on the S3 launch role) and "
            "the bucket policy (shares)",
        )
    patterns = sum(p["type"] == "IAM_PATTERN" for p in principals)
    if patterns > MAX_PATTERN_PRINCIPALS:
        problem(("principals",), f"{patterns} IAM_PATTERN principals; Service Catalog allows {MAX_PATTERN_PRINCIPALS}")

    shares, targets = [], []
    for index, share in enumerate(data["shares"] if isinstance(data.get("shares"), list) else []):
        if not isinstance(share, dict) or not isinstance(share.get("target"), str):
            continue
        target = share["target"]
        targets.append((index, target))
        kind, reason = (OU_PATH, path_problem(target)) if is_ou_path(target) else _share_type(target)
        if reason:
            problem(("shares", index, "target"), reason)
        _path_share_keys(share, index, target if kind == OU_PATH and not reason else None, problem)
        # Principal sharing is for OUs and the organization only (CreatePortfolioShare).
        by_node = kind != "ACCOUNT"
        if share.get("share_principals") is True and not by_node:
            problem(
                ("shares", index, "share_principals"),
                "principals can be shared with OUs and the organization, not with an account; "
                "associate the account's principals in the portfolio instead",
            )
        if to_s3 and kind in ("ORGANIZATIONAL_UNIT", OU_PATH) and "organization_id" not in data:
            problem(
                ("shares", index, "target"),
                f"sharing S3 templates with OU {target!r} needs organization_id (o-...): the bucket policy "
                "confines the OU with aws:PrincipalOrgID and aws:PrincipalOrgPaths",
            )
        organization = data.get("organization_id")
        if to_s3 and kind == "ORGANIZATION" and isinstance(organization, str) and target != organization:
            problem(
                ("shares", index, "target"),
                f"{target!r} is not organization_id {organization!r}; an S3 portfolio shares within one organization",
            )
        shares.append(
            {
                "type": kind,
                "value": target,
                "share_principals": share.get("share_principals", by_node),
                "share_tag_options": share.get("share_tag_options", True),
                **_path_keys(share, kind),
            }
        )
    _duplicates(targets, ("shares",), problem, field="target")
    if known and SERVICE_CATALOG in publish_to:
        _pattern_sharing_warnings(data, principals, warn)

    tags = data["tags"] if isinstance(data.get("tags"), dict) else {}
    for key, value in tags.items():
        if isinstance(key, str):
            _tag_text(key, ("tags", key), "tag key", problem, reserved=True)
        if isinstance(value, str):
            _tag_text(value, ("tags", key), "tag value", problem)
    if s3_only and tags:
        warn(("tags",), "apply to the Service Catalog portfolio only; publish_to: [s3] has no portfolio to tag")
    if len(tags) > MAX_TAGS - OWN_TAGS:
        problem(("tags",), f"{len(tags)} tags; a portfolio holds {MAX_TAGS} and smcat uses {OWN_TAGS} of them")

    options = data["tag_options"] if isinstance(data.get("tag_options"), dict) else {}
    count = 0
    for key, values in options.items():
        if isinstance(key, str):
            _tag_text(key, ("tag_options", key), "TagOption key", problem)
        for index, value in _items(values):
            _tag_text(value, ("tag_options", key, index), "TagOption value", problem)
        _duplicates(_items(values), ("tag_options", key), problem)
        count += len(values) if isinstance(values, list) else 0
    if count > MAX_TAG_OPTIONS:
        problem(("tag_options",), f"{count} TagOptions; a portfolio can have {MAX_TAG_OPTIONS} associated")
    if to_s3 and data.get("tag_options"):
        problem(("tag_options",), "S3 templates have no TagOptions; publish_to: [s3] cannot express them")

    organization = data.get("organization_id")
    if isinstance(organization, str) and not ORG_ID.match(organization):
        problem(
            ("organization_id",),
            f"{organization!r} is not a valid organization id (o-, 10-32 lowercase letters or digits)",
        )

    def config() -> dict[str, Any]:
        resolved = {
            "display_name": data["display_name"],
            "description": data.get("description", ""),
            "provider": data["provider"],
            "products": list(data["products"]),
            "studio_visibility": data.get("studio_visibility", True),
            "launch_constraint": launch,
            "tag_update_constraint": tag_update,
            "notification_constraints": topics,
            "principals": principals,
            "shares": shares,
            "tags": dict(sorted(tags.items())),
            "tag_options": {k: list(v) for k, v in sorted(options.items())},
            "publish_to": publish_to,
            "organization_id": data.get("organization_id"),
        }
        if to_s3:
            resolved["s3_templates"] = s3_templates
        return resolved

    return config


def _update_and_notification(data: dict[str, Any], s3_only: bool, problem, warn) -> tuple[str | None, list[str]]:
    """Checks the topic ARNs of notification_constraints (the schema checks tag_update_constraint's values and the
    number of topics); returns both in the form the manifest keeps (None and [] when not given)."""
    topics = _items(data.get("notification_constraints"))
    for index, topic in topics:
        reason = topic_arn_problem(topic)
        if reason:
            problem(("notification_constraints", index), reason)
    _duplicates(topics, ("notification_constraints",), problem)
    for key in ("tag_update_constraint", "notification_constraints"):
        if s3_only and key in data:
            warn((key,), "applies to Service Catalog only; S3 templates (publish_to: [s3]) have no constraints")
    tag_update = data.get("tag_update_constraint")
    return tag_update if tag_update in TAG_UPDATE_VALUES else None, [topic for _, topic in topics]


def _pattern_sharing_warnings(data: dict[str, Any], principals: list[dict], warn) -> None:
    """A share with an OU or the organization that shares principals takes the IAM_PATTERN associations into every
    recipient account, where whoever can create IAM roles can create one that matches. Service Catalog's API
    reference (AssociatePrincipalWithPortfolio, CreatePortfolioShare) calls it "a potential privilege escalation
    path" and recommends PrincipalType IAM "if this potential escalation path is a concern". Warned unless the
    share accepts it explicitly."""
    patterns = [p["arn"] for p in principals if p["type"] == "IAM_PATTERN"]
    raw = data.get("shares")
    if not patterns or not isinstance(raw, list):
        return
    for index, share in enumerate(raw):
        if not isinstance(share, dict) or not isinstance(share.get("target"), str):
            continue
        by_node = not ACCOUNT_ID.match(share["target"])  # an OU (id or path) or the organization
        if not by_node or share.get("share_principals", True) is not True or PATTERN_RISK_KEY in share:
            continue
        path = ("shares", index, "share_principals") if "share_principals" in share else ("shares", index)
        warn(
            path,
            f"shares the IAM_PATTERN principals {', '.join(patterns)} with every account in {share['target']}: "
            "anyone there who can create IAM roles can create one whose name matches and launch this portfolio's "
            "products (a privilege escalation path, Service Catalog API reference: AssociatePrincipalWithPortfolio); "
            "prefer IAM principals (exact role ARNs, associated in each account), keep patterns narrow, or accept "
            f"the risk on this share with {PATTERN_RISK_KEY}: {PATTERN_RISK_ACCEPTED}",
        )


def _s3_templates(data: dict[str, Any], to_s3: bool | None, problem) -> dict[str, Any]:
    """Checks s3_templates (and that it is given exactly when publish_to has s3); returns its resolved form."""
    raw = data.get("s3_templates")
    if to_s3 is True and "s3_templates" not in data:
        problem(("s3_templates",), "is required with publish_to: s3; give at least its bucket", None)
    if to_s3 is False and "s3_templates" in data:
        problem(
            ("s3_templates",),
            "is used only when publish_to includes s3 (the default is [service-catalog]); "
            "add s3 to publish_to or remove s3_templates",
        )
    if not isinstance(raw, dict):
        return {}
    regions = _items(raw.get("regions"))
    for index, region in regions:
        if not REGION.match(region):
            problem(("s3_templates", "regions", index), f"{region!r} is not an AWS region name (such as us-east-1)")
    _duplicates(regions, ("s3_templates", "regions"), problem)
    good_regions = [r for _, r in regions if REGION.match(r)]
    bucket = raw.get("bucket")
    bucket_ok = isinstance(bucket, str)
    if bucket_ok:
        reasons = bucket_template_problems(bucket, good_regions)
        for reason in reasons:
            problem(("s3_templates", "bucket"), reason)
        bucket_ok = not reasons
    prefix = raw.get("prefix", DEFAULT_PREFIX)
    prefix_ok = isinstance(prefix, str)
    if prefix_ok:
        reason = prefix_problem(prefix)
        if reason:
            problem(("s3_templates", "prefix"), reason)
        prefix_ok = reason is None
    if bucket_ok and prefix_ok:
        for region in good_regions or [None]:
            name = bucket.replace(REGION_PLACEHOLDER, region) if region else bucket
            reason = location_problem(name, prefix)
            if reason:
                problem(("s3_templates", "prefix"), reason)
                break
    role = raw.get("launch_role", DEFAULT_LAUNCH_ROLE)
    if isinstance(role, str) and not ROLE_NAME.match(role):
        problem(
            ("s3_templates", "launch_role"),
            f"{role!r} is not an IAM role name (1-64 of letters, digits and +=,.@_-; no path)",
        )
    return {
        "bucket": bucket,
        "prefix": normalise_prefix(prefix) if isinstance(prefix, str) else prefix,
        "regions": [r for _, r in regions],
        "launch_role": role,
    }


def _principal_type(arn: str) -> str | None:
    if IAM_PATTERN_ARN.match(arn):
        return "IAM_PATTERN"
    if IAM_ARN.match(arn):
        return "IAM"
    return None


def _share_type(target: str) -> tuple[str | None, str | None]:
    """The OrganizationNode type of a share target, or why it cannot be one."""
    if OU_ID.match(target):
        return "ORGANIZATIONAL_UNIT", None
    if ACCOUNT_ID.match(target):
        return "ACCOUNT", None
    if ORG_ID.match(target):
        return "ORGANIZATION", None
    if ROOT_ID.match(target):
        return None, (
            f"{target!r} is a root; Service Catalog shares with OUs, accounts or the whole "
            "organization: use the organization id (o-...) instead"
        )
    if target.startswith("ou-"):
        return None, f"{target!r} is not a valid OU id (ou-, 4-32 lowercase letters or digits, -, 8-32 more)"
    if target.startswith("r-"):
        return None, f"{target!r} is not a valid root id (r-, 4-32 lowercase letters or digits)"
    if target.startswith("o-"):
        return None, f"{target!r} is not a valid organization id (o-, 10-32 lowercase letters or digits)"
    if target.isdigit():
        return None, f"{target!r} is not a valid account id (12 digits; quote it in YAML to keep leading zeros)"
    return None, (
        f"{target!r} is not an OU id (ou-...), account id (12 digits), organization id (o-...) or OU path (Root/...)"
    )


def _path_share_keys(share: dict[str, Any], index: int, path: str | None, problem) -> None:
    """exclude and optional: only on a (valid) OU path target; each exclude an OU path under it, listed once."""
    for key in ("exclude", "optional"):
        if key in share and path is None and not is_ou_path(share["target"]):
            problem(
                ("shares", index, key),
                f"is for OU path targets (Root/...); {share['target']!r} is an id, which is shared as a whole",
            )
    if path is not None:
        for item, reason in exclude_problems(path, _items(share.get("exclude"))):
            problem(("shares", index, "exclude", item), reason)


def _path_keys(share: dict[str, Any], kind: str | None) -> dict[str, Any]:
    """What the manifest keeps of an OU path target beyond the id shares' keys (nothing for an id)."""
    if kind != OU_PATH:
        return {}
    return {"exclude": [e for _, e in _items(share.get("exclude"))], "optional": share.get("optional", False)}


def _tag_text(text: str, path: tuple, what: str, problem, reserved: bool = False) -> None:
    """Service Catalog's tag pattern: letters, separators, numbers and _.:/=+-@ only."""
    bad = sorted({c for c in text if not (unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@")})
    if bad:
        problem(path, f"{what} {text!r} has characters Service Catalog rejects: {' '.join(map(repr, bad))}")
    if reserved and text.lower().startswith("aws:"):
        problem(path, f"{what} {text!r} uses the reserved prefix 'aws:'")


def _duplicates(values: list[tuple[int, Any]], path: tuple, problem, field: str | None = None) -> None:
    seen: set[Any] = set()
    for index, value in values:
        if value in seen:
            problem((*path, index, field) if field else (*path, index), f"{value!r} is listed twice")
        seen.add(value)


def _schema_message(error, written: str | None) -> str:
    """One schema error as a reason; `written` is the value's text in the file when it is a scalar."""
    validator = error.validator
    if validator == "type":
        expected = _TYPE_NAMES.get(error.validator_value, error.validator_value)
        if written is None or isinstance(error.instance, str | list | dict):
            return f"must be {expected}, not {error.instance!r}"
        if error.validator_value != "string" or not written:
            return f"must be {expected}, not {written or 'empty'}"
        # A plain scalar YAML read as something else: show it as typed, never as YAML's number.
        kind = "true or false" if isinstance(error.instance, bool) else "null" if error.instance is None else "a number"
        hint = ""
        if tuple(error.absolute_path)[-1:] == ("target",) and written.isdigit():
            hint = " (account ids are 12 digits" + ("" if len(written) == 12 else f"; this has {len(written)}") + ")"
        return f"{written} is read by YAML as {kind}, not text; quote it: '{written}'{hint}"
    if validator in ("minLength", "maxLength"):
        return (
            f"{error.instance!r} must be {'at least' if validator == 'minLength' else 'at most'} "
            f"{error.validator_value} characters (it has {len(error.instance)})"
        )
    if validator == "maxProperties":
        return "give either local_role_name or role_arn, not both"
    if validator == "minProperties":
        return f"give local_role_name (such as {PROJECTS_LAUNCH_ROLE}) or role_arn"
    if validator == "maxItems":
        return f"has {len(error.instance)} entries; at most {error.validator_value} allowed"
    if validator == "minItems":
        return "must list at least one value"
    if validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
    return error.message


def _unknown_key(key: Any, allowed: list[str]) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}?"
    return f"unknown key {key!r}; allowed: {', '.join(allowed)}"


def _index(node, path: tuple, lines: dict[tuple, int], texts: dict[tuple, str], where: str, keys) -> list[Problem]:
    """Records each key path's line number and each scalar's text as written, and reports keys given twice
    (YAML keeps the last). Paths use the keys as loaded (`1:` is the number 1), like the loaded data."""
    problems = []
    if node is None:
        return problems
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        texts[path] = node.value
    elif isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = _loaded_key(key_node, keys)
            if key in seen:
                problems.append(Problem(where, _key((*path, key)), "is given twice", key_node.start_mark.line + 1))
            seen.add(key)
            problems += _index(value_node, (*path, key), lines, texts, where, keys)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _index(item, (*path, index), lines, texts, where, keys)
    return problems


def _loaded_key(node, keys) -> Any:
    try:
        key = keys.construct_object(node)
        hash(key)
    except Exception:  # the file loaded already, so this is only a key shape not worth a line number
        return node.value if isinstance(node, yaml.ScalarNode) else id(node)
    return key


def _line(lines: dict[tuple, int], path: tuple) -> int | None:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path)


def _key(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part) if re.fullmatch(r"[\w:/=+@-]+", str(part)) else repr(part)  # keys as typed
            out += f".{text}" if out else text
    return out
